package stats

import (
	"context"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

var t0 = time.Date(2025, 3, 14, 15, 9, 26, 0, time.UTC)

func at(d time.Duration) time.Time { return t0.Add(d) }

func newTestCollector() *Collector {
	c := NewCollector()
	c.Start(t0)
	return c
}

// checkSeriesShape asserts one point per second from 0, in order, each 1 s
// long except a partial last one of lastDur seconds.
func checkSeriesShape(t *testing.T, s []Point, n int, lastDur float64) {
	t.Helper()
	if len(s) != n {
		t.Fatalf("series has %d points, want %d: %s", len(s), n, pointsString(s))
	}
	for i, p := range s {
		wantDur := 1.0
		if i == n-1 {
			wantDur = lastDur
		}
		if p.T != float64(i) || math.Abs(p.Dur-wantDur) > 1e-9 {
			t.Errorf("point %d spans t=%v+%v, want t=%d+%v: %s", i, p.T, p.Dur, i, wantDur, pointsString(s))
		}
	}
}

func pointsString(s []Point) string {
	out := ""
	for _, p := range s {
		out += fmt.Sprintf("[t=%v dur=%v n=%d]", p.T, p.Dur, p.Requests)
	}
	return out
}

// checkTotals asserts that the series adds up to the run's totals.
func checkTotals(t *testing.T, r *Result) {
	t.Helper()
	var req, errs, hist int64
	status := map[string]int64{}
	for _, p := range r.Series {
		req += p.Requests
		errs += p.Errors
		for k, v := range p.Status {
			status[k] += v
		}
		hist += dec(t, p.Hist).TotalCount()
	}
	if req != r.Requests.Total {
		t.Errorf("series requests add to %d, total is %d", req, r.Requests.Total)
	}
	if errs != r.Requests.Errors {
		t.Errorf("series errors add to %d, total is %d", errs, r.Requests.Errors)
	}
	if hist != r.Requests.Completed {
		t.Errorf("series histograms hold %d values, completed is %d", hist, r.Requests.Completed)
	}
	for k, v := range r.Status {
		if status[k] != v {
			t.Errorf("series status %s adds to %d, total is %d", k, status[k], v)
		}
	}
}

func TestCollectorSeries(t *testing.T) {
	c := newTestCollector()
	r := c.NewRecorder(256)
	ms := func(f float64) int64 { return int64(f * 1e6) }

	// Second 0: 100 responses at 1..100 ms, service time half of that.
	for i := range 100 {
		d := time.Duration(i) * 5 * time.Millisecond
		r.Record(Sample{Done: int64(d), Corrected: ms(float64(i + 1)), Service: ms(float64(i+1) / 2), BytesIn: 10, Code: 200})
	}
	c.Drain(at(500 * time.Millisecond))
	if p := c.Progress(at(500 * time.Millisecond)); p.Requests != 100 || p.LastRPS != 0 {
		t.Errorf("progress at 0.5s = %+v, want 100 requests and no closed interval", p)
	}
	// The interval stays open for a grace period after it ends.
	c.Drain(at(time.Second + intervalGrace - time.Millisecond))
	if p := c.Progress(at(time.Second)); p.LastRPS != 0 {
		t.Errorf("interval 0 closed before its grace period: %+v", p)
	}
	c.Drain(at(time.Second + intervalGrace))
	p := c.Progress(at(time.Second + intervalGrace))
	if p.LastRPS != 100 || !near(p.LastP99, 99, hdrTol) || p.Elapsed != time.Second+intervalGrace {
		t.Errorf("progress after interval 0 = %+v, want 100 req/s, p99 99ms", p)
	}

	// Second 1: nothing. Second 2: 50 × 503 at 10 ms and 10 timeouts at 1 s.
	for i := range 50 {
		d := 2*time.Second + time.Duration(i)*10*time.Millisecond
		r.Record(Sample{Done: int64(d), Corrected: ms(10), Service: ms(10), Code: 503})
	}
	for i := range 10 {
		d := 2*time.Second + time.Duration(i)*50*time.Millisecond
		r.Record(Sample{Done: int64(d), Corrected: ms(1000), Service: ms(1000), Err: ErrTimeout})
	}
	c.Drain(at(3100 * time.Millisecond))
	if p := c.Progress(at(3100 * time.Millisecond)); p.Errors != 60 || p.LastRPS != 60 {
		t.Errorf("progress after interval 2 = %+v, want 60 errors, 60 req/s", p)
	}
	// Second 3, cut short at 3.5 s: 20 responses at 2 ms.
	for i := range 20 {
		d := 3*time.Second + time.Duration(i)*20*time.Millisecond
		r.Record(Sample{Done: int64(d), Corrected: ms(2), Service: ms(1), Code: 200})
	}
	res := c.Result(Meta{Rate: 100, Connections: 4}, 3500*time.Millisecond, 999)

	checkSeriesShape(t, res.Series, 4, 0.5)
	checkTotals(t, res)
	want := []struct {
		req, errs          int64
		rps                float64
		status             map[string]int64
		p50, p90, p99, max float64
		svcP99             float64
		hist               int64
		classes            map[string]int64
	}{
		{100, 0, 100, map[string]int64{"2xx": 100}, 50, 90, 99, 100, 49.5, 100, nil},
		{0, 0, 0, map[string]int64{}, 0, 0, 0, 0, 0, 0, nil},
		{60, 60, 60, map[string]int64{"5xx": 50}, 10, 10, 10, 10, 10, 50, map[string]int64{"5xx": 50, "error": 10}},
		{20, 0, 40, map[string]int64{"2xx": 20}, 2, 2, 2, 2, 1, 20, nil},
	}
	for i, w := range want {
		p := res.Series[i]
		if p.Requests != w.req || p.Errors != w.errs || !near(p.RPS, w.rps, 1e-9) {
			t.Errorf("point %d: requests %d errors %d rps %v; want %d %d %v", i, p.Requests, p.Errors, p.RPS, w.req, w.errs, w.rps)
		}
		for _, cl := range []string{"1xx", "2xx", "3xx", "4xx", "5xx"} {
			if n, ok := p.Status[cl]; !ok || n != w.status[cl] {
				t.Errorf("point %d: status %s = %d (present %v), want %d", i, cl, n, ok, w.status[cl])
			}
		}
		for _, q := range []struct {
			name      string
			got, want float64
		}{{"p50", p.P50, w.p50}, {"p90", p.P90, w.p90}, {"p99", p.P99, w.p99}, {"max", p.Max, w.max}, {"service p99", p.ServiceP99, w.svcP99}} {
			if !near(q.got, q.want, hdrTol) {
				t.Errorf("point %d: %s = %v ms, want %v", i, q.name, q.got, q.want)
			}
		}
		if n := dec(t, p.Hist).TotalCount(); n != w.hist {
			t.Errorf("point %d: histogram holds %d, want %d", i, n, w.hist)
		}
		if len(p.Classes) != len(w.classes) {
			t.Errorf("point %d: %d class histograms, want %d", i, len(p.Classes), len(w.classes))
		}
		for cl, n := range w.classes {
			if h := dec(t, p.Classes[cl]); p.Classes[cl] == "" || h.TotalCount() != n {
				t.Errorf("point %d: class %s histogram %v, want %d values", i, cl, h, n)
			}
		}
	}
	if h := dec(t, res.Series[2].Classes["error"]); h.TotalCount() > 0 && !near(Quantile(h, 100), 1000, hdrTol) {
		t.Errorf("error-class max = %v ms, want 1000", Quantile(h, 100))
	}

	// The run's totals. Second 0's service times are half the corrected
	// ones, so 98 of them were sent more than 1 ms late.
	if res.Requests != (Requests{Total: 180, Completed: 170, Errors: 60, Late: 98}) {
		t.Errorf("requests = %+v", res.Requests)
	}
	if !near(res.Rate.Achieved, 180/3.5, 1e-12) || res.Rate.Target != 100 || res.Mode != "open" {
		t.Errorf("rate = %+v, mode %s", res.Rate, res.Mode)
	}
	if res.Bytes != (Bytes{In: 1000, Out: 999}) {
		t.Errorf("bytes = %+v", res.Bytes)
	}
	if res.Errors["timeout"] != 10 || res.Status["5xx"] != 50 || res.Codes["503"] != 50 || res.Codes["200"] != 120 {
		t.Errorf("errors %v status %v codes %v", res.Errors, res.Status, res.Codes)
	}
	if n := res.Histograms["corrected.error"].TotalCount(); n != 10 {
		t.Errorf("corrected.error holds %d, want 10", n)
	}
	if res.Latency.Corrected.Count != 170 {
		t.Errorf("corrected count %d, want 170", res.Latency.Corrected.Count)
	}
}

func TestCollectorLeadingEmptySeconds(t *testing.T) {
	c := newTestCollector()
	r := c.NewRecorder(64)
	r.Record(Sample{Done: int64(2500 * time.Millisecond), Corrected: 1e6, Service: 1e6, Code: 200})
	res := c.Result(Meta{}, 3*time.Second, 0)
	checkSeriesShape(t, res.Series, 3, 1)
	checkTotals(t, res)
	if res.Series[2].Requests != 1 || res.Mode != "closed" {
		t.Errorf("series %s mode %s", pointsString(res.Series), res.Mode)
	}
}

// TestCollectorStraggler records a sample for an interval that is already
// closed: it must still be counted, and the series must stay in order.
func TestCollectorStraggler(t *testing.T) {
	c := newTestCollector()
	r := c.NewRecorder(64)
	r.Record(Sample{Done: int64(500 * time.Millisecond), Corrected: 1e6, Service: 1e6, Code: 200})
	c.Drain(at(1100 * time.Millisecond)) // closes second 0
	r.Record(Sample{Done: int64(900 * time.Millisecond), Corrected: 1e6, Service: 1e6, Code: 200})
	r.Record(Sample{Done: int64(1500 * time.Millisecond), Corrected: 1e6, Service: 1e6, Code: 200})
	c.Drain(at(1600 * time.Millisecond))
	r.Record(Sample{Done: int64(2200 * time.Millisecond), Corrected: 1e6, Service: 1e6, Code: 200})
	res := c.Result(Meta{}, 2500*time.Millisecond, 0)
	checkSeriesShape(t, res.Series, 3, 0.5)
	checkTotals(t, res)
	if res.Requests.Total != 4 {
		t.Errorf("total %d, want 4", res.Requests.Total)
	}
	if res.Series[0].Requests != 1 {
		t.Errorf("closed point 0 changed: %s", pointsString(res.Series))
	}
}

// TestCollectorStragglerAcrossGap: one recorder has moved on to second 4
// while another still holds a sample of second 0, which is already closed.
// The straggler must not close second 4 early nor send the series back in
// time.
func TestCollectorStragglerAcrossGap(t *testing.T) {
	c := newTestCollector()
	fast, slow := c.NewRecorder(64), c.NewRecorder(64)
	rec := func(r *Recorder, d time.Duration) {
		r.Record(Sample{Done: int64(d), Corrected: 1e6, Service: 1e6, Code: 200})
	}
	rec(fast, 500*time.Millisecond)
	c.Drain(at(1100 * time.Millisecond)) // closes second 0
	rec(fast, 4500*time.Millisecond)
	rec(slow, 900*time.Millisecond) // straggler for second 0
	c.Drain(at(4600 * time.Millisecond))
	rec(fast, 4700*time.Millisecond)
	res := c.Result(Meta{}, 5*time.Second, 0)
	checkSeriesShape(t, res.Series, 5, 1)
	checkTotals(t, res)
	if res.Requests.Total != 4 {
		t.Errorf("total %d, want 4", res.Requests.Total)
	}
	if n := res.Series[len(res.Series)-1].Requests; n < 2 {
		t.Errorf("second 4 holds %d requests, want both of its own: %s", n, pointsString(res.Series))
	}
}

// TestCollectorConcurrent runs recorders and a drainer concurrently, with
// workers at different paces so that samples arrive out of order and
// after their interval closed. Nothing may be lost and the series must
// keep one point per second in order.
func TestCollectorConcurrent(t *testing.T) {
	const workers, perWorker = 4, 20_000
	const runLen = 5 * time.Second
	c := newTestCollector()
	recs := make([]*Recorder, workers)
	for i := range recs {
		recs[i] = c.NewRecorder(64)
	}
	var clock atomic.Int64 // the fastest worker's latest Done
	var stop atomic.Bool
	var drainer sync.WaitGroup
	drainer.Go(func() {
		for !stop.Load() {
			c.Drain(at(time.Duration(clock.Load())))
			_ = c.Progress(at(time.Duration(clock.Load())))
		}
	})
	var wg sync.WaitGroup
	for w, r := range recs {
		wg.Go(func() {
			for i := range perWorker {
				done := int64(runLen) * int64(i) / perWorker
				if w == 0 {
					clock.Store(done)
				}
				s := Sample{Done: done, Corrected: int64(1+i%100) * 1e6, Service: 1e6, Code: 200}
				if i%10 == w {
					s.Code = 0
					s.Err = ErrReset
					r.NoteError(ErrReset, func() string { return fmt.Sprintf("reset from worker %d", w) })
				}
				r.Record(s)
			}
		})
	}
	wg.Wait()
	stop.Store(true)
	drainer.Wait()
	res := c.Result(Meta{Rate: 1000}, runLen, 0)
	if res.Requests.Total != workers*perWorker {
		t.Fatalf("total %d, want %d", res.Requests.Total, workers*perWorker)
	}
	if res.Errors["reset"] != workers*perWorker/10 {
		t.Errorf("resets %d, want %d", res.Errors["reset"], workers*perWorker/10)
	}
	if m := res.ErrorSamples["reset"]; m != "reset from worker 0" {
		t.Errorf("reset sample %q, want the first recorder's", m)
	}
	checkSeriesShape(t, res.Series, 5, 1)
	checkTotals(t, res)
	if w := c.RingWaits(); w < 0 {
		t.Errorf("ring waits %d", w)
	}
}

func TestCollectorRun(t *testing.T) {
	c := NewCollector()
	c.Start(time.Now())
	r := c.NewRecorder(64)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { c.Run(ctx) })
	for i := range 1000 {
		r.Record(Sample{Done: int64(i) * 1000, Corrected: 1e6, Service: 1e6, Code: 204})
	}
	cancel()
	wg.Wait()
	res := c.Result(Meta{}, time.Second, 0)
	if res.Requests.Total != 1000 || res.Codes["204"] != 1000 {
		t.Errorf("total %d codes %v, want 1000 × 204", res.Requests.Total, res.Codes)
	}
}
