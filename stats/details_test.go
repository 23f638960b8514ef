package stats

import (
	"bytes"
	"testing"
	"time"
)

// TestDetails: per-target tallies, checks, redirects and phases add up
// from samples and survive a JSON round trip.
func TestDetails(t *testing.T) {
	col := NewCollector()
	col.Describe([]TargetDef{{Name: "a", Method: "GET", URL: "http://h/a", Weight: 3}, {Name: "b", Weight: 1}}, true, true)
	col.SetProtocol("HTTP/2.0")
	rec := col.NewRecorder(64)
	col.Start(time.Now())
	ms := int64(time.Millisecond)
	for i := range 40 {
		s := Sample{Done: int64(i) * ms, Corrected: 2 * ms, Service: ms, Code: 200, Target: uint8(i % 2)}
		switch {
		case i%10 == 1:
			s.Code, s.Check = 500, CheckStatus|CheckBody
		case i%10 == 3:
			s.Code, s.Err = 0, ErrTimeout
		case i%10 == 5:
			s.First = 302
		}
		if i < 4 {
			s.Phases = Phases{Connect: 150, TLS: 900}
		}
		s.Phases.TTFB, s.Phases.Transfer = 800, 5
		rec.Record(s)
	}
	res := col.Result(Meta{Connections: 4}, time.Second, 0)
	var buf bytes.Buffer
	if err := res.WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	back, err := ReadResult(&buf)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range []*Result{res, back} {
		a, b := r.Targets["a"], r.Targets["b"]
		if a == nil || b == nil || a.Requests.Total != 20 || b.Requests.Total != 20 {
			t.Fatalf("targets %+v", r.Targets)
		}
		// Odd indexes go to b: its 500s (i%10==1) and timeouts (i%10==3).
		if b.Codes["500"] != 4 || b.Errors["timeout"] != 4 || b.Requests.Errors != 8 || b.Requests.CheckFailed != 4 || a.Requests.Errors != 0 {
			t.Errorf("b: %+v %+v; a errors %d", b.Codes, b.Requests, a.Requests.Errors)
		}
		if a.Weight != 3 || a.URL != "http://h/a" || a.Histograms["corrected"].TotalCount() != 20 || b.Latency.Service.Count != 16 {
			t.Errorf("a: %+v; b service count %d", a, b.Latency.Service.Count)
		}
		if r.Checks == nil || r.Checks.Failed != 4 || r.Checks.Status != 4 || r.Checks.Body != 4 || r.Checks.Rate != 0.1 || r.CheckRate() != 0.1 {
			t.Errorf("checks %+v rate %v", r.Checks, r.CheckRate())
		}
		if r.Redirects == nil || r.Redirects.Followed != 4 || r.Redirects.FirstCodes["302"] != 4 {
			t.Errorf("redirects %+v", r.Redirects)
		}
		if r.Phases["connect"].Count != 4 || r.Phases["tls"].Count != 4 || r.Phases["ttfb"].Count != 40 ||
			r.Phases["connect"].P50 < 0.149 || r.Phases["connect"].P50 > 0.151 || r.Histograms["phase.ttfb"].TotalCount() != 40 {
			t.Errorf("phases %+v", r.Phases)
		}
		if r.Protocol != "HTTP/2.0" {
			t.Errorf("protocol %q", r.Protocol)
		}
	}
}

// TestNoDetailsWhenNotAsked: a plain run's result has none of the optional
// sections.
func TestNoDetailsWhenNotAsked(t *testing.T) {
	col := NewCollector()
	col.Describe([]TargetDef{{Name: "only"}}, false, false)
	rec := col.NewRecorder(64)
	col.Start(time.Now())
	rec.Record(Sample{Corrected: 1000, Service: 1000, Code: 200})
	r := col.Result(Meta{}, time.Second, 0)
	if r.Targets != nil || r.Checks != nil || r.Redirects != nil || r.Phases != nil || r.Requests.CheckFailed != 0 {
		t.Errorf("unexpected sections: %+v %+v %+v %+v", r.Targets, r.Checks, r.Redirects, r.Phases)
	}
}
