package load

import (
	"context"
	"math"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"volley/load/request"
	"volley/stats"
)

// fakeMux is an in-process multiplexed connection: it answers every ticket
// after latency, but holds every ticket sent during [stallFrom, stallTo)
// until stallTo, as a server that freezes would. Answers go out in send
// order from the connection's own goroutine, as a real reader's would.
type fakeMux struct {
	c    *fakeMuxClient
	ans  Answers
	q    chan fakeAnswer
	stop chan struct{}
	once sync.Once
	out  atomic.Int64 // in flight now
}

type fakeMuxClient struct {
	streams, cap       int
	latency            time.Duration
	stallFrom, stallTo time.Duration
	never              bool // answer nothing
	start              time.Time
	sent               atomic.Int64
	maxOut             atomic.Int64
	conns              atomic.Int64
	mu                 sync.Mutex
	all                []*fakeMux
}

func (c *fakeMuxClient) NewConn() (Conn, error) { panic("the mux path makes MuxConns") }
func (c *fakeMuxClient) BytesOut() int64        { return 0 }
func (c *fakeMuxClient) BytesIn() int64         { return 0 }
func (c *fakeMuxClient) Close()                 {}
func (c *fakeMuxClient) Streams() int           { return c.streams }

func (c *fakeMuxClient) NewMuxConn(a Answers) (MuxConn, error) {
	m := &fakeMux{c: c, ans: a, q: make(chan fakeAnswer, 1<<16), stop: make(chan struct{})}
	c.conns.Add(1)
	c.mu.Lock()
	c.all = append(c.all, m)
	c.mu.Unlock()
	go m.answer()
	return m, nil
}

var (
	_ MuxClient = (*fakeMuxClient)(nil)
	_ MuxConn   = (*fakeMux)(nil)
)

func (m *fakeMux) Cap() int { return m.c.cap }

func (m *fakeMux) Send(t *Ticket) error {
	m.c.sent.Add(1)
	if n := m.out.Add(1); n > m.c.maxOut.Load() {
		m.c.maxOut.Store(n) // one sender per connection: a plain max will do per conn
	}
	sent := time.Since(m.c.start)
	at := sent + m.c.latency
	if sent >= m.c.stallFrom && sent < m.c.stallTo {
		at = m.c.stallTo
	}
	m.q <- fakeAnswer{t, at}
	return nil
}

// fakeAnswer is a ticket and when its answer is due, since the start: in
// send order, never earlier than the one before.
type fakeAnswer struct {
	t  *Ticket
	at time.Duration
}

func (m *fakeMux) answer() {
	for {
		select {
		case <-m.stop:
			return
		case a := <-m.q:
			if m.c.never {
				continue
			}
			if d := a.at - time.Since(m.c.start); d > 0 {
				select {
				case <-time.After(d):
				case <-m.stop:
					return
				}
			}
			m.out.Add(-1)
			m.ans.Done(a.t, Outcome{Code: 200})
		}
	}
}

func (m *fakeMux) Close() { m.once.Do(func() { close(m.stop) }) }

// runMux runs cfg over c and returns the result.
func runMux(t *testing.T, ctx context.Context, abandon <-chan struct{}, cfg Config, c MuxClient) *stats.Result {
	t.Helper()
	if cfg.Request.Method == "" {
		cfg.Request = request.Request{Method: "GET", URL: "http://127.0.0.1:1/"}
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 5 * time.Second
	}
	col := stats.NewCollector()
	switch f := c.(type) {
	case *fakeMuxClient:
		f.start = time.Now()
	case flushClient:
		f.start = time.Now()
	}
	rep, err := RunAbandonable(ctx, abandon, cfg, c, col)
	if err != nil {
		t.Fatal(err)
	}
	meta := stats.Meta{Interrupted: rep.Interrupted}
	cfg.Describe(&meta)
	return col.Result(meta, rep.Elapsed, rep.BytesOut)
}

// TestMuxCoordinatedOmission: 500 req/s for 3 s over 2 connections that
// take up to 1000 tickets each, against a target that freezes from 1 s to
// 1.5 s. Nothing waits in the generator: every request goes out at its
// intended time (send lag small) and its latency counts from then. A
// request due at s in the stall waits 1.5 s - s, uniform on (0, 0.5 s] for a
// share 1/6 of the requests, so for q > 5/6 the q-quantile is 0.5 - (1-q)·3
// s: p90 200 ms, p99 470 ms, p99.9 497 ms.
func TestMuxCoordinatedOmission(t *testing.T) {
	c := &fakeMuxClient{streams: 1000, latency: time.Millisecond,
		stallFrom: time.Second, stallTo: 1500 * time.Millisecond}
	res := runMux(t, context.Background(), nil, Config{Rate: 500, Connections: 2, Duration: 3 * time.Second, Tick: time.Millisecond}, c)
	if res.Requests.Total != 1500 || res.Status["2xx"] != 1500 || c.sent.Load() != 1500 {
		t.Fatalf("total %d, 2xx %d, sent %d: want 1500 of each", res.Requests.Total, res.Status["2xx"], c.sent.Load())
	}
	if c.conns.Load() != 2 {
		t.Errorf("%d connections, want 2", c.conns.Load())
	}
	if got := c.maxOut.Load(); got < 100 {
		t.Errorf("at most %d in flight on a connection, want the stall's ~125", got)
	}
	lat := res.Latency.Corrected
	for _, tc := range []struct {
		name      string
		got, want float64 // ms
	}{{"p90", lat.P90, 200}, {"p99", lat.P99, 470}, {"p99.9", lat.P999, 497}} {
		if math.Abs(tc.got-tc.want) > 0.03*tc.want+5 {
			t.Errorf("%s = %.1f ms, want %.0f ± 3%% + 5 ms", tc.name, tc.got, tc.want)
		}
	}
	if lag := res.SendLag.P99; lag > 5 {
		t.Errorf("send lag p99 %.2f ms: requests waited in the generator", lag)
	}
}

