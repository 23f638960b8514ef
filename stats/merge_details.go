package stats

import (
	"fmt"
	"slices"
	"strings"
)

// addDetails adds what the request options measure (checks, redirects,
// phases, per-target breakdowns, the WebSocket part, the pacing grid) of r,
// the i-th result merged, into m, exactly like the rest of Merge: counts
// summed, histograms added (m's histograms, phase and handshake ones
// included, are merged by the caller). finishDetails recomputes the
// summaries once every result is in.
func addDetails(m *Result, i int, r *Result) error {
	if err := addWS(m, i, r); err != nil {
		return err
	}
	if err := addMessages(m, i, r); err != nil {
		return err
	}
	if err := addRTC(m, i, r); err != nil {
		return err
	}
	// Parts of one plan share its grid; parts paced differently are
	// described by the coarsest.
	m.SendLag.Tick = max(m.SendLag.Tick, r.SendLag.Tick)
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
	return nil
}

// finishDetails recomputes the summaries of what addDetails summed.
func finishDetails(m *Result) {
	if m.WS != nil {
		h := m.Histograms["handshake"].Histogram
		if h == nil {
			h = NewHistogram()
			m.Histograms["handshake"] = Hist{h}
		}
		m.WS.Handshake = Summarize(h)
	}
	if m.RTC != nil {
		m.RTC.summarize(m.Histograms)
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
}

// partOfAll refuses to merge result i when it has a part (what it is: "a
// WebSocket run") that result 1 lacks, or lacks one that result 1 has.
func partOfAll(i int, first, this bool, what string) error {
	switch {
	case this && !first:
		return fmt.Errorf("merge: result %d is %s, result 1 is not", i, what)
	case first && !this:
		return fmt.Errorf("merge: result %d is not %s, result 1 is", i, what)
	}
	return nil
}

// addMessages sums the message part of r, the i-th result merged, into m.
// Runs of messages merge only with runs of messages of the same mode.
func addMessages(m *Result, i int, r *Result) error {
	w := r.Messages
	if i == 1 && w != nil {
		m.Messages = &Messages{Mode: w.Mode, Match: w.Match}
	}
	ms := m.Messages
	if err := partOfAll(i, ms != nil, w != nil, "a run of messages"); err != nil || w == nil {
		return err
	}
	switch {
	case w.Mode != ms.Mode:
		return fmt.Errorf("merge: result %d is a %s run of messages, result 1 %s: their messages measure different things", i, w.Mode, ms.Mode)
	case ms.Match == "":
		ms.Match = w.Match
	case w.Match != "" && w.Match != ms.Match:
		ms.Match = appendNewJoined(ms.Match, w.Match)
	}
	ms.Sent += w.Sent
	ms.Received += w.Received
	ms.Unanswered += w.Unanswered
	ms.Unmatched += w.Unmatched
	ms.Missed += w.Missed
	ms.ClockSkew += w.ClockSkew
	ms.ClockSkewMaxMs = max(ms.ClockSkewMaxMs, w.ClockSkewMaxMs)
	return nil
}

// addWS sums the WebSocket part of r, the i-th result merged, into m:
// handshakes and close codes. WebSocket results merge only with WebSocket
// results.
func addWS(m *Result, i int, r *Result) error {
	w := r.WS
	if i == 1 && w != nil {
		m.WS = &WS{CloseCodes: map[string]int64{}}
	}
	ws := m.WS
	if err := partOfAll(i, ws != nil, w != nil, "a WebSocket run"); err != nil || w == nil {
		return err
	}
	ws.Handshakes.Attempted += w.Handshakes.Attempted
	ws.Handshakes.OK += w.Handshakes.OK
	ws.Handshakes.Failed += w.Handshakes.Failed
	addCounts(ws.CloseCodes, w.CloseCodes)
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
