package load

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"volley/stats"
)

// Outcome is what one request produced.
type Outcome struct {
	Code    int             // HTTP status code; 0 on a transport error
	BytesIn int64           // response body bytes read
	Kind    stats.ErrorKind // transport error category; ErrNone on a response
	Err     error           // the transport error, for its sample message
	// Measured says the Conn measured the latency itself (from a timestamp
	// the server sent); Latency then replaces both done - intended and
	// done - sent.
	Measured bool
	Latency  time.Duration
	Target   uint8        // the target group of the request (Sample.Target)
	Check    uint8        // failed checks (Sample.Check)
	First    uint16       // first status when redirects were followed (Sample.First)
	Phases   stats.Phases // where the time went, as far as observed
}

// Conn sends requests on behalf of one worker. It is used by that worker's
// goroutine only.
type Conn interface {
	// Do sends request number i and waits for its response or error.
	Do(i int64) Outcome
	// Close releases the connection's resources.
	Close()
}

// Client makes a Conn per worker and counts bytes on the wire. Methods are
// safe for concurrent use.
type Client interface {
	NewConn() (Conn, error)
	BytesOut() int64
	BytesIn() int64
	Close()
}

// Report describes how the run went, beyond the samples.
type Report struct {
	Started time.Time
	// Elapsed is the sending window: for an open-loop run, from the start to
	// one interval after the later of the last intended and the last actual
	// send; for a closed loop, until the last response.
	Elapsed     time.Duration
	Interrupted bool
	// StartLate is how far past Config.StartAt the run began (0 if on time
	// or no StartAt was set).
	StartLate time.Duration
	BytesIn   int64
	BytesOut  int64
}

// recorderSize picks a ring size per worker so that the rings together hold
// about 32768 samples (about 2 MiB) whatever the connection count. The
// collector drains every 10 ms, so 1024 slots per worker for 50 workers
// absorb 5 million requests per second.
func recorderSize(workers int) int {
	n := 32768 / max(workers, 1)
	return min(max(n, 256), 4096)
}

// Run executes cfg with client, recording every request into col. It returns
// when the plan is done or ctx is cancelled (then Report.Interrupted is set
// and requests already sent are awaited, up to their timeout).
func Run(ctx context.Context, cfg Config, client Client, col *stats.Collector) (Report, error) {
	return RunAbandonable(ctx, nil, cfg, client, col)
}

