package report

import (
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"volley/stats"
)

// reportWidth is the widest line of a report for people: 80 columns, one
// spare so that a terminal never wraps the cursor.
const reportWidth = 79

// Text writes the report for people, at most 80 columns wide.
func Text(w io.Writer, r *stats.Result) error {
	p := &printer{w: w}
	// A run of messages counts messages, not requests.
	unit, noun, answered := "req/s", "Requests", "Responses"
	if r.Messages != nil {
		unit, noun, answered = "msg/s", "Messages", "Answered "
	}
	mode := "closed loop (as fast as possible)"
	if r.Mode == "open" {
		mode = fmt.Sprintf("open loop at %s %s", num(r.Rate.Target), unit)
		if r.Shape != nil && len(r.Shape.Stages) > 0 {
			mode = fmt.Sprintf("open loop, stages averaging %s %s", num(r.Rate.Target), unit)
		}
	}
	if r.Mode == stats.MessageModeSubscribe {
		mode = "subscribed (listening to the server's messages)"
	}
	if r.Target.File != "" {
		p.f("volley  %s from %s\n", Plural(int64(r.Target.Count), "target"), r.Target.File)
	} else {
		p.f("volley  %s %s\n", r.Target.Method, r.Target.URL)
	}
	if r.Protocol != "" {
		mode += ", " + r.Protocol
	}
	// The connections go on a line of their own when the line would be
	// too wide, so that "2 connections × up to 25 in flight" reads whole.
	conns := connectionsText(r) + streamsText(r.Streams)
	if line := "        " + mode + ", " + conns; len([]rune(line)) <= reportWidth {
		p.f("%s\n", line)
	} else {
		p.f("%s,\n%s\n", wrap(mode, reportWidth, "        "), wrap(conns, reportWidth, "        "))
	}
	if st := r.Streams; st != nil && st.ServerCap > 0 {
		p.f("        the server's stream limit held each connection to %d (asked %d)\n", st.ServerCap, st.PerConnection)
	}
	shapeLines(p, r)
	if r.Shard != "" {
		p.f("        shard %s of plan %s\n", r.Shard, r.Plan)
	}
	if r.StartLateMS > 0 {
		p.f("        started %s after --start-at: overdue requests were sent late\n", Duration(r.StartLateMS))
	}
	if r.Interrupted {
		p.f("        INTERRUPTED: partial results\n")
	}
	if r.Aborted != "" {
		p.f("        STOPPED EARLY by --abort-on-fail: partial results\n")
	}
	if r.Parts > 1 {
		p.f("        %d results merged\n", r.Parts)
	}
	p.f("\n")

	rq := r.Requests
	p.f("  %s   %d in %s, %s %s", noun, rq.Total, Duration(r.DurationS*1e3), num(r.Rate.Achieved), unit)
	if r.Rate.Target > 0 {
		p.f(" (asked %s)", num(r.Rate.Target))
	}
	p.f("\n")
	resp := fmt.Sprintf("  %s  %d   errors %d (%s)", answered, rq.Completed, rq.Errors, pct(rq.Errors, rq.Total))
	late := fmt.Sprintf("late sends %d (%s)", rq.Late, pct(rq.Late, rq.Total))
	if len(resp)+3+len(late) > 80 {
		// Billions of requests: keep within 80 columns.
		p.f("%s\n             %s\n", resp, late)
	} else {
		p.f("%s   %s\n", resp, late)
	}
	p.f("  Bytes      in %s   out %s\n", Bytes(r.Bytes.In), Bytes(r.Bytes.Out))
	p.f("\n")

	c, s := r.Latency.Corrected, r.Latency.Service
	if r.Mode == "open" {
		p.f("  Latency    %12s %12s\n", "corrected", "service")
	} else {
		p.f("  Latency    %12s\n", "service")
	}
	rows := []struct {
		name string
		c, s float64
	}{
		{"p50", c.P50, s.P50}, {"p75", c.P75, s.P75}, {"p90", c.P90, s.P90}, {"p95", c.P95, s.P95},
		{"p99", c.P99, s.P99}, {"p99.9", c.P999, s.P999}, {"p99.99", c.P9999, s.P9999},
		{"max", c.Max, s.Max}, {"mean", c.Mean, s.Mean}, {"stdev", c.Stdev, s.Stdev},
	}
	for _, row := range rows {
		if r.Mode == "open" {
			p.f("  %-9s  %12s %12s\n", row.name, Duration(row.c), Duration(row.s))
		} else {
			p.f("  %-9s  %12s\n", row.name, Duration(row.s))
		}
	}
	p.f("\n")
	if r.Mode != "open" && (r.Messages == nil || r.Messages.Mode != stats.MessageModeSubscribe) {
		waits := "Each connection waits for a response before sending again"
		if st := r.Streams; st != nil && st.PerConnection > 1 {
			waits = "Each connection sends again only when one of its streams is free"
		}
		p.f("%s\n", wrap("  Note: closed loop. "+waits+", so these are service times that hide queueing (coordinated "+
			"omission): a stalled server slows the sender instead of showing up as "+
			"latency. Use --rate N to measure latency from each request's intended send time.", 78, "  "))
		p.f("\n")
	}

	if r.Messages != nil {
		messagesBlock(p, r.Messages)
		if r.WS != nil {
			wsBlock(p, r.WS)
		}
		if r.RTC != nil {
			rtcBlock(p, r.RTC)
		}
	} else {
		p.f("  Status     %8s %8s   codes\n", "count", "share")
		for _, cl := range []string{"1xx", "2xx", "3xx", "4xx", "5xx"} {
			n := r.Status[cl]
			if n == 0 {
				continue
			}
			p.f("  %-9s  %8d %8s   %s\n", cl, n, pct(n, rq.Total), codesOf(r.Codes, cl[0]))
		}
		if rq.Completed == 0 {
			p.f("  (no responses)\n")
		}
	}
	var errTotal int64
	for _, n := range r.Errors {
		errTotal += n
	}
	if errTotal > 0 {
		cw := 4 // the count column widens for counts of more digits
		for _, n := range r.Errors {
			cw = max(cw, len(strconv.FormatInt(n, 10)))
		}
		p.f("\n  Errors     %*s %8s   first message\n", cw+4, "count", "share")
		indent := strings.Repeat(" ", 2+14+1+cw+1+8+3)
		for _, k := range stats.ErrorKinds() {
			n := r.Errors[k.String()]
			if n == 0 {
				continue
			}
			// The message wraps under its column rather than being cut short:
			// "x509: certificate signed by unknown authority" must read whole.
			p.f("  %-14s %*d %8s   %s\n", k.String(), cw, n, pct(n, rq.Total),
				wrapClip(r.ErrorSamples[k.String()], reportWidth, indent, 3))
		}
	}
	p.f("\n")
	if r.Mode == "open" {
		p.f("  Send lag   p50 %s   p99 %s   max %s   %d sends >1ms late\n",
			Duration(r.SendLag.P50), Duration(r.SendLag.P99), Duration(r.SendLag.Max), rq.Late)
		if r.SendLag.Tick > 0 {
			tick := time.Duration(math.Round(r.SendLag.Tick * 1e6)) // as --tick reads it
			p.f("             paced on a %v grid: requests due within a tick go out at its start\n", tick)
		}
		if rq.Total > 0 && float64(rq.Late)/float64(rq.Total) > 0.01 {
			p.f("%s\n", wrap(fmt.Sprintf("  Warning: %s of requests were sent more than 1ms after their "+
				"intended time: the target was slow, or the generator had too few connections "+
				"(-c) or CPU to keep the schedule. Corrected latency includes that wait.",
				pct(rq.Late, rq.Total)), 78, "  "))
		}
		p.f("\n")
	}
	if r.Saturated > 0 {
		p.f("  %d latencies exceeded 1h and were recorded as 1h.\n\n", r.Saturated)
	}
	details(p, r)
	chart(p, r)
	return p.err
}

