package metrics

import (
	"math"
	"slices"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
)

// Schema is the resolution of the exponential histograms sent: 8, the
// finest Prometheus takes (and an OTLP scale of 8): bucket i holds values in
// (2^((i-1)/256), 2^(i/256)], 0.27% wide, next to volley's histograms'
// 0.1%, so a percentile read from the receiver is within 0.4% of volley's.
const Schema = 8

// Exp is a histogram in seconds as exponential buckets of Schema: Buckets
// maps a bucket index (as Prometheus numbers them) to its count.
type Exp struct {
	Count   uint64
	Sum     float64 // seconds
	Buckets map[int]uint64
}

// ExpOf converts an HDR histogram of nanoseconds. Each HDR bucket goes
// whole into the exponential bucket that holds its midpoint.
func ExpOf(h *hdr.Histogram) Exp {
	e := Exp{Buckets: map[int]uint64{}}
	if h == nil {
		return e
	}
	for _, b := range h.Distribution() {
		if b.Count == 0 {
			continue
		}
		mid := (float64(b.From) + float64(b.To)) / 2 / 1e9
		e.Count += uint64(b.Count)
		e.Sum += mid * float64(b.Count)
		e.Buckets[expIndex(mid)] += uint64(b.Count)
	}
	return e
}

// expIndex is the Prometheus bucket index of v > 0 at Schema: the least i
// with v <= 2^(i/2^Schema).
func expIndex(v float64) int {
	i := int(math.Ceil(math.Log2(v) * (1 << Schema)))
	// Log2's rounding can put v one bucket off near a boundary.
	for upper(i-1) >= v {
		i--
	}
	for upper(i) < v {
		i++
	}
	return i
}

// upper is bucket i's upper bound at Schema.
func upper(i int) float64 { return math.Exp2(float64(i) / (1 << Schema)) }

// Indexes lists the occupied bucket indexes in order.
func (e Exp) Indexes() []int {
	idx := make([]int, 0, len(e.Buckets))
	for i := range e.Buckets {
		idx = append(idx, i)
	}
	slices.Sort(idx)
	return idx
}

// Bounds are the classic histogram buckets' upper bounds in seconds, for
// receivers without native histograms: 100 µs to 60 s, a 1-2.5-5 ladder.
// Between two bounds a classic histogram only knows the count, so a
// percentile read from it is interpolated inside a bucket up to 2.5 times
// wide; the native histogram (or the result's HDR histogram) holds the
// real value.
var Bounds = []float64{
	0.0001, 0.00025, 0.0005,
	0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
	1, 2.5, 5, 10, 25, 60,
}

// Classic is h's cumulative counts at Bounds, its count and its sum in
// seconds. Each HDR bucket counts whole below the first bound at or above
// its midpoint, as ExpOf places it.
func Classic(h *hdr.Histogram) (cumulative []uint64, count uint64, sum float64) {
	cumulative = make([]uint64, len(Bounds))
	if h == nil {
		return cumulative, 0, 0
	}
	for _, b := range h.Distribution() {
		if b.Count == 0 {
			continue
		}
		mid := (float64(b.From) + float64(b.To)) / 2 / 1e9
		count += uint64(b.Count)
		sum += mid * float64(b.Count)
		if i, _ := slices.BinarySearch(Bounds, mid); i < len(Bounds) {
			cumulative[i] += uint64(b.Count)
		}
	}
	for i := 1; i < len(cumulative); i++ {
		cumulative[i] += cumulative[i-1]
	}
	return cumulative, count, sum
}

// Span is a run of consecutive buckets: Offset is its first index's
// distance from the end of the previous span (from 0 for the first), as
// Prometheus's native histograms encode them.
type Span struct {
	Offset int32
	Length uint32
}

// Spans encodes the occupied buckets as Prometheus sends them: spans of
// consecutive indexes, and each bucket's count as the difference from the
// one before it.
func (e Exp) Spans() (spans []Span, deltas []int64) {
	prevEnd, prevCount := 0, int64(0)
	for n, i := range e.Indexes() {
		if n == 0 || i != prevEnd {
			off := i - prevEnd
			if n == 0 {
				off = i
			}
			spans = append(spans, Span{Offset: int32(off)})
		}
		spans[len(spans)-1].Length++
		prevEnd = i + 1
		c := int64(e.Buckets[i])
		deltas = append(deltas, c-prevCount)
		prevCount = c
	}
	return spans, deltas
}
