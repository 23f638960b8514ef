package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"volley/load"
	"volley/report"
	"volley/stats"
)

// FindMaxSchema identifies the JSON written by find-max --out json=PATH.
const FindMaxSchema = "volley.findmax/v1"

// findMaxOptions are the flags of `volley find-max`.
type findMaxOptions struct {
	req         runOptions // request flags (method, headers, body, timeout, connections)
	slos        []string
	startRate   float64
	maxRate     float64
	step        time.Duration
	confirm     time.Duration
	maxDuration time.Duration
	precision   float64
	cooldown    time.Duration
	tick        time.Duration
}

func newFindMaxCmd(stdout, stderr io.Writer) *cobra.Command {
	var o findMaxOptions
	cmd := &cobra.Command{
		Use:   "find-max [flags] URL",
		Short: "Find the highest constant rate URL sustains within SLOs",
		Long: `Find the highest constant request rate the target sustains while meeting
every --slo. Each step is a short open-loop run at a fixed rate, judged on its
corrected latency (measured from each request's intended send time) and its
error rate:

  1. ramp: from --start-rate, double the rate until a step fails the SLOs
     or --max-rate passes;
  2. bisect: halve the interval between the highest passing and the lowest
     failing rate until it is within --precision;
  3. confirm: run the best rate again for --confirm; if it fails, step down
     by 10% and confirm again (at most three times).

The whole search stops within --max-duration (time for the confirmation is
kept in reserve). The table of steps is printed as they finish; the last line
is "max sustainable rate: N req/s". Exit status 99 when no rate met the SLOs.`,
		Example: `  volley find-max --slo 'p99<50ms' --slo 'error_rate<1%' http://127.0.0.1:8080/
  volley find-max --slo 'p99.9<200ms' --start-rate 500 --max-rate 20000 \
      --step 3s --max-duration 2m --out json=capacity.json \
      http://127.0.0.1:8080/`,
		Args: func(cmd *cobra.Command, args []string) error {
			withTargets := cmd.Flags().Changed("targets")
			switch {
			case withTargets && len(args) > 0:
				return usageErrorf("find-max: --targets gives the requests; drop the URL argument")
			case !withTargets && len(args) != 1:
				return usageErrorf("find-max: want exactly one URL argument (or --targets FILE), got %d", len(args))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			target := ""
			if len(args) > 0 {
				target = args[0]
			}
			plan, err := o.plan(target, cmd.InOrStdin())
			if err != nil {
				return err
			}
			if err := o.req.ws.check(target, &plan.cfg, cmd.Flags().Changed); err != nil {
				return err
			}
			// A client that cannot be made fails here, before the table.
			if err := o.req.checkClient(target, plan.cfg); err != nil {
				return err
			}
			plan.mk = o.req.clientFor(target)
			ctx, stop := interruptContext(cmd.Context(), stderr)
			defer stop()
			return plan.run(ctx, stdout, stderr)
		},
	}
	f := cmd.Flags()
	f.SortFlags = false
	f.StringArrayVar(&o.slos, "slo", nil, "objective every step must meet (repeatable), in the --threshold language of volley run: p99<50ms, error_rate<1%, rps>=900, ...")
	o.startRate, o.maxRate = 100, 100000
	f.Var(rateValue{&o.startRate}, "start-rate", "rate of the first step (req/s)")
	f.Var(rateValue{&o.maxRate}, "max-rate", "highest rate to try (req/s)")
	f.DurationVar(&o.step, "step", 5*time.Second, "length of each search step")
	f.DurationVar(&o.confirm, "confirm", 10*time.Second, "length of the final confirmation run")
	f.DurationVar(&o.maxDuration, "max-duration", 3*time.Minute, "bound on the whole search, confirmation included")
	f.Float64Var(&o.precision, "precision", 0.05, "stop bisecting when the interval is within this share of the rate (0.05 = 5%)")
	f.DurationVar(&o.cooldown, "cooldown", time.Second, "pause between steps, so the target drains its queues")
	f.DurationVar(&o.tick, "tick", load.DefaultTick, "pacing grid of each step, as volley run --tick")
	o.req.registerRequest(f)
	o.req.req.register(f)
	o.req.ws.addFlags(cmd)
	o.req.outputOptions.register(f, "write FORMAT=PATH: json is the search (steps, max_rate and the last step's result); every other format is the last step (the confirmation at the max rate)",
		"print nothing: no step table, no result line (the exit code and --out tell)")
	return cmd
}

// findMaxPlan is a validated search.
type findMaxPlan struct {
	o    findMaxOptions
	cfg  load.Config
	slos []stats.Threshold
	outs []report.Output
	mk   clientMaker // the client of the target's protocol, for every step
}

func (o *findMaxOptions) plan(url string, stdin io.Reader) (*findMaxPlan, error) {
	if len(o.slos) == 0 {
		return nil, usageErrorf("--slo: give at least one, e.g. --slo 'p99<50ms'")
	}
	p := &findMaxPlan{o: *o}
	for _, s := range o.slos {
		slo, err := stats.ParseThreshold(s)
		if err != nil {
			return nil, usageErrorf("--slo: %w", err)
		}
		p.slos = append(p.slos, slo)
	}
	switch {
	case !(o.startRate >= 1) || o.startRate > 10_000_000:
		return nil, usageErrorf("--start-rate %v: want 1 to 10000000 req/s", o.startRate)
	case !(o.maxRate >= o.startRate) || o.maxRate > 10_000_000:
		return nil, usageErrorf("--max-rate %v: want at least --start-rate (%v) and at most 10000000", o.maxRate, o.startRate)
	case o.step < 100*time.Millisecond:
		return nil, usageErrorf("--step %v: want at least 100ms", o.step)
	case o.confirm < 100*time.Millisecond:
		return nil, usageErrorf("--confirm %v: want at least 100ms", o.confirm)
	case o.cooldown < 0:
		return nil, usageErrorf("--cooldown %v: must not be negative", o.cooldown)
	case o.tick < 0 || o.tick > time.Second:
		return nil, usageErrorf("--tick %v: must be between 0 (a timer per request) and 1s", o.tick)
	case !(o.precision > 0 && o.precision <= 0.5):
		return nil, usageErrorf("--precision %v: want more than 0 and at most 0.5", o.precision)
	case o.maxDuration < o.step+o.confirm+2*o.cooldown:
		return nil, usageErrorf("--max-duration %v: too short for one step (%v), two cooldowns (%v) and the confirmation (%v)",
			o.maxDuration, o.step, o.cooldown, o.confirm)
	}
	req := o.req
	req.rate, req.duration = o.startRate, o.step
	cfg, outs, err := req.config(url, true, stdin)
	if err != nil {
		return nil, err
	}
	cfg.Tick = o.tick
	p.cfg, p.outs = cfg, outs
	return p, nil
}

// findMaxStep is one step of the search, as printed and written.
type findMaxStep struct {
	N         int          `json:"n"`
	Phase     string       `json:"phase"` // "ramp", "bisect" or "confirm"
	Rate      float64      `json:"rate"`
	DurationS float64      `json:"duration_s"`
	Achieved  float64      `json:"achieved"`
	Requests  int64        `json:"requests"`
	Errors    int64        `json:"errors"`
	P50       float64      `json:"p50_ms"`
	P99       float64      `json:"p99_ms"`
	Max       float64      `json:"max_ms"`
	ErrorRate float64      `json:"error_rate"`
	SLOs      []sloOutcome `json:"slos"`
	Pass      bool         `json:"pass"`
}

// sloOutcome is one SLO's verdict in a step; Observed is null for a latency
// of a step without responses.
type sloOutcome struct {
	SLO      string   `json:"slo"`
	Observed *float64 `json:"observed"`
	Met      bool     `json:"met"`
}

// findMaxResult is what --out json=PATH holds.
type findMaxResult struct {
	Schema      string        `json:"schema"`
	Target      stats.Target  `json:"target"`
	SLOs        []string      `json:"slos"`
	Connections int           `json:"connections"`
	Steps       []findMaxStep `json:"steps"`
	// MaxRate is the highest rate that passed its confirmation run, 0 if
	// none did.
	MaxRate     float64 `json:"max_rate"`
	Confirmed   bool    `json:"confirmed"`
	Interrupted bool    `json:"interrupted"`
	// Result is the last step's full result (volley.result), the
	// confirmation at MaxRate when one passed; null if no step ran.
	Result *stats.Result `json:"result"`
}

// errStepInterrupted ends the search when a signal arrives mid-step.
var errStepInterrupted = errors.New("interrupted")

// run carries out the search.
func (p *findMaxPlan) run(ctx context.Context, stdout, stderr io.Writer) error {
	o := p.o
	start := time.Now()
	target := load.TargetOf(&p.cfg, o.req.req.targets)
	if !o.req.showSecrets {
		target.URL = p.cfg.Request.Redactor().String(target.URL)
	}
	res := findMaxResult{Schema: FindMaxSchema, SLOs: o.slos, Connections: p.cfg.Connections, Target: target}
	// Stdout holds one document when an --out goes there; the table goes
	// to stderr then, and nowhere with -q.
	table := stdout
	for _, out := range p.outs {
		if out.Path == report.Stdout {
			table = stderr
		}
	}
	if o.req.quiet {
		table = io.Discard
	}
	if target.File != "" {
		fmt.Fprintf(table, "volley find-max  %s from %s\n", report.Plural(int64(target.Count), "target"), target.File)
	} else {
		fmt.Fprintf(table, "volley find-max  %s %s\n", target.Method, target.URL)
	}
	fmt.Fprintf(table, "%s\n", report.Wrap("SLOs "+strings.Join(o.slos, ", "), "        "))
	fmt.Fprintf(table, "%s\n\n", report.Wrap(fmt.Sprintf("steps of %v, confirmation %v, at most %v, %s",
		o.step, o.confirm, o.maxDuration, report.Plural(int64(p.cfg.Connections), "connection")), "        "))
	// An SLO's column is as wide as its name or a value ("100.00%!").
	widths := make([]int, len(p.slos))
	fmt.Fprintf(table, "  %4s  %-7s  %8s  %8s", "step", "phase", "rate/s", "achieved")
	for i, s := range p.slos {
		widths[i] = max(len(s.Metric.Name), 8)
		fmt.Fprintf(table, "  %*s", widths[i], s.Metric.Name)
	}
	fmt.Fprintf(table, "  %s\n", "result")

	step := func(phase string, rate float64, d time.Duration) (bool, error) {
		if len(res.Steps) > 0 && o.cooldown > 0 {
			select {
			case <-ctx.Done():
				return false, errStepInterrupted
			case <-time.After(o.cooldown):
			}
		}
		cfg := p.cfg
		cfg.Rate, cfg.Duration = rate, d
		r, err := executeWith(ctx, runPlan{cfg: cfg, thresholds: p.slos, targetsFile: o.req.req.targets}, o.req.progress(stderr), stderr, p.mk)
		if err != nil {
			return false, err
		}
		if !o.req.showSecrets {
			p.cfg.Request.Redactor().Result(r)
		}
		res.Result = r
		if r.Interrupted {
			return false, errStepInterrupted
		}
		st := findMaxStep{
			N: len(res.Steps) + 1, Phase: phase, Rate: rate, DurationS: d.Seconds(),
			Achieved: r.Rate.Achieved, Requests: r.Requests.Total, Errors: r.Requests.Errors,
			P50: r.Latency.Corrected.P50, P99: r.Latency.Corrected.P99, Max: r.Latency.Corrected.Max,
			ErrorRate: r.ErrorRate(), Pass: true,
		}
		fmt.Fprintf(table, "  %4d  %-7s  %8s  %8.1f", st.N, phase, fmtRate(rate), st.Achieved)
		for i, s := range p.slos {
			ev := s.Eval(r)
			ok, v := ev.Pass, math.Inf(1)
			out := sloOutcome{SLO: s.String(), Met: ok}
			if ev.Actual != nil {
				v = *ev.Actual
				out.Observed = &v
			}
			st.SLOs = append(st.SLOs, out)
			mark := ""
			if !ok {
				st.Pass = false
				mark = "!"
			}
			fmt.Fprintf(table, "  %*s", widths[i], fmtObserved(s, v)+mark)
		}
		// The SLOs that failed are marked ! in their columns.
		if st.Pass {
			fmt.Fprintf(table, "  pass\n")
		} else {
			fmt.Fprintf(table, "  FAIL\n")
		}
		res.Steps = append(res.Steps, st)
		return st.Pass, nil
	}
	// fits reports whether a step of length d still leaves room for the
	// confirmation within the bound.
	fits := func(d time.Duration) bool {
		return time.Since(start)+d+o.cooldown+o.confirm+o.cooldown <= o.maxDuration
	}

	err := p.search(step, fits, &res)
	if errors.Is(err, errStepInterrupted) {
		res.Interrupted = true
	} else if err != nil {
		return err
	}
	if err := p.write(&res, stdout); err != nil {
		return err
	}
	fmt.Fprintln(table)
	switch {
	case res.Interrupted:
		fmt.Fprintf(table, "  interrupted: the rate below is the best confirmed so far\n")
	case !res.Confirmed:
		fmt.Fprintf(table, "  no rate met the SLOs (lowest tried: %s req/s)\n", fmtRate(lowestTried(res.Steps)))
	case res.MaxRate >= o.maxRate:
		fmt.Fprintf(table, "  --max-rate reached: the target may sustain more\n")
	}
	fmt.Fprintf(table, "max sustainable rate: %s req/s\n", fmtRate(res.MaxRate))
	switch {
	case res.Interrupted:
		return exitError{code: exitInterrupted}
	case !res.Confirmed:
		return exitError{code: exitThresholds}
	}
	return nil
}

// write writes the outputs: json the search, every other format the last
// step's result. Files first, then stdout, as volley run does.
func (p *findMaxPlan) write(res *findMaxResult, stdout io.Writer) error {
	var search []byte
	var errs []error
	for _, toStdout := range []bool{false, true} {
		for _, out := range p.outs {
			if (out.Path == report.Stdout) != toStdout {
				continue
			}
			if out.Format != "json" {
				if res.Result == nil {
					errs = append(errs, fmt.Errorf("output %s=%s: no step ran", out.Format, out.Path))
				} else if err := out.Write(res.Result, stdout); err != nil {
					errs = append(errs, err)
				}
				continue
			}
			if search == nil {
				var buf bytes.Buffer
				enc := json.NewEncoder(&buf)
				enc.SetIndent("", "  ")
				enc.SetEscapeHTML(false)
				if err := enc.Encode(res); err != nil {
					return exitError{exitRuntime, fmt.Errorf("--out: %w", err)}
				}
				search = buf.Bytes()
			}
			if err := out.WriteBytes(search, stdout); err != nil {
				errs = append(errs, err)
			}
		}
	}
	if len(errs) > 0 {
		return exitError{exitRuntime, errors.Join(errs...)}
	}
	return nil
}

// search runs the ramp, the bisection and the confirmation. step runs one
// step; fits says whether a search step of that length still fits the time
// bound.
func (p *findMaxPlan) search(step func(string, float64, time.Duration) (bool, error), fits func(time.Duration) bool, res *findMaxResult) error {
	o := p.o
	lo, hi := 0.0, 0.0 // highest passing, lowest failing (0: none yet)
	rate := math.Round(o.startRate)
	for fits(o.step) {
		ok, err := step("ramp", rate, o.step)
		if err != nil {
			return err
		}
		if !ok {
			hi = rate
			break
		}
		lo = rate
		if rate >= o.maxRate {
			break
		}
		rate = math.Min(math.Round(rate*2), o.maxRate)
	}
	for hi > 0 && hi-lo > math.Max(1, o.precision*hi) && fits(o.step) {
		mid := math.Round((lo + hi) / 2)
		if mid <= lo || mid >= hi {
			break
		}
		ok, err := step("bisect", mid, o.step)
		if err != nil {
			return err
		}
		if ok {
			lo = mid
		} else {
			hi = mid
		}
	}
	for try := 0; try < 3 && lo >= 1; try++ {
		if try > 0 && !fits(0) {
			break
		}
		ok, err := step("confirm", lo, o.confirm)
		if err != nil {
			return err
		}
		if ok {
			res.MaxRate, res.Confirmed = lo, true
			return nil
		}
		lo = math.Round(lo * 0.9)
	}
	return nil
}

func lowestTried(steps []findMaxStep) float64 {
	low := math.Inf(1)
	for _, s := range steps {
		low = math.Min(low, s.Rate)
	}
	if math.IsInf(low, 1) {
		return 0
	}
	return low
}

func fmtRate(r float64) string {
	return fmt.Sprintf("%.0f", r)
}

// fmtObserved formats an SLO's observed value as the reports do.
func fmtObserved(s stats.Threshold, v float64) string {
	switch {
	case math.IsInf(v, 1):
		return "none"
	case s.Metric.Kind == stats.KindRate:
		return fmt.Sprintf("%.2f%%", 100*v)
	case s.Metric.Latency():
		return report.Duration(v)
	}
	return s.Metric.FormatValue(v)
}
