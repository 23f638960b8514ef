package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/pprof"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"golang.org/x/term"

	"volley/load"
	"volley/load/field"
	"volley/load/protocols"
	"volley/load/request"
	"volley/load/rtc"
	"volley/load/ws"
	"volley/report"
	"volley/stats"
)

// runOptions are the flags of `volley run`.
type runOptions struct {
	rate        float64
	connections int
	streams     int
	duration    time.Duration
	requests    int64
	method      string
	headers     []string
	body        string
	bodyFile    string
	timeout     time.Duration
	maxBody     int
	outputOptions
	cpuProfile  string
	shard       string
	startAt     string
	thresholds  []string
	abortOnFail bool
	ws          wsOptions
	shapeOptions
	req         requestOptions
	showSecrets bool
	metrics     metricsOptions
}

// runPlan is a validated `volley run`: the load plan, the outputs and the
// thresholds.
type runPlan struct {
	cfg         load.Config
	outs        []report.Output
	thresholds  []stats.Threshold
	abortOnFail bool
	targetsFile string
	live        *liveMetrics // nil: no live metrics
}

func newRunCmd(stdout, stderr io.Writer) *cobra.Command {
	var o runOptions
	cmd := &cobra.Command{
		Use:   "run [flags] URL",
		Short: "Send load to URL and report latency, status codes and errors",
		Long: `Send HTTP requests, or WebSocket messages (ws:// and wss:// URLs, below),
to URL and report what happened.

With --rate N (open loop), request i is due at i/N seconds after the start,
whatever the target does; its latency is measured from that intended time
("corrected") as well as from the actual send ("service"). When the target
stalls or every connection is busy, due requests wait and their waiting is
counted. With --rate 0 (closed loop), each connection sends its next request
as soon as the previous one completes.

The run stops after --duration or --requests, whichever comes first.

Thresholds (--threshold, repeatable) make the run a pass/fail gate for CI:
after the report each is printed with its actual value, and the exit code is
99 if any failed. An expression is METRIC OP VALUE:
  metrics   p50 p99 p99.9 p(99) min mean max stdev (corrected latency;
            service.p99 etc. for service time), error_rate (transport errors,
            4xx and 5xx over all requests), transport_error_rate, 1xx..5xx
            (share of requests), late (share of late sends), rps, requests
  operators < <= > >= ==
  values    durations need a unit (250us, 250ms, 1.5s); shares take a
            fraction (0.01) or a percentage (1%); rps and requests a number
--abort-on-fail stops the run as soon as a threshold can no longer pass:
requests (<, <=, ==), max (<, <=, ==), min (>, >=, ==), and shares once their
count alone decides the outcome against the planned request count (open loop,
or --requests). Percentiles, mean, stdev and rps are only judged at the end.

--stages shapes the rate over time with linear ramps and holds (with -r 0,
the number of active connections), and sets the run's length. --arrival
poisson spaces requests with exponential gaps at the same mean rate.
--warmup sends first at the starting rate and keeps that out of the result.

Instead of URL, --targets FILE sends the requests of a targets file (plain
HTTP or JSON lines), picked by weight. URLs, header values and bodies may
hold templates such as {{seq}}, {{rand 1 100}}, {{uuid}}, {{now}} and
{{csv.COLUMN}} (with --data FILE.csv); see the README.` + runWSHelp,

		Example: `  volley run -r 1000 -d 30s http://127.0.0.1:8080/
  volley run -c 10 -n 5000 -X POST -H 'Content-Type: application/json' \
      -b '{"id":1}' http://127.0.0.1:8080/api
  volley run -r 500 --out json=result.json -q http://127.0.0.1:8080/
  volley run -r 1000 -d 1m --threshold 'p99<250ms' --threshold 'error_rate<1%' \
      --out junit=volley.xml --out md=volley.md http://127.0.0.1:8080/
  volley run -r 200 -c 10 --message '{"op":"ping"}' ws://127.0.0.1:8080/ws
  volley run --stages 30s:100-1000,2m:1000,30s:1000-0 --warmup 10s \
      --out html=report.html http://127.0.0.1:8080/
  volley run --targets targets.txt -r 500 -d 30s --expect-status 2xx
  volley run --http2 --cacert ca.pem -n 10000 https://127.0.0.1:8443/`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) == 0 && o.req.targets != "" {
				return nil
			}
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
			target := ""
			if len(args) > 0 {
				target = args[0]
			}
			live, err := o.metrics.take(&o.outs)
			if err != nil {
				return err
			}
			plan, err := o.plan(target, cmd.Flags().Changed("duration"), cmd.InOrStdin())
			if err != nil {
				return err
			}
			if err := o.ws.check(target, &plan.cfg, cmd.Flags().Changed); err != nil {
				return err
			}
			if err := checkMessageThresholds(target, o.ws.rtc.on, plan.thresholds); err != nil {
				return err
			}
			if err := o.shapeOptions.apply(&plan.cfg, cmd.Flags()); err != nil {
				return err
			}
			if o.cpuProfile != "" {
				stopProfile, err := startCPUProfile(o.cpuProfile)
				if err != nil {
					return usageErrorf("--cpuprofile: %w", err)
				}
				defer stopProfile()
			}
			if plan.live, err = live.start(&plan.cfg, request.IsWebSocketURL(target) || o.ws.rtc.on, stderr); err != nil {
				return err
			}
			// The scrape endpoint serves its linger after the outputs are
			// written; a signal ends it.
			defer plan.live.close(ctx)
			res, err := executeWith(ctx, plan, o.progress(stderr), stderr, o.clientFor(target))
			if err != nil {
				return err
			}
			if !o.showSecrets {
				plan.cfg.Request.Redactor().Result(res)
			}
			err = finish(cmd, res, plan, o.quiet, stdout, stderr)
			var ee exitError
			if ctx.Err() != nil && (err == nil || errors.As(err, &ee) && ee.code == exitThresholds) {
				// A signal after the last response: the result is whole,
				// but the user asked to stop.
				return exitError{code: exitInterrupted}
			}
			return err
		},
	}
	f := cmd.Flags()
	f.SortFlags = false
	f.VarP(rateValue{&o.rate}, "rate", "r", "requests (or messages) per second across all connections, N or N/s (open loop); 0 = closed loop")
	f.DurationVarP(&o.duration, "duration", "d", 10*time.Second, "how long to send; 0 = until --requests are sent")
	f.Int64VarP(&o.requests, "requests", "n", 0, "stop after this many requests (0 = no limit)")
	o.registerRequest(f)
	o.shapeOptions.register(f)
	f.StringArrayVar(&o.thresholds, "threshold", nil, "pass/fail condition such as 'p99<250ms', 'error_rate<1%' or 'rps>=950' (repeatable); exit 99 if any fails")
	f.BoolVar(&o.abortOnFail, "abort-on-fail", false, "stop the run as soon as a threshold can no longer pass")
	o.outputOptions.register(f, "write the result as FORMAT=PATH, or send live metrics with prometheus-rw=URL (Prometheus remote write) and otlp=URL (OTLP/HTTP)", "no progress bar and no text report")
	o.metrics.register(f)
	f.StringVar(&o.shard, "shard", "", "run shard K of N of this plan (K from 0): the requests whose index i has i mod N == K")
	f.StringVar(&o.startAt, "start-at", "", "start the schedule at this wall time: RFC 3339 or +DURATION from now (lines shards up)")
	f.StringVar(&o.cpuProfile, "cpuprofile", "", "write a CPU profile of volley itself to this file")
	_ = f.MarkHidden("cpuprofile")
	o.ws.addFlags(cmd)
	o.req.register(f)
	addStepSummaryFlag(cmd)
	return cmd
}

