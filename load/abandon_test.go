package load_test

import (
	"context"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"volley/bench"
	"volley/bench/benchtest"
	"volley/load"
	"volley/load/http1"
	"volley/load/request"
	"volley/stats"
)

// silentServer accepts connections and reads, but never answers; it counts
// the connections it accepted.
func silentServer(t *testing.T) (addr string, accepted *atomic.Int64) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	accepted = new(atomic.Int64)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			go func() {
				buf := make([]byte, 4096)
				for {
					if _, err := c.Read(buf); err != nil {
						c.Close()
						return
					}
				}
			}()
		}
	}()
	t.Cleanup(func() { ln.Close() })
	return ln.Addr().String(), accepted
}

// TestRunAbandon: once the run is cancelled and then abandoned, RunAbandonable
// returns without waiting for the answers, and every request in flight is
// recorded once as "abandoned": sent equals recorded.
func TestRunAbandon(t *testing.T) {
	addr, accepted := silentServer(t)
	cfg := load.Config{Spec: request.Spec{Request: request.Request{Method: "GET", URL: "http://" + addr + "/"}},

		Rate: 200, Connections: 8, Duration: 30 * time.Second,
		Timeout: 20 * time.Second, MaxBody: 1 << 20,
	}
	client, err := http1.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	col := stats.NewCollector()
	ctx, cancel := context.WithCancel(context.Background())
	abandon := make(chan struct{})
	go func() {
		for accepted.Load() < 8 {
			time.Sleep(5 * time.Millisecond)
		}
		time.Sleep(50 * time.Millisecond)
		cancel()
		time.Sleep(200 * time.Millisecond) // the drain: nothing answers
		close(abandon)
	}()
	began := time.Now()
	rep, err := load.RunAbandonable(ctx, abandon, cfg, client, col)
	if err != nil {
		t.Fatal(err)
	}
	if took := time.Since(began); took > 10*time.Second {
		t.Fatalf("returned after %v: it waited for the 20 s timeout", took)
	}
	res := col.Result(stats.Meta{Interrupted: rep.Interrupted}, rep.Elapsed, rep.BytesOut)
	if res.Requests.Total != 8 || res.Errors["abandoned"] != 8 || res.Requests.Completed != 0 {
		t.Errorf("total %d, completed %d, errors %v: want the 8 requests in flight, each abandoned",
			res.Requests.Total, res.Requests.Completed, res.Errors)
	}
	if s := res.ErrorSamples["abandoned"]; s == "" {
		t.Error("no sample message for the abandoned requests")
	}
}

// TestElapsedWithinWindow: -r 0.1 -d 3s sends one request (at 0 s) and the
// next would be due at 10 s, past the window: the run is reported 3 s long,
// not 10.
func TestElapsedWithinWindow(t *testing.T) {
	srv := benchtest.Start(t, bench.Config{})
	res := runPlan(t, context.Background(), load.Config{Spec: request.Spec{Request: request.Request{URL: srv.URL() + "/"}},
		Rate: 0.1, Connections: 1, Duration: 3 * time.Second,
	})
	if res.Elapsed() != 3*time.Second {
		t.Errorf("elapsed %v, want 3s", res.Elapsed())
	}
}
