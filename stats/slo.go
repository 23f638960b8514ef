package stats

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// SLO is a service-level objective a run must meet: a latency percentile
// (of corrected latency), the maximum latency, or the error rate, below a
// limit. It reads "p99<50ms", "p99.9<=1s", "max<2s", "error_rate<1%".
type SLO struct {
	// Metric is "pNN" (e.g. "p99", "p99.9"), "max" or "error_rate".
	Metric string
	// Percentile is the percentile (0 < p ≤ 100) of a latency metric; 100
	// for max; 0 for error_rate.
	Percentile float64
	// Inclusive is true for <=, false for <.
	Inclusive bool
	// Limit is in milliseconds for a latency, a ratio (0.01 = 1%) for
	// error_rate.
	Limit float64
	text  string
}

// ParseSLO parses "METRIC<LIMIT" or "METRIC<=LIMIT". A latency limit is a
// duration ("50ms", "1.5s", "800us"); an error_rate limit a percentage
// ("1%") or a ratio ("0.01").
func ParseSLO(s string) (SLO, error) {
	in := strings.TrimSpace(s)
	i := strings.IndexByte(in, '<')
	if i < 0 {
		return SLO{}, fmt.Errorf("slo %q: want METRIC<LIMIT or METRIC<=LIMIT, e.g. p99<50ms or error_rate<1%%", s)
	}
	o := SLO{Metric: strings.TrimSpace(in[:i]), text: in}
	rest := in[i+1:]
	if strings.HasPrefix(rest, "=") {
		o.Inclusive, rest = true, rest[1:]
	}
	rest = strings.TrimSpace(rest)
	switch {
	case o.Metric == "error_rate":
		v, err := parseRatio(rest)
		if err != nil {
			return SLO{}, fmt.Errorf("slo %q: %w", s, err)
		}
		o.Limit = v
	case o.Metric == "max" || strings.HasPrefix(o.Metric, "p"):
		o.Percentile = 100
		if o.Metric != "max" {
			p, err := strconv.ParseFloat(o.Metric[1:], 64)
			if err != nil || !(p > 0 && p <= 100) || strings.ContainsAny(o.Metric[1:], "eE+-") {
				return SLO{}, fmt.Errorf("slo %q: metric %q: want a percentile p0.1 to p100 (p50, p99, p99.9), max or error_rate", s, o.Metric)
			}
			o.Percentile = p
		}
		d, err := time.ParseDuration(strings.ReplaceAll(rest, "µ", "u"))
		if err != nil || d <= 0 {
			return SLO{}, fmt.Errorf("slo %q: limit %q: want a positive duration such as 50ms or 1.5s", s, rest)
		}
		o.Limit = float64(d) / 1e6
	default:
		return SLO{}, fmt.Errorf("slo %q: unknown metric %q: want pNN (p50, p99, p99.9), max or error_rate", s, o.Metric)
	}
	return o, nil
}

func parseRatio(s string) (float64, error) {
	pct := strings.HasSuffix(s, "%")
	v, err := strconv.ParseFloat(strings.TrimSuffix(s, "%"), 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, fmt.Errorf("limit %q: want a percentage such as 1%% or a ratio such as 0.01", s)
	}
	if pct {
		v /= 100
	}
	if v < 0 || v > 1 {
		return 0, fmt.Errorf("limit %q: want 0%% to 100%%", s)
	}
	return v, nil
}

// String returns the SLO as written.
func (o SLO) String() string { return o.text }

// Observe returns the SLO's metric in r: milliseconds of corrected latency
// (service time in a closed loop, where both are equal), or the error rate.
// A latency of a run without any response is +Inf: nothing was served.
func (o SLO) Observe(r *Result) float64 {
	if o.Metric == "error_rate" {
		return r.ErrorRate()
	}
	if r.Requests.Completed == 0 {
		return math.Inf(1)
	}
	if h := r.Histograms["corrected"].Histogram; h != nil && h.TotalCount() > 0 {
		return Quantile(h, o.Percentile)
	}
	return math.Inf(1)
}

// Met reports whether r meets the SLO, with the observed value.
func (o SLO) Met(r *Result) (observed float64, ok bool) {
	v := o.Observe(r)
	if o.Inclusive {
		return v, v <= o.Limit
	}
	return v, v < o.Limit
}
