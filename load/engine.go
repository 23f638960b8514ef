package load

import (
	"context"
	"errors"
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
	Target  uint8           // the target group of the request (Sample.Target)
	Check   uint8           // failed checks (Sample.Check)
	First   uint16          // first status when redirects were followed (Sample.First)
	Phases  stats.Phases    // where the time went, as far as observed
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
	BytesIn     int64
	BytesOut    int64
}

// recorderSize picks a ring size per worker so that the rings together stay
// near 8 MiB whatever the connection count.
func recorderSize(workers int) int {
	n := 262144 / max(workers, 1)
	return min(max(n, 256), 4096)
}

// Run executes cfg with client, recording every request into col. It returns
// when the plan is done or ctx is cancelled (then Report.Interrupted is set
// and requests already sent are awaited, up to their timeout).
func Run(ctx context.Context, cfg Config, client Client, col *stats.Collector) (Report, error) {
	if err := cfg.Validate(); err != nil {
		return Report{}, err
	}
	n := cfg.Connections
	if cfg.Requests > 0 && int64(n) > cfg.Requests {
		n = int(cfg.Requests)
	}
	conns := make([]Conn, 0, n)
	waiters := make([]*waiter, 0, n)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
		for _, w := range waiters {
			w.close()
		}
	}()
	recs := make([]*stats.Recorder, n)
	for i := range n {
		c, err := client.NewConn()
		if err != nil {
			return Report{}, err
		}
		conns = append(conns, c)
		if cfg.Rate > 0 {
			w, err := newWaiter()
			if err != nil {
				return Report{}, err
			}
			waiters = append(waiters, w)
		}
		recs[i] = col.NewRecorder(recorderSize(n))
	}

	var sched Schedule
	if cfg.Rate > 0 {
		sched = Constant{Rate: cfg.Rate}
	}
	r := &runner{cfg: cfg, sched: sched, start: time.Now()}
	col.Start(r.start)
	aggCtx, stopAgg := context.WithCancel(context.Background())
	var aggWG sync.WaitGroup
	aggWG.Go(func() { col.Run(aggCtx) })

	var wg sync.WaitGroup
	marksOf := make([]marks, n)
	for i := range n {
		var w *waiter
		if len(waiters) > 0 {
			w = waiters[i]
		}
		wg.Go(func() { marksOf[i] = r.work(ctx, conns[i], w, recs[i]) })
	}
	wg.Wait()
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
		Started:     r.start,
		Interrupted: ctx.Err() != nil,
		BytesIn:     client.BytesIn(),
		BytesOut:    client.BytesOut(),
	}
	if sched != nil {
		period := time.Duration(float64(time.Second) / cfg.Rate)
		rep.Elapsed = max(all.lastDue, all.lastSend) + period
		if all.sent == 0 {
			rep.Elapsed = time.Since(r.start)
		}
	} else {
		rep.Elapsed = all.lastDone
	}
	if rep.Interrupted {
		rep.Elapsed = min(rep.Elapsed, time.Since(r.start))
	}
	if rep.Elapsed <= 0 {
		rep.Elapsed = time.Since(r.start)
	}
	return rep, nil
}

// runner is the state the workers share: the plan and the ticket counter.
type runner struct {
	cfg   Config
	sched Schedule
	start time.Time
	next  atomic.Int64 // next ticket to claim
}

// marks are one worker's high-water marks, combined when the workers end.
type marks struct {
	sent                        int64
	lastDue, lastSend, lastDone time.Duration // since the start
}

func (r *runner) now() time.Duration { return time.Since(r.start) }

// work is one worker's loop: claim a ticket, wait until it is due, send,
// record.
func (r *runner) work(ctx context.Context, conn Conn, w *waiter, rec *stats.Recorder) (m marks) {
	limit, dur := r.cfg.Requests, r.cfg.Duration
	for ctx.Err() == nil {
		i := r.next.Add(1) - 1
		if limit > 0 && i >= limit {
			return m
		}
		var due time.Duration
		if r.sched != nil {
			due = r.sched.Offset(i)
			if dur > 0 && due >= dur {
				return m
			}
			if due > r.now() && !w.wait(ctx, due, r.now) {
				return m
			}
		}
		sent := r.now()
		if r.sched == nil {
			if dur > 0 && sent >= dur {
				return m
			}
			due = sent
		}
		m.sent++
		out := conn.Do(i)
		done := r.now()
		if out.Kind != stats.ErrNone {
			err := out.Err
			rec.NoteError(out.Kind, func() string {
				if err == nil {
					return out.Kind.String()
				}
				return err.Error()
			})
		}
		rec.Record(stats.Sample{
			Done: int64(done), Corrected: int64(done - due), Service: int64(done - sent),
			BytesIn: out.BytesIn, Code: uint16(out.Code), Err: out.Kind,
			Target: out.Target, Check: out.Check, First: out.First, Phases: out.Phases,
		})
		m.lastDue, m.lastSend, m.lastDone = due, sent, done
	}
	return m
}

// ErrNoConnections is returned when a plan would run no worker.
var ErrNoConnections = errors.New("no connections")
