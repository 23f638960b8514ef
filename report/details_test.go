package report

import (
	"bytes"
	"strings"
	"testing"

	"volley/stats"
)

// TestTextDetails: the optional sections appear with their figures, and
// only when the result has them.
func TestTextDetails(t *testing.T) {
	r := &stats.Result{
		Target: stats.Target{File: "targets.txt", Count: 3}, Protocol: "HTTP/2.0", Mode: "open",
		Rate: stats.Rate{Target: 100, Achieved: 100}, Connections: 4,
		Requests:  stats.Requests{Total: 200, Completed: 190, Errors: 10, CheckFailed: 7},
		Checks:    &stats.Checks{Failed: 7, Status: 5, Body: 3, Rate: 0.035},
		Redirects: &stats.Redirects{Followed: 20, FirstCodes: map[string]int64{"301": 15, "302": 5}},
		Phases: map[string]stats.Summary{
			"connect": {Count: 4, P50: 0.2, P90: 0.3, P99: 0.4, Max: 0.5},
			"ttfb":    {Count: 200, P50: 1.5, P90: 2, P99: 3, Max: 4},
		},
		Targets: map[string]*stats.TargetResult{
			"login": {Requests: stats.Requests{Total: 50, Errors: 10, CheckFailed: 7}, Codes: map[string]int64{"200": 40},
				Errors: map[string]int64{"timeout": 10}, Latency: stats.Latency{Corrected: stats.Summary{P50: 2, P99: 30}}},
			"home": {Requests: stats.Requests{Total: 150}, Codes: map[string]int64{"200": 150},
				Latency: stats.Latency{Corrected: stats.Summary{P50: 1, P99: 9}}},
		},
	}
	var b bytes.Buffer
	if err := Text(&b, r); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"volley  3 targets from targets.txt",
		"open loop at 100 req/s, HTTP/2.0, 4 connections",
		"Checks     7 failed (3.50%)   status 5   body 3",
		"Redirects  20 requests followed a redirect; first status 301×15 302×5",
		"  connect           4      200µs      300µs      400µs      500µs",
		"  ttfb            200     1.50ms     2.00ms     3.00ms     4.00ms",
		"  home                          150       0       0    1.00ms    9.00ms",
		"  login                          50      10       7    2.00ms    30.0ms",
		"200×40 timeout×10",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
	if strings.Index(out, "  home ") > strings.Index(out, "  login ") {
		t.Error("targets not in name order")
	}
	b.Reset()
	r.Checks, r.Redirects, r.Phases, r.Targets = nil, nil, nil, nil
	if err := Text(&b, r); err != nil {
		t.Fatal(err)
	}
	for _, absent := range []string{"Checks", "Redirects", "Phases", "Target "} {
		if strings.Contains(b.String(), absent) {
			t.Errorf("report shows %q without data", absent)
		}
	}
}