// RunAbandonable is Run, and once abandon is closed (after ctx is done) it
// stops waiting for requests in flight: each is recorded at once as an
// ErrAbandoned error, so the result accounts for every request sent, and
// RunAbandonable returns without waiting for their answers. Their workers
// finish on their own (within the request timeout) and record nothing more;
// their connections are left to them.
func RunAbandonable(ctx context.Context, abandon <-chan struct{}, cfg Config, client Client, col *stats.Collector) (Report, error) {
	if err := cfg.Validate(); err != nil {
		return Report{}, err
	}
	sched, conc, err := cfg.schedule()
	if err != nil {
		return Report{}, &PlanError{err}
	}
	n := cfg.workers()
	if mine := cfg.Shard.Requests(cfg.Requests); cfg.Requests > 0 && int64(n) > mine {
		n = max(int(mine), 1)
	}
	r := &runner{cfg: cfg, sched: sched, conc: conc, warm: cfg.Warmup, dur: cfg.Length(), limit: cfg.Requests,
		of: int64(cfg.Shard.Of()), k: int64(cfg.Shard.Index), tick: cfg.Tick}
	col.TrackIssued(stats.IssuedCounter(&r.next, r.limit))
	// A multiplexing client runs a sender per connection with many tickets
	// in flight (mux.go); any other, a worker per connection with one.
	mc, isMux := client.(MuxClient)
	conns := make([]Conn, 0, n)
	muxes := make([]*slots, 0, n)
	waiters := make([]*waiter, 0, n)
	abandoned := false
	defer func() {
		for _, s := range muxes {
			s.conn.Close() // safe while a sender is still in Send
		}
		if abandoned {
			return // workers may still be in Do on these
		}
		for _, c := range conns {
			c.Close()
		}
		for _, w := range waiters {
			w.close()
		}
	}()
	recs := make([]*stats.Recorder, n)
	for i := range n {
		if isMux {
			s := &slots{r: r, limit: max(mc.Streams(), 1), wake: make(chan struct{}, 1),
				ans: col.NewRecorder(recorderSize(n)), send: col.NewRecorder(64)}
			c, err := mc.NewMuxConn(s)
			if err != nil {
				return Report{}, err
			}
			s.conn = c
			muxes = append(muxes, s)
		} else {
			c, err := client.NewConn()
			if err != nil {
				return Report{}, err
			}
			conns = append(conns, c)
			recs[i] = col.NewRecorder(recorderSize(n))
		}
		if (sched != nil && cfg.Tick == 0) || conc != nil {
			w, err := newWaiter()
			if err != nil {
				return Report{}, err
			}
			waiters = append(waiters, w)
		}
	}

	if sched != nil && r.tick > 0 {
		p, err := newPacer(n, r.now)
		if err != nil {
			return Report{}, err
		}
		defer p.close()
		r.pace = p
	}
	if conc != nil {
		var parked context.Context
		parked, r.halt = context.WithCancel(ctx)
		r.parked = parked
		defer r.halt()
	}
	if sched != nil && cfg.Requests > 0 && cfg.Warmup > 0 {
		// The count bounds the measured requests, after the warm-up's.
		r.limit += warmCount(sched, cfg.Warmup)
	}
	r.start = time.Now()
	var startLate time.Duration
	if !cfg.StartAt.IsZero() {
		// Carry the wall-clock start over to the monotonic clock.
		r.start = r.start.Add(cfg.StartAt.Sub(r.start))
		if wait := time.Until(r.start); wait > 0 {
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
				return Report{Started: cfg.StartAt, Interrupted: true, Elapsed: time.Millisecond}, nil
			case <-t.C:
			}
		} else {
			startLate = -wait
		}
	}
	// The statistics' clock starts when the measured run does.
	col.Start(r.start.Add(r.warm))
	// Bytes on the wire when the warm-up ends, to keep them out of the
	// result (requests in flight at that moment are split between the two).
	var warmBytes *time.Timer
	warmSnap := make(chan [2]int64, 1)
	if r.warm > 0 {
		warmBytes = time.AfterFunc(r.warm, func() {
			b := [2]int64{client.BytesIn(), client.BytesOut()}
			col.SetWarmBytes(b)
			warmSnap <- b
		})
	}
	aggCtx, stopAgg := context.WithCancel(context.Background())
	var aggWG sync.WaitGroup
	aggWG.Go(func() { col.Run(aggCtx) })

	var paceWG sync.WaitGroup
	workersDone := make(chan struct{})
	if r.pace != nil {
		paceWG.Go(r.pace.run)
		paceWG.Go(func() { r.pace.watch(ctx, workersDone) })
	}
	var wg sync.WaitGroup
	marksOf := make([]marks, n)
	r.flight = make([]inFlight, n)
	for i := range n {
		var w *waiter
		if len(waiters) > 0 {
			w = waiters[i]
		}
		if isMux {
			s := muxes[i]
			wg.Go(func() { s.run(ctx, i, w, abandon) })
			continue
		}
		wg.Go(func() { marksOf[i] = r.work(ctx, i, conns[i], w, recs[i]) })
	}
	allDone := make(chan struct{})
	go func() { wg.Wait(); close(allDone) }()
	select {
	case <-allDone:
	case <-abandon:
		select {
		case <-allDone:
		default:
			abandoned = true
			if isMux {
				for _, s := range muxes {
					s.abandon()
				}
			} else {
				r.abandon(recs)
			}
		}
	}
	for i, s := range muxes {
		select {
		case <-abandon:
			// Its sender stops waiting at abandon too, so allDone may have
			// won the race above: what is still in flight is abandoned.
			abandoned = true
			s.abandon()
		default:
		}
		s.mu.Lock()
		marksOf[i] = s.m
		s.mu.Unlock()
	}
	close(workersDone)
	paceWG.Wait()
	var all marks
	for _, m := range marksOf {
		all.sent += m.sent
		all.lastDue = max(all.lastDue, m.lastDue)
		all.lastSend = max(all.lastSend, m.lastSend)
		all.lastDone = max(all.lastDone, m.lastDone)
	}
	stopAgg()
	aggWG.Wait()

	rep := Report{
		Started:     r.start.Add(r.warm),
		StartLate:   startLate,
		Interrupted: ctx.Err() != nil,
		BytesIn:     client.BytesIn(),
		BytesOut:    client.BytesOut(),
	}
	if warmBytes != nil {
		if warmBytes.Stop() {
			// The run ended within the warm-up: all of it was warm-up.
			rep.BytesIn, rep.BytesOut = 0, 0
		} else {
			b := <-warmSnap
			rep.BytesIn -= b[0]
			rep.BytesOut -= b[1]
		}
	}
	if sched != nil {
		// One schedule step past the last send: for a constant rate, the
		// last due time plus one period; at the end of stages, their end.
		// A shard's next request is its next global index.
		rep.Elapsed = max(sched.Offset(all.sent*r.of+r.k), all.lastSend)
		if r.dur > 0 && all.lastSend < r.dur {
			// The next request would have been due after the window (-r 0.1
			// -d 3s sends one): the run is its window long, not 10 s.
			rep.Elapsed = min(rep.Elapsed, r.dur)
		}
		if all.sent == 0 {
			rep.Elapsed = time.Since(r.start)
		}
	} else {
		rep.Elapsed = all.lastDone
	}
	if rep.Interrupted || abandoned {
		rep.Elapsed = min(rep.Elapsed, time.Since(r.start))
	}
	if rep.Elapsed <= 0 {
		rep.Elapsed = time.Since(r.start)
	}
	rep.Elapsed -= r.warm
	if rep.Elapsed <= 0 {
		rep.Elapsed = time.Millisecond
	}
	return rep, nil
}

