package http1

import (
	"bytes"
	"context"
	"net"
	"runtime"
	"testing"
	"time"

	"volley/internal/race"
	"volley/load"
	"volley/load/request"
	"volley/stats"
)

// cannedServer answers every HTTP/1.1 request on a keep-alive connection
// with the same response, allocating nothing per request, so that
// process-wide allocation counts measure the client alone.
func cannedServer(tb testing.TB) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	resp := []byte("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Type: text/plain\r\n\r\nhello")
	done := make(chan struct{})
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func(c net.Conn) {
				defer c.Close()
				buf := make([]byte, 64<<10)
				n := 0
				for {
					m, err := c.Read(buf[n:])
					if err != nil {
						return
					}
					n += m
					for {
						i := bytes.Index(buf[:n], []byte("\r\n\r\n"))
						if i < 0 {
							break
						}
						if _, err := c.Write(resp); err != nil {
							return
						}
						n = copy(buf, buf[i+4:n])
					}
					select {
					case <-done:
						return
					default:
					}
				}
			}(c)
		}
	}()
	tb.Cleanup(func() { close(done); ln.Close() })
	return "http://" + ln.Addr().String() + "/alloc"
}

func newTestConn(tb testing.TB, url string) load.Conn {
	tb.Helper()
	cfg := load.Config{Spec: request.Spec{Request: request.Request{Method: "GET", URL: url, Headers: []request.Header{{Key: "X-Test", Value: "1"}}}},

		Connections: 1, Requests: 1, Timeout: 5 * time.Second, MaxBody: 1 << 20,
	}
	_, conn := workerConn(tb, cfg)
	return conn
}

// TestRequestPathAllocatesNothing: sending a request and recording its sample
// allocate nothing once the connection is up.
func TestRequestPathAllocatesNothing(t *testing.T) {
	if race.Enabled {
		t.Skip("allocation counts are not meaningful under the race detector")
	}
	conn := newTestConn(t, cannedServer(t))
	rec := stats.NewRecorder(4096)
	conn.Do(0) // connect
	var i int64
	allocs := testing.AllocsPerRun(2000, func() {
		out := conn.Do(i)
		if out.Code != 200 {
			t.Fatalf("status %d, err %v", out.Code, out.Err)
		}
		rec.Record(stats.Sample{Done: i, Corrected: 1000, Service: 1000, Code: uint16(out.Code)})
		i++
		if i%4000 == 0 {
			t.Fatal("ring would overflow")
		}
	})
	if allocs != 0 {
		t.Errorf("per-request path allocates %.2f times per request, want 0", allocs)
	}
}

// runMallocs runs cfg against url through the whole engine and returns how
// many allocations the process made meanwhile.
func runMallocs(t *testing.T, url string, cfg load.Config) float64 {
	t.Helper()
	cfg.Request = request.Request{Method: "GET", URL: url}
	cfg.Timeout, cfg.MaxBody = 5*time.Second, 1<<20
	client, err := NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	col := stats.NewCollector()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	if _, err := load.Run(context.Background(), cfg, client, col); err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&after)
	return float64(after.Mallocs - before.Mallocs)
}

// TestRunAllocatesPerRunNotPerRequest runs the whole engine (workers,
// pacing, collector) and checks that allocations do not grow with the
// number of requests.
func TestRunAllocatesPerRunNotPerRequest(t *testing.T) {
	if race.Enabled {
		t.Skip("allocation counts are not meaningful under the race detector")
	}
	url := cannedServer(t)
	measure := func(cfg load.Config) float64 { return runMallocs(t, url, cfg) }
	// Each pair of runs spans the same number of series intervals (closing
	// one encodes its histograms, which allocates), so the difference is
	// what the extra requests cost.
	for _, tc := range []struct {
		name       string
		small, big load.Config
		extra      float64
	}{
		{"closed", load.Config{Connections: 4, Requests: 2000}, load.Config{Connections: 4, Requests: 20000}, 18000},
		{"open", load.Config{Connections: 4, Rate: 2000, Duration: 500 * time.Millisecond},
			load.Config{Connections: 4, Rate: 20000, Duration: 500 * time.Millisecond}, 9000},
		// Workers parked on the pacer wait on a channel. The runtime keeps
		// its records of parked goroutines in per-core caches and drops the
		// shared one at each collection, so with two cores a run may
		// allocate up to a cache's worth (128) again per collection, however
		// many requests it sends: hence the larger count here.
		{"open on a grid", load.Config{Connections: 4, Rate: 40000, Duration: time.Minute, Requests: 2000, Tick: time.Millisecond},
			load.Config{Connections: 4, Rate: 40000, Duration: time.Minute, Requests: 40000, Tick: time.Millisecond}, 38000},
	} {
		a, b := measure(tc.small), measure(tc.big)
		if perReq := (b - a) / tc.extra; perReq > 0.01 {
			t.Errorf("%s loop: %.0f allocations for the small run, %.0f for the big one: %.3f per extra request, want 0",
				tc.name, a, b, perReq)
		}
	}
}

// BenchmarkRequestPath measures one request's client-side cost: send,
// receive, classify and record.
func BenchmarkRequestPath(b *testing.B) {
	conn := newTestConn(b, cannedServer(b))
	col := stats.NewCollector()
	rec := col.NewRecorder(4096)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		out := conn.Do(int64(i))
		rec.Record(stats.Sample{Done: int64(i), Corrected: 1000, Service: 1000, Code: uint16(out.Code)})
		if i%1024 == 1023 {
			col.Drain(time.Now())
		}
	}
}

// BenchmarkConstantOffset measures the schedule's cost per ticket.
func BenchmarkConstantOffset(b *testing.B) {
	s := load.Constant{Rate: 2000}
	var sink time.Duration
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		sink += s.Offset(int64(i))
	}
	_ = sink
}

// TestShapedRunAllocatesPerRun: ramps, Poisson arrivals, connection stages
// and a warm-up add no allocation per request to the engine.
func TestShapedRunAllocatesPerRun(t *testing.T) {
	if race.Enabled {
		t.Skip("allocation counts are not meaningful under the race detector")
	}
	url := cannedServer(t)
	measure := func(cfg load.Config) float64 { return runMallocs(t, url, cfg) }
	ramp, _ := load.ParseStages("100ms:20000-40000,10s:40000")
	conns, _ := load.ParseStages("10s:2-4")
	for _, tc := range []struct {
		name string
		cfg  load.Config
	}{
		{"ramp", load.Config{Connections: 4, Stages: ramp}},
		{"poisson", load.Config{Connections: 4, Stages: ramp, Arrival: load.ArrivalPoisson, Seed: 3}},
		{"connection stages", load.Config{Connections: 4, Stages: conns, StageConnections: true}},
		{"warm-up", load.Config{Connections: 4, Rate: 40000, Warmup: 10 * time.Millisecond, Duration: time.Minute}},
	} {
		small, big := tc.cfg, tc.cfg
		small.Requests, big.Requests = 1000, 10000
		a, b := measure(small), measure(big)
		if perReq := (b - a) / 9000; perReq > 0.01 {
			t.Errorf("%s: %.0f allocations for 1000 requests, %.0f for 10000: %.3f per extra request, want 0",
				tc.name, a, b, perReq)
		}
	}
}
