package load

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sync"
	"time"

	"volley/load/request"
	"volley/stats"
)

// Execution is a whole run as a program asks for it: the plan, the
// thresholds that judge its result, and the sinks that watch it live.
type Execution struct {
	Config Config
	// Thresholds are evaluated into the result's Thresholds.
	Thresholds []stats.Threshold
	// AbortOnFail stops the run as soon as a threshold can no longer pass
	// (see stats.Threshold.Decided); the result's Aborted says which.
	AbortOnFail bool
	// Sinks see the run start, a snapshot every interval, and the result.
	Sinks []Sink
	// Abandon, once closed after ctx is done, stops the wait for the
	// requests in flight (see RunAbandonable). Nil waits for them.
	Abandon <-chan struct{}
	// TargetsFile names where Config's targets were read from, for the
	// result; "-" is stdin.
	TargetsFile string
	// Warn receives notices for the user about the run (nil drops them).
	Warn func(string)
}

// A Sink watches a run as it goes: the progress bar, the abort on a failed
// threshold and live metrics are sinks. Start is called first, then Interval
// every Every from a goroutine of the sink's own, then End with the result;
// no two of them at once.
type Sink interface {
	// Every is how often Interval is called.
	Every() time.Duration
	Start(Started)
	Interval(Snapshot)
	// End is called when the run is over, with its result (nil when it
	// failed before sending).
	End(*stats.Result)
}

// Started is what a sink learns as the run starts.
type Started struct {
	Config *Config
	// Planned is how many requests the run sends if not stopped early, 0
	// when that is not known in advance.
	Planned int64
	// Stop ends the run early, as an interrupt would, except that the
	// result is not marked interrupted.
	Stop func()
	// Bytes is what the client has read and written on the wire so far.
	Bytes func() (in, out int64)
}

// Snapshot is the run at one instant; its methods read the live counts.
type Snapshot struct {
	Now     time.Time
	col     *stats.Collector
	planned int64
}

// Progress is what the progress bar shows.
func (s Snapshot) Progress() stats.Progress { return s.col.Progress(s.Now) }

// Live is the running counts that thresholds are decided on.
func (s Snapshot) Live() stats.Live { return s.col.Live(s.planned) }

// Totals is the run so far with copies of its histograms, for live
// metrics: take it once an interval.
func (s Snapshot) Totals() stats.Totals { return s.col.Totals() }

// Attacher is a client that adds what only its protocol measures to the
// result (WebSocket's messages and handshakes).
type Attacher interface{ Attach(*stats.Result) }

// Execute runs x over client: the whole of what `volley run` does between
// its flags and its outputs. A bad plan is a *PlanError, returned before
// anything is sent. The caller closes client.
func Execute(ctx context.Context, x Execution, client Client) (*stats.Result, error) {
	cfg := x.Config
	if err := cfg.Validate(); err != nil {
		return nil, &PlanError{err}
	}
	if err := FitDescriptors(cfg); err != nil {
		return nil, &PlanError{err}
	}
	col := stats.NewCollector()
	groups, names, err := request.Groups(&cfg.Spec)
	if err != nil {
		return nil, &PlanError{err}
	}
	if names > stats.MaxTargets && x.Warn != nil {
		x.Warn(fmt.Sprintf("%d distinct target names: the per-target breakdown needs at most %d (name targets to group them); reporting totals only",
			names, stats.MaxTargets))
	}
	col.Describe(groups, cfg.Expect.Active(), cfg.Conn.FollowRedirects > 0)

	runCtx, cancelRun := context.WithCancel(ctx)
	defer cancelRun()
	planned := PlannedRequests(cfg)
	sinks := x.Sinks
	var abort *abortSink
	if x.AbortOnFail && len(x.Thresholds) > 0 {
		if !anyDecidable(x.Thresholds, planned > 0) && x.Warn != nil {
			x.Warn("--abort-on-fail: none of these thresholds can be decided before the run ends " +
				"(only requests, max, min, and shares with a known request count can); the run goes to the end")
		}
		abort = &abortSink{ts: x.Thresholds, which: -1}
		sinks = append(sinks[:len(sinks):len(sinks)], abort)
	}
	stopSinks := startSinks(sinks, Started{Config: &cfg, Planned: planned, Stop: cancelRun,
		Bytes: func() (int64, int64) { return client.BytesIn(), client.BytesOut() }}, col, planned)

	rep, err := RunAbandonable(runCtx, x.Abandon, cfg, client, col)
	stopSinks()
	if err != nil {
		endSinks(sinks, nil)
		return nil, err
	}
	if p, ok := client.(interface{ Protocol() string }); ok {
		col.SetProtocol(p.Protocol())
	}
	meta := stats.Meta{
		Target:  TargetOf(&cfg, x.TargetsFile),
		Started: rep.Started,
		// Stopped by a sink, not by ctx: not "interrupted".
		Interrupted: rep.Interrupted && ctx.Err() != nil,
		Plan:        Fingerprint(cfg),
		StartLate:   rep.StartLate,
	}
	cfg.Describe(&meta)
	// A shard's target is its share of the plan's rate, so that merged
	// shards add up to the plan.
	meta.Rate /= float64(cfg.Shard.Of())
	if cfg.Shard.Of() > 1 {
		meta.Shard = cfg.Shard.String()
	}
	res := col.Result(meta, rep.Elapsed, rep.BytesOut)
	res.Bytes.In = rep.BytesIn
	if mc, ok := client.(MuxClient); ok {
		res.Streams = &stats.Streams{PerConnection: mc.Streams()}
		if sc, ok := client.(interface{ ServerCap() int }); ok {
			res.Streams.ServerCap = sc.ServerCap()
		}
	}
	if a, ok := client.(Attacher); ok {
		a.Attach(res)
	}
	abortedBy := -1
	if abort != nil && abort.which >= 0 {
		abortedBy = abort.which
		res.Aborted = x.Thresholds[abortedBy].Expr + ": " + abort.reason
	}
	evalThresholds(res, x.Thresholds, abortedBy)
	endSinks(sinks, res)
	return res, nil
}

