package load

import (
	"context"
	"math"
	"runtime"
	"testing"
	"time"

	"volley/bench"
	"volley/stats"
)

// TestStagesServerSide runs a 1.5 s plan, a ramp from 0 to 1000 req/s over
// 1 s and a 0.5 s hold, and checks the target's own arrival counts per
// 100 ms against the integral of the rate: 5, 15, 25, … 95 in the ramp
// (N(t) = 500 t²), then 100 per bucket.
func TestStagesServerSide(t *testing.T) {
	srv := startTarget(t, bench.Config{})
	stages, err := ParseStages("1s:0-1000,500ms:1000")
	if err != nil {
		t.Fatal(err)
	}
	res, _ := runPlan(t, context.Background(), Config{
		Request: Request{URL: srv.URL() + "/ramp"}, Stages: stages, Connections: 20,
	})
	st := srv.Stats()
	if st.Total != 1000 || res.Requests.Total != 1000 {
		t.Fatalf("server counted %d, volley %d; the plan holds N(1.5 s) = 500 + 500 = 1000", st.Total, res.Requests.Total)
	}
	want := []int64{5, 15, 25, 35, 45, 55, 65, 75, 85, 95, 100, 100, 100, 100, 100}
	got := st.Arrivals
	if len(got) < len(want) {
		got = append(got, make([]int64, len(want)-len(got))...)
	}
	off := 0
	for k, w := range want {
		// A request moved across a bucket edge by scheduling jitter shows
		// in two neighbouring buckets: allow 3 + 5%.
		if d := got[k] - w; math.Abs(float64(d)) > 3+0.05*float64(w) {
			t.Errorf("100 ms bucket %d: server saw %d arrivals, want %d", k, got[k], w)
			off++
		}
	}
	if off > 0 {
		t.Logf("arrivals per 100 ms: %v", st.Arrivals)
	}
	if res.Mode != "open" || math.Abs(res.Rate.Target-1000.0/1.5) > 0.01 {
		t.Errorf("mode %q, target rate %.2f; want open, 666.67 (the stages' mean)", res.Mode, res.Rate.Target)
	}
	if res.Latency.Corrected.P99 > 50 {
		t.Errorf("corrected p99 %.1f ms against an idle target", res.Latency.Corrected.P99)
	}
}

// TestClosedStagesServerSide: closed loop with 2 then 4 connections against
// a target that answers in 20 ms: the arrival rate follows, 100 then
// 200 req/s, i.e. about 10 then 20 per 100 ms.
func TestClosedStagesServerSide(t *testing.T) {
	lat, err := bench.ParseLatency("20ms")
	if err != nil {
		t.Fatal(err)
	}
	srv := startTarget(t, bench.Config{Latency: lat})
	stages, err := ParseStages("600ms:2,600ms:4")
	if err != nil {
		t.Fatal(err)
	}
	res, rep := runPlan(t, context.Background(), Config{
		Request: Request{URL: srv.URL() + "/conns"}, Stages: stages, StageConnections: true, Connections: 4,
	})
	st := srv.Stats()
	if st.Total != res.Requests.Total {
		t.Fatalf("server counted %d, volley %d", st.Total, res.Requests.Total)
	}
	sum := func(from, to int) int64 {
		var n int64
		for k := from; k < to && k < len(st.Arrivals); k++ {
			n += st.Arrivals[k]
		}
		return n
	}
	// Skip the bucket around the switch; 20 ms per request gives at most
	// 5 per connection per 100 ms, a little less with overheads.
	lo, hi := sum(1, 5), sum(7, 11)
	if lo < 28 || lo > 41 {
		t.Errorf("2 connections, 0.1-0.5 s: %d arrivals, want about 40 (at most 40)", lo)
	}
	if hi < 56 || hi > 81 {
		t.Errorf("4 connections, 0.7-1.1 s: %d arrivals, want about 80 (at most 80)", hi)
	}
	if float64(hi)/float64(lo) < 1.6 {
		t.Errorf("doubling the connections raised arrivals from %d to %d only (%v)", lo, hi, st.Arrivals)
	}
	if rep.Elapsed < 1100*time.Millisecond || rep.Elapsed > 1400*time.Millisecond {
		t.Errorf("elapsed %v, want about 1.2 s", rep.Elapsed)
	}
}

// TestClosedStagesEndByCount: when -n is reached, workers the shape has
// parked (here until 2.5 s and 7.5 s into a 10 s ramp) stop at once
// instead of sleeping out their turn.
func TestClosedStagesEndByCount(t *testing.T) {
	srv := startTarget(t, bench.Config{})
	stages, _ := ParseStages("10s:2-4")
	start := time.Now()
	res, _ := runPlan(t, context.Background(), Config{
		Request: Request{URL: srv.URL()}, Stages: stages, StageConnections: true, Connections: 4, Requests: 200,
	})
	if el := time.Since(start); el > 2*time.Second {
		t.Errorf("200 requests over 2 connections took %v: parked workers held the run", el)
	}
	if res.Requests.Total != 200 || srv.Stats().Total != 200 {
		t.Errorf("sent %d, server %d, want 200", res.Requests.Total, srv.Stats().Total)
	}
}

