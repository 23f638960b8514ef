package load_test

import (
	"context"
	"math"
	"testing"
	"time"

	"volley/bench"
	"volley/bench/benchtest"
	"volley/load"
	"volley/load/request"
)

// TestStagesServerSide runs a 1.5 s plan, a ramp from 0 to 500 req/s over
// 1 s and a 0.5 s hold, and checks the target's own arrival counts per
// 100 ms against the integral of the rate, N(t) = 250 t² in the ramp: the
// bucket [a, b) holds ⌈N(b)⌉ - ⌈N(a)⌉ requests (3, 7, 13, 17, … 47), then
// 50 per bucket.
func TestStagesServerSide(t *testing.T) {
	srv := benchtest.Start(t, bench.Config{})
	stages, err := load.ParseStages("1s:0-500,500ms:500")
	if err != nil {
		t.Fatal(err)
	}
	res := runPlan(t, context.Background(), load.Config{Spec: request.Spec{Request: request.Request{URL: srv.URL() + "/ramp"}},
		Stages: stages, Connections: 20,
	})
	st := srv.Stats()
	if st.Total != 500 || res.Requests.Total != 500 {
		t.Fatalf("server counted %d, volley %d; the plan holds N(1.5 s) = 250 + 250 = 500", st.Total, res.Requests.Total)
	}
	N := func(t float64) float64 {
		if t <= 1 {
			return 250 * t * t
		}
		return 250 + 500*(t-1)
	}
	var want []int64
	for k := range 15 {
		a, b := float64(k)/10, float64(k+1)/10
		want = append(want, int64(math.Ceil(N(b)-1e-9)-math.Ceil(N(a)-1e-9)))
	}
	if want[0] != 3 || want[9] != 47 || want[14] != 50 {
		t.Fatalf("analytic buckets %v", want)
	}
	got := st.Arrivals
	if len(got) < len(want) {
		got = append(got, make([]int64, len(want)-len(got))...)
	}
	// A request moved across a bucket edge by scheduling jitter shows in
	// two neighbouring buckets: allow 3 + 5%, and if the generator itself
	// fell behind (a starved CPU), as much as its reported send lag moves:
	// the rate × lag, at either edge.
	slack := 2 * 500 * res.SendLag.Max / 1000
	off := 0
	for k, w := range want {
		if d := got[k] - w; math.Abs(float64(d)) > 3+0.05*float64(w)+slack {
			t.Errorf("100 ms bucket %d: server saw %d arrivals, want %d", k, got[k], w)
			off++
		}
	}
	if off > 0 {
		t.Logf("arrivals per 100 ms: %v (send lag max %.1f ms)", st.Arrivals, res.SendLag.Max)
	}
	if res.Mode != "open" || math.Abs(res.Rate.Target-500.0/1.5) > 0.01 {
		t.Errorf("mode %q, target rate %.2f; want open, 333.33 (the stages' mean)", res.Mode, res.Rate.Target)
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
	srv := benchtest.Start(t, bench.Config{Latency: lat})
	stages, err := load.ParseStages("600ms:2,600ms:4")
	if err != nil {
		t.Fatal(err)
	}
	res := runPlan(t, context.Background(), load.Config{Spec: request.Spec{Request: request.Request{URL: srv.URL() + "/conns"}},
		Stages: stages, StageConnections: true, Connections: 4,
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
	if res.Elapsed() < 1100*time.Millisecond || res.Elapsed() > 1400*time.Millisecond {
		t.Errorf("elapsed %v, want about 1.2 s", res.Elapsed())
	}
}

// TestClosedStagesEndByCount: when -n is reached, workers the shape has
// parked (here until 2.5 s and 7.5 s into a 10 s ramp) stop at once
// instead of sleeping out their turn.
func TestClosedStagesEndByCount(t *testing.T) {
	srv := benchtest.Start(t, bench.Config{})
	stages, _ := load.ParseStages("10s:2-4")
	start := time.Now()
	res := runPlan(t, context.Background(), load.Config{Spec: request.Spec{Request: request.Request{URL: srv.URL()}},
		Stages: stages, StageConnections: true, Connections: 4, Requests: 200,
	})
	if el := time.Since(start); el > 2*time.Second {
		t.Errorf("200 requests over 2 connections took %v: parked workers held the run", el)
	}
	if res.Requests.Total != 200 || srv.Stats().Total != 200 {
		t.Errorf("sent %d, server %d, want 200", res.Requests.Total, srv.Stats().Total)
	}
}

// TestWarmupKeptOut: 500 ms of warm-up at 400 req/s, during which the
// target stalls for its first 200 ms, then 500 ms measured. The target sees
// all 400 requests; the result holds the 200 measured ones and none of the
// stall, which only the warm-up's requests met (the first of them waited
// 200 ms), and counts the 200 of the warm-up apart. 50 connections are held
// by the stall; the 30 requests due behind them are sent when it ends, and
// that backlog is gone long before the measured part begins.
func TestWarmupKeptOut(t *testing.T) {
	srv := benchtest.Start(t, bench.Config{Stall: bench.Stall{At: 0, For: 200 * time.Millisecond}})
	res := runPlan(t, context.Background(), load.Config{Spec: request.Spec{Request: request.Request{URL: srv.URL() + "/warm"}},
		Rate: 400, Duration: 500 * time.Millisecond,
		Warmup: 500 * time.Millisecond, Connections: 50,
	})
	if st := srv.Stats(); st.Total != 400 {
		t.Errorf("server counted %d, want 400 (200 warm-up + 200)", st.Total)
	}
	if res.Requests.Total != 200 {
		t.Errorf("result holds %d requests, want the 200 measured", res.Requests.Total)
	}
	var inSeries int64
	for _, p := range res.Series {
		inSeries += p.Requests
	}
	if inSeries != 200 {
		t.Errorf("series holds %d requests, want 200", inSeries)
	}
	if res.Warmup == nil || res.Warmup.Requests != 200 || res.Warmup.DurationS != 0.5 {
		t.Errorf("warm-up %+v, want 200 requests in 0.5 s counted apart", res.Warmup)
	}
	if m := res.Histograms["corrected"].TotalCount(); m != 200 {
		t.Errorf("corrected histogram holds %d values, want 200", m)
	}
	// Had the warm-up's requests leaked, the max would be 200 ms or more.
	// A starved generator's own lag also shows in corrected latency: allow it.
	if m, lag := res.Latency.Corrected.Max, res.SendLag.Max; m > 150+lag {
		t.Errorf("corrected max %.1f ms (send lag max %.1f ms): the warm-up's stalled requests leaked into the statistics", m, lag)
	}
	lag := time.Duration(res.SendLag.Max * 1e6)
	if res.Elapsed() < 490*time.Millisecond || res.Elapsed() > 600*time.Millisecond+lag {
		t.Errorf("elapsed %v, want the 0.5 s measured window", res.Elapsed())
	}
}

// TestWarmupWithCount: -n counts measured requests; the warm-up comes first.
func TestWarmupWithCount(t *testing.T) {
	srv := benchtest.Start(t, bench.Config{})
	res := runPlan(t, context.Background(), load.Config{Spec: request.Spec{Request: request.Request{URL: srv.URL()}},
		Rate: 500, Requests: 100,
		Warmup: 100 * time.Millisecond, Connections: 5,
	})
	if res.Requests.Total != 100 || srv.Stats().Total != 150 {
		t.Errorf("measured %d, server %d; want 100 measured after 50 warm-up", res.Requests.Total, srv.Stats().Total)
	}
}

// TestPoissonServerSide: a Poisson plan's requests all reach the target,
// exactly as many as the schedule puts in the window, and they arrive
// unevenly (index of dispersion of 100 ms counts near 1, not near 0). Seed 1
// gives a schedule whose own dispersion is 1.03; some seeds' 20 counts
// happen to spread little (seed 5: 0.42), and the jitter of a busy machine
// evens them out further.
func TestPoissonServerSide(t *testing.T) {
	srv := benchtest.Start(t, bench.Config{})
	cfg := load.Config{Spec: request.Spec{Request: request.Request{URL: srv.URL() + "/poisson"}},
		Rate: 500, Duration: 2 * time.Second,
		Connections: 20, Arrival: load.ArrivalPoisson, Seed: 1,
	}
	res := runPlan(t, context.Background(), cfg)
	sched, err := load.ScheduleOf(&cfg)
	if err != nil {
		t.Fatal(err)
	}
	want := load.WarmCount(sched, 2*time.Second)
	st := srv.Stats()
	if res.Requests.Total != want || st.Total != want {
		t.Fatalf("volley %d, server %d; the seed-1 schedule holds %d requests in 2 s", res.Requests.Total, st.Total, want)
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
		t.Errorf("index of dispersion %.2f of arrivals %v: want load.Poisson-like (about 1)", d, arr)
	}
	if res.Shape == nil || res.Shape.Arrival != "poisson" || res.Seed != 1 {
		t.Errorf("result shape %+v, seed %d; want arrival poisson, seed 1", res.Shape, res.Seed)
	}
}
