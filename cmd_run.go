package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"volley/load"
	"volley/report"
	"volley/stats"
)

// runOptions are the flags of `volley run`.
type runOptions struct {
	rate        float64
	connections int
	duration    time.Duration
	requests    int64
	method      string
	headers     []string
	body        string
	bodyFile    string
	timeout     time.Duration
	maxBody     int
	outs        []string
	noProgress  bool
	quiet       bool
	showSecrets bool
}

func newRunCmd(stdout, stderr io.Writer) *cobra.Command {
	var o runOptions
	cmd := &cobra.Command{
		Use:   "run [flags] URL",
		Short: "Send load to URL and report latency, status codes and errors",
		Long: `Send HTTP requests to URL and report what happened.

With --rate N (open loop), request i is due at i/N seconds after the start,
whatever the target does; its latency is measured from that intended time
("corrected") as well as from the actual send ("service"). When the target
stalls or every connection is busy, due requests wait and their waiting is
counted. With --rate 0 (closed loop), each connection sends its next request
as soon as the previous one completes.

The run stops after --duration or --requests, whichever comes first.`,
		Example: `  volley run -r 1000 -d 30s http://127.0.0.1:8080/
  volley run -c 10 -n 5000 -X POST -H 'Content-Type: application/json' \
      -b '{"id":1}' http://127.0.0.1:8080/api
  volley run -r 500 --out json=result.json -q http://127.0.0.1:8080/`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usageErrorf("run: want exactly one URL argument, got %d", len(args))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			// Signals are caught from the start: one arriving while the
			// flags are checked still ends in an empty report and exit 130.
			ctx, stop := interruptContext(cmd.Context(), stderr)
			defer stop()
			cfg, outs, err := o.config(args[0], cmd.Flags().Changed("duration"))
			if err != nil {
				return err
			}
			showProgress := !o.noProgress && !o.quiet && isTerminal(stderr)
			res, err := execute(ctx, cfg, outs, showProgress, stderr)
			if err != nil {
				return err
			}
			if !o.showSecrets {
				load.NewRedactor(cfg.Request).Result(res)
			}
			if err := finish(res, outs, o.quiet, stdout); err != nil {
				return err
			}
			if ctx.Err() != nil {
				// A signal after the last response: the result is whole,
				// but the user asked to stop.
				return exitError{code: exitInterrupted}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.SortFlags = false
	f.Float64VarP(&o.rate, "rate", "r", 0, "requests per second across all connections (open loop); 0 = closed loop")
	f.IntVarP(&o.connections, "connections", "c", 50, "connections (one worker each)")
	f.DurationVarP(&o.duration, "duration", "d", 10*time.Second, "how long to send; 0 = until --requests are sent")
	f.Int64VarP(&o.requests, "requests", "n", 0, "stop after this many requests (0 = no limit)")
	f.StringVarP(&o.method, "method", "X", "GET", "HTTP method")
	f.StringArrayVarP(&o.headers, "header", "H", nil, "request header 'Key: Value' (repeatable); Host: sets the Host header")
	f.StringVarP(&o.body, "body", "b", "", "request body")
	f.StringVar(&o.bodyFile, "body-file", "", "read the request body from this file")
	f.DurationVarP(&o.timeout, "timeout", "t", 10*time.Second, "per-request timeout, connecting included")
	f.IntVar(&o.maxBody, "max-body", 64<<20, "largest response body in bytes (0 = no limit); larger ones count as body_too_large errors")
	f.StringArrayVar(&o.outs, "out", nil, "write the result as FORMAT=PATH (repeatable); formats: "+strings.Join(report.FormatNames(), ", "))
	f.BoolVar(&o.noProgress, "no-progress", false, "no progress bar")
	f.BoolVarP(&o.quiet, "quiet", "q", false, "no progress bar and no text report")
	f.BoolVar(&o.showSecrets, "show-secrets", false, "show Authorization, Proxy-Authorization, Cookie and Set-Cookie values and URL userinfo in the report and outputs (redacted by default)")
	return cmd
}

// config turns the flags into a validated plan and outputs.
func (o *runOptions) config(url string, durationSet bool) (load.Config, []report.Output, error) {
	cfg := load.Config{
		Request:     load.Request{Method: o.method, URL: url},
		Rate:        o.rate,
		Connections: o.connections,
		Duration:    o.duration,
		Requests:    o.requests,
		Timeout:     o.timeout,
		MaxBody:     o.maxBody,
	}
	// -n alone means "this many requests": the default duration does not cut it short.
	if o.requests > 0 && !durationSet {
		cfg.Duration = 0
	}
	if _, err := load.ParseTargetURL(url); err != nil {
		return cfg, nil, usageError{err}
	}
	for _, h := range o.headers {
		hd, err := load.ParseHeader(h)
		if err != nil {
			return cfg, nil, usageErrorf("--header: %w", err)
		}
		cfg.Request.Headers = append(cfg.Request.Headers, hd)
	}
	switch {
	case o.body != "" && o.bodyFile != "":
		return cfg, nil, usageErrorf("--body and --body-file: give one, not both")
	case o.bodyFile != "":
		b, err := os.ReadFile(o.bodyFile)
		if err != nil {
			return cfg, nil, usageErrorf("--body-file: %w", err)
		}
		cfg.Request.Body = b
	case o.body != "":
		cfg.Request.Body = []byte(o.body)
	}
	if err := cfg.Validate(); err != nil {
		return cfg, nil, usageError{flagName(err)}
	}
	var outs []report.Output
	for _, s := range o.outs {
		out, err := report.ParseOutput(s)
		if err != nil {
			return cfg, nil, usageErrorf("--out: %w", err)
		}
		for _, prev := range outs {
			if filepath.Clean(prev.Path) == filepath.Clean(out.Path) {
				return cfg, nil, usageErrorf("--out: %s=%s and %s=%s write the same file", prev.Format, prev.Path, out.Format, out.Path)
			}
		}
		if err := out.Check(); err != nil {
			return cfg, nil, usageErrorf("--out: %w", err)
		}
		outs = append(outs, out)
	}
	return cfg, outs, nil
}

// flagName prefixes a validation error with the flag that sets the value.
func flagName(err error) error {
	msg := err.Error()
	for prefix, flag := range map[string]string{
		"rate ": "--rate", "connections ": "--connections", "duration ": "--duration",
		"requests ": "--requests", "timeout ": "--timeout", "method ": "--method",
		"max body ": "--max-body", "header ": "--header",
	} {
		if strings.HasPrefix(msg, prefix) {
			return fmt.Errorf("%s: %w", flag, err)
		}
	}
	return err
}

// execute runs the plan and returns its result. Progress, if asked for, is
// drawn on stderr.
func execute(ctx context.Context, cfg load.Config, outs []report.Output, progress bool, stderr io.Writer) (*stats.Result, error) {
	client, err := load.NewHTTPClient(cfg)
	if err != nil {
		return nil, usageError{err}
	}
	defer client.Close()
	col := stats.NewCollector()
	var stopBar func()
	if progress {
		stopBar = startProgress(col, cfg, stderr)
	}
	rep, err := load.Run(ctx, cfg, client, col)
	if stopBar != nil {
		stopBar()
	}
	if err != nil {
		return nil, err
	}
	meta := stats.Meta{
		Target:      stats.Target{URL: cfg.Request.URL, Method: cfg.Request.Method},
		Started:     rep.Started,
		Rate:        cfg.Rate,
		Connections: cfg.Connections,
		Interrupted: rep.Interrupted,
	}
	res := col.Result(meta, rep.Elapsed, rep.BytesOut)
	res.Bytes.In = rep.BytesIn
	return res, nil
}

// startProgress refreshes a progress bar four times a second until the
// returned function is called.
func startProgress(col *stats.Collector, cfg load.Config, stderr io.Writer) func() {
	bar := report.NewProgress(stderr, cfg.Duration, cfg.Requests)
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		tk := time.NewTicker(250 * time.Millisecond)
		defer tk.Stop()
		for {
			select {
			case <-done:
				bar.Finish()
				return
			case now := <-tk.C:
				bar.Update(col.Progress(now))
			}
		}
	}()
	return func() { close(done); <-stopped }
}

// finish prints the text report, writes the outputs and picks the exit code.
func finish(res *stats.Result, outs []report.Output, quiet bool, stdout io.Writer) error {
	if !quiet {
		if err := report.Text(stdout, res); err != nil {
			return exitError{exitRuntime, fmt.Errorf("write report: %w", err)}
		}
	}
	var errs []error
	for _, o := range outs {
		if err := o.Write(res); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return exitError{exitRuntime, errors.Join(errs...)}
	}
	if res.Interrupted {
		return exitError{code: exitInterrupted}
	}
	return nil
}

// interruptContext is cancelled by the first SIGINT or SIGTERM, so the run
// stops and reports what it has; a second signal exits at once.
func interruptContext(parent context.Context, stderr io.Writer) (context.Context, func()) {
	ctx, cancel := context.WithCancel(parent)
	sig := make(chan os.Signal, 2)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		select {
		case <-sig:
		case <-done:
			return
		}
		fmt.Fprintln(stderr, "volley: interrupted: finishing in-flight requests (again to quit now)")
		cancel()
		select {
		case <-sig:
			fmt.Fprintln(stderr, "volley: interrupted twice: exiting")
			os.Exit(exitInterrupted)
		case <-done:
		}
	}()
	return ctx, func() {
		signal.Stop(sig)
		close(done)
		cancel()
	}
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}