// registerRequest registers the flags that say what each request is and
// how long it may take, shared by run and find-max, so that both take the
// same values (sizes with units among them) with the same help.
func (o *runOptions) registerRequest(f *pflag.FlagSet) {
	f.IntVarP(&o.connections, "connections", "c", 50, "connections (one worker each)")
	f.IntVar(&o.streams, "streams", 0, "requests or messages in flight per connection: HTTP/2 streams (volley's own multiplexing client), HTTP/1.1 pipelining depth, WebSocket messages awaiting their echo (0 = the protocol's default: one request at a time for HTTP; 100000 messages for WebSocket, 1 with --rate 0)")
	f.StringVarP(&o.method, "method", "X", "GET", "HTTP method")
	f.StringArrayVarP(&o.headers, "header", "H", nil, "request header 'Key: Value' (repeatable); Host: sets the Host header")
	f.StringVarP(&o.body, "body", "b", "", "request body")
	f.StringVar(&o.bodyFile, "body-file", "", "read the request body from this file")
	f.DurationVarP(&o.timeout, "timeout", "t", 10*time.Second, "per-request timeout, connecting included")
	o.maxBody = 64 << 20
	f.Var(sizeValue{&o.maxBody}, "max-body", "largest response body (bytes, or with a unit: 64KiB, 10MB); larger ones count as body_too_large errors")
	f.BoolVar(&o.showSecrets, "show-secrets", false, "show Authorization, Proxy-Authorization, Cookie and Set-Cookie values and URL userinfo in the report and outputs (redacted by default)")
}