// runner is the state the workers share: the plan and the ticket counter.
type runner struct {
	cfg   Config
	sched Schedule     // nil for a closed loop
	conc  *Concurrency // closed loop with stages of connections, else nil
	warm  time.Duration
	dur   time.Duration // sending window, warm-up included; 0 = unbounded
	limit int64         // tickets to send, warm-up included; 0 = unbounded
	start time.Time
	next  atomic.Int64  // next ticket to claim
	of, k int64         // ticket j is global request j*of + k (shards)
	tick  time.Duration // pacing grid (Config.Tick)
	pace  *pacer        // releases due workers when tick > 0
	// parked is what workers parked by conc wait on; halt ends it when the
	// run has sent its last request.
	parked context.Context
	halt   context.CancelFunc
	flight []inFlight // per worker, for abandoning
}

// Worker states in inFlight.state. A worker moves idle -> busy before Do
// and busy -> recording -> idle after it; abandon moves every worker to
// gone, so exactly one side records a request in flight.
const (
	workerIdle int32 = iota
	workerBusy
	workerRecording
	workerGone
)

// inFlight is what abandon needs of one worker's request in flight, on a
// cache line of its own.
type inFlight struct {
	state     atomic.Int32
	due, sent time.Duration
	warmup    bool
	_         [32]byte // 64 bytes in all
}

// abandon stops every worker and records each request in flight as
// abandoned, into its worker's recorder: the worker no longer writes there
// once it is gone, so this goroutine becomes the recorder's one producer.
func (r *runner) abandon(recs []*stats.Recorder) {
	now := r.now()
	for i := range r.flight {
		f := &r.flight[i]
		for {
			old := f.state.Load()
			if old == workerRecording {
				runtime.Gosched() // the worker is recording its answer: let it finish
				continue
			}
			if !f.state.CompareAndSwap(old, workerGone) {
				continue
			}
			if old == workerBusy {
				recs[i].NoteError(stats.ErrAbandoned, func() string {
					return "in flight when a second interrupt stopped the wait"
				})
				recs[i].Record(stats.Sample{
					Done: int64(now - r.warm), Corrected: int64(now - f.due), Service: int64(now - f.sent),
					Err: stats.ErrAbandoned, Warmup: f.warmup,
				})
			}
			break
		}
	}
}

// marks are one worker's high-water marks, combined when the workers end.
type marks struct {
	sent                        int64
	lastDue, lastSend, lastDone time.Duration // since the start
}

func (r *runner) now() time.Duration { return time.Since(r.start) }

// Ticket is one due request or message: its index in the plan and its
// times since the start.
type Ticket struct {
	I        int64
	Intended time.Duration // the schedule's time for request I
	// Due is when it may be sent, and what its latency counts from: the
	// intended time on the tick grid (closed loop: when it was claimed).
	Due  time.Duration
	Sent time.Duration // when it went out
	Slot int           // the multiplexed path's slot holding it
}

