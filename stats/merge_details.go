package stats

import (
	"fmt"
	"slices"
	"strings"
)

// mergeDetails adds what the request options measure (checks, redirects,
// phases, per-target breakdowns) of rs into m, exactly like the rest of
// Merge: counts summed, histograms added, summaries recomputed. m's
// histograms, phase ones included, are merged already.
func mergeDetails(m *Result, rs []*Result) error {
	for _, r := range rs {
		if r.Protocol != "" && m.Protocol == "" {
			m.Protocol = r.Protocol
		} else if r.Protocol != "" && r.Protocol != m.Protocol {
			m.Protocol = appendNewJoined(m.Protocol, r.Protocol)
		}
		if c := r.Checks; c != nil {
			if m.Checks == nil {
				m.Checks = &Checks{}
			}
			m.Checks.Failed += c.Failed
			m.Checks.Status += c.Status
			m.Checks.Body += c.Body
		}
		if d := r.Redirects; d != nil {
			if m.Redirects == nil {
				m.Redirects = &Redirects{FirstCodes: map[string]int64{}}
			}
			m.Redirects.Followed += d.Followed
			addCounts(m.Redirects.FirstCodes, d.FirstCodes)
		}
		for name, t := range r.Targets {
			if m.Targets == nil {
				m.Targets = map[string]*TargetResult{}
			}
			if err := mergeTarget(m.Targets, name, t); err != nil {
				return err
			}
		}
	}
	if m.Checks != nil {
		m.Checks.Rate = m.CheckRate()
	}
	for _, p := range PhaseNames() {
		if h := m.Histograms["phase."+p].Histogram; h != nil {
			if m.Phases == nil {
				m.Phases = map[string]Summary{}
			}
			m.Phases[p] = Summarize(h)
		}
	}
	for _, t := range m.Targets {
		t.Latency = Latency{
			Corrected: Summarize(t.Histograms["corrected"].Histogram),
			Service:   Summarize(t.Histograms["service"].Histogram),
		}
	}
	return nil
}

func mergeTarget(into map[string]*TargetResult, name string, t *TargetResult) error {
	m := into[name]
	if m == nil {
		m = &TargetResult{Method: t.Method, URL: t.URL, Weight: t.Weight,
			Status: map[string]int64{}, Codes: map[string]int64{}, Errors: map[string]int64{},
			Histograms: map[string]Hist{}}
		into[name] = m
	}
	m.Requests.add(t.Requests)
	addCounts(m.Status, t.Status)
	addCounts(m.Codes, t.Codes)
	addCounts(m.Errors, t.Errors)
	return mergeHists(m.Histograms, t.Histograms, fmt.Sprintf("merge: target %q histogram", name))
}

func appendNewJoined(list, s string) string {
	if slices.Contains(strings.Split(list, ", "), s) {
		return list
	}
	return list + ", " + s
}