// plan turns the flags into a validated plan.
func (o *runOptions) plan(url string, durationSet bool, stdin io.Reader) (runPlan, error) {
	cfg, outs, err := o.config(url, durationSet, stdin)
	if err != nil {
		return runPlan{}, err
	}
	ts, err := parseThresholds(o.thresholds)
	if err != nil {
		return runPlan{}, err
	}
	if o.abortOnFail && len(ts) == 0 {
		return runPlan{}, usageErrorf("--abort-on-fail: give at least one --threshold")
	}
	return runPlan{cfg: cfg, outs: outs, thresholds: ts, abortOnFail: o.abortOnFail, targetsFile: o.req.targets}, nil
}

// checkMessageThresholds refuses thresholds on message counts for a run
// that sends no messages: they could only fail, with nothing to judge.
func checkMessageThresholds(target string, webrtc bool, ts []stats.Threshold) error {
	if request.IsWebSocketURL(target) || webrtc {
		return nil
	}
	for _, t := range ts {
		if t.Metric.Name == "unanswered" {
			return usageErrorf("--threshold %s: unanswered counts messages; give it with a ws:// or wss:// URL, or with --webrtc", t.String())
		}
	}
	return nil
}

// parseThresholds parses --threshold flags; a bad one is a usage error whose
// message points at the offending part.
func parseThresholds(exprs []string) ([]stats.Threshold, error) {
	var ts []stats.Threshold
	for _, e := range exprs {
		t, err := stats.ParseThreshold(e)
		if err != nil {
			return nil, usageErrorf("--threshold: %w", err)
		}
		ts = append(ts, t)
	}
	return ts, nil
}

// parseOutputs parses and checks --out flags before any load is sent.
func parseOutputs(specs []string) ([]report.Output, error) {
	var outs []report.Output
	for _, s := range specs {
		if format, _, _ := strings.Cut(s, "="); slices.Contains(liveOutputs, format) {
			return nil, usageErrorf("--out %s=: live metrics are sent by volley run only", format)
		}
		out, err := report.ParseOutput(s)
		if err != nil {
			return nil, usageErrorf("--out: %w", err)
		}
		for _, prev := range outs {
			if prev.SameFile(out) {
				return nil, usageErrorf("--out: %s=%s and %s=%s write the same file", prev.Format, prev.Path, out.Format, out.Path)
			}
			if prev.Path == report.Stdout && out.Path == report.Stdout {
				return nil, usageErrorf("--out: %s=- and %s=- both write to stdout; give one", prev.Format, out.Format)
			}
		}
		if err := out.Check(); err != nil {
			return nil, usageErrorf("--out: %w", err)
		}
		outs = append(outs, out)
	}
	return outs, nil
}

