package report

import (
	"fmt"
	"io"
	"strings"

	"volley/stats"
)

// Markdown writes a summary fit for a pull-request comment or a GitHub job
// summary: a headline with the threshold verdict, then tables of the
// requests, latency percentiles, status classes, transport errors and
// thresholds. It holds no per-interval data, so it stays a few KiB.
func Markdown(w io.Writer, r *stats.Result) error {
	p := &printer{w: w}
	p.f("### volley: `%s %s`\n\n", r.Target.Method, mdCode(r.Target.URL))
	mode := "closed loop (as fast as possible)"
	if r.Mode == "open" {
		mode = fmt.Sprintf("open loop at %s req/s", num(r.Rate.Target))
	}
	if r.Mode == stats.MessageModeSubscribe {
		mode = "subscribed to the server's messages"
	}
	p.f("%s, %s, %s", mode, connectionsText(r), Duration(r.DurationS*1e3))
	if r.Parts > 1 {
		p.f(", %d results merged", r.Parts)
	}
	p.f("\n\n")
	if r.Interrupted {
		p.f("> **Interrupted**: partial results.\n\n")
	}
	if r.Aborted != "" {
		p.f("> **Stopped early** by `--abort-on-fail`: %s\n\n", mdCell(r.Aborted))
	}
	if n := len(r.Thresholds); n > 0 {
		failed := 0
		for _, o := range r.Thresholds {
			if !o.Pass {
				failed++
			}
		}
		if failed == 0 {
			p.f("**✅ All %d thresholds passed.**\n\n", n)
		} else {
			p.f("**❌ %d of %d thresholds failed.**\n\n", failed, n)
		}
	}

	rq := r.Requests
	asked := ""
	if r.Rate.Target > 0 {
		asked = fmt.Sprintf(" (asked %s)", num(r.Rate.Target))
	}
	p.f("| requests | rate | responses | errors | late sends |\n|---:|---:|---:|---:|---:|\n")
	p.f("| %d | %s req/s%s | %d | %d (%s) | %d (%s) |\n\n",
		rq.Total, num(r.Rate.Achieved), asked, rq.Completed, rq.Errors, pct(rq.Errors, rq.Total), rq.Late, pct(rq.Late, rq.Total))

	c, s := r.Latency.Corrected, r.Latency.Service
	open := r.Mode == "open"
	if open {
		p.f("| latency | corrected | service |\n|---|---:|---:|\n")
	} else {
		p.f("| latency | service |\n|---|---:|\n")
	}
	for _, row := range []struct {
		name string
		c, s float64
	}{
		{"p50", c.P50, s.P50}, {"p90", c.P90, s.P90}, {"p99", c.P99, s.P99}, {"p99.9", c.P999, s.P999},
		{"max", c.Max, s.Max}, {"mean", c.Mean, s.Mean},
	} {
		if open {
			p.f("| %s | %s | %s |\n", row.name, Duration(row.c), Duration(row.s))
		} else {
			p.f("| %s | %s |\n", row.name, Duration(row.s))
		}
	}
	p.f("\n")

	if r.RTC != nil {
		rtcMarkdown(p, r.RTC)
	}
	p.f("| status | count | share | codes |\n|---|---:|---:|---|\n")
	for _, cl := range []string{"1xx", "2xx", "3xx", "4xx", "5xx"} {
		if n := r.Status[cl]; n > 0 {
			p.f("| %s | %d | %s | %s |\n", cl, n, pct(n, rq.Total), mdCell(codesOf(r.Codes, cl[0])))
		}
	}
	for _, k := range stats.ErrorKinds() {
		if n := r.Errors[k.String()]; n > 0 {
			p.f("| %s | %d | %s | %s |\n", k.String(), n, pct(n, rq.Total), mdCell(clip(r.ErrorSamples[k.String()], 60)))
		}
	}
	p.f("\n")

	if len(r.Thresholds) > 0 {
		p.f("| | threshold | result |\n|---|---|---|\n")
		for _, o := range r.Thresholds {
			mark := "✅"
			if !o.Pass {
				mark = "❌"
			}
			p.f("| %s | `%s` | %s |\n", mark, mdCode(o.Threshold), mdCell(o.Message))
		}
		p.f("\n")
	}
	return p.err
}

// mdCell escapes text for a Markdown table cell.
func mdCell(s string) string {
	s = strings.ReplaceAll(s, "\n", " ")
	s = strings.ReplaceAll(s, "|", `\|`)
	return s
}

// mdCode keeps text fit for an inline code span inside a table.
func mdCode(s string) string {
	s = strings.ReplaceAll(s, "`", "'")
	return mdCell(s)
}
