package stats

import (
	"encoding/json"
	"math"
	"strings"
	"testing"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
)

// hdrTol is the relative error HDR guarantees at 3 significant digits.
const hdrTol = 1e-3

// near reports whether got is within rel (relative) of want.
func near(got, want, rel float64) bool {
	if want == 0 {
		return got == 0
	}
	return math.Abs(got-want) <= rel*math.Abs(want)
}

func checkNear(t *testing.T, name string, got, want, rel float64) {
	t.Helper()
	if !near(got, want, rel) {
		t.Errorf("%s = %.6g, want %.6g (±%.2g%%)", name, got, want, rel*100)
	}
}

// histOf records every value (ns) into a histogram with volley's geometry.
func histOf(t testing.TB, vals ...int64) *hdr.Histogram {
	t.Helper()
	h := NewHistogram()
	for _, v := range vals {
		if err := h.RecordValue(v); err != nil {
			t.Fatalf("record %d: %v", v, err)
		}
	}
	return h
}

func TestSummarizeUniform(t *testing.T) {
	// 1..100000 µs, each once: quantile q is q*100000 µs.
	const n = 100_000
	h := NewHistogram()
	for i := int64(1); i <= n; i++ {
		if err := h.RecordValue(i * 1000); err != nil {
			t.Fatal(err)
		}
	}
	s := Summarize(h)
	if s.Count != n {
		t.Errorf("Count = %d, want %d", s.Count, n)
	}
	// Below HistLowest (1 µs) HDR only discerns 1 µs steps.
	if math.Abs(s.Min-0.001) >= 0.001 {
		t.Errorf("Min = %v ms, want 0.001 ms to within 1 µs", s.Min)
	}
	checkNear(t, "P50", s.P50, 50, hdrTol)
	checkNear(t, "P75", s.P75, 75, hdrTol)
	checkNear(t, "P90", s.P90, 90, hdrTol)
	checkNear(t, "P95", s.P95, 95, hdrTol)
	checkNear(t, "P99", s.P99, 99, hdrTol)
	checkNear(t, "P99.9", s.P999, 99.9, hdrTol)
	checkNear(t, "P99.99", s.P9999, 99.99, hdrTol)
	checkNear(t, "Max", s.Max, 100, hdrTol)
	checkNear(t, "Mean", s.Mean, 50.0005, hdrTol)
	// Discrete uniform on 1..n µs: variance (n²-1)/12.
	checkNear(t, "Stdev", s.Stdev, math.Sqrt((n*n-1)/12.0)/1000, hdrTol)

	for _, c := range []struct{ p, want float64 }{{25, 25}, {50, 50}, {99.5, 99.5}, {100, 100}} {
		checkNear(t, "Quantile", Quantile(h, c.p), c.want, hdrTol)
	}
	if s.P50 > s.P90 || s.P90 > s.P99 || s.P99 > s.P999 || s.P999 > s.Max {
		t.Errorf("percentiles not monotonic: %+v", s)
	}
}

func TestSummarizeExponential(t *testing.T) {
	// Values at the exact quantiles of an exponential distribution with mean
	// 10 ms: the p-quantile is -mean*ln(1-p).
	const n = 200_000
	const mean = 10e6 // ns
	h := NewHistogram()
	for i := 0; i < n; i++ {
		u := (float64(i) + 0.5) / n
		if err := h.RecordValue(int64(-mean * math.Log(1-u))); err != nil {
			t.Fatal(err)
		}
	}
	s := Summarize(h)
	// Sub-µs values all share the first bucket; allow for that in the mean.
	checkNear(t, "Mean", s.Mean, 10, 2e-3)
	checkNear(t, "Stdev", s.Stdev, 10, 5e-3)
	checkNear(t, "P50", s.P50, 10*math.Ln2, 2e-3)
	checkNear(t, "P90", s.P90, 10*math.Log(10), 2e-3)
	checkNear(t, "P99", s.P99, 10*math.Log(100), 2e-3)
	checkNear(t, "P99.9", s.P999, 10*math.Log(1000), 2e-3)
	checkNear(t, "Quantile(63.2)", Quantile(h, 100*(1-math.Exp(-1))), 10, 2e-3)
}