// config turns the flags into a validated load plan and outputs.
func (o *runOptions) config(url string, durationSet bool, stdin io.Reader) (load.Config, []report.Output, error) {
	cfg := load.Config{Spec: request.Spec{Request: request.Request{Method: o.method, URL: url}},

		Rate:        o.rate,
		Connections: o.connections,
		Streams:     o.streams,
		Duration:    o.duration,
		Requests:    o.requests,
		Timeout:     o.timeout,
		MaxBody:     o.maxBody,
	}
	// -n alone means "this many requests": the default duration does not cut it short.
	if o.requests > 0 && !durationSet {
		cfg.Duration = 0
	}
	for _, h := range o.headers {
		hd, err := request.ParseHeader(h)
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
	if o.shard != "" {
		sh, err := load.ParseShard(o.shard)
		if err != nil {
			return cfg, nil, usageErrorf("--shard: %w", err)
		}
		cfg.Shard = sh
	}
	if o.startAt != "" {
		t, err := load.ParseStartAt(o.startAt, time.Now())
		if err != nil {
			return cfg, nil, usageErrorf("--start-at: %w", err)
		}
		cfg.StartAt = t
	}
	if err := o.req.apply(&cfg, url, stdin); err != nil {
		return cfg, nil, err
	}
	if err := cfg.Validate(); err != nil {
		return cfg, nil, usageError{flagName(err)}
	}
	outs, err := parseOutputs(o.outs)
	return cfg, outs, err
}

// flagOfField is the flag that sets each setting of a plan that load's
// errors name (field.Error).
var flagOfField = map[string]string{
	"Rate": "--rate", "Tick": "--tick", "Connections": "--connections", "Streams": "--streams",
	"Duration": "--duration", "Requests": "--requests", "Timeout": "--timeout", "MaxBody": "--max-body",
	"MaxHeader": "--max-header", "Shard": "--shard", "Stages": "--stages", "Warmup": "--warmup",
	"Arrival": "--arrival", "Request.Method": "--method", "Request.Headers": "--header",
	"Request.Body": "--body", "Targets": "--targets", "Conn.FollowRedirects": "--follow-redirects",
	"Conn.Proxy": "--proxy", "Conn.Protocol.http2": "--http2", "Conn.Protocol.h2c": "--h2c",
}

// flagName prefixes an error about a setting of the plan with the flag
// that sets it. (A URL's errors name the URL itself.)
func flagName(err error) error {
	if flag := flagOfField[field.Of(err)]; flag != "" {
		return fmt.Errorf("%s: %w", flag, err)
	}
	return err
}

// execute runs the plan over the HTTP client of its protocol.
func execute(ctx context.Context, plan runPlan, progress bool, stderr io.Writer) (*stats.Result, error) {
	return executeWith(ctx, plan, progress, stderr, httpClient)
}

// protocol is one row of the table of URL schemes: how a plan's client is
// made for the run (open: it may connect), and made only to be checked
// (build: it must not).
type protocol struct {
	open  clientMaker
	build func(cfg load.Config) (load.Client, error)
}

// protocolFor is the row of target's URL scheme (a targets file holds HTTP
// URLs only). A further protocol is one row.
func (o *runOptions) protocolFor(target string) protocol {
	http := protocol{httpClient, protocols.NewClient}
	websocket := protocol{o.ws.client, func(cfg load.Config) (load.Client, error) { return ws.NewClient(cfg, o.ws.cfg) }}
	if o.ws.rtc.on {
		return protocol{o.ws.rtc.client, func(cfg load.Config) (load.Client, error) { return rtc.NewClient(cfg, o.ws.rtc.cfg) }}
	}
	scheme, _, _ := strings.Cut(target, "://")
	if p, ok := map[string]protocol{"http": http, "https": http, "ws": websocket, "wss": websocket}[scheme]; ok {
		return p
	}
	return http // the plan has checked the URL already
}

// clientFor is the client maker of target's protocol.
func (o *runOptions) clientFor(target string) clientMaker { return o.protocolFor(target).open }

// checkClient makes target's client for cfg without connecting and closes
// it, so that a plan no client can run is refused (exit 2) before anything
// is printed.
func (o *runOptions) checkClient(target string, cfg load.Config) error {
	c, err := o.protocolFor(target).build(cfg)
	if err != nil {
		return usageError{flagName(err)}
	}
	c.Close()
	return nil
}

// clientMaker makes the protocol client for a plan. What only that protocol
// measures it adds to the result itself (load.Attacher).
type clientMaker func(ctx context.Context, cfg load.Config, progress bool, stderr io.Writer) (load.Client, error)

func httpClient(_ context.Context, cfg load.Config, _ bool, _ io.Writer) (load.Client, error) {
	c, err := protocols.NewClient(cfg)
	if err != nil {
		return nil, usageError{flagName(err)}
	}
	return c, nil
}

// executeWith runs the plan over the client mk makes, with the progress
// bar on stderr if asked for and the user's second signal (abandonOf).
func executeWith(ctx context.Context, plan runPlan, progress bool, stderr io.Writer, mk clientMaker) (*stats.Result, error) {
	if err := load.FitDescriptors(plan.cfg); err != nil {
		return nil, usageError{err}
	}
	client, err := mk(ctx, plan.cfg, progress, stderr)
	if err != nil {
		return nil, err
	}
	defer client.Close()
	x := load.Execution{
		Config: plan.cfg, Thresholds: plan.thresholds, AbortOnFail: plan.abortOnFail,
		Abandon: abandonOf(ctx), TargetsFile: plan.targetsFile,
		Warn: func(msg string) { notice(stderr, "%s", msg) },
	}
	if progress {
		x.Sinks = append(x.Sinks, &progressSink{w: stderr})
	}
	if plan.live != nil {
		x.Sinks = append(x.Sinks, plan.live.sink)
	}
	res, err := load.Execute(ctx, x, client)
	var planErr *load.PlanError
	if errors.As(err, &planErr) {
		return nil, usageError{flagName(planErr.Err)}
	}
	if err != nil {
		return nil, err
	}
	if res.Messages != nil {
		warnClockSkew(res.Messages, stderr)
	}
	return res, nil
}

// progressSink draws the progress bar four times a second.
type progressSink struct {
	w   io.Writer
	bar *report.Progress
}

func (p *progressSink) Every() time.Duration { return 250 * time.Millisecond }

func (p *progressSink) Start(st load.Started) {
	cfg := st.Config
	p.bar = report.NewProgress(p.w, cfg.Length(), cfg.Requests)
	if len(cfg.Stages) > 0 || cfg.Warmup > 0 {
		unit := "req/s"
		if !cfg.Open() {
			unit = "conns"
		}
		p.bar.SetPhase(cfg.Warmup, unit, cfg.Phase)
	}
}

func (p *progressSink) Interval(s load.Snapshot) { p.bar.Update(s.Progress()) }
func (p *progressSink) End(*stats.Result)        { p.bar.Finish() }

// finish writes the output files, prints the text report and the
// thresholds, writes the outputs that go to stdout and the GitHub job
// summary, and picks the exit code: 130 if interrupted, 99 if a threshold
// failed, 1 if an output or the report could not be written. The files come
// first, so that a closed stdout (volley run ... | head -1) loses nothing.
func finish(cmd *cobra.Command, res *stats.Result, plan runPlan, quiet bool, stdout, stderr io.Writer) error {
	var human func(io.Writer) error
	if !quiet {
		human = func(w io.Writer) error { return report.TextWithThresholds(w, res) }
	}
	errs := writeAll(res, plan.outs, human, stdout, stderr)
	stepSummary(cmd, stderr, func(w io.Writer) error { return report.Markdown(w, res) })
	if len(errs) > 0 {
		return exitError{exitRuntime, errors.Join(errs...)}
	}
	if res.Interrupted {
		return exitError{code: exitInterrupted}
	}
	return thresholdExit(res)
}

// writeAll writes the outputs and, unless human is nil, the report for
// people: the files first, so that a closed stdout loses none, then the
// report, then what --out sends to stdout. Stdout holds one document: when
// an --out goes to "-", the report goes to stderr, so that
// 'volley run --out json=- URL | jq' reads JSON alone.
func writeAll(res *stats.Result, outs []report.Output, human func(io.Writer) error, stdout, stderr io.Writer) []error {
	errs := writeFiles(res, outs)
	if human != nil {
		w := stdout
		for _, o := range outs {
			if o.Path == report.Stdout {
				w = stderr
			}
		}
		if err := human(w); err != nil {
			errs = append(errs, fmt.Errorf("write report: %w", err))
		}
	}
	return append(errs, writeStdout(res, outs, stdout)...)
}

// writeFiles writes the outputs that go to files.
func writeFiles(res *stats.Result, outs []report.Output) []error {
	var errs []error
	for _, o := range outs {
		if o.Path != report.Stdout {
			if err := o.Write(res, nil); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errs
}

// writeStdout writes the outputs that go to stdout.
func writeStdout(res *stats.Result, outs []report.Output, stdout io.Writer) []error {
	var errs []error
	for _, o := range outs {
		if o.Path == report.Stdout {
			if err := o.Write(res, stdout); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errs
}

// addStepSummaryFlag gives cmd --no-step-summary: only the commands that
// write a job summary (run, report, merge, compare) have it.
func addStepSummaryFlag(cmd *cobra.Command) {
	cmd.Flags().Bool("no-step-summary", false, "do not append the Markdown summary to $GITHUB_STEP_SUMMARY (written when it is set)")
}

// stepSummary appends what render writes to the GitHub job summary, when
// GITHUB_STEP_SUMMARY is set, unless --no-step-summary was given.
func stepSummary(cmd *cobra.Command, stderr io.Writer, render func(io.Writer) error) {
	if off, _ := cmd.Flags().GetBool("no-step-summary"); off || os.Getenv("GITHUB_STEP_SUMMARY") == "" {
		return
	}
	var b strings.Builder
	if err := render(&b); err != nil {
		notice(stderr, "warning: job summary: %v", err)
		return
	}
	if _, err := report.AppendStepSummary(os.Getenv, []byte(b.String())); err != nil {
		notice(stderr, "warning: %v", err)
	}
}

// thresholdExit returns exit 99 naming the failed thresholds, or nil.
func thresholdExit(res *stats.Result) error {
	var failed []string
	for _, o := range res.Thresholds {
		if !o.Pass {
			failed = append(failed, o.Message)
		}
	}
	if len(failed) == 0 {
		return nil
	}
	return exitError{exitThresholds, fmt.Errorf("%d of %d thresholds failed: %s",
		len(failed), len(res.Thresholds), strings.Join(failed, "; "))}
}

// interruptContext is cancelled by the first SIGINT, SIGTERM or SIGHUP, so
// the run stops sending and reports what it has. A second signal stops the
// wait for requests in flight (abandonOf); further ones are ignored. No
// signal stops the report and the outputs from being written: the signals
// stay caught until stop is called, after they are. (GNU timeout and CI
// runners often deliver one stop as two signals, to the process and to its
// group; a dropped ssh session sends SIGHUP.)
func interruptContext(parent context.Context, stderr io.Writer) (context.Context, func()) {
	abandon := make(chan struct{})
	note := new(atomic.Pointer[string])
	ctx, cancel := context.WithCancel(context.WithValue(context.WithValue(parent,
		abandonKey{}, (<-chan struct{})(abandon)), noteKey{}, note))
	sig := make(chan os.Signal, 4)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		for n := 1; ; n++ {
			select {
			case s := <-sig:
				switch n {
				case 1:
					if after := note.Load(); after != nil {
						notice(stderr, "interrupted by %s: %s", sigName(s), *after)
					} else {
						notice(stderr, "interrupted by %s: finishing in-flight requests (again to stop waiting for them)", sigName(s))
					}
					cancel()
				case 2:
					notice(stderr, "%s again: not waiting for in-flight requests; writing the results", sigName(s))
					close(abandon)
				}
			case <-done:
				return
			}
		}
	}()
	return ctx, func() {
		signal.Stop(sig)
		close(done)
		<-stopped
		cancel()
	}
}

// abandonKey holds, in an interruptContext, the channel closed by the
// second signal.
type abandonKey struct{}

// noteKey holds, in an interruptContext, what a first signal does once the
// run is over (see setInterruptNote).
type noteKey struct{}

// setInterruptNote says what a first signal ends from now on, for its
// notice: the run is over, and something after it is not.
func setInterruptNote(ctx context.Context, what string) {
	if p, ok := ctx.Value(noteKey{}).(*atomic.Pointer[string]); ok {
		p.Store(&what)
	}
}

// abandonOf returns the channel closed when the user asked a second time to
// stop, or nil (never closed) outside an interruptContext.
func abandonOf(ctx context.Context) <-chan struct{} {
	ch, _ := ctx.Value(abandonKey{}).(<-chan struct{})
	return ch
}

func sigName(s os.Signal) string {
	switch s {
	case os.Interrupt:
		return "SIGINT"
	case syscall.SIGTERM:
		return "SIGTERM"
	case syscall.SIGHUP:
		return "SIGHUP"
	}
	return s.String()
}

// startCPUProfile profiles volley itself, for performance work.
func startCPUProfile(path string) (func(), error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}
