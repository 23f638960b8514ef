package stats

import (
	"math"
	"testing"
	"time"
)

// checkContiguous asserts that the series starts at 0 and that each point
// starts where the previous one ended, on one grid.
func checkContiguous(t *testing.T, s []Point) {
	t.Helper()
	end := 0.0
	for i, p := range s {
		if math.Abs(p.T-end) > 1e-6 {
			t.Fatalf("point %d starts at t=%v, the previous one ended at %v", i, p.T, end)
		}
		end = p.T + p.Dur
	}
}

// collectWithGap records a few samples in the first second and a few gap
// later, drains as a run would, and returns the result.
func collectWithGap(t *testing.T, gap time.Duration) *Result {
	t.Helper()
	done := make(chan *Result, 1)
	go func() {
		c := newTestCollector()
		r := c.NewRecorder(64)
		r.Record(Sample{Done: int64(200 * time.Millisecond), Corrected: 1e6, Service: 1e6, Code: 200})
		c.Drain(at(1100 * time.Millisecond))
		for k := range 3 {
			d := gap + time.Duration(k)*time.Millisecond
			r.Record(Sample{Done: int64(d), Corrected: 2e6, Service: 1e6, Code: 200})
		}
		c.Drain(at(gap + 500*time.Millisecond))
		done <- c.Result(Meta{}, gap+time.Second, 0)
	}()
	select {
	case res := <-done:
		return res
	case <-time.After(10 * time.Second):
		t.Fatalf("a gap of %v: the collector did not finish within 10 s", gap)
		return nil
	}
}

// TestCollectorLongGapBounded: samples that end three hours after the start
// (a run that started three hours after its --start-at) used to cost an
// empty point per second of the gap: 10800 points, compacted once to 5401.
// The series stays within maxPoints, contiguous, and keeps every request.
func TestCollectorLongGapBounded(t *testing.T) {
	res := collectWithGap(t, 3*time.Hour)
	if n := len(res.Series); n > maxPoints {
		t.Errorf("series has %d points after a 3 h gap, want at most %d", n, maxPoints)
	}
	checkContiguous(t, res.Series)
	checkTotals(t, res)
	if res.Requests.Total != 4 {
		t.Errorf("total %d, want 4", res.Requests.Total)
	}
	last := res.Series[len(res.Series)-1]
	if last.Requests != 3 || last.T > 3*3600 || last.T+last.Dur < 3*3600 {
		t.Errorf("last point t=%v+%v holds %d requests, want the 3 late ones, at 3 h", last.T, last.Dur, last.Requests)
	}
}

// TestCollectorHugeGapBounded: samples six years after the start (a start
// time in 2020) once grew the series by a point per second until the
// process ran out of memory. Now it takes a few coarsenings of the grid.
func TestCollectorHugeGapBounded(t *testing.T) {
	gap := 6 * 365 * 24 * time.Hour
	res := collectWithGap(t, gap)
	if n := len(res.Series); n > maxPoints {
		t.Errorf("series has %d points after a %v gap, want at most %d", n, gap, maxPoints)
	}
	checkContiguous(t, res.Series)
	checkTotals(t, res)
	if res.Requests.Total != 4 {
		t.Errorf("total %d, want 4", res.Requests.Total)
	}
	if first := res.Series[0]; first.Requests != 1 {
		t.Errorf("first point t=%v+%v holds %d requests, want the early one", first.T, first.Dur, first.Requests)
	}
}

// TestCollectorCompactsWithOpenInterval: when the series reaches maxPoints
// the grid doubles while the next second is already open (as in every real
// run: an interval closes 30 ms after it ends). That open interval must move
// to the new grid: it used to keep its old index and, closed on the doubled
// grid, land at twice its time after as many empty points again.
func TestCollectorCompactsWithOpenInterval(t *testing.T) {
	if testing.Short() {
		t.Skip("simulates over an hour of intervals")
	}
	c := NewCollector()
	c.every = 10 * time.Millisecond // an hour of intervals in 37 s of run
	c.Start(t0)
	rec := c.NewRecorder(64)
	const n = maxPoints + 100
	step := int64(c.every)
	for i := int64(0); i < n; i++ {
		// The second half of interval i, then the first of i+1, and only
		// then is i closed.
		rec.Record(Sample{Done: i*step + step/2, Corrected: 1e6, Service: 1e6, Code: 200})
		rec.Record(Sample{Done: (i+1)*step + 1, Corrected: 1e6, Service: 1e6, Code: 200})
		c.Drain(t0.Add(time.Duration((i+1)*step) + intervalGrace))
	}
	elapsed := time.Duration((n + 1) * step)
	res := c.Result(Meta{}, elapsed, 0)
	if got := len(res.Series); got > maxPoints || got < maxPoints/4 {
		t.Errorf("series has %d points, want between %d and %d", got, maxPoints/4, maxPoints)
	}
	checkContiguous(t, res.Series)
	checkTotals(t, res)
	last := res.Series[len(res.Series)-1]
	if end := last.T + last.Dur; end > elapsed.Seconds()+1e-6 {
		t.Errorf("series ends at %vs, after the run's %vs", end, elapsed.Seconds())
	}
	for i, p := range res.Series[:len(res.Series)-1] {
		// Every full point of the doubled grid holds its 4 samples (2 per
		// 10 ms); the first and last may hold fewer.
		if i > 0 && p.Requests != 4 {
			t.Fatalf("point %d (t=%v+%v) holds %d requests, want 4", i, p.T, p.Dur, p.Requests)
		}
	}
}