func TestSummarizeTwoPoint(t *testing.T) {
	// 90% at 1 ms, 10% at 100 ms: p50 and p90 are 1 ms, p91 and above 100 ms.
	h := NewHistogram()
	if err := h.RecordValues(1_000_000, 900); err != nil {
		t.Fatal(err)
	}
	if err := h.RecordValues(100_000_000, 100); err != nil {
		t.Fatal(err)
	}
	s := Summarize(h)
	checkNear(t, "P50", s.P50, 1, hdrTol)
	checkNear(t, "P90", s.P90, 1, hdrTol)
	checkNear(t, "P95", s.P95, 100, hdrTol)
	checkNear(t, "P99", s.P99, 100, hdrTol)
	checkNear(t, "Min", s.Min, 1, hdrTol)
	checkNear(t, "Max", s.Max, 100, hdrTol)
	checkNear(t, "Mean", s.Mean, 0.9*1+0.1*100, hdrTol)
	checkNear(t, "Stdev", s.Stdev, 29.7, hdrTol) // sqrt(0.9*0.1)*99
	checkNear(t, "Quantile(91)", Quantile(h, 91), 100, hdrTol)
	checkNear(t, "Quantile(89)", Quantile(h, 89), 1, hdrTol)
}

func TestSummarizeEmpty(t *testing.T) {
	if s := Summarize(nil); s != (Summary{}) {
		t.Errorf("Summarize(nil) = %+v, want zero", s)
	}
	if s := Summarize(NewHistogram()); s != (Summary{}) {
		t.Errorf("Summarize(empty) = %+v, want zero", s)
	}
	if q := Quantile(nil, 99); q != 0 {
		t.Errorf("Quantile(nil) = %v, want 0", q)
	}
	if q := Quantile(NewHistogram(), 99); q != 0 {
		t.Errorf("Quantile(empty) = %v, want 0", q)
	}
}

func TestSummaryJSONNames(t *testing.T) {
	b, err := json.Marshal(Summary{P999: 1, P9999: 2})
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{`"p99.9":1`, `"p99.99":2`, `"count":0`, `"stdev":0`} {
		if !strings.Contains(string(b), k) {
			t.Errorf("summary JSON %s lacks %s", b, k)
		}
	}
}

func TestDecodeHistogramGeometry(t *testing.T) {
	encode := func(h *hdr.Histogram) string {
		t.Helper()
		_ = h.RecordValue(5_000_000)
		b, err := h.Encode(hdr.V2CompressedEncodingCookieBase)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	own := NewHistogram()
	d, err := DecodeHistogram(encode(own))
	if err != nil {
		t.Fatalf("own geometry rejected: %v", err)
	}
	if !d.Equals(own) {
		t.Error("decoded histogram differs from the encoded one")
	}
	for _, c := range []struct {
		name string
		h    *hdr.Histogram
	}{
		{"lowest 1ns", hdr.New(1, HistHighest, HistDigits)},
		{"2 digits", hdr.New(HistLowest, HistHighest, 2)},
		{"highest 1s", hdr.New(HistLowest, 1_000_000_000, HistDigits)},
	} {
		if _, err := DecodeHistogram(encode(c.h)); err == nil {
			t.Errorf("%s: DecodeHistogram accepted another geometry", c.name)
		} else if !strings.Contains(err.Error(), "want") {
			t.Errorf("%s: error %q does not say what was wanted", c.name, err)
		}
	}
	if _, err := DecodeHistogram("not base64 at all!"); err == nil {
		t.Error("DecodeHistogram accepted garbage")
	}

	var h Hist
	if err := json.Unmarshal([]byte(`42`), &h); err == nil {
		t.Error("Hist accepted a number")
	}
	if err := json.Unmarshal([]byte(`null`), &h); err != nil || h.Histogram != nil {
		t.Errorf("Hist null: %v, %v", h.Histogram, err)
	}
	if b, err := json.Marshal(Hist{}); err != nil || string(b) != "null" {
		t.Errorf("nil Hist marshals to %s, %v; want null", b, err)
	}
}

func TestClampValue(t *testing.T) {
	for _, c := range []struct {
		in, out int64
		sat     bool
	}{
		{-5, 0, false},
		{0, 0, false},
		{999, 999, false},
		{HistLowest, HistLowest, false},
		{HistHighest, HistHighest, false},
		{HistHighest + 1, HistHighest, true},
		{math.MaxInt64, HistHighest, true},
	} {
		out, sat := clampValue(c.in)
		if out != c.out || sat != c.sat {
			t.Errorf("clampValue(%d) = %d, %v; want %d, %v", c.in, out, sat, c.out, c.sat)
		}
		if err := NewHistogram().RecordValue(out); err != nil {
			t.Errorf("clamped value %d not recordable: %v", out, err)
		}
	}
}
