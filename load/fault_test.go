package load_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"math"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"volley/bench"
	"volley/bench/benchtest"
	"volley/internal/race"
	"volley/load"
	"volley/load/request"
	"volley/stats"
)

// verifyNoLeaks checks, after every other cleanup of t, that the test left
// no goroutine behind. fasthttp's idle-connection cleaner is ignored: it
// sleeps up to MaxIdleConnDuration after the last connection closed before
// it notices and returns, and it holds nothing.
func verifyNoLeaks(t *testing.T) {
	t.Helper()
	opts := []goleak.Option{
		goleak.IgnoreCurrent(),
		goleak.IgnoreAnyFunction("github.com/valyala/fasthttp.(*HostClient).connsCleaner"),
	}
	t.Cleanup(func() { goleak.VerifyNone(t, opts...) })
}

func mustFaults(t *testing.T, specs ...string) bench.FaultMix {
	t.Helper()
	m, err := bench.ParseFaults(specs)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestFaultCategories runs volley against every fault of the built-in
// target, one request in four faulted, and checks the exact category and
// count of what volley saw against what the server injected, that timeouts
// bound the faults that never finish, and that nothing leaks.
func TestFaultCategories(t *testing.T) {
	const (
		requests = 40
		faulted  = requests / 4
		timeout  = 500 * time.Millisecond
	)
	cases := []struct {
		fault    string
		category string // "" for none: the request still gets its response
	}{
		{"reset", "reset"},
		{"close", "closed"},
		{"close-mid-body", "closed"},
		{"garbage", "other"},
		{"slow", "timeout"},
		{"hang", "timeout"},
		{"huge", "body_too_large"},
		{"bad-chunked", "other"},
		{"bad-status-line", "other"},
		{"1xx", ""},
	}
	for _, c := range cases {
		t.Run(c.fault, func(t *testing.T) {
			verifyNoLeaks(t)
			srv := benchtest.Start(t, bench.Config{Faults: mustFaults(t, c.fault+":0.25")})
			start := time.Now()
			res := runPlan(t, context.Background(), load.Config{Spec: request.Spec{Request: request.Request{URL: srv.URL() + "/f"}},
				Connections: 4, Requests: requests,
				Timeout: timeout, MaxBody: 1 << 20,
			})
			took := time.Since(start)
			st := srv.Stats()
			if st.Faults[c.fault] != faulted {
				t.Fatalf("server injected %v, want %s ×%d", st.Faults, c.fault, faulted)
			}
			wantOK := int64(requests - faulted)
			if c.category == "" {
				wantOK = requests
			}
			if res.Requests.Total != requests || res.Status["2xx"] != wantOK || res.Codes["200"] != st.Codes["200"] {
				t.Errorf("total %d, 2xx %d (server answered %d), want %d and %d", res.Requests.Total,
					res.Status["2xx"], st.Codes["200"], requests, wantOK)
			}
			for _, k := range stats.ErrorKinds() {
				want := int64(0)
				if k.String() == c.category {
					want = faulted
				}
				if got := res.Errors[k.String()]; got != want {
					t.Errorf("errors[%s] = %d, want %d (all %v, samples %q)", k, got, want, res.Errors, res.ErrorSamples)
				}
			}
			if c.category != "" && res.ErrorSamples[c.category] == "" {
				t.Errorf("no sample message for %s", c.category)
			}
			// Each worker meets at most faulted faults, each bounded by the
			// timeout: a hang or a slow body must not outlast it.
			if limit := faulted*timeout + 2*time.Second; took > limit {
				t.Errorf("run took %v, want under %v: the timeout was not honoured", took, limit)
			}
			if h := res.Histograms["service.error"].Histogram; h != nil && h.TotalCount() > 0 {
				if worst := time.Duration(h.Max()); worst > timeout+time.Second {
					t.Errorf("slowest error took %v, want about the %v timeout at most", worst, timeout)
				}
			}
		})
	}
}

// TestSlowBodyWithinTimeout checks that a response dripped a byte at a time
// is a success, with its whole duration as latency, when the timeout allows.
func TestSlowBodyWithinTimeout(t *testing.T) {
	verifyNoLeaks(t)
	srv := benchtest.Start(t, bench.Config{Faults: mustFaults(t, "slow")})
	res := runPlan(t, context.Background(), load.Config{Spec: request.Spec{Request: request.Request{URL: srv.URL() + "/s"}},
		Connections: 2, Requests: 2, Timeout: 5 * time.Second,
	})
	if res.Status["2xx"] != 2 || res.Requests.Errors != 0 {
		t.Fatalf("2xx %d errors %v, want 2 and none", res.Status["2xx"], res.Errors)
	}
	// About 85 bytes at 10 ms each: the latency covers the whole drip.
	if p50 := res.Latency.Service.P50; p50 < 700 {
		t.Errorf("service p50 %.0f ms, want at least 700 ms for a dripped response", p50)
	}
}

// TestConnectTimeout checks that the timeout holds while connecting: the
// target's accept queue is full, so the kernel drops the SYNs and connect
// never completes.
func TestConnectTimeout(t *testing.T) {
	verifyNoLeaks(t)
	addr := fullBacklog(t)
	start := time.Now()
	res := runPlan(t, context.Background(), load.Config{Spec: request.Spec{Request: request.Request{URL: "http://" + addr + "/"}},
		Connections: 2, Requests: 4, Timeout: 200 * time.Millisecond,
	})
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("run took %v; 4 connects bounded by a 200 ms timeout over 2 connections must end in about 400 ms", took)
	}
	if res.Requests.Total != 4 || res.Errors["timeout"] != 4 {
		t.Errorf("total %d errors %v (samples %q), want 4 timeouts", res.Requests.Total, res.Errors, res.ErrorSamples)
	}
}

