package metrics

import (
	"testing"

	"volley/stats"
)

// TestRequestSeries: each code is a series in its class; transport errors
// and answered messages, which have no code, are one series per class with
// code ""; the series add up to the requests.
func TestRequestSeries(t *testing.T) {
	tot := stats.Totals{Requests: 10,
		Status: map[string]int64{"2xx": 6, "5xx": 1, "error": 3},
		Codes:  map[string]int64{"200": 5, "204": 1, "503": 1},
		Errors: map[string]int64{"timeout": 2, "reset": 1}}
	got := map[[2]string]float64{}
	var sum float64
	for _, s := range requestSeries(&tot) {
		got[[2]string{s.Labels[0].Value, s.Labels[1].Value}] = s.Value
		sum += s.Value
	}
	want := map[[2]string]float64{{"2xx", "200"}: 5, {"2xx", "204"}: 1, {"5xx", "503"}: 1, {"error", ""}: 3}
	if len(got) != len(want) || sum != 10 {
		t.Errorf("series %v (sum %v), want %v", got, sum, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%v = %v, want %v", k, got[k], v)
		}
	}
	errs := errorSeries(&tot)
	if len(errs) != 2 || errs[0].Labels[0].Value != "timeout" || errs[0].Value != 2 || errs[1].Value != 1 {
		t.Errorf("error series %+v, want timeout 2 then reset 1", errs)
	}
}

// TestRequestSeriesByTarget: with a breakdown, each target's codes carry
// its name.
func TestRequestSeriesByTarget(t *testing.T) {
	tot := stats.Totals{Requests: 3, Targets: map[string]stats.TargetTotals{
		"login": {Status: map[string]int64{"2xx": 2}, Codes: map[string]int64{"200": 2}},
		"feed":  {Status: map[string]int64{"5xx": 1}, Codes: map[string]int64{"500": 1}},
	}}
	got := map[string]float64{}
	for _, s := range requestSeries(&tot) {
		got[s.Labels[2].Value+"/"+s.Labels[1].Value] = s.Value
	}
	if len(got) != 2 || got["login/200"] != 2 || got["feed/500"] != 1 {
		t.Errorf("series %v, want login/200=2 feed/500=1", got)
	}
}

// TestMessageFamilies: a message protocol's frame adds the message counts
// (sent: ended and in flight; received: answered) and the round trip; an
// HTTP frame has neither.
func TestMessageFamilies(t *testing.T) {
	h := stats.NewHistogram()
	_ = h.RecordValue(2_000_000)
	f := &Frame{Messages: true, Totals: stats.Totals{Requests: 10, InFlight: 4,
		Status: map[string]int64{"answered": 9, "error": 1}, Corrected: h}}
	got := map[string]Family{}
	for _, fam := range f.Families() {
		got[fam.Name] = fam
	}
	m := got[MessagesTotal]
	if len(m.Series) != 2 || m.Series[0].Value != 9 || m.Series[1].Value != 14 {
		t.Errorf("%s = %+v, want received 9, sent 14", MessagesTotal, m.Series)
	}
	if rtt := got[MessageRTT]; len(rtt.Series) != 1 || rtt.Series[0].Hist.TotalCount() != 1 {
		t.Errorf("%s = %+v, want the answered messages' histogram", MessageRTT, rtt.Series)
	}
	f.Messages = false
	for _, fam := range f.Families() {
		if fam.Name == MessagesTotal || fam.Name == MessageRTT {
			t.Errorf("an HTTP run has %s", fam.Name)
		}
	}
}
