package report

import (
	"fmt"
	"net/url"
	"sort"
	"strings"

	"volley/stats"
)

// details prints what a run has beyond the core report, when it has it:
// checks, redirects, the phases of a request and the per-target breakdown.
func details(p *printer, r *stats.Result) {
	if c := r.Checks; c != nil {
		p.f("  Checks     %d failed (%s)   status %d   body %d\n\n",
			c.Failed, pct(c.Failed, r.Requests.Total), c.Status, c.Body)
	}
	if rd := r.Redirects; rd != nil {
		p.f("  Redirects  %d requests followed a redirect; first status %s\n\n",
			rd.Followed, allCodes(rd.FirstCodes, nil))
	}
	if len(r.Phases) > 0 {
		p.f("  Phases     %8s %10s %10s %10s %10s\n", "count", "p50", "p90", "p99", "max")
		for _, name := range stats.PhaseNames() {
			s, ok := r.Phases[name]
			if !ok {
				continue
			}
			p.f("  %-9s  %8d %10s %10s %10s %10s\n", name, s.Count, Duration(s.P50), Duration(s.P90), Duration(s.P99), Duration(s.Max))
		}
		p.f("\n")
	}
	if len(r.Targets) == 0 {
		return
	}
	names := make([]string, 0, len(r.Targets))
	for n := range r.Targets {
		names = append(names, n)
	}
	sort.Strings(names)
	lat := "service"
	if r.Mode == "open" {
		lat = "corrected"
	}
	p.f("  %-24s %8s %7s %7s %9s %9s\n", "Target", "requests", "errors", "checks", "p50", "p99")
	labels := targetLabels(names, 24)
	for _, n := range names {
		t := r.Targets[n]
		s := t.Latency.Service
		if r.Mode == "open" {
			s = t.Latency.Corrected
		}
		p.f("  %-24s %8d %7d %7d %9s %9s\n", labels[n], t.Requests.Total, t.Requests.Errors, t.Requests.CheckFailed,
			Duration(s.P50), Duration(s.P99))
		p.f("  %-24s %s\n", "", clip(allCodes(t.Codes, t.Errors), 52))
	}
	p.f("  (%s latency; errors are transport errors, 4xx and 5xx)\n\n", lat)
}

// allCodes lists codes and error categories with their counts.
func allCodes(codes, errs map[string]int64) string {
	ks := make([]string, 0, len(codes))
	for k := range codes {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	s := ""
	for _, k := range ks {
		s += fmt.Sprintf("%s×%d ", k, codes[k])
	}
	for _, k := range stats.ErrorKinds() {
		if n := errs[k.String()]; n > 0 {
			s += fmt.Sprintf("%s×%d ", k, n)
		}
	}
	if s == "" {
		return "-"
	}
	return s[:len(s)-1]
}

// targetLabels gives each target name a label of at most width columns
// for the table, all different. An unnamed target's name is "METHOD URL":
// its label drops the scheme and host when every such target shares them
// ("GET /api/items"), else the scheme alone; a label still too wide keeps
// its method and the end of its path, where targets differ.
func targetLabels(names []string, width int) map[string]string {
	hosts := map[string]bool{}
	for _, n := range names {
		if _, u, ok := methodURL(n); ok {
			hosts[u.Scheme+"://"+u.Host] = true
		}
	}
	labels := make(map[string]string, len(names))
	used := map[string]int{}
	for _, n := range names {
		l := n
		if m, u, ok := methodURL(n); ok {
			l = m + " " + u.Host + u.RequestURI()
			if len(hosts) == 1 {
				l = m + " " + u.RequestURI()
			}
			if r := []rune(l); len(r) > width {
				keep := width - len([]rune(m)) - 2
				l = m + " …" + string(r[len(r)-keep:])
			}
		}
		l = clip(l, width)
		if k := used[l]; k > 0 {
			suffix := fmt.Sprintf("~%d", k+1)
			l = clip(l, width-len(suffix)) + suffix
		}
		used[l]++
		labels[n] = l
	}
	return labels
}

// methodURL splits a target's default name, "METHOD URL".
func methodURL(name string) (string, *url.URL, bool) {
	m, rest, ok := strings.Cut(name, " ")
	if !ok {
		return "", nil, false
	}
	u, err := url.Parse(rest)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return "", nil, false
	}
	return m, u, true
}
