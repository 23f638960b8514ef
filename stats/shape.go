package stats

// Stage is one stage of a shaped run: for DurationS seconds the target goes
// linearly from From to To (requests per second, or connections).
type Stage struct {
	DurationS float64 `json:"duration_s"`
	From      float64 `json:"from"`
	To        float64 `json:"to"`
}

// Shape describes how a run's load was shaped.
type Shape struct {
	// Stages of the measured run (the warm-up is not among them).
	Stages []Stage `json:"stages"`
	// Unit of the stages' values: "req/s" (open loop) or "connections"
	// (closed loop).
	Unit string `json:"unit"`
	// Arrival is "uniform" or "poisson" (its gaps drawn from the result's
	// seed).
	Arrival string `json:"arrival"`
}

// MeanTarget returns the stages' mean value over [t0, t1) seconds since the
// measured start: the target rate (or connection count) a series point
// covering that window was asked for. It returns 0 without stages.
func (s *Shape) MeanTarget(t0, t1 float64) float64 {
	if s == nil || len(s.Stages) == 0 || t1 <= t0 {
		return 0
	}
	var area, start float64
	for _, st := range s.Stages {
		end := start + st.DurationS
		a, b := max(t0, start), min(t1, end)
		if b > a && st.DurationS > 0 {
			slope := (st.To - st.From) / st.DurationS
			va := st.From + slope*(a-start)
			vb := st.From + slope*(b-start)
			area += (va + vb) / 2 * (b - a)
		}
		start = end
	}
	return area / (t1 - t0)
}

// Warmup counts the requests of a warm-up, which no other statistic of the
// result includes.
type Warmup struct {
	DurationS float64 `json:"duration_s"`
	// Requests that were due (or, closed loop, sent) during the warm-up,
	// and how many of them failed (transport errors, 4xx and 5xx).
	Requests int64 `json:"requests"`
	Errors   int64 `json:"errors"`
}

func (w *Warmup) add(s *Sample) {
	w.Requests++
	if c := ClassOf(int(s.Code), s.Err); c == ClassError || c == Class4xx || c == Class5xx {
		w.Errors++
	}
}
