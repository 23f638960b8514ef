package report

import (
	"fmt"
	"math"
	"strings"
	"time"

	"volley/stats"
)

// shapeLines writes the report header's lines about stages, arrivals and
// the warm-up, if the run had any.
func shapeLines(p *printer, r *stats.Result) {
	if sh := r.Shape; sh != nil {
		if len(sh.Stages) > 0 {
			p.f("%s\n", wrap("stages "+StagesText(sh)+" ("+sh.Unit+")", 78, "        "))
		}
		if sh.Arrival == "poisson" {
			p.f("        poisson arrivals (exponential gaps), seed %d\n", r.Seed)
		}
	}
	if w := r.Warmup; w != nil {
		p.f("        warm-up %s: %d requests (%d errors), kept out of every figure below\n",
			Duration(w.DurationS*1e3), w.Requests, w.Errors)
	}
}

// StagesText formats a shape's stages as --stages reads them.
func StagesText(sh *stats.Shape) string {
	parts := make([]string, 0, len(sh.Stages))
	for _, s := range sh.Stages {
		d := shortDuration(s.DurationS)
		if s.From == s.To {
			parts = append(parts, fmt.Sprintf("%s:%s", d, num(s.From)))
		} else {
			parts = append(parts, fmt.Sprintf("%s:%s-%s", d, num(s.From), num(s.To)))
		}
	}
	return strings.Join(parts, ",")
}

// shortDuration formats seconds as --stages reads them: 30s, 2m, 1m30s, 500ms.
func shortDuration(secs float64) string {
	s := time.Duration(math.Round(secs * 1e9)).String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
