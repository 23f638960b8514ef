package load

import (
	"context"
	"sort"
	"sync"
	"testing"
	"time"

	"volley/load/request"
	"volley/stats"
)

func TestQuantize(t *testing.T) {
	ms := time.Millisecond
	for _, tc := range []struct{ due, tick, want time.Duration }{
		{0, ms, 0},
		{999 * time.Microsecond, ms, 0},
		{ms, ms, ms},
		{2500 * time.Microsecond, ms, 2 * ms},
		{2500 * time.Microsecond, 0, 2500 * time.Microsecond},
		{7 * ms, 5 * ms, 5 * ms},
	} {
		if got := quantize(tc.due, tc.tick); got != tc.want {
			t.Errorf("quantize(%v, %v) = %v, want %v", tc.due, tc.tick, got, tc.want)
		}
	}
}

// TestPacerNeverEarly parks workers out of order, one of them earlier than
// the time the alarm is already set for, and checks that each is released
// at or after its due time, in due order, and not long after.
func TestPacerNeverEarly(t *testing.T) {
	start := time.Now()
	now := func() time.Duration { return time.Since(start) }
	p, err := newPacer(4, now)
	if err != nil {
		t.Fatal(err)
	}
	defer p.close()
	done := make(chan struct{})
	var run sync.WaitGroup
	run.Go(p.run)
	run.Go(func() { p.watch(context.Background(), done) })

	dues := []time.Duration{60 * time.Millisecond, 20 * time.Millisecond, 40 * time.Millisecond, 40 * time.Millisecond}
	type woke struct{ due, at time.Duration }
	var mu sync.Mutex
	var got []woke
	var wg sync.WaitGroup
	for i, due := range dues {
		wg.Go(func() {
			// Park in the order given, the 20ms one after the 60ms one has
			// set the alarm.
			time.Sleep(time.Duration(i) * 2 * time.Millisecond)
			wake := make(chan struct{}, 1)
			if !p.await(context.Background(), due, wake) {
				t.Error("await returned false without cancellation")
			}
			at := now()
			mu.Lock()
			got = append(got, woke{due, at})
			mu.Unlock()
		})
	}
	wg.Wait()
	close(done)
	run.Wait()
	sort.Slice(got, func(i, j int) bool { return got[i].at < got[j].at })
	for i, w := range got {
		if w.at < w.due {
			t.Errorf("released at %v, before its due time %v", w.at, w.due)
		}
		if w.at > w.due+15*time.Millisecond {
			t.Errorf("released at %v, long after its due time %v", w.at, w.due)
		}
		if i > 0 && w.due < got[i-1].due {
			t.Errorf("released due %v after due %v", w.due, got[i-1].due)
		}
	}
}

// TestPacerCancel: a parked worker leaves when its context ends.
func TestPacerCancel(t *testing.T) {
	start := time.Now()
	p, err := newPacer(1, func() time.Duration { return time.Since(start) })
	if err != nil {
		t.Fatal(err)
	}
	defer p.close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	var run sync.WaitGroup
	run.Go(p.run)
	run.Go(func() { p.watch(ctx, nil) })
	if p.await(ctx, time.Hour, make(chan struct{}, 1)) {
		t.Error("await of a due time an hour away returned true")
	}
	if p.await(ctx, time.Millisecond, make(chan struct{}, 1)) {
		t.Error("await after the context ended returned true")
	}
	run.Wait() // the cancelled context ended run too
}

// sendLog is a Client whose connections note when each request was sent.
type sendLog struct {
	mu    sync.Mutex
	sends map[int64]time.Time
}

func (l *sendLog) NewConn() (Conn, error) { return logConn{l}, nil }
func (l *sendLog) BytesOut() int64        { return 0 }
func (l *sendLog) BytesIn() int64         { return 0 }
func (l *sendLog) Close()                 {}

type logConn struct{ l *sendLog }

func (c logConn) Do(i int64) Outcome {
	now := time.Now()
	c.l.mu.Lock()
	c.l.sends[i] = now
	c.l.mu.Unlock()
	return Outcome{Code: 200}
}
func (logConn) Close() {}

// TestTickedSchedule runs 2000 req/s for 1 s on a 10ms grid: every request
// is sent once, none before the start of its tick, and the run's result
// says which grid it was paced on.
func TestTickedSchedule(t *testing.T) {
	tick := 10 * time.Millisecond
	cfg := Config{Spec: request.Spec{Request: request.Request{Method: "GET", URL: "http://127.0.0.1:1/"}}, Rate: 2000, Connections: 20, Duration: time.Second, Tick: tick, Timeout: time.Second, MaxBody: 1 << 20}
	log := &sendLog{sends: map[int64]time.Time{}}
	col := stats.NewCollector()
	rep, err := Run(context.Background(), cfg, log, col)
	if err != nil {
		t.Fatal(err)
	}
	if len(log.sends) != 2000 {
		t.Fatalf("sent %d requests, want 2000", len(log.sends))
	}
	sched := Constant{Rate: 2000}
	onTime := 0
	for i, at := range log.sends {
		due := quantize(sched.Offset(i), tick)
		sent := at.Sub(rep.Started)
		if sent < due {
			t.Fatalf("request %d sent at %v, before its tick at %v (intended %v)", i, sent, due, sched.Offset(i))
		}
		if sent < due+tick/2 {
			onTime++
		}
	}
	// Requests sharing a tick go out together at its start; allow a loaded
	// machine some stragglers.
	if onTime < 1900 {
		t.Errorf("%d of 2000 requests sent within half a tick of its start", onTime)
	}
	meta := stats.Meta{}
	cfg.Describe(&meta)
	res := col.Result(meta, rep.Elapsed, 0)
	if res.SendLag.Tick != 10 {
		t.Errorf("result's tick %v ms, want 10", res.SendLag.Tick)
	}
	if res.Requests.Total != 2000 {
		t.Errorf("result counts %d requests, want 2000", res.Requests.Total)
	}
}
