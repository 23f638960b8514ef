package report

import (
	"bytes"
	"strings"
	"testing"
	"unicode/utf8"

	"volley/stats"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
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

// TestTargetLabels: unnamed targets are told apart by what differs (the
// path, not the shared host), every label fits its column, and no two are
// the same.
func TestTargetLabels(t *testing.T) {
	long := "GET http://127.0.0.1:19181/api/v1/customers/orders/items?page=2"
	longer := "GET http://127.0.0.1:19181/api/v1/customers/orders/items?page=3"
	names := []string{"GET http://127.0.0.1:19181/a", "GET http://127.0.0.1:19181/b", "POST http://127.0.0.1:19181/a",
		long, longer, "checkout", "a very long target name given by hand"}
	got := targetLabels(names, 24)
	want := map[string]string{
		"GET http://127.0.0.1:19181/a":          "GET /a",
		"GET http://127.0.0.1:19181/b":          "GET /b",
		"POST http://127.0.0.1:19181/a":         "POST /a",
		long:                                    "GET …omers/orders/items?page=2",
		longer:                                  "GET …omers/orders/items?page=3",
		"checkout":                              "checkout",
		"a very long target name given by hand": "a very long target name…",
	}
	seen := map[string]bool{}
	for _, n := range names {
		l := got[n]
		if utf8.RuneCountInString(l) > 24 || seen[l] {
			t.Errorf("label %q of %q: too wide or not unique", l, n)
		}
		seen[l] = true
		if w := want[n]; len([]rune(w)) <= 24 && l != w {
			t.Errorf("label of %q = %q, want %q", n, l, w)
		}
	}
	two := targetLabels([]string{"GET http://a.example:80/x", "GET https://b.example/x"}, 24)
	if two["GET http://a.example:80/x"] != "GET a.example:80/x" || two["GET https://b.example/x"] != "GET b.example/x" {
		t.Errorf("two hosts: labels %v, want the host kept", two)
	}
	same := targetLabels([]string{"GET http://h/" + strings.Repeat("x", 30) + "/end", "POST http://h/" + strings.Repeat("y", 30) + "/end", "GET http://h/z" + strings.Repeat("x", 29) + "/end"}, 24)
	seen = map[string]bool{}
	for n, l := range same {
		if seen[l] || utf8.RuneCountInString(l) > 24 {
			t.Errorf("label %q of %q: too wide or not unique (all %v)", l, n, same)
		}
		seen[l] = true
	}
}

// TestPluralAndWrapClip: counts read "1 connection" and "2 connections";
// a long error message wraps under its column in at most the lines given.
func TestPluralAndWrapClip(t *testing.T) {
	if Plural(1, "connection") != "1 connection" || Plural(2, "target") != "2 targets" || Plural(0, "target") != "0 targets" {
		t.Errorf("Plural: %q %q %q", Plural(1, "connection"), Plural(2, "target"), Plural(0, "target"))
	}
	msg := `Get "https://127.0.0.1:8443/": tls: failed to verify certificate: x509: certificate signed by unknown authority`
	got := wrapClip(msg, 79, strings.Repeat(" ", 33), 3)
	lines := strings.Split(got, "\n")
	if len(lines) < 2 || !strings.Contains(strings.Join(strings.Fields(got), " "), "signed by unknown authority") {
		t.Errorf("wrapped %q, want the whole message over several lines", got)
	}
	for i, l := range lines {
		if w := utf8.RuneCountInString(l); (i == 0 && w > 79-33) || w > 79 || (i > 0 && !strings.HasPrefix(l, strings.Repeat(" ", 33))) {
			t.Errorf("line %d %q: too wide or not under its column", i, l)
		}
	}
	if got := wrapClip(strings.Repeat("word ", 100), 79, strings.Repeat(" ", 33), 3); strings.Count(got, "\n") != 2 || !strings.HasSuffix(got, "…") {
		t.Errorf("a message of 100 words: %q, want 3 lines ending in …", got)
	}
}

// TestRTCReport: a WebRTC run's setup is reported apart from its messages,
// in the text report (and so the HTML page, which embeds it) and in
// Markdown: peers and channels, every phase's percentiles, and each failed
// phase with its first message.
func TestRTCReport(t *testing.T) {
	r := &stats.Result{
		Target: stats.Target{URL: "http://127.0.0.1:8080/rtc", Method: "POST"}, Mode: "open", Connections: 20,
		Rate: stats.Rate{Target: 100, Achieved: 100}, Requests: stats.Requests{Total: 100, Completed: 100},
		Messages: &stats.Messages{Mode: stats.MessageModeEcho, Match: "id", Sent: 100, Received: 100},
		Status:   map[string]int64{}, Errors: map[string]int64{},
	}
	phases := map[string]*hdr.Histogram{}
	for _, p := range stats.RTCPhases() {
		h := stats.NewHistogram()
		_ = h.RecordValue(12_300_000)
		phases[p] = h
	}
	r.AttachRTC(stats.RTC{Peers: stats.Handshakes{Attempted: 11, OK: 10, Failed: 1}, Channels: 2, Deleted: 10,
		Failures: map[string]int64{"ice": 1}, FailureSamples: map[string]string{"ice": "webrtc ice: ICE connected not within 5s"}}, phases)
	var text, md, page bytes.Buffer
	if err := Text(&text, r); err != nil {
		t.Fatal(err)
	}
	if err := Markdown(&md, r); err != nil {
		t.Fatal(err)
	}
	if err := HTML(&page, r); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"10 peer connections × 2 channels", "Peers      10 set up of 11, 1 failed   2 channels each",
		"Setup", "signal", "dtls", "total", "12.3ms", "failed in ice", "ICE connected not within 5s"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("text report lacks %q:\n%s", want, text.String())
		}
		if !strings.Contains(page.String(), want) {
			t.Errorf("HTML page lacks %q", want)
		}
	}
	for _, want := range []string{"| peer connections | set up | failed | channels each |", "| 11 | 10 | 1 | 2 |",
		"| setup | p50 | p90 | p99 | max |", "| channel | 12.3ms", "| failed in ice | 1 |"} {
		if !strings.Contains(md.String(), want) {
			t.Errorf("Markdown lacks %q:\n%s", want, md.String())
		}
	}
}
