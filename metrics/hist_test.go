package metrics

import (
	"math"
	"testing"

	"volley/stats"
)

// expQuantile reads quantile q (0..1) from exponential buckets the way
// Prometheus's histogram_quantile does: linear... here the bucket's upper
// bound, which is within one bucket width of the truth.
func expQuantile(e Exp, q float64) float64 {
	rank := q * float64(e.Count)
	var seen float64
	for _, i := range e.Indexes() {
		seen += float64(e.Buckets[i])
		if seen >= rank {
			return upper(i)
		}
	}
	return math.NaN()
}

// TestExpOfKeepsPrecision: percentiles read from the exponential buckets
// are within a bucket (0.27%) and HDR's own 0.1% of volley's, from 50 µs to
// 20 s, and every bucket holds only values inside its bounds.
func TestExpOfKeepsPrecision(t *testing.T) {
	h := stats.NewHistogram()
	for v := int64(50_000); v < 20_000_000_000; v = v*1003/1000 + 1 {
		_ = h.RecordValue(v)
	}
	e := ExpOf(h)
	if e.Count != uint64(h.TotalCount()) {
		t.Fatalf("count %d, want %d", e.Count, h.TotalCount())
	}
	for _, q := range []float64{0.5, 0.9, 0.99, 0.999} {
		want := float64(h.ValueAtQuantile(q*100)) / 1e9
		got := expQuantile(e, q)
		if rel := math.Abs(got-want) / want; rel > 0.004 {
			t.Errorf("p%v: %.6f s from the buckets, %.6f s from HDR (%.2f%% off, want within 0.4%%)", q*100, got, want, rel*100)
		}
	}
	for _, b := range h.Distribution() {
		if b.Count == 0 {
			continue
		}
		mid := (float64(b.From) + float64(b.To)) / 2 / 1e9
		i := expIndex(mid)
		if !(upper(i-1) < mid && mid <= upper(i)) {
			t.Fatalf("%v s in bucket %d = (%v, %v]", mid, i, upper(i-1), upper(i))
		}
	}
	if e.Sum < 0.99*float64(h.Mean()*float64(h.TotalCount()))/1e9 || e.Sum > 1.01*h.Mean()*float64(h.TotalCount())/1e9 {
		t.Errorf("sum %v s, want the histogram's %v", e.Sum, h.Mean()*float64(h.TotalCount())/1e9)
	}
}

// TestSpansRoundTrip: decoding the spans and deltas as a receiver does
// gives back every bucket, gaps included.
func TestSpansRoundTrip(t *testing.T) {
	e := Exp{Buckets: map[int]uint64{-3: 5, -2: 1, 7: 9, 8: 9, 9: 2, 40: 1}}
	spans, deltas := e.Spans()
	got := map[int]uint64{}
	idx, n, count := 0, 0, int64(0)
	for si, sp := range spans {
		if si == 0 {
			idx = int(sp.Offset)
		} else {
			idx += int(sp.Offset)
		}
		for range sp.Length {
			count += deltas[n]
			got[idx] = uint64(count)
			idx++
			n++
		}
	}
	if len(got) != len(e.Buckets) || n != len(deltas) {
		t.Fatalf("decoded %v from spans %v deltas %v, want %v", got, spans, deltas, e.Buckets)
	}
	for i, c := range e.Buckets {
		if got[i] != c {
			t.Errorf("bucket %d: decoded %d, want %d (spans %v deltas %v)", i, got[i], c, spans, deltas)
		}
	}
}

// TestClassic: the cumulative counts at each bound are the values at or
// below it, and the last bound's count is the total.
func TestClassic(t *testing.T) {
	h := stats.NewHistogram()
	for _, ms := range []int64{1, 2, 3, 20, 200, 2000} {
		_ = h.RecordValue(ms * 1e6 * 999 / 1000) // just under the value
	}
	cum, count, _ := Classic(h)
	want := map[float64]uint64{0.0005: 0, 0.001: 1, 0.0025: 2, 0.005: 3, 0.025: 4, 0.25: 5, 2.5: 6, 60: 6}
	for i, b := range Bounds {
		if w, ok := want[b]; ok && cum[i] != w {
			t.Errorf("le=%v: %d, want %d", b, cum[i], w)
		}
	}
	if count != 6 {
		t.Errorf("count %d, want 6", count)
	}
}
