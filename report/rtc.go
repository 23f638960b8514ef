package report

import (
	"fmt"

	"volley/stats"
)

// connectionsText counts a run's connections: a WebRTC run's as peer
// connections and their channels (the engine's connections).
func connectionsText(r *stats.Result) string {
	if r.RTC != nil && r.RTC.Channels > 0 {
		peers := Plural(int64(r.Connections/r.RTC.Channels), "peer connection")
		if r.RTC.Channels == 1 {
			return peers
		}
		return peers + " × " + Plural(int64(r.RTC.Channels), "channel")
	}
	return Plural(int64(r.Connections), "connection")
}

// rtcBlock writes what only WebRTC has, apart from the messages: how the
// peer connections were set up, phase by phase, and how setups failed.
func rtcBlock(p *printer, r *stats.RTC) {
	pr := r.Peers
	p.f("  Peers      %d set up of %d, %d failed   %s each", pr.OK, pr.Attempted, pr.Failed,
		Plural(int64(r.Channels), "channel"))
	if r.Deleted > 0 || r.ChannelsClosed > 0 {
		p.f("\n             %d sessions deleted, %d channels closed by the peer", r.Deleted, r.ChannelsClosed)
	}
	p.f("\n")
	if pr.OK > 0 {
		p.f("  Setup      %9s %9s %9s %9s\n", "p50", "p90", "p99", "max")
		for _, ph := range stats.RTCPhases() {
			s := r.Setup[ph]
			p.f("    %-8s %9s %9s %9s %9s\n", ph, Duration(s.P50), Duration(s.P90), Duration(s.P99), Duration(s.Max))
		}
	}
	for _, f := range stats.RTCFailures() {
		if n := r.Failures[f]; n > 0 {
			p.f("%s\n", Hang(fmt.Sprintf("  failed in %-8s %5d   ", f, n), r.FailureSamples[f]))
		}
	}
}

// rtcMarkdown writes the setup table of a WebRTC run.
func rtcMarkdown(p *printer, r *stats.RTC) {
	p.f("| peer connections | set up | failed | channels each |\n|---:|---:|---:|---:|\n")
	p.f("| %d | %d | %d | %d |\n\n", r.Peers.Attempted, r.Peers.OK, r.Peers.Failed, r.Channels)
	p.f("| setup | p50 | p90 | p99 | max |\n|---|---:|---:|---:|---:|\n")
	for _, ph := range stats.RTCPhases() {
		s := r.Setup[ph]
		p.f("| %s | %s | %s | %s | %s |\n", ph, Duration(s.P50), Duration(s.P90), Duration(s.P99), Duration(s.Max))
	}
	for _, f := range stats.RTCFailures() {
		if n := r.Failures[f]; n > 0 {
			p.f("| failed in %s | %d | %s | | |\n", f, n, mdCell(clip(r.FailureSamples[f], 60)))
		}
	}
	p.f("\n")
}
