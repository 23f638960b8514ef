package stats

import "testing"

func TestUnansweredThreshold(t *testing.T) {
	r := &Result{Requests: Requests{Total: 1000}, Messages: &Messages{Sent: 1000, Unanswered: 2}}
	for _, tc := range []struct {
		expr string
		pass bool
	}{
		{"unanswered<0.1%", false},
		{"unanswered<1%", true},
		{"unanswered<=0.002", true},
	} {
		th, err := ParseThreshold(tc.expr)
		if err != nil {
			t.Fatal(err)
		}
		o := th.Eval(r)
		if o.Pass != tc.pass {
			t.Errorf("%s on 2 of 1000 unanswered: pass=%v, want %v (%+v)", tc.expr, o.Pass, tc.pass, o)
		}
		if th.Decidable(true) {
			t.Errorf("%s: unanswered cannot be decided before the run ends", tc.expr)
		}
	}
	th, _ := ParseThreshold("unanswered<1%")
	if o := th.Eval(&Result{Requests: Requests{Total: 10}}); o.Pass {
		t.Errorf("unanswered on an HTTP result passed: %+v; want no data, a failure", o)
	}
}