// startSinks starts each sink and a goroutine that feeds it snapshots; the
// returned function stops those goroutines and waits for them.
func startSinks(sinks []Sink, st Started, col *stats.Collector, planned int64) func() {
	done := make(chan struct{})
	var wg sync.WaitGroup
	for _, s := range sinks {
		s.Start(st)
		wg.Add(1)
		go func() {
			defer wg.Done()
			tk := time.NewTicker(s.Every())
			defer tk.Stop()
			for {
				select {
				case <-done:
					return
				case now := <-tk.C:
					s.Interval(Snapshot{Now: now, col: col, planned: planned})
				}
			}
		}()
	}
	return func() { close(done); wg.Wait() }
}

func endSinks(sinks []Sink, res *stats.Result) {
	for _, s := range sinks {
		s.End(res)
	}
}

// TargetOf describes what cfg loads, for a result's "target": the URL and
// method that every request shares, each empty when they differ; file
// names the targets file ("-" is stdin).
func TargetOf(cfg *Config, file string) stats.Target {
	if len(cfg.Targets) == 0 {
		return stats.Target{URL: cfg.Request.URL, Method: cfg.Request.Method}
	}
	t := stats.Target{URL: cfg.Targets[0].URL, Method: cfg.Targets[0].Method, File: file, Count: len(cfg.Targets)}
	for _, x := range cfg.Targets[1:] {
		if x.URL != t.URL {
			t.URL = ""
		}
		if x.Method != t.Method {
			t.Method = ""
		}
	}
	if file == "-" {
		t.File = "(stdin)"
	}
	return t
}

// Fingerprint hashes the settings that every shard of a plan must share,
// so that merging refuses results of different plans. The shard index, the
// connection count and the outputs may differ between shards.
func Fingerprint(cfg Config) string {
	h := sha256.New()
	fmt.Fprintf(h, "method=%q url=%q\n", cfg.Request.Method, cfg.Request.URL)
	for _, hd := range cfg.Request.Headers {
		fmt.Fprintf(h, "header=%q:%q\n", hd.Key, hd.Value)
	}
	body := sha256.Sum256(cfg.Request.Body)
	fmt.Fprintf(h, "body=%x rate=%v duration=%v requests=%d shards=%d\n",
		body, cfg.Rate, cfg.Duration, cfg.Requests, cfg.Shard.Of())
	fmt.Fprintf(h, "stages=%v conns=%v arrival=%v warmup=%v tick=%v\n",
		cfg.Stages, cfg.StageConnections, cfg.Arrival, cfg.Warmup, cfg.Tick)
	if cfg.Random || cfg.Arrival == ArrivalPoisson {
		// The seed decides what is sent when: shards must share it. (An
		// unseeded run's seed only varies template values.)
		fmt.Fprintf(h, "seed=%d\n", cfg.Seed)
	}
	fmt.Fprintf(h, "targets=%+v random=%v protocol=%v\n", cfg.Targets, cfg.Random, cfg.Conn.Protocol)
	if !cfg.StartAt.IsZero() {
		fmt.Fprintf(h, "start=%s\n", cfg.StartAt.UTC().Format(time.RFC3339Nano))
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil))[:16]
}

// PlannedRequests is how many requests cfg sends if not stopped early, or 0
// when that is not known in advance (closed loop bound by time).
func PlannedRequests(cfg Config) int64 {
	n := cfg.Requests
	if cfg.Rate > 0 && cfg.Duration > 0 {
		c := Constant{Rate: cfg.Rate}.Count(cfg.Duration)
		if n == 0 || c < n {
			n = c
		}
	}
	if n > 0 {
		n = cfg.Shard.Requests(n)
	}
	return n
}

func anyDecidable(ts []stats.Threshold, planKnown bool) bool {
	for _, t := range ts {
		if t.Decidable(planKnown) {
			return true
		}
	}
	return false
}

// abortEvery is how often the abort on a failed threshold looks at the
// live counts.
const abortEvery = 50 * time.Millisecond

// abortSink stops the run when a threshold can no longer pass, and keeps
// which one and why.
type abortSink struct {
	ts     []stats.Threshold
	stop   func()
	which  int
	reason string
}

func (a *abortSink) Every() time.Duration { return abortEvery }
func (a *abortSink) Start(st Started)     { a.stop = st.Stop }
func (a *abortSink) End(*stats.Result)    {}

func (a *abortSink) Interval(s Snapshot) {
	if a.which >= 0 {
		return
	}
	live := s.Live()
	for i, t := range a.ts {
		if gone, why := t.Decided(live); gone {
			a.which, a.reason = i, why
			a.stop()
			return
		}
	}
}

// evalThresholds stores the outcomes of ts in res. The threshold that
// stopped the run is marked; it fails (its count already decided it).
func evalThresholds(res *stats.Result, ts []stats.Threshold, abortedBy int) {
	if len(ts) == 0 {
		return
	}
	out, _ := stats.EvalAll(ts, res)
	if abortedBy >= 0 && abortedBy < len(out) {
		out[abortedBy].Aborted = true
		out[abortedBy].Pass = false
	}
	res.Thresholds = out
}
