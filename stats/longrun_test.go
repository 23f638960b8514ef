package stats

import (
	"testing"
	"time"
)

// TestLongRunStaysSmall feeds just over an hour of one-per-second
// intervals: the series must stay within maxPoints, keep every request,
// and keep its per-point histograms compact.
func TestLongRunStaysSmall(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("simulates an hour of intervals; too slow with -short or the race detector")
	}
	c := NewCollector()
	start := time.Unix(0, 0)
	c.Start(start)
	rec := c.NewRecorder(64)
	const seconds = 3700
	for s := 0; s < seconds; s++ {
		for k := 0; k < 3; k++ {
			done := int64(s)*int64(time.Second) + int64(k)*int64(time.Millisecond)
			rec.Record(Sample{Done: done, Corrected: int64(k+1) * int64(time.Millisecond), Service: int64(time.Millisecond), Code: 200})
		}
		c.Drain(start.Add(time.Duration(s+1)*time.Second + intervalGrace))
	}
	res := c.Result(Meta{}, seconds*time.Second, 0)
	if n := len(res.Series); n > maxPoints || n < maxPoints/2 {
		t.Errorf("series has %d points after %d s, want between %d and %d", n, seconds, maxPoints/2, maxPoints)
	}
	var total int64
	var bytes int
	for _, p := range res.Series {
		total += p.Requests
		bytes += len(p.Hist)
		for _, h := range p.Classes {
			bytes += len(h)
		}
	}
	if total != 3*seconds {
		t.Errorf("series holds %d requests, want %d", total, 3*seconds)
	}
	if bytes > 2<<20 {
		t.Errorf("per-point histograms take %d bytes, want under 2 MiB", bytes)
	}
	if got := res.Series[len(res.Series)-1]; got.Dur <= 1 {
		t.Errorf("after compaction points should span more than 1 s, last spans %v", got.Dur)
	}
}
