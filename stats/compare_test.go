package stats

import (
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

// runs makes n synthetic runs whose latencies centre on median.
func runs(t *testing.T, seed uint64, n int, median time.Duration, requests int) []*Result {
	t.Helper()
	var out []*Result
	for i := range n {
		rng := rand.New(rand.NewPCG(seed, uint64(i)))
		out = append(out, collect(t, genSamples(rng, requests, 10*time.Second, median), openMeta(float64(requests)/10, 10), 10*time.Second))
	}
	return out
}

func TestCompareClearlyDifferent(t *testing.T) {
	base := runs(t, 1, 5, 10*time.Millisecond, 2000)
	slow := runs(t, 2, 5, 20*time.Millisecond, 2000)
	c, err := Compare(base, slow, 0.05)
	if err != nil {
		t.Fatal(err)
	}
	if c.PerInterval {
		t.Fatal("5 runs per side: want a per-run comparison")
	}
	for _, name := range []string{"p50", "p90", "p99", "mean"} {
		r, _ := c.Row(name)
		// Latencies doubled: every run of the new side is slower than every
		// run of the base, so p is the smallest possible, 2/C(10,5).
		if !r.Significant || !nearAbs(r.P, 2.0/252, 1e-12) || r.N1 != 5 || r.N2 != 5 {
			t.Errorf("%s: significant %v p %v n %d+%d, want p=0.0079 with 5+5", name, r.Significant, r.P, r.N1, r.N2)
		}
		if r.Delta < 0.8 || r.Delta > 1.2 {
			t.Errorf("%s: delta %+.2f, want about +100%%", name, r.Delta)
		}
	}
	if r, _ := c.Row("rps"); r.Significant {
		t.Errorf("rps: significant (p=%v) though both sides ran at the same rate", r.P)
	}
	fire := func(expr string) bool {
		f, err := ParseFailOn(expr)
		if err != nil {
			t.Fatal(err)
		}
		hit, _ := f.Check(c)
		return hit
	}
	if !fire("p99>+10%") || !fire("mean>=+50%") {
		t.Error("a doubled latency did not trip p99>+10% / mean>=+50%")
	}
	if fire("p99>+150%") || fire("rps<-5%") || fire("p50<-10%") {
		t.Error("a rule fired beyond the actual change")
	}
}

func TestCompareClearlySame(t *testing.T) {
	base := runs(t, 3, 6, 10*time.Millisecond, 3000)
	same := runs(t, 4, 6, 10*time.Millisecond, 3000)
	c, err := Compare(base, same, 0.05)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range c.Rows {
		if r.Significant {
			t.Errorf("%s: significant change %+.2f%% (p=%v) between samples of one distribution", r.Metric.Name, r.Delta*100, r.P)
		}
		if r.Metric.Latency() && math.Abs(r.Delta) > 0.05 {
			t.Errorf("%s: delta %+.2f%%, want within 5%%", r.Metric.Name, r.Delta*100)
		}
	}
	f, _ := ParseFailOn("p99>+1%")
	if hit, msg := f.Check(c); hit {
		t.Errorf("p99>+1%% fired on identical distributions: %s", msg)
	}
}

// TestComparePerInterval: one run per side compares per-second values.
func TestComparePerInterval(t *testing.T) {
	base := runs(t, 5, 1, 10*time.Millisecond, 5000)
	slow := runs(t, 6, 1, 15*time.Millisecond, 5000)
	c, err := Compare(base, slow, 0.05)
	if err != nil {
		t.Fatal(err)
	}
	if !c.PerInterval {
		t.Fatal("one run per side: want a per-interval comparison")
	}
	r, _ := c.Row("p50")
	if !r.Significant || r.N1 != 10 || r.N2 != 10 {
		t.Errorf("p50 1.5x slower: significant %v p %v n %d+%d, want significant over 10+10 intervals", r.Significant, r.P, r.N1, r.N2)
	}
	want := Quantile(base[0].Histograms["corrected"].Histogram, 50)
	if r.Base != want {
		t.Errorf("p50 base %v, want the whole run's %v", r.Base, want)
	}
	same := runs(t, 7, 1, 10*time.Millisecond, 5000)
	c, _ = Compare(base, same, 0.05)
	if r, _ := c.Row("p50"); r.Significant {
		t.Errorf("p50 same distribution: significant (p=%v)", r.P)
	}
}

func TestCompareArgs(t *testing.T) {
	one := runs(t, 1, 1, time.Millisecond, 100)
	if _, err := Compare(nil, one, 0.05); err == nil {
		t.Error("empty base: no error")
	}
	if _, err := Compare(one, one, 1.5); err == nil {
		t.Error("alpha 1.5: no error")
	}
}

func TestParseFailOn(t *testing.T) {
	for expr, want := range map[string]FailOn{
		"p99>+10%":          {Op: OpGT, Change: 0.10},
		"rps<-5%":           {Op: OpLT, Change: -0.05},
		" p99.9 >= 20% ":    {Op: OpGE, Change: 0.20},
		"error_rate>+100%":  {Op: OpGT, Change: 1},
		"mean<=-2.5%":       {Op: OpLE, Change: -0.025},
		"p(90)>+1%":         {Op: OpGT, Change: 0.01},
		"p50 > +0%":         {Op: OpGT, Change: 0},
		"error_rate > 300%": {Op: OpGT, Change: 3},
	} {
		f, err := ParseFailOn(expr)
		if err != nil {
			t.Errorf("%q: %v", expr, err)
			continue
		}
		if f.Op != want.Op || !nearAbs(f.Change, want.Change, 1e-12) {
			t.Errorf("%q: got %s %v, want %s %v", expr, f.Op, f.Change, want.Op, want.Change)
		}
	}
	for expr, pos := range map[string]int{
		"p99>+10":    7,
		"p99>10ms":   6,
		"p99==+10%":  3,
		"p75>+10%":   0,
		"max>+10%":   0,
		"p99 +10%":   4,
		"p99>":       4,
		"p99>+10%%":  8,
		"":           0,
		"rps<-5% x":  8,
		"bogus>+1%":  0,
		"p99>+1e3%":  6,
		"p99>abc%":   4,
		"p99 >= -x%": 7,
	} {
		_, err := ParseFailOn(expr)
		var ee *ExprError
		if !errors.As(err, &ee) {
			t.Errorf("%q: error %v, want an ExprError", expr, err)
			continue
		}
		if ee.Pos != pos {
			t.Errorf("%q: caret at %d, want %d (%s)", expr, ee.Pos, pos, ee.Msg)
		}
		if !strings.Contains(err.Error(), "fail-on") {
			t.Errorf("%q: message %q does not name fail-on", expr, err)
		}
	}
}

func FuzzParseFailOn(f *testing.F) {
	for _, s := range []string{"p99>+10%", "rps<-5%", "p99.9 >= 20%", "mean<=-2.5%", "p99>10", "x", "p(50)>1%"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseFailOn(s)
		if err != nil {
			var ee *ExprError
			if !errors.As(err, &ee) || ee.Pos < 0 || ee.Pos > len(s) {
				t.Fatalf("%q: bad error %v", s, err)
			}
			_ = err.Error()
			return
		}
		again, err := ParseFailOn(r.Canonical())
		if err != nil {
			t.Fatalf("%q: canonical %q does not parse: %v", s, r.Canonical(), err)
		}
		if again.Metric != r.Metric || again.Op != r.Op || again.Change != r.Change {
			t.Fatalf("%q: canonical %q parses to %+v, want %+v", s, r.Canonical(), again, r)
		}
	})
}