// chart draws the percentile spectrum on a log scale.
func chart(p *printer, r *stats.Result) {
	name := "corrected"
	if r.Mode != "open" {
		name = "service"
	}
	h := r.Histograms[name].Histogram
	if h == nil || h.TotalCount() == 0 {
		return
	}
	qs := []float64{50, 90, 99, 99.9, 99.99, 100}
	labels := []string{"p50", "p90", "p99", "p99.9", "p99.99", "max"}
	vals := make([]float64, len(qs))
	lo, hi := math.Inf(1), 0.0
	for i, q := range qs {
		vals[i] = stats.Quantile(h, q)
		lo = math.Min(lo, vals[i])
		hi = math.Max(hi, vals[i])
	}
	p.f("  %s latency by percentile (log scale)\n", strings.ToUpper(name[:1])+name[1:])
	const width = 50
	lo = math.Max(lo/2, 0.001)
	span := math.Log(hi/lo) + 1e-9
	for i, v := range vals {
		n := int(math.Round(width * math.Log(math.Max(v, lo)/lo) / span))
		n = max(n, 1)
		p.f("  %-7s %9s |%s\n", labels[i], Duration(v), strings.Repeat("█", n))
	}
}

func codesOf(codes map[string]int64, class byte) string {
	var ks []string
	for k := range codes {
		if len(k) == 3 && k[0] == class {
			ks = append(ks, k)
		}
	}
	sort.Strings(ks)
	parts := make([]string, 0, len(ks))
	for _, k := range ks {
		parts = append(parts, fmt.Sprintf("%s×%d", k, codes[k]))
	}
	return clip(strings.Join(parts, " "), 40)
}