// TestMuxCap: a connection's own cap (an HTTP/2 server's
// SETTINGS_MAX_CONCURRENT_STREAMS) bounds what is in flight, below --streams.
func TestMuxCap(t *testing.T) {
	c := &fakeMuxClient{streams: 50, cap: 3, latency: 2 * time.Millisecond}
	res := runMux(t, context.Background(), nil, Config{Connections: 1, Requests: 300}, c)
	if res.Requests.Total != 300 || res.Status["2xx"] != 300 {
		t.Fatalf("total %d, 2xx %d, want 300", res.Requests.Total, res.Status["2xx"])
	}
	if got := c.maxOut.Load(); got != 3 {
		t.Errorf("at most %d in flight, want the cap of 3", got)
	}
}

// TestMuxClosedLoop: in a closed loop, connections x streams are in flight.
func TestMuxClosedLoop(t *testing.T) {
	c := &fakeMuxClient{streams: 8, latency: 5 * time.Millisecond}
	res := runMux(t, context.Background(), nil, Config{Connections: 2, Requests: 800}, c)
	if res.Requests.Total != 800 || res.Status["2xx"] != 800 || c.sent.Load() != 800 {
		t.Fatalf("total %d, 2xx %d, sent %d, want 800", res.Requests.Total, res.Status["2xx"], c.sent.Load())
	}
	if got := c.maxOut.Load(); got != 8 {
		t.Errorf("at most %d in flight on a connection, want 8", got)
	}
	// 800 requests, 16 at a time, 5 ms each: about 250 ms, not 16 times that.
	if res.DurationS > 1.5 {
		t.Errorf("took %.2f s: the streams did not run side by side", res.DurationS)
	}
}

// TestMuxAbandon: with nothing answering, a cancel and then an abandon
// end the run at once with every ticket in flight counted as abandoned.
func TestMuxAbandon(t *testing.T) {
	c := &fakeMuxClient{streams: 100, never: true}
	ctx, cancel := context.WithCancel(context.Background())
	abandon := make(chan struct{})
	go func() {
		for c.sent.Load() < 40 {
			time.Sleep(2 * time.Millisecond)
		}
		cancel()
		time.Sleep(100 * time.Millisecond)
		close(abandon)
	}()
	began := time.Now()
	res := runMux(t, ctx, abandon, Config{Rate: 400, Connections: 2, Duration: 20 * time.Second, Timeout: 20 * time.Second}, c)
	if took := time.Since(began); took > 5*time.Second {
		t.Fatalf("took %v", took)
	}
	if sent := c.sent.Load(); res.Requests.Total != sent || res.Errors["abandoned"] != sent || sent < 40 {
		t.Errorf("total %d, abandoned %d, sent %d: want every sent ticket abandoned", res.Requests.Total, res.Errors["abandoned"], sent)
	}
}

// flushMux is a fakeMux whose requests go out only at Flush, as a
// connection that batches its writes does.
type flushMux struct {
	*fakeMux
	pending []fakeAnswer
	st      *flushStats
}

// flushStats counts a run's flushes and the requests they wrote.
type flushStats struct{ calls, written atomic.Int64 }

type flushClient struct {
	*fakeMuxClient
	st *flushStats
}

func (c flushClient) NewMuxConn(a Answers) (MuxConn, error) {
	m, err := c.fakeMuxClient.NewMuxConn(a)
	if err != nil {
		return nil, err
	}
	return &flushMux{fakeMux: m.(*fakeMux), st: c.st}, nil
}

func (f *flushMux) Send(t *Ticket) error {
	f.c.sent.Add(1)
	f.out.Add(1)
	f.pending = append(f.pending, fakeAnswer{t, time.Since(f.c.start) + f.c.latency})
	return nil
}

func (f *flushMux) Flush() {
	f.st.calls.Add(1)
	f.st.written.Add(int64(len(f.pending)))
	for _, a := range f.pending {
		f.q <- a
	}
	f.pending = f.pending[:0]
}

var _ Flusher = (*flushMux)(nil)

// TestMuxFlush: with a connection that writes only at Flush, the engine
// flushes before its sender blocks, so every request goes out (none is left
// queued at the end), and in a closed loop a batch of answers is refilled
// with one write, not one per request.
func TestMuxFlush(t *testing.T) {
	c := &fakeMuxClient{streams: 16, latency: 2 * time.Millisecond}
	st := &flushStats{}
	res := runMux(t, context.Background(), nil, Config{Connections: 1, Requests: 1600}, flushClient{c, st})
	if res.Requests.Total != 1600 || res.Status["2xx"] != 1600 || st.written.Load() != 1600 {
		t.Fatalf("total %d, 2xx %d, written %d: want all 1600 written and answered", res.Requests.Total, res.Status["2xx"], st.written.Load())
	}
	if per := float64(st.written.Load()) / float64(st.calls.Load()); per < 2 {
		t.Errorf("%.2f requests per flush (%d flushes): want the batches refilled with one write each", per, st.calls.Load())
	}
	if res.DurationS > 3 {
		t.Errorf("took %.1f s: requests waited for a flush", res.DurationS)
	}
}