// Warmup reports whether t belongs to the warm-up, kept out of the result.
func (r *runner) warmup(t *Ticket) bool { return t.Intended < r.warm }

// claim takes the next ticket for worker id and waits until it is due. It
// returns false when the plan has no more for this worker (or ctx is done).
func (r *runner) claim(ctx context.Context, id int, w *waiter, wake chan struct{}) (Ticket, bool) {
	if ctx.Err() != nil {
		return Ticket{}, false
	}
	if r.conc != nil && !r.admit(r.parked, id, w) {
		return Ticket{}, false
	}
	t := Ticket{I: (r.next.Add(1)-1)*r.of + r.k}
	if r.limit > 0 && t.I >= r.limit {
		if r.halt != nil {
			r.halt() // wake the workers the connection shape has parked
		}
		return Ticket{}, false
	}
	if r.sched != nil {
		t.Intended = r.sched.Offset(t.I)
		if r.dur > 0 && t.Intended >= r.dur {
			return Ticket{}, false
		}
		t.Due = quantize(t.Intended, r.tick)
		if t.Due > r.now() {
			if r.pace != nil {
				if !r.pace.await(ctx, t.Due, wake) {
					return Ticket{}, false
				}
			} else if !w.wait(ctx, t.Due, r.now) {
				return Ticket{}, false
			}
		}
	}
	t.Sent = r.now()
	if r.sched == nil {
		if r.dur > 0 && t.Sent >= r.dur {
			return Ticket{}, false
		}
		t.Due, t.Intended = t.Sent, t.Sent
	}
	return t, true
}

// record writes what ticket t came to, answered at done, into rec.
func (r *runner) record(rec *stats.Recorder, t *Ticket, out *Outcome, done time.Duration) {
	if out.Kind != stats.ErrNone {
		err, kind := out.Err, out.Kind
		rec.NoteError(kind, func() string {
			if err == nil {
				return kind.String()
			}
			return err.Error()
		})
	}
	corrected, service := done-t.Due, done-t.Sent
	if out.Measured {
		corrected, service = out.Latency, out.Latency
	}
	rec.Record(stats.Sample{
		Done: int64(done - r.warm), Corrected: int64(corrected), Service: int64(service),
		BytesIn: out.BytesIn, Code: uint16(out.Code), Err: out.Kind, Warmup: r.warmup(t),
		Target: out.Target, Check: out.Check, First: out.First, Phases: out.Phases,
	})
}

// work is one worker's loop: claim a ticket, wait until it is due, send,
// record.
func (r *runner) work(ctx context.Context, id int, conn Conn, w *waiter, rec *stats.Recorder) (m marks) {
	var wake chan struct{}
	if r.pace != nil {
		wake = make(chan struct{}, 1)
	}
	f := &r.flight[id]
	for {
		t, ok := r.claim(ctx, id, w, wake)
		if !ok {
			return m
		}
		f.due, f.sent, f.warmup = t.Due, t.Sent, r.warmup(&t)
		if !f.state.CompareAndSwap(workerIdle, workerBusy) {
			return m // abandoned
		}
		m.sent++
		out := conn.Do(t.I)
		done := r.now()
		if !f.state.CompareAndSwap(workerBusy, workerRecording) {
			return m // abandoned while in flight: recorded as such
		}
		r.record(rec, &t, &out, done)
		f.state.Store(workerIdle)
		m.lastDue, m.lastSend, m.lastDone = t.Due, t.Sent, done
	}
}

// admit blocks worker id while the connection shape leaves it inactive. It
// returns false when the run ends (or ctx does) before the worker is active
// again.
func (r *runner) admit(ctx context.Context, id int, w *waiter) bool {
	for {
		now := r.now()
		if r.dur > 0 && now >= r.dur {
			return false
		}
		if r.conc.Active(now) > id {
			return true
		}
		next := r.conc.NextActive(id, now)
		if r.dur > 0 && next >= r.dur {
			return false
		}
		if !w.wait(ctx, next, r.now) {
			return false
		}
	}
}

// PlanError is an error in the plan found while laying out its schedule,
// before anything is sent (a Poisson plan too long to tabulate): bad input,
// as Validate's errors are.
type PlanError struct{ Err error }

func (e *PlanError) Error() string { return e.Err.Error() }
func (e *PlanError) Unwrap() error { return e.Err }

// ErrNoConnections is returned when a plan would run no worker.
var ErrNoConnections = errors.New("no connections")
