package main

import (
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"volley/bench"
	"volley/load"
	"volley/load/request"
	"volley/report"
)

// demoPlan is what `volley demo` runs: 5 s at 400 req/s with 20 connections
// against a target that freezes for 250 ms at t=2s. 20 connections are far
// fewer than rate × stall (100), so the stall shows up only in the corrected
// latency, the way it would hit real users.
type demoPlan struct {
	rate        float64
	connections int
	duration    time.Duration
	latency     string
	status      string
	stall       bench.Stall
}

func defaultDemo() demoPlan {
	return demoPlan{
		rate: 400, connections: 20, duration: 5 * time.Second,
		latency: "lognormal:1ms,0.5", status: "200:96,404:2,500:2",
		stall: bench.Stall{At: 2 * time.Second, For: 250 * time.Millisecond},
	}
}

func newDemoCmd(stdout, stderr io.Writer) *cobra.Command {
	plan := defaultDemo()
	var outs outputOptions
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Benchmark the built-in target for 5 s and show the report",
		Long: `Start the built-in target on a free loopback port (log-normal latency
around 1 ms, 2% 404s, 2% 500s, and one 250 ms stall 2 s in), send it 400
requests per second for 5 s over 20 connections, and print the report.

Watch the two latency columns: the stall hits about 100 requests that were due
while the target was frozen. The corrected column counts their wait; the
service column, which is what a closed-loop tool would show, barely moves.`,
		Example: `  volley demo
  volley demo --out html=demo.html`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			outputs, err := parseOutputs(outs.outs)
			if err != nil {
				return err
			}
			lat, err := bench.ParseLatency(plan.latency)
			if err != nil {
				return err
			}
			mix, err := bench.ParseStatusMix(plan.status)
			if err != nil {
				return err
			}
			srv, err := bench.Start(bench.Config{Addr: "127.0.0.1:0", Latency: lat, Status: mix, Stall: plan.stall, BodySize: 64, Seed: 1})
			if err != nil {
				return exitError{exitRuntime, fmt.Errorf("demo: start target: %w", err)}
			}
			defer srv.Close()
			fmt.Fprintf(stderr, "volley demo: target %s (latency %s, status %s, stall at=%v,for=%v)\n",
				srv.URL(), plan.latency, plan.status, plan.stall.At, plan.stall.For)
			fmt.Fprintf(stderr, "volley demo: sending %v req/s for %v over %s\n\n",
				plan.rate, plan.duration, report.Plural(int64(plan.connections), "connection"))
			cfg := load.Config{Spec: request.Spec{Request: request.Request{Method: "GET", URL: srv.URL() + "/demo"}},

				Rate:        plan.rate,
				Connections: plan.connections,
				Duration:    plan.duration,
				Tick:        load.DefaultTick,
				Timeout:     5 * time.Second,
				MaxBody:     1 << 20,
			}
			ctx, stop := interruptContext(cmd.Context(), stderr)
			defer stop()
			res, err := execute(ctx, runPlan{cfg: cfg}, outs.progress(stderr), stderr)
			if err != nil {
				return err
			}
			var human func(io.Writer) error
			if !outs.quiet {
				st := srv.Stats()
				human = func(w io.Writer) error {
					if err := report.Text(w, res); err != nil {
						return err
					}
					_, err := fmt.Fprintf(w, "  The target counted %d requests; volley counted %d.\n"+
						"  Corrected p99 %s vs service p99 %s: the difference is the stall's\n"+
						"  queueing, which a closed-loop benchmark would not show.\n",
						st.Total, res.Requests.Total,
						report.Duration(res.Latency.Corrected.P99), report.Duration(res.Latency.Service.P99))
					return err
				}
			}
			if errs := writeAll(res, outputs, human, stdout, stderr); len(errs) > 0 {
				return exitError{exitRuntime, errors.Join(errs...)}
			}
			if res.Interrupted {
				return exitError{code: exitInterrupted}
			}
			return nil
		},
	}
	outs.register(cmd.Flags(), "also write the result as FORMAT=PATH", "no progress bar and no text report")
	return cmd
}
