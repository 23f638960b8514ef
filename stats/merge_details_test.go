package stats

import "testing"

// TestMergeDetails: merging adds the per-target breakdowns, checks,
// redirects and phases of the parts, exactly.
func TestMergeDetails(t *testing.T) {
	part := func(ok, bad []int64, failed int64) *Result {
		r := fuzzSeedResult(t)
		r.Protocol = "HTTP/1.1"
		r.Requests.CheckFailed = failed
		r.Checks = &Checks{Failed: failed, Status: failed}
		r.Redirects = &Redirects{Followed: 2, FirstCodes: map[string]int64{"302": 2}}
		r.Histograms["phase.connect"] = Hist{histOf(t, ok...)}
		r.Targets = map[string]*TargetResult{
			"home": {Requests: Requests{Total: int64(len(ok)), Completed: int64(len(ok))},
				Status: map[string]int64{"2xx": int64(len(ok))}, Codes: map[string]int64{"200": int64(len(ok))},
				Errors: map[string]int64{}, Histograms: map[string]Hist{"corrected": {histOf(t, ok...)}, "service": {histOf(t, ok...)}}},
			"login": {Requests: Requests{Total: int64(len(bad)), Completed: int64(len(bad)), Errors: int64(len(bad))},
				Status: map[string]int64{"5xx": int64(len(bad))}, Codes: map[string]int64{"500": int64(len(bad))},
				Errors: map[string]int64{}, Histograms: map[string]Hist{"corrected": {histOf(t, bad...)}, "service": {histOf(t, bad...)}}},
		}
		return r
	}
	a := part([]int64{1e6, 2e6, 3e6}, []int64{9e6}, 1)
	b := part([]int64{4e6, 5e6}, []int64{8e6, 7e6}, 2)
	m, err := Merge(a, b)
	if err != nil {
		t.Fatal(err)
	}
	home, login := m.Targets["home"], m.Targets["login"]
	if home == nil || login == nil || home.Requests.Total != 5 || login.Requests.Total != 3 || login.Codes["500"] != 3 {
		t.Fatalf("merged targets %+v %+v", home, login)
	}
	if want := Summarize(histOf(t, 1e6, 2e6, 3e6, 4e6, 5e6)); home.Latency.Corrected != want {
		t.Errorf("home latency %+v, want %+v (recomputed from the merged histogram)", home.Latency.Corrected, want)
	}
	if m.Checks == nil || m.Checks.Failed != 3 || m.Requests.CheckFailed != 3 {
		t.Errorf("merged checks %+v, check_failed %d; want 3", m.Checks, m.Requests.CheckFailed)
	}
	if m.Redirects == nil || m.Redirects.Followed != 4 || m.Redirects.FirstCodes["302"] != 4 {
		t.Errorf("merged redirects %+v", m.Redirects)
	}
	if got := m.Phases["connect"]; got.Count != 5 {
		t.Errorf("merged connect phase %+v, want 5 values", got)
	}
	if m.Protocol != "HTTP/1.1" {
		t.Errorf("protocol %q", m.Protocol)
	}
}
