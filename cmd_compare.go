package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"volley/report"
	"volley/stats"
)

type compareOptions struct {
	alpha  float64
	failOn []string
	format string
}

func newCompareCmd(stdout, stderr io.Writer) *cobra.Command {
	var o compareOptions
	cmd := &cobra.Command{
		Use:   "compare [flags] BASE NEW",
		Short: "Compare two sets of results with a significance test",
		Long: `Compare a baseline with a new set of results: p50, p90, p99, p99.9 and mean
(corrected latency), error_rate and rps, in a benchstat-like table with the
relative change, the p-value of a two-sided Mann-Whitney U test and the
sample sizes. A change that is not significant (p >= --alpha) shows as "~".

BASE and NEW are each one or more result files of the same benchmark
(repetitions): a file, a comma-separated list, a glob such as 'base/*.json'
(quote it), or a directory (every *.json in it). With two or more runs on
each side, each run gives one value per metric. With a single run on a side,
the per-second values of the series are compared instead; they are not
independent samples, so the table says so.

How many repetitions: with n runs per side and no ties, the smallest p the
test can give is 2/C(2n,n): 0.1 for n=3, 0.029 for n=4, 0.0079 for n=5,
0.0022 for n=6. At the default alpha of 0.05 a change can be significant
only with 4 or more runs per side; use 5 or more to see changes reliably,
and more for small effects or a smaller alpha.

--fail-on (repeatable) exits 98 when a change is significant and beyond the
stated one: 'p99>+10%' fires when p99 grew by more than 10%, 'rps<-5%' when
the rate fell by more than 5%. Operators: > >= < <=.`,
		Example: `  volley compare base.json new.json
  volley compare 'base/*.json' 'new/*.json' \
      --fail-on 'p99>+10%' --fail-on 'rps<-5%'
  volley compare --format md baseline/ candidate/ >> "$GITHUB_STEP_SUMMARY"`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) != 2 {
				return usageErrorf("compare: want BASE and NEW, got %s", report.Plural(int64(len(args)), "argument"))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if o.format != "text" && o.format != "md" {
				return usageErrorf("--format %q: want text or md", o.format)
			}
			if !(o.alpha > 0 && o.alpha < 1) {
				return usageErrorf("--alpha %v: want a value between 0 and 1", o.alpha)
			}
			var rules []stats.FailOn
			for _, e := range o.failOn {
				r, err := stats.ParseFailOn(e)
				if err != nil {
					return usageErrorf("--fail-on: %w", err)
				}
				rules = append(rules, r)
			}
			basePaths, err := expandSide("BASE", args[0])
			if err != nil {
				return err
			}
			newPaths, err := expandSide("NEW", args[1])
			if err != nil {
				return err
			}
			base, err := readResults(basePaths)
			if err != nil {
				return err
			}
			cand, err := readResults(newPaths)
			if err != nil {
				return err
			}
			c, err := stats.Compare(base, cand, o.alpha)
			if err != nil {
				return usageError{err}
			}
			baseName, newName := sideName(basePaths), sideName(newPaths)
			var fired, notes []string
			for _, r := range rules {
				hit, msg := r.Check(c)
				if hit {
					fired = append(fired, r.Expr+": "+msg)
				} else {
					notes = append(notes, r.Expr+": "+msg)
				}
			}
			if o.format == "md" {
				err = report.CompareMarkdown(stdout, c, baseName, newName, fired)
			} else {
				err = report.CompareText(stdout, c, baseName, newName)
				for _, f := range fired {
					fmt.Fprintln(stdout, report.Hang("REGRESSION  ", f))
				}
				for _, n := range notes {
					fmt.Fprintln(stdout, report.Hang("ok          ", n))
				}
			}
			if err != nil {
				return exitError{exitRuntime, err}
			}
			stepSummary(cmd, stderr, func(w io.Writer) error { return report.CompareMarkdown(w, c, baseName, newName, fired) })
			if len(fired) > 0 {
				return exitError{exitRegression, fmt.Errorf("regression: %s", strings.Join(fired, "; "))}
			}
			return nil
		},
	}
	addStepSummaryFlag(cmd)
	f := cmd.Flags()
	f.SortFlags = false
	f.Float64Var(&o.alpha, "alpha", 0.05, "significance level: a change counts when p < alpha")
	f.StringArrayVar(&o.failOn, "fail-on", nil, "exit 98 on a significant change beyond this, e.g. 'p99>+10%' or 'rps<-5%' (repeatable)")
	f.StringVarP(&o.format, "format", "f", "text", "table format: text or md")
	return cmd
}

// expandSide turns one side's argument into files: a comma-separated list
// whose items are files, globs or directories (every *.json inside).
func expandSide(side, arg string) ([]string, error) {
	var out []string
	for _, item := range strings.Split(arg, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		if fi, err := os.Stat(item); err == nil && fi.IsDir() {
			m, _ := filepath.Glob(filepath.Join(item, "*.json"))
			if len(m) == 0 {
				return nil, usageErrorf("%s: directory %s holds no *.json result", side, item)
			}
			sort.Strings(m)
			out = append(out, m...)
			continue
		}
		if strings.ContainsAny(item, "*?[") {
			m, err := filepath.Glob(item)
			if err != nil {
				return nil, usageErrorf("%s: pattern %q: %w", side, item, err)
			}
			if len(m) == 0 {
				return nil, usageErrorf("%s: pattern %q matches no file", side, item)
			}
			sort.Strings(m)
			out = append(out, m...)
			continue
		}
		out = append(out, item)
	}
	if len(out) == 0 {
		return nil, usageErrorf("%s: no result files given", side)
	}
	return out, nil
}

// sideName labels a side in the table: the file name, or the common
// directory of several files with their count.
func sideName(paths []string) string {
	if len(paths) == 1 {
		return filepath.Base(paths[0])
	}
	dir := filepath.Dir(paths[0])
	for _, p := range paths[1:] {
		if filepath.Dir(p) != dir {
			return fmt.Sprintf("%d files", len(paths))
		}
	}
	return fmt.Sprintf("%s (%d)", filepath.Base(dir), len(paths))
}
