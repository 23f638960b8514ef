package stats

import (
	"math/rand/v2"
	"testing"
)

// point builds a point over [t, t+dur) from corrected latencies (ns) of 2xx
// responses and of 5xx responses.
func point(tb testing.TB, t, dur float64, ok, bad []int64) Point {
	tb.Helper()
	all := histOf(tb, append(append([]int64(nil), ok...), bad...)...)
	p := Point{
		T: t, Dur: dur, Requests: int64(len(ok) + len(bad)), Errors: int64(len(bad)),
		Status: map[string]int64{"1xx": 0, "2xx": int64(len(ok)), "3xx": 0, "4xx": 0, "5xx": int64(len(bad))},
		Hist:   EncodeHist(all), ServiceP99: t + 1,
	}
	if len(ok) > 0 && len(bad) > 0 {
		p.Classes = map[string]EncodedHist{"2xx": EncodeHist(histOf(tb, ok...)), "5xx": EncodeHist(histOf(tb, bad...))}
	}
	return p
}

func randVals(rng *rand.Rand, n int, scale int64) []int64 {
	v := make([]int64, n)
	for i := range v {
		v[i] = 1000 + rng.Int64N(scale)
	}
	return v
}

func TestMergePoints(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	okA, badA := randVals(rng, 500, 5e6), randVals(rng, 20, 1e9)
	okB := randVals(rng, 800, 50e6)
	a := point(t, 4, 1, okA, badA)
	b := point(t, 5, 1, okB, nil)
	aCount := dec(t, a.Hist).TotalCount()

	m := MergePoints(a, b)
	all := histOf(t, append(append(append([]int64(nil), okA...), badA...), okB...)...)
	if !dec(t, m.Hist).Equals(all) {
		t.Error("merged histogram differs from the histogram of all values")
	}
	if m.T != 4 || m.Dur != 2 || m.Requests != 1320 || m.Errors != 20 || m.RPS != 660 {
		t.Errorf("merged t=%v dur=%v requests=%d errors=%d rps=%v", m.T, m.Dur, m.Requests, m.Errors, m.RPS)
	}
	if m.Status["2xx"] != 1300 || m.Status["5xx"] != 20 || m.Status["4xx"] != 0 {
		t.Errorf("merged status %v", m.Status)
	}
	for _, q := range []struct {
		name      string
		got, want float64
	}{{"p50", m.P50, Quantile(all, 50)}, {"p90", m.P90, Quantile(all, 90)}, {"p99", m.P99, Quantile(all, 99)}, {"max", m.Max, Quantile(all, 100)}} {
		if q.got != q.want {
			t.Errorf("merged %s = %v, want %v", q.name, q.got, q.want)
		}
	}
	if m.ServiceP99 != 6 {
		t.Errorf("merged service p99 %v, want the larger, 6", m.ServiceP99)
	}
	// Class histograms merge too, including one only a had.
	if !dec(t, m.Classes["5xx"]).Equals(histOf(t, badA...)) {
		t.Error("merged 5xx class histogram differs")
	}
	// b holds only 2xx responses, so its Hist is its 2xx class: merged, the
	// 2xx class holds both points' 2xx values.
	if n := dec(t, m.Classes["2xx"]).TotalCount(); n != 1300 {
		t.Errorf("merged 2xx class holds %d, want 1300 (500 from a, 800 from b's Hist)", n)
	}
	// The inputs are left alone.
	if dec(t, a.Hist).TotalCount() != aCount || a.Status["2xx"] != 500 || b.Requests != 800 {
		t.Error("MergePoints modified its inputs")
	}
	// Order does not matter.
	if r := MergePoints(b, a); !dec(t, r.Hist).Equals(dec(t, m.Hist)) || r.T != m.T || r.Dur != m.Dur || r.Requests != m.Requests {
		t.Error("MergePoints(b, a) differs from MergePoints(a, b)")
	}
}

func TestMergePointsEmpty(t *testing.T) {
	e := emptyPoint(0, 1)
	if e.Status["2xx"] != 0 || len(e.Status) != 5 {
		t.Errorf("empty point status %v", e.Status)
	}
	m := MergePoints(emptyPoint(0, 1), Point{T: 1, Dur: 1})
	if m.Requests != 0 || m.P99 != 0 || dec(t, m.Hist).TotalCount() != 0 || m.Classes != nil || m.Dur != 2 {
		t.Errorf("merging empty points gives %+v", m)
	}
}

func TestCompactSeries(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	var s []Point
	all := NewHistogram()
	var total int64
	for i := range 7 {
		ok, bad := randVals(rng, 100+i*10, 1e7), randVals(rng, i, 1e8)
		p := point(t, float64(i), 1, ok, bad)
		all.Merge(dec(t, p.Hist))
		total += p.Requests
		s = append(s, p)
	}
	c := CompactSeries(s)
	if len(c) != 4 {
		t.Fatalf("compacted to %d points, want 4", len(c))
	}
	merged := NewHistogram()
	var sum int64
	for i, p := range c {
		if p.T != float64(2*i) {
			t.Errorf("point %d starts at %v, want %d", i, p.T, 2*i)
		}
		wantDur := 2.0
		if i == 3 {
			wantDur = 1 // the odd one out is kept as is
		}
		if p.Dur != wantDur {
			t.Errorf("point %d lasts %v, want %v", i, p.Dur, wantDur)
		}
		merged.Merge(dec(t, p.Hist))
		sum += p.Requests
	}
	if sum != total {
		t.Errorf("compacted series holds %d requests, want %d", sum, total)
	}
	if !merged.Equals(all) {
		t.Error("compacted histograms differ from the originals' sum")
	}
	if c[1].Requests != s[2].Requests+s[3].Requests {
		t.Errorf("point 1 holds %d, want %d", c[1].Requests, s[2].Requests+s[3].Requests)
	}
	if len(CompactSeries(nil)) != 0 {
		t.Error("CompactSeries(nil) not empty")
	}
}