type printer struct {
	w   io.Writer
	err error
}

func (p *printer) f(format string, args ...any) {
	if p.err == nil {
		_, p.err = fmt.Fprintf(p.w, format, args...)
	}
}

// Duration formats milliseconds with a unit chosen for readability:
// 174µs, 1.23ms, 412ms, 1.02s. The unit is chosen after rounding, so 999.6ms
// prints as 1.00s, not 1000ms.
func Duration(ms float64) string {
	switch {
	case ms == 0:
		return "0"
	case ms < 0.9995:
		return fmt.Sprintf("%.0fµs", ms*1e3)
	case ms < 9.995:
		return fmt.Sprintf("%.2fms", ms)
	case ms < 99.95:
		return fmt.Sprintf("%.1fms", ms)
	case ms < 999.5:
		return fmt.Sprintf("%.0fms", ms)
	case ms < 59_995:
		return fmt.Sprintf("%.2fs", ms/1e3)
	}
	return fmt.Sprintf("%.0fs", ms/1e3)
}

// Bytes formats a byte count with a binary unit.
func Bytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	// Choose the unit after rounding: 1048575 is 1.0 MiB, not 1024.0 KiB.
	if float64(n)/float64(div) >= 1023.95 && exp < 5 {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

func num(v float64) string {
	if v == math.Trunc(v) && math.Abs(v) < 1e15 {
		return strconv.FormatInt(int64(v), 10)
	}
	return strconv.FormatFloat(v, 'f', 1, 64)
}

func pct(n, total int64) string {
	if total == 0 {
		return "0%"
	}
	v := 100 * float64(n) / float64(total)
	if v > 0 && v < 0.01 {
		return "<0.01%"
	}
	return strconv.FormatFloat(v, 'f', 2, 64) + "%"
}

// Plural is n and the noun, in the plural unless n is 1: "1 connection",
// "2 connections".
func Plural(n int64, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return strconv.FormatInt(n, 10) + " " + noun + "s"
}

// Wrap folds text to fit a line of a report (80 columns), indent before
// every line.
func Wrap(text, indent string) string { return wrap(text, reportWidth, indent) }

// Hang writes prefix then text folded to fit a line of a report, its
// continuation lines indented under the text.
func Hang(prefix, text string) string {
	pad := strings.Repeat(" ", len([]rune(prefix)))
	return prefix + strings.TrimPrefix(wrap(text, reportWidth, pad), pad)
}

// wrapClip folds text at width columns as wrap does, in at most lines
// lines; what does not fit is cut with "…". The first line starts at
// len(indent) too.
func wrapClip(text string, width int, indent string, lines int) string {
	w := strings.Split(wrap(strings.ReplaceAll(text, "\n", " "), width, indent), "\n")
	for i := range w {
		if r := []rune(w[i]); len(r) > width { // one word wider than the line
			w[i] = string(r[:width-1]) + "…"
		}
	}
	if len(w) > lines {
		w = w[:lines]
		last := []rune(w[lines-1])
		w[lines-1] = string(last[:min(len(last), width-1)]) + "…"
	}
	return strings.TrimPrefix(strings.Join(w, "\n"), indent)
}

func clip(s string, n int) string {
	s = strings.ReplaceAll(s, "\n", " ")
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

// wrap folds text at width columns, indenting continuation lines.
func wrap(text string, width int, indent string) string {
	words := strings.Fields(text)
	var b strings.Builder
	line := indent
	for _, wd := range words {
		if len(line)+len(wd)+1 > width && strings.TrimSpace(line) != "" {
			b.WriteString(strings.TrimRight(line, " ") + "\n")
			line = indent
		}
		if strings.TrimSpace(line) != "" {
			line += " "
		}
		line += wd
	}
	b.WriteString(line)
	return b.String()
}

// streamsText is " × N in flight" for a multiplexed run, else "".
func streamsText(st *stats.Streams) string {
	if st == nil || st.PerConnection <= 1 {
		return ""
	}
	n := st.PerConnection
	if st.ServerCap > 0 && st.ServerCap < n {
		n = st.ServerCap
	}
	return fmt.Sprintf(" × up to %d in flight", n)
}
