package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"volley/report"
	"volley/stats"
)

type reportOptions struct {
	format     string
	outs       []string
	quiet      bool
	thresholds []string
}

func newReportCmd(stdout, stderr io.Writer) *cobra.Command {
	return reportCmd(stdout, stderr, &cobra.Command{
		Use:   "report [flags] RESULT.json...",
		Short: "Re-render saved results in any format and re-check thresholds",
		Long: `Read results written by 'volley run --out json=FILE', render them in any
format and evaluate thresholds against them.

With several files, they are merged exactly before rendering: histograms are
added bucket by bucket and counts summed, as parts of one run that ran side
by side (series aligned on time since each part's start, rates summed).
The same result given twice, under any name, is refused (exit 2): it would
be counted twice.

Thresholds: with --threshold, those are evaluated; without, the thresholds
saved in the files (if any) are evaluated again. The exit code is 99 if one
fails, as for 'volley run'.

The rendering goes to stdout (--format, default text) unless --out files are
given without --format.`,
		Example: `  volley report result.json
  volley report --format md result.json >> "$GITHUB_STEP_SUMMARY"
  volley report --threshold 'p99<250ms' --out junit=volley.xml result.json
  volley report --format hgrm shard-*.json > merged.hgrm`,
	}, 1)
}

// reportCmd completes cmd (its texts set) as a command that reads at least
// minFiles results, merges them, checks thresholds and renders.
func reportCmd(stdout, stderr io.Writer, cmd *cobra.Command, minFiles int) *cobra.Command {
	var o reportOptions
	cmd.Args = func(c *cobra.Command, args []string) error {
		if len(args) < minFiles {
			return usageErrorf("%s: want at least %s, got %d", c.Name(), report.Plural(int64(minFiles), "result file"), len(args))
		}
		return nil
	}
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if _, ok := report.Formats()[o.format]; !ok {
			return usageErrorf("--format %q: want one of %s", o.format, strings.Join(report.FormatNames(), ", "))
		}
		ts, err := parseThresholds(o.thresholds)
		if err != nil {
			return err
		}
		outs, err := parseOutputs(o.outs)
		if err != nil {
			return err
		}
		res, saved, err := mergeFiles(args)
		if err != nil {
			return err
		}
		if len(ts) == 0 {
			if ts, err = parseSavedThresholds(saved); err != nil {
				return usageError{err}
			}
		}
		res.Thresholds, _ = stats.EvalAll(ts, res)
		// Files first, as volley run does: a closed stdout loses none.
		var human func(io.Writer) error
		if !o.quiet {
			human = func(w io.Writer) error {
				if err := report.Render(w, o.format, res); err != nil {
					return fmt.Errorf("render %s: %w", o.format, err)
				}
				return nil
			}
		}
		errs := writeAll(res, outs, human, stdout, stderr)
		stepSummary(cmd, stderr, func(w io.Writer) error { return report.Markdown(w, res) })
		if len(errs) > 0 {
			return exitError{exitRuntime, errors.Join(errs...)}
		}
		return thresholdExit(res)
	}
	addStepSummaryFlag(cmd)
	f := cmd.Flags()
	f.SortFlags = false
	f.StringVarP(&o.format, "format", "f", "text", "format written to stdout: "+strings.Join(report.FormatNames(), ", "))
	f.StringArrayVar(&o.outs, "out", nil, "also write FORMAT=PATH (repeatable); with PATH -, the --format report goes to stderr")
	f.BoolVarP(&o.quiet, "quiet", "q", false, "write no --format report, only the --out outputs")
	f.StringArrayVar(&o.thresholds, "threshold", nil, "threshold to evaluate, such as 'p99<250ms' (repeatable); exit 99 if any fails")
	return cmd
}

// mergeFiles reads the JSON result files one at a time and folds each into
// the merged result before reading the next, so that merging a thousand
// files holds one result and the running sum, not a thousand results. Of
// each file it keeps only small facts: its shard index, its identity (the
// same run given twice, under any name, is refused: it would be counted
// twice) and the thresholds saved in it, each expression once. A single file
// is returned as read. An unreadable, invalid, duplicate or mismatched file
// is a usage error naming it.
func mergeFiles(paths []string) (*stats.Result, []string, error) {
	var (
		merger stats.Merger
		shards stats.ShardSet
		first  *stats.Result
		saved  []string
	)
	seen := map[string]string{} // identity -> file
	seenExpr := map[string]bool{}
	for _, p := range paths {
		r, err := readResultFile(p)
		if err != nil {
			return nil, nil, err
		}
		if err := shards.Add(p, r); err != nil {
			return nil, nil, usageError{err}
		}
		id := r.Identity()
		if prev, dup := seen[id]; dup {
			return nil, nil, usageErrorf("%s is the same result as %s (same start, plan, shard and counts): merging both would count its %d requests twice",
				p, prev, r.Requests.Total)
		}
		seen[id] = p
		for _, o := range r.Thresholds {
			if !seenExpr[o.Threshold] {
				seenExpr[o.Threshold] = true
				saved = append(saved, o.Threshold)
			}
		}
		if len(paths) == 1 {
			first = r
			break
		}
		if err := merger.Add(r); err != nil {
			return nil, nil, usageErrorf("%s: %w", p, err)
		}
	}
	if err := shards.Check(); err != nil {
		return nil, nil, usageError{err}
	}
	if first != nil {
		return first, saved, nil
	}
	res, err := merger.Result()
	if err != nil {
		return nil, nil, usageError{err}
	}
	return res, saved, nil
}

// readResultFile reads one JSON result file; an unreadable or invalid one is a
// usage error naming the file.
func readResultFile(path string) (*stats.Result, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, usageError{err}
	}
	defer f.Close()
	r, err := stats.ReadResult(bufio.NewReader(f))
	if err != nil {
		return nil, usageErrorf("%s: %w", path, err)
	}
	return r, nil
}

// parseSavedThresholds parses the threshold expressions saved in results.
func parseSavedThresholds(exprs []string) ([]stats.Threshold, error) {
	var ts []stats.Threshold
	for _, e := range exprs {
		t, err := stats.ParseThreshold(e)
		if err != nil {
			return nil, fmt.Errorf("saved threshold: %w", err)
		}
		ts = append(ts, t)
	}
	return ts, nil
}

// readResults reads JSON result files, all of them at once (volley compare
// needs every run); an unreadable or invalid one is a usage error naming
// the file.
func readResults(paths []string) ([]*stats.Result, error) {
	var rs []*stats.Result
	for _, p := range paths {
		r, err := readResultFile(p)
		if err != nil {
			return nil, err
		}
		rs = append(rs, r)
	}
	return rs, nil
}