// TestTargetGoesAwayAndReturns closes the target in the middle of a run and
// starts it again on the same port: volley keeps its schedule, counts the
// gap as refused connections (and the requests caught by the close as closed
// or reset), and counts the answers of both servers.
func TestTargetGoesAwayAndReturns(t *testing.T) {
	verifyNoLeaks(t)
	srv1, err := bench.Start(bench.Config{Addr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	addr := strings.TrimPrefix(srv1.URL(), "http://")
	type ran struct {
		res *stats.Result
	}
	done := make(chan ran)
	go func() {
		res := runPlan(t, context.Background(), load.Config{Spec: request.Spec{Request: request.Request{URL: srv1.URL() + "/away"}},
			Rate: 200, Duration: 1500 * time.Millisecond,
			Connections: 4, Timeout: 2 * time.Second,
		})
		done <- ran{res}
	}()
	time.Sleep(400 * time.Millisecond)
	if err := srv1.Close(); err != nil {
		t.Error(err)
	}
	time.Sleep(400 * time.Millisecond)
	srv2, err := bench.Start(bench.Config{Addr: addr})
	if err != nil {
		t.Fatalf("restart on %s: %v", addr, err)
	}
	defer srv2.Close()
	r := <-done
	res := r.res
	n1, n2 := srv1.Stats().Total, srv2.Stats().Total
	if res.Requests.Total != 300 {
		t.Errorf("total %d, want 300 (200/s × 1.5 s): the schedule must go on through the outage", res.Requests.Total)
	}
	if n1 == 0 || n2 == 0 || res.Errors["refused"] == 0 {
		t.Errorf("first server %d, second %d, refused %d: want all three > 0", n1, n2, res.Errors["refused"])
	}
	ok, lost := res.Status["2xx"], res.Errors["closed"]+res.Errors["reset"]
	// A response counted by the server may be cut by its close.
	if ok > n1+n2 || n1+n2 > ok+lost {
		t.Errorf("volley 2xx %d, servers answered %d+%d, closed/reset %d", ok, n1, n2, lost)
	}
	if got := ok + res.Errors["refused"] + lost; got != res.Requests.Total {
		t.Errorf("2xx + refused + closed + reset = %d, want every request (%d); errors %v", got, res.Requests.Total, res.Errors)
	}
}

// TestInvalidNameFailsWithoutLookup checks that a run against a .invalid
// name (RFC 6761) counts DNS errors naming the host.
func TestInvalidNameFailsWithoutLookup(t *testing.T) {
	res := runPlan(t, context.Background(), load.Config{Spec: request.Spec{Request: request.Request{URL: "http://volley-test.invalid:8080/"}},
		Connections: 2, Requests: 5,
	})
	if res.Errors["dns"] != 5 || !strings.Contains(res.ErrorSamples["dns"], "volley-test.invalid") {
		t.Errorf("errors %v samples %q, want 5 dns errors naming the host", res.Errors, res.ErrorSamples)
	}
}

// stormClient fails every request with one of several error categories,
// and counts how often an error's message is built.
type stormClient struct{ messages atomic.Int64 }

// stormErr is reused by its connection (errors from the network are fresh
// values, but allocating them is the network's cost, not volley's); its
// message differs from request to request.
type stormErr struct {
	c *stormClient
	i int64
}

func (e *stormErr) Error() string {
	e.c.messages.Add(1)
	return fmt.Sprintf("storm error %d", e.i)
}

type stormConn struct{ err *stormErr }

func (s *stormConn) Do(i int64) load.Outcome {
	s.err.i = i
	return load.Outcome{Kind: stats.ErrorKinds()[i%4], Err: s.err}
}
func (*stormConn) Close() {}

func (s *stormClient) NewConn() (load.Conn, error) { return &stormConn{&stormErr{c: s}}, nil }
func (*stormClient) BytesOut() int64               { return 0 }
func (*stormClient) BytesIn() int64                { return 0 }
func (*stormClient) Close()                        {}

// TestErrorStormBounded sends 100000 requests that all fail, each with a
// different message, and checks that volley keeps one sample message per
// category (building at most one string per category per worker), counts
// every error, and allocates per run, not per error.
func TestErrorStormBounded(t *testing.T) {
	const workers = 8
	measure := func(n int64) (*stats.Result, *stormClient, uint64) {
		client := &stormClient{}
		col := stats.NewCollector()
		cfg := load.Config{Spec: request.Spec{Request: request.Request{Method: "GET", URL: "http://127.0.0.1:1/"}},

			Connections: workers, Requests: n, Timeout: time.Second,
		}
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		rep, err := load.Run(context.Background(), cfg, client, col)
		runtime.ReadMemStats(&after)
		if err != nil {
			t.Fatal(err)
		}
		return col.Result(stats.Meta{Connections: workers}, rep.Elapsed, 0), client, after.Mallocs - before.Mallocs
	}
	small, _, allocSmall := measure(10_000)
	res, client, allocBig := measure(100_000)
	if res.Requests.Total != 100_000 || res.Requests.Errors != 100_000 {
		t.Fatalf("total %d errors %d, want 100000 each", res.Requests.Total, res.Requests.Errors)
	}
	for _, k := range stats.ErrorKinds()[:4] {
		if res.Errors[k.String()] != 25_000 {
			t.Errorf("errors[%s] = %d, want 25000", k, res.Errors[k.String()])
		}
	}
	if n := client.messages.Load(); n > workers*4 {
		t.Errorf("%d error messages built for 100000 errors, want at most %d (one per category per worker)", n, workers*4)
	}
	if len(res.ErrorSamples) != 4 || len(small.ErrorSamples) != 4 {
		t.Errorf("error samples %q, want one per category (4)", res.ErrorSamples)
	}
	if race.Enabled {
		return
	}
	if perErr := (float64(allocBig) - float64(allocSmall)) / 90_000; perErr > 0.01 {
		t.Errorf("%d allocations for 10000 errors, %d for 100000: %.3f per extra error, want 0", allocSmall, allocBig, perErr)
	}
}

// TestTinyRateRejected checks that a positive rate too low for the schedule
// to represent is bad input, not a flood: 1e-300 req/s used to overflow the
// schedule into negative offsets, and every request went out at once.
func TestTinyRateRejected(t *testing.T) {
	c := load.Config{Spec: request.Spec{Request: request.Request{Method: "GET", URL: "http://127.0.0.1:1/"}}, Connections: 1, Requests: 5, Timeout: time.Second}
	for _, rate := range []float64{1e-300, 5e-324, load.MinRate / 2} {
		c.Rate = rate
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "below one request per day") {
			t.Errorf("Validate(rate %v) = %v, want a too-low rate error", rate, err)
		}
	}
	c.Rate = load.MinRate
	if err := c.Validate(); err != nil {
		t.Errorf("Validate(rate %v) = %v, want nil", load.MinRate, err)
	}
	for _, s := range []load.Constant{{load.MinRate}, {0.5}, {1}} {
		if a, b := s.Offset(math.MaxInt64-1), s.Offset(math.MaxInt64); a < 0 || b < a {
			t.Errorf("rate %v: offsets at the end of int64 are %v, %v: want clamped, non-decreasing", s.Rate, a, b)
		}
	}
}

// TestTLSVerifiedByDefault checks that a certificate no trusted authority
// signed fails as a tls error: verification is on unless asked otherwise.
func TestTLSVerifiedByDefault(t *testing.T) {
	verifyNoLeaks(t)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte("hello"))
	}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the failed handshakes
	srv.StartTLS()
	t.Cleanup(srv.Close)
	res := runPlan(t, context.Background(), load.Config{Spec: request.Spec{Request: request.Request{URL: srv.URL + "/"}},
		Connections: 1, Requests: 3,
	})
	if res.Errors["tls"] != 3 || res.Requests.Completed != 0 {
		t.Errorf("errors %v completed %d (samples %q), want 3 tls errors and no response", res.Errors, res.Requests.Completed, res.ErrorSamples)
	}
}

// fullBacklog is a loopback address whose connects hang (bench.FullBacklog);
// the test skips where one cannot be made.
func fullBacklog(t *testing.T) string {
	t.Helper()
	addr, closeFn, err := bench.FullBacklog()
	if errors.Is(err, bench.ErrBacklogUnsupported) {
		t.Skipf("a hanging connect cannot be made here: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(closeFn)
	return addr
}
