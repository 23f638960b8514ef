package report

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"volley/stats"
)

// messagesBlock writes the message part of the text report, for any
// message protocol, in place of the status table.
func messagesBlock(p *printer, m *stats.Messages) {
	if m.Mode == stats.MessageModeSubscribe {
		p.f("  Messages   received %d   missed %d   unmatched %d", m.Received, m.Missed, m.Unmatched)
		if m.ClockSkew > 0 {
			p.f("   clock_skew %d", m.ClockSkew)
		}
		p.f("\n")
		if m.ClockSkew > 0 {
			p.f("%s\n", wrap(fmt.Sprintf("  Clock skew: %d messages were stamped up to %s after volley received them: "+
				"the server's clock is ahead. Their latency is not recorded; each counts as an error (other).",
				m.ClockSkew, Duration(m.ClockSkewMaxMs)), 78, "  "))
		}
		p.f("%s\n", wrap("  Subscribed: latency is the receipt time minus the ts_ns the server put "+
			"in each message, so the two clocks must agree (same host, or synchronized).", 78, "  "))
		return
	}
	p.f("  Messages   sent %d   answered %d   unanswered %d (%s)\n",
		m.Sent, m.Received, m.Unanswered, pct(m.Unanswered, m.Sent))
	if m.Unmatched > 0 {
		p.f("             %d other messages skipped while waiting for echoes (match %s)\n", m.Unmatched, m.Match)
	}
}

// wsBlock writes what only WebSocket has: handshakes and close codes.
func wsBlock(p *printer, ws *stats.WS) {
	h, hs := ws.Handshakes, ws.Handshake
	p.f("  Handshake  %d ok, %d failed", h.OK, h.Failed)
	if hs.Count > 0 {
		p.f("   p50 %s   p99 %s   max %s", Duration(hs.P50), Duration(hs.P99), Duration(hs.Max))
	}
	p.f("\n")
	if len(ws.CloseCodes) > 0 {
		codes := make([]string, 0, len(ws.CloseCodes))
		for c := range ws.CloseCodes {
			codes = append(codes, c)
		}
		sort.Slice(codes, func(i, j int) bool {
			a, _ := strconv.Atoi(codes[i])
			b, _ := strconv.Atoi(codes[j])
			return a < b
		})
		parts := make([]string, 0, len(codes))
		for _, c := range codes {
			parts = append(parts, fmt.Sprintf("%s×%d", c, ws.CloseCodes[c]))
		}
		p.f("  Closes     %s\n", clip(strings.Join(parts, " "), 66))
	}
}
