package stats

import (
	"encoding/json"
	"fmt"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
)

// Histogram geometry shared by every histogram volley writes: values are
// nanoseconds from 1 µs to 1 h at 3 significant digits. One geometry for all
// keeps merging exact.
const (
	HistLowest  int64 = 1_000
	HistHighest int64 = 3_600_000_000_000
	HistDigits        = 3
)

// NewHistogram returns an empty histogram with volley's geometry.
func NewHistogram() *hdr.Histogram { return hdr.New(HistLowest, HistHighest, HistDigits) }

// clampValue keeps v inside the histogram's range and reports whether it had
// to move it above the highest trackable value.
func clampValue(v int64) (int64, bool) {
	switch {
	case v < HistLowest:
		// Sub-microsecond values land in the first bucket; they are in range
		// of the histogram's lowest discernible value, not an overflow.
		if v < 0 {
			return 0, false
		}
		return v, false
	case v > HistHighest:
		return HistHighest, true
	}
	return v, false
}

// Hist is a histogram that marshals to JSON as the HdrHistogram V2 compressed
// base64 encoding, the form HdrHistogram's own tools read.
type Hist struct{ *hdr.Histogram }

// MarshalJSON encodes the histogram as a base64 string.
func (h Hist) MarshalJSON() ([]byte, error) {
	if h.Histogram == nil {
		return []byte("null"), nil
	}
	if h.TotalCount() > 0 {
		return json.Marshal(string(EncodeHist(h.Histogram)))
	}
	b, err := h.Encode(hdr.V2CompressedEncodingCookieBase)
	if err != nil {
		return nil, fmt.Errorf("encode histogram: %w", err)
	}
	return json.Marshal(string(b))
}

// UnmarshalJSON decodes a base64 V2 compressed histogram.
func (h *Hist) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		h.Histogram = nil
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("histogram: want a base64 string: %w", err)
	}
	d, err := DecodeHistogram(s)
	if err != nil {
		return err
	}
	h.Histogram = d
	return nil
}

// EncodedHist is a histogram kept in the HdrHistogram V2 compressed base64
// form: a few hundred bytes where the dense form takes about 200 KB, so a
// long series of per-interval histograms stays small. The empty string is
// an empty histogram.
type EncodedHist string

// EncodeHist compresses h. A nil or empty histogram encodes as "". See
// encode.go for the format.
func EncodeHist(h *hdr.Histogram) EncodedHist {
	if h == nil || h.TotalCount() == 0 {
		return ""
	}
	return EncodedHist(encodeV2(h))
}

// Decode returns the histogram; "" decodes as an empty one.
func (e EncodedHist) Decode() (*hdr.Histogram, error) {
	if e == "" {
		return NewHistogram(), nil
	}
	return DecodeHistogram(string(e))
}

// DecodeHistogram decodes a base64 V2 compressed histogram and checks that it
// has volley's geometry, so that it can be merged exactly.
func DecodeHistogram(s string) (*hdr.Histogram, error) {
	if err := checkGeometry(s); err != nil {
		return nil, err
	}
	d, err := hdr.Decode([]byte(s))
	if err != nil {
		return nil, fmt.Errorf("decode histogram: %w", err)
	}
	if d.LowestTrackableValue() != HistLowest || d.HighestTrackableValue() < HistHighest || d.SignificantFigures() != HistDigits {
		return nil, fmt.Errorf("decode histogram: range %d..%d ns at %d digits, want %d..%d at %d",
			d.LowestTrackableValue(), d.HighestTrackableValue(), d.SignificantFigures(), HistLowest, HistHighest, HistDigits)
	}
	return d, nil
}

// Summary holds a latency distribution's statistics in milliseconds.
type Summary struct {
	Count int64   `json:"count"`
	Min   float64 `json:"min"`
	Mean  float64 `json:"mean"`
	Stdev float64 `json:"stdev"`
	P50   float64 `json:"p50"`
	P75   float64 `json:"p75"`
	P90   float64 `json:"p90"`
	P95   float64 `json:"p95"`
	P99   float64 `json:"p99"`
	P999  float64 `json:"p99.9"`
	P9999 float64 `json:"p99.99"`
	Max   float64 `json:"max"`
}

// ms converts nanoseconds to milliseconds.
func ms(ns int64) float64 { return float64(ns) / 1e6 }

// Summarize computes a Summary of h. An empty or nil histogram gives zeros.
func Summarize(h *hdr.Histogram) Summary {
	if h == nil || h.TotalCount() == 0 {
		return Summary{}
	}
	q := h.ValueAtPercentilesSlice([]float64{50, 75, 90, 95, 99, 99.9, 99.99})
	return Summary{
		Count: h.TotalCount(),
		Min:   ms(h.Min()), Mean: h.Mean() / 1e6, Stdev: h.StdDev() / 1e6,
		P50: ms(q[0]), P75: ms(q[1]), P90: ms(q[2]), P95: ms(q[3]),
		P99: ms(q[4]), P999: ms(q[5]), P9999: ms(q[6]),
		Max: ms(h.Max()),
	}
}

// Quantile returns the value in milliseconds at percentile p (0..100).
func Quantile(h *hdr.Histogram, p float64) float64 {
	if h == nil || h.TotalCount() == 0 {
		return 0
	}
	return ms(h.ValueAtQuantile(p))
}
