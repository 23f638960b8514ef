package stats

import (
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

func TestParseThreshold(t *testing.T) {
	cases := []struct {
		expr   string
		metric string
		op     Op
		bound  float64
	}{
		{"p99<250ms", "p99", OpLT, 250},
		{"p99 < 250ms", "p99", OpLT, 250},
		{" p99.9<=1.5s ", "p99.9", OpLE, 1500},
		{"p(99)<250ms", "p99", OpLT, 250},
		{"p(99.99) < 800us", "p99.99", OpLT, 0.8},
		{"p50<900µs", "p50", OpLT, 0.9},
		{"p99.90<2ms", "p99.9", OpLT, 2},
		{"service.p99<10ms", "service.p99", OpLT, 10},
		{"service.max<=1s", "service.max", OpLE, 1000},
		{"mean<5ms", "mean", OpLT, 5},
		{"min>=1us", "min", OpGE, 0.001},
		{"stdev < 3 ms", "stdev", OpLT, 3},
		{"error_rate<1%", "error_rate", OpLT, 0.01},
		{"error_rate<0.01", "error_rate", OpLT, 0.01},
		{"transport_error_rate==0", "transport_error_rate", OpEQ, 0},
		{"2xx>=99.5%", "2xx", OpGE, 0.995},
		{"5xx<0.1%", "5xx", OpLT, 0.001},
		{"late<5%", "late", OpLT, 0.05},
		{"rps>=950", "rps", OpGE, 950},
		{"rps>949.5/s", "rps", OpGT, 949.5},
		{"requests>=10000", "requests", OpGE, 10000},
		{"p100<1s", "p100", OpLT, 1000},
	}
	for _, c := range cases {
		th, err := ParseThreshold(c.expr)
		if err != nil {
			t.Errorf("%q: %v", c.expr, err)
			continue
		}
		if th.Metric.Name != c.metric || th.Op != c.op || math.Abs(th.Bound-c.bound) > 1e-12 {
			t.Errorf("%q: got %s %s %v, want %s %s %v", c.expr, th.Metric.Name, th.Op, th.Bound, c.metric, c.op, c.bound)
		}
		if th.String() != c.expr {
			t.Errorf("%q: String() = %q", c.expr, th.String())
		}
	}
}

// TestParseThresholdErrors checks that each bad expression is refused with
// the caret under the offending part.
func TestParseThresholdErrors(t *testing.T) {
	cases := []struct {
		expr string
		pos  int
		msg  string
	}{
		{"p99<250", 7, "needs a unit"},
		{"p99<250xs", 7, "unknown duration unit"},
		{"p99 250ms", 4, "want an operator"},
		{"p99<", 4, "want a number"},
		{"p99<ms", 4, "want a number"},
		{"p99=250ms", 3, "want an operator"},
		{"bogus<1", 0, "unknown metric"},
		{"p101<1s", 0, "unknown metric"},
		{"p(99<1s", 0, "unknown metric"},
		{"service.rps>1", 0, "latency metrics only"},
		{"error_rate<5", 11, "between 0 and 1"},
		{"error_rate<150%", 11, "between 0 and 1"},
		{"error_rate<1ms", 12, "fraction"},
		{"rps>100ms", 7, "plain number"},
		{"requests>-1", 9, "negative"},
		{"requests==20.5", 10, "a count: want a whole number, not 20.5"},
		{"p99<-1ms", 4, "negative"},
		{"p99<250ms and more", 10, "unexpected"},
		{"", 0, "want a metric"},
		{"<1s", 0, "want a metric"},
	}
	for _, c := range cases {
		_, err := ParseThreshold(c.expr)
		var ee *ExprError
		if !errors.As(err, &ee) {
			t.Errorf("%q: error %v, want an *ExprError", c.expr, err)
			continue
		}
		if ee.Pos != c.pos || !strings.Contains(ee.Msg, c.msg) {
			t.Errorf("%q: pos %d msg %q, want pos %d msg containing %q", c.expr, ee.Pos, ee.Msg, c.pos, c.msg)
		}
		lines := strings.Split(err.Error(), "\n")
		if len(lines) != 3 || !strings.HasSuffix(lines[2], "^") || len(lines[2])-3 != c.pos {
			t.Errorf("%q: caret not under position %d:\n%s", c.expr, c.pos, err)
		}
	}
}

func TestThresholdEval(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	r := collect(t, genSamples(rng, 5000, 5*time.Second, 10*time.Millisecond), openMeta(1000, 10), 5*time.Second)
	p99 := Quantile(r.Histograms["corrected"].Histogram, 99)
	errRate := float64(r.Requests.Errors) / float64(r.Requests.Total)
	cases := []struct {
		expr   string
		pass   bool
		actual float64
	}{
		{"p99<1s", true, p99},
		{"p99<1ms", false, p99},
		{"p(99)>=1ms", true, p99},
		{"error_rate<1%", false, errRate},
		{"error_rate<10%", true, errRate},
		{"requests==5000", true, 5000},
		{"requests>5000", false, 5000},
		{"rps>=1000", true, 1000},
		{"service.max<=1h", false, 0}, // 1h is not a unit: checked below as an error
	}
	for _, c := range cases[:len(cases)-1] {
		th, err := ParseThreshold(c.expr)
		if err != nil {
			t.Fatal(err)
		}
		o := th.Eval(r)
		if o.Pass != c.pass || o.Actual == nil || math.Abs(*o.Actual-c.actual) > 1e-9 {
			t.Errorf("%s: pass %v actual %v, want pass %v actual %v (%s)", c.expr, o.Pass, o.Actual, c.pass, c.actual, o.Message)
		}
	}
	if _, err := ParseThreshold(cases[len(cases)-1].expr); err == nil {
		t.Error("1h accepted as a duration unit")
	}
	th, _ := ParseThreshold("p99<250ms")
	r.Histograms["corrected"] = Hist{NewHistogram()} // a run without responses
	o := th.Eval(r)
	if o.Pass || o.Actual != nil || !strings.Contains(o.Message, "no responses") {
		t.Errorf("no responses: %+v, want a failure saying so", o)
	}
}

func TestThresholdMessage(t *testing.T) {
	h := NewHistogram()
	for range 100 {
		_ = h.RecordValue(312_000_000)
	}
	r := &Result{Requests: Requests{Total: 100}, Histograms: map[string]Hist{"corrected": {h}}}
	th, _ := ParseThreshold("p99<250ms")
	o := th.Eval(r)
	if want := "p99 = 312.214 ms, want < 250 ms"; o.Message != want {
		t.Errorf("message %q, want %q", o.Message, want)
	}
}

func TestDecided(t *testing.T) {
	cases := []struct {
		expr string
		live Live
		want bool
	}{
		{"error_rate<1%", Live{Requests: 50, Errors: 9, Planned: 1000}, false},
		{"error_rate<1%", Live{Requests: 50, Errors: 10, Planned: 1000}, true},
		{"error_rate<=1%", Live{Requests: 50, Errors: 10, Planned: 1000}, false},
		{"error_rate<=1%", Live{Requests: 50, Errors: 11, Planned: 1000}, true},
		{"error_rate<1%", Live{Requests: 50, Errors: 50}, false}, // no plan: undecidable
		{"transport_error_rate<1%", Live{Requests: 50, Errors: 50, TransportErrors: 10, Planned: 1000}, true},
		{"2xx>=99%", Live{Requests: 50, Classes: [NumClasses]int64{Class2xx: 39}, Planned: 1000}, true},
		{"2xx>=99%", Live{Requests: 50, Classes: [NumClasses]int64{Class2xx: 40}, Planned: 1000}, false},
		{"requests<100", Live{Requests: 100}, true},
		{"requests<100", Live{Requests: 99}, false},
		{"requests<=100", Live{Requests: 100}, false},
		{"requests==100", Live{Requests: 101}, true},
		{"requests>100", Live{Requests: 1}, false},
		{"max<250ms", Live{Requests: 1, MaxNS: 251e6}, true},
		{"max<250ms", Live{Requests: 1, MaxNS: 249e6}, false},
		{"service.max<250ms", Live{Requests: 1, MaxNS: 300e6, ServiceMaxNS: 1e6}, false},
		{"min>1ms", Live{Requests: 1, MinNS: 5e5}, true},
		{"p99<1ms", Live{Requests: 1000, MaxNS: 1e9, Errors: 1000, Planned: 1000}, false},
		{"rps>100", Live{Requests: 1}, false},
	}
	for _, c := range cases {
		th, err := ParseThreshold(c.expr)
		if err != nil {
			t.Fatal(err)
		}
		got, why := th.Decided(c.live)
		if got != c.want {
			t.Errorf("%s with %+v: decided %v (%s), want %v", c.expr, c.live, got, why, c.want)
		}
		if got && !th.Decidable(c.live.Planned > 0) {
			t.Errorf("%s: decided, but Decidable says it never can be", c.expr)
		}
	}
}

// FuzzParseThreshold: any input either parses or fails with an ExprError
// whose caret lies within the expression; a parsed threshold survives its
// canonical spelling.
func FuzzParseThreshold(f *testing.F) {
	for _, s := range []string{"p99<250ms", "p(99.9) <= 1.5s", "error_rate<1%", "2xx>=0.99", "rps>=950",
		"requests==10", "service.mean<3us", "p99<250", "bogus", "p(", "late<5%%", "max<1e3ms", "µs<1µs"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		th, err := ParseThreshold(s)
		if err != nil {
			var ee *ExprError
			if !errors.As(err, &ee) {
				t.Fatalf("%q: error %T, want *ExprError", s, err)
			}
			if ee.Pos < 0 || ee.Pos > len(s) {
				t.Fatalf("%q: caret position %d outside the expression", s, ee.Pos)
			}
			_ = err.Error()
			return
		}
		again, err := ParseThreshold(th.Canonical())
		if err != nil {
			t.Fatalf("%q: canonical %q does not parse: %v", s, th.Canonical(), err)
		}
		if again.Metric != th.Metric || again.Op != th.Op || again.Bound != th.Bound {
			t.Fatalf("%q: canonical %q parses to %+v, want %+v", s, th.Canonical(), again, th)
		}
	})
}