// TestWarmupKeptOut: 300 ms of warm-up at 1000 req/s, during which the
// target stalls for 200 ms, then 500 ms measured. The target sees all 800
// requests; the result holds the 500 measured ones and none of the stall
// (which only the warm-up's requests met), and counts the 300 apart.
func TestWarmupKeptOut(t *testing.T) {
	srv := startTarget(t, bench.Config{Stall: bench.Stall{At: 0, For: 200 * time.Millisecond}})
	res, rep := runPlan(t, context.Background(), Config{
		Request: Request{URL: srv.URL() + "/warm"}, Rate: 1000, Duration: 500 * time.Millisecond,
		Warmup: 300 * time.Millisecond, Connections: 300,
	})
	if st := srv.Stats(); st.Total != 800 {
		t.Errorf("server counted %d, want 800 (300 warm-up + 500)", st.Total)
	}
	if res.Requests.Total != 500 {
		t.Errorf("result holds %d requests, want the 500 measured", res.Requests.Total)
	}
	var inSeries int64
	for _, p := range res.Series {
		inSeries += p.Requests
	}
	if inSeries != 500 {
		t.Errorf("series holds %d requests, want 500", inSeries)
	}
	if m := res.Latency.Corrected.Max; m > 100 {
		t.Errorf("corrected max %.1f ms: the warm-up's stalled requests leaked into the statistics", m)
	}
	if res.Warmup == nil || res.Warmup.Requests != 300 || res.Warmup.DurationS != 0.3 {
		t.Errorf("warm-up %+v, want 300 requests in 0.3 s counted apart", res.Warmup)
	}
	if m := res.Histograms["corrected"].TotalCount(); m != 500 {
		t.Errorf("corrected histogram holds %d values, want 500", m)
	}
	if rep.Elapsed < 490*time.Millisecond || rep.Elapsed > 600*time.Millisecond {
		t.Errorf("elapsed %v, want the 0.5 s measured window", rep.Elapsed)
	}
	if math.Abs(res.Rate.Achieved-1000) > 30 {
		t.Errorf("achieved %.1f req/s, want 1000", res.Rate.Achieved)
	}
}

// TestWarmupWithCount: -n counts measured requests; the warm-up comes first.
func TestWarmupWithCount(t *testing.T) {
	srv := startTarget(t, bench.Config{})
	res, _ := runPlan(t, context.Background(), Config{
		Request: Request{URL: srv.URL()}, Rate: 1000, Requests: 200,
		Warmup: 100 * time.Millisecond, Connections: 5,
	})
	if res.Requests.Total != 200 || srv.Stats().Total != 300 {
		t.Errorf("measured %d, server %d; want 200 measured after 100 warm-up", res.Requests.Total, srv.Stats().Total)
	}
}

// TestPoissonServerSide: a Poisson plan's requests all reach the target,
// exactly as many as the schedule puts in the window, and they arrive
// unevenly (index of dispersion of 100 ms counts near 1, not near 0).
func TestPoissonServerSide(t *testing.T) {
	srv := startTarget(t, bench.Config{})
	cfg := Config{
		Request: Request{URL: srv.URL() + "/poisson"}, Rate: 1000, Duration: 2 * time.Second,
		Connections: 20, Arrival: ArrivalPoisson, Seed: 5,
	}
	res, _ := runPlan(t, context.Background(), cfg)
	sched, _, err := cfg.schedule()
	if err != nil {
		t.Fatal(err)
	}
	want := warmCount(sched, 2*time.Second)
	st := srv.Stats()
	if res.Requests.Total != want || st.Total != want {
		t.Fatalf("volley %d, server %d; the seed-5 schedule holds %d requests in 2 s", res.Requests.Total, st.Total, want)
	}
	var sum, sq float64
	arr := st.Arrivals[:min(len(st.Arrivals), 20)]
	for _, a := range arr {
		sum += float64(a)
	}
	m := sum / float64(len(arr))
	for _, a := range arr {
		sq += (float64(a) - m) * (float64(a) - m)
	}
	if d := sq / float64(len(arr)-1) / m; d < 0.3 {
		t.Errorf("index of dispersion %.2f of arrivals %v: want Poisson-like (about 1)", d, arr)
	}
	if res.Shape == nil || res.Shape.Arrival != "poisson" || res.Shape.Seed != 5 {
		t.Errorf("result shape %+v, want arrival poisson, seed 5", res.Shape)
	}
}

// TestShapedRunAllocatesPerRun: ramps, Poisson arrivals, connection stages
// and a warm-up add no allocation per request to the engine.
func TestShapedRunAllocatesPerRun(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under the race detector")
	}
	url := cannedServer(t)
	measure := func(cfg Config) float64 {
		cfg.Request = Request{Method: "GET", URL: url}
		cfg.Timeout, cfg.MaxBody = 5*time.Second, 1<<20
		client, err := NewHTTPClient(cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer client.Close()
		col := stats.NewCollector()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		if _, err := Run(context.Background(), cfg, client, col); err != nil {
			t.Fatal(err)
		}
		runtime.ReadMemStats(&after)
		return float64(after.Mallocs - before.Mallocs)
	}
	ramp, _ := ParseStages("100ms:20000-40000,10s:40000")
	conns, _ := ParseStages("10s:2-4")
	for _, tc := range []struct {
		name string
		cfg  Config
	}{
		{"ramp", Config{Connections: 4, Stages: ramp}},
		{"poisson", Config{Connections: 4, Stages: ramp, Arrival: ArrivalPoisson, Seed: 3}},
		{"connection stages", Config{Connections: 4, Stages: conns, StageConnections: true}},
		{"warm-up", Config{Connections: 4, Rate: 40000, Warmup: 10 * time.Millisecond, Duration: time.Minute}},
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
