package report

import (
	"fmt"
	"io"
	"strings"

	"volley/stats"
)

// CompareText writes a comparison as a benchstat-like table:
//
//	metric        base        new      delta   p-value   n
//	p50        1.53 ms    1.60 ms     +4.58%     0.008   5+5
//	p99         204 ms     210 ms          ~     0.421   5+5
//
// A delta is shown only when the change is significant (p < alpha);
// otherwise "~". baseName and newName head the value columns.
func CompareText(w io.Writer, c *stats.Comparison, baseName, newName string) error {
	p := &printer{w: w}
	bw, nw := max(12, len(baseName)), max(12, len(newName))
	p.f("%-12s %*s %*s %10s %9s  %s\n", "metric", bw, clip(baseName, bw), nw, clip(newName, nw), "delta", "p-value", "n")
	for _, r := range c.Rows {
		if r.NoData {
			p.f("%-12s %*s %*s %10s %9s  %d+%d\n", r.Metric.Name, bw, "n/a", nw, "n/a", "", "", r.N1, r.N2)
			continue
		}
		p.f("%-12s %*s %*s %10s %9s  %d+%d\n", r.Metric.Name,
			bw, compareValue(r.Metric, r.Base), nw, compareValue(r.Metric, r.New),
			deltaCell(r), fmt.Sprintf("%.3g", r.P), r.N1, r.N2)
	}
	p.f("\n")
	p.f("%s\n", wrap(compareFootnote(c), 78, ""))
	return p.err
}

func compareFootnote(c *stats.Comparison) string {
	how := "Mann-Whitney U test over one value per run"
	if c.PerInterval {
		how = "Mann-Whitney U test over per-interval values"
	}
	s := fmt.Sprintf("%s; ~ means no significant change at alpha %g.", how, c.Alpha)
	if c.PerInterval {
		s += " Caveat: " + stats.PerIntervalCaveat + "."
	} else if n := minN(c); n > 0 && stats.MinPValue(n, n) >= c.Alpha {
		s += fmt.Sprintf(" With %d runs per side no change can be significant at alpha %g (the smallest possible p is %.3g): run more repetitions.",
			n, c.Alpha, stats.MinPValue(n, n))
	}
	return s
}

func minN(c *stats.Comparison) int {
	n := 0
	for _, r := range c.Rows {
		if !r.NoData {
			m := min(r.N1, r.N2)
			if n == 0 || m < n {
				n = m
			}
		}
	}
	return n
}

func deltaCell(r stats.CompareRow) string {
	if !r.Significant {
		return "~"
	}
	return stats.FormatDelta(r.Delta)
}

func compareValue(m stats.Metric, v float64) string {
	switch m.Kind {
	case stats.KindDuration:
		return Duration(v)
	case stats.KindRate:
		return fmt.Sprintf("%.2f%%", v*100)
	case stats.KindPerSec:
		return fmt.Sprintf("%.1f/s", v)
	}
	return num(v)
}

// CompareMarkdown writes a comparison as a Markdown table, with the
// regression rules that fired (failures) listed below it.
func CompareMarkdown(w io.Writer, c *stats.Comparison, baseName, newName string, failures []string) error {
	p := &printer{w: w}
	p.f("### volley compare\n\n")
	if len(failures) > 0 {
		p.f("**❌ Regression:** %s\n\n", mdCell(strings.Join(failures, "; ")))
	}
	p.f("| metric | %s | %s | delta | p-value | n |\n|---|---:|---:|---:|---:|---:|\n", mdCell(baseName), mdCell(newName))
	for _, r := range c.Rows {
		if r.NoData {
			p.f("| %s | n/a | n/a | | | %d+%d |\n", r.Metric.Name, r.N1, r.N2)
			continue
		}
		p.f("| %s | %s | %s | %s | %.3g | %d+%d |\n", r.Metric.Name,
			compareValue(r.Metric, r.Base), compareValue(r.Metric, r.New), deltaCell(r), r.P, r.N1, r.N2)
	}
	p.f("\n%s\n\n", compareFootnote(c))
	return p.err
}
