package stats

import (
	"math"
	"strings"
	"testing"
	"time"
)

func TestParseSLO(t *testing.T) {
	for _, tc := range []struct {
		in        string
		metric    string
		p, limit  float64
		inclusive bool
	}{
		{"p99<50ms", "p99", 99, 50, false},
		{" p99.9 <= 1.5s ", "p99.9", 99.9, 1500, true},
		{"p50<800us", "p50", 50, 0.8, false},
		{"p50<800µs", "p50", 50, 0.8, false},
		{"max<2s", "max", 100, 2000, false},
		{"error_rate<1%", "error_rate", 0, 0.01, false},
		{"error_rate<=0.005", "error_rate", 0, 0.005, true},
	} {
		o, err := ParseSLO(tc.in)
		if err != nil {
			t.Errorf("ParseSLO(%q): %v", tc.in, err)
			continue
		}
		if o.Metric != tc.metric || o.Percentile != tc.p || math.Abs(o.Limit-tc.limit) > 1e-12 || o.Inclusive != tc.inclusive {
			t.Errorf("ParseSLO(%q) = %+v", tc.in, o)
		}
	}
	for _, tc := range []struct{ in, want string }{
		{"p99", "want METRIC<LIMIT"},
		{"p99>50ms", "want METRIC<LIMIT"},
		{"p99<abc", `limit "abc"`},
		{"p99<-5ms", "positive duration"},
		{"p0<5ms", "percentile"},
		{"p101<5ms", "percentile"},
		{"pxx<5ms", "percentile"},
		{"latency<5ms", "unknown metric"},
		{"error_rate<5ms", "percentage"},
		{"error_rate<150%", "0% to 100%"},
	} {
		_, err := ParseSLO(tc.in)
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), tc.in) {
			t.Errorf("ParseSLO(%q) = %v, want an error naming the input and containing %q", tc.in, err, tc.want)
		}
	}
}

// TestSLOMet: 1000 responses with latencies 1..1000 ms and 20 500s of 1 ms
// (1020 requests): p99 is about 990 ms, p50 about 490 ms (the 510th value),
// max 1000 ms, all within the histogram's precision, and the error rate
// 20/1020 = 1.96%.
func TestSLOMet(t *testing.T) {
	tl := NewTally()
	for i := int64(1); i <= 1000; i++ {
		tl.Add(&Sample{Corrected: i * 1e6, Service: i * 1e6, Code: 200})
	}
	for range 20 {
		tl.Add(&Sample{Code: 500, Corrected: 1e6, Service: 1e6})
	}
	r := newResult(tl, Meta{Rate: 100}, 10*time.Second, 0, nil, nil)
	for _, tc := range []struct {
		slo string
		ok  bool
	}{
		{"p99<1s", true}, {"p99<990ms", false}, {"p99<=991ms", true}, {"p50<490ms", false},
		{"p50<495ms", true}, {"max<1s", false}, {"max<=1001ms", true},
		{"error_rate<2%", true}, {"error_rate<1.9%", false}, {"error_rate<=0.0196079", true},
	} {
		o, err := ParseSLO(tc.slo)
		if err != nil {
			t.Fatal(err)
		}
		v, ok := o.Met(r)
		if ok != tc.ok {
			t.Errorf("%s: observed %v, met = %v, want %v", tc.slo, v, ok, tc.ok)
		}
	}
	empty := newResult(NewTally(), Meta{}, time.Second, 0, nil, nil)
	o, _ := ParseSLO("p99<1s")
	if v, ok := o.Met(empty); ok || !math.IsInf(v, 1) {
		t.Errorf("a run without responses met %s (observed %v), want +Inf, not met", o, v)
	}
}
