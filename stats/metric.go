package stats

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Kind tells how a metric's value is measured, and so which units a
// threshold on it takes and how its value is printed.
type Kind uint8

// Metric kinds.
const (
	KindDuration Kind = iota // milliseconds; thresholds need a unit (us, ms, s)
	KindRate                 // a share 0..1; thresholds take a fraction or a percentage
	KindCount                // a plain number of requests
	KindPerSec               // requests per second
)

// Metric names one number of a Result: a latency statistic, a share of
// requests, the achieved rate or the request count.
//
//	p50 p99 p99.9 p(99)   latency percentile (corrected; "service." prefix for service time)
//	min mean max stdev    latency statistics (same prefix rule)
//	error_rate            transport errors plus 4xx and 5xx, over all requests
//	transport_error_rate  transport errors over all requests
//	1xx 2xx 3xx 4xx 5xx   share of requests in the class
//	late                  share of requests sent more than 1 ms late
//	rps                   achieved request rate
//	requests              requests sent
type Metric struct {
	// Name is the canonical spelling: "p99", "service.p99.9", "error_rate".
	Name string
	Kind Kind
	// Service selects service time for latency metrics.
	Service bool
	// Stat is the latency statistic: "p" (with Percentile), "min", "mean",
	// "max" or "stdev"; empty for other metrics.
	Stat       string
	Percentile float64
}

// Latency reports whether the metric is a latency statistic.
func (m Metric) Latency() bool { return m.Stat != "" }

// ParseMetric parses a metric name. The error says what names exist.
func ParseMetric(s string) (Metric, error) {
	name := s
	var service bool
	if rest, ok := strings.CutPrefix(name, "service."); ok {
		service, name = true, rest
	}
	m := Metric{Service: service}
	switch name {
	case "min", "mean", "max", "stdev":
		m.Stat, m.Kind = name, KindDuration
	case "error_rate", "transport_error_rate", "late", "1xx", "2xx", "3xx", "4xx", "5xx", "unanswered":
		m.Kind = KindRate
	case "rps":
		m.Kind = KindPerSec
	case "requests":
		m.Kind = KindCount
	default:
		p, ok := parsePercentileName(name)
		if !ok {
			return Metric{}, fmt.Errorf("unknown metric %q (want pNN[.NN], p(NN), min, mean, max, stdev, "+
				"service.<latency>, error_rate, transport_error_rate, 1xx..5xx, late, unanswered, rps or requests)", s)
		}
		m.Stat, m.Kind, m.Percentile = "p", KindDuration, p
		name = "p" + strconv.FormatFloat(p, 'f', -1, 64)
	}
	if service && !m.Latency() {
		return Metric{}, fmt.Errorf("metric %q: the service. prefix applies to latency metrics only", s)
	}
	m.Name = name
	if service {
		m.Name = "service." + name
	}
	return m, nil
}

// parsePercentileName accepts p99, p99.9, p(99), p(99.9) and p100.
func parsePercentileName(s string) (float64, bool) {
	rest, ok := strings.CutPrefix(s, "p")
	if !ok || rest == "" {
		return 0, false
	}
	if inner, ok := strings.CutPrefix(rest, "("); ok {
		rest, ok = strings.CutSuffix(inner, ")")
		if !ok {
			return 0, false
		}
	}
	for _, r := range rest {
		if (r < '0' || r > '9') && r != '.' {
			return 0, false
		}
	}
	p, err := strconv.ParseFloat(rest, 64)
	if err != nil || p < 0 || p > 100 || math.IsNaN(p) {
		return 0, false
	}
	return p, true
}

// ErrNoData is returned for a metric that has no value in a result: a
// latency with no responses, or a share with no requests.
var ErrNoData = fmt.Errorf("no data")

// Value returns the metric's value in r: milliseconds for latencies, a share
// 0..1 for rates, requests per second, or a count. It returns ErrNoData
// when the run holds nothing to measure (no responses for a latency, no
// requests for a share).
func (r *Result) Value(m Metric) (float64, error) {
	total := r.Requests.Total
	share := func(n int64) (float64, error) {
		if total == 0 {
			return 0, ErrNoData
		}
		return float64(n) / float64(total), nil
	}
	switch {
	case m.Latency():
		return r.latency(m)
	case m.Name == "error_rate":
		return share(r.Requests.Errors)
	case m.Name == "transport_error_rate":
		return share(r.TransportErrors())
	case m.Name == "late":
		return share(r.Requests.Late)
	case m.Name == "unanswered":
		// Runs of messages only: messages sent and never answered.
		if r.Messages == nil || r.Messages.Sent == 0 {
			return 0, ErrNoData
		}
		return r.Messages.UnansweredRate(), nil
	case len(m.Name) == 3 && strings.HasSuffix(m.Name, "xx"):
		return share(r.Status[m.Name])
	case m.Name == "rps":
		return r.Rate.Achieved, nil
	case m.Name == "requests":
		return float64(total), nil
	}
	return 0, fmt.Errorf("metric %q: not known", m.Name)
}

// TransportErrors counts requests that got no HTTP response.
func (r *Result) TransportErrors() int64 {
	var n int64
	for _, v := range r.Errors {
		n += v
	}
	return n
}

func (r *Result) latency(m Metric) (float64, error) {
	key, sum := "corrected", r.Latency.Corrected
	if m.Service {
		key, sum = "service", r.Latency.Service
	}
	if h := r.Histograms[key].Histogram; h != nil {
		if h.TotalCount() == 0 {
			return 0, ErrNoData
		}
		switch m.Stat {
		case "min":
			return ms(h.Min()), nil
		case "mean":
			return h.Mean() / 1e6, nil
		case "max":
			return ms(h.Max()), nil
		case "stdev":
			return h.StdDev() / 1e6, nil
		}
		return ms(h.ValueAtQuantile(m.Percentile)), nil
	}
	// A result without histograms: only the summary's statistics exist.
	if sum.Count == 0 {
		return 0, ErrNoData
	}
	switch m.Stat {
	case "min":
		return sum.Min, nil
	case "mean":
		return sum.Mean, nil
	case "max":
		return sum.Max, nil
	case "stdev":
		return sum.Stdev, nil
	}
	for _, c := range []struct {
		p float64
		v float64
	}{{50, sum.P50}, {75, sum.P75}, {90, sum.P90}, {95, sum.P95}, {99, sum.P99}, {99.9, sum.P999}, {99.99, sum.P9999}, {100, sum.Max}} {
		if c.p == m.Percentile {
			return c.v, nil
		}
	}
	return 0, fmt.Errorf("metric %q: the result has no %s histogram to compute it from", m.Name, key)
}

// FormatValue prints a metric value with its unit: "312 ms", "1.25%",
// "998.2 req/s", "10000".
func (m Metric) FormatValue(v float64) string {
	switch m.Kind {
	case KindDuration:
		return FormatMillis(v)
	case KindRate:
		return trimFloat(v*100, 3) + "%"
	case KindPerSec:
		return trimFloat(v, 2) + " req/s"
	}
	return trimFloat(v, 0)
}

// FormatMillis prints milliseconds in the unit a person would use, with
// up to 3 decimals: "250 µs", "12.5 ms", "1.2 s".
func FormatMillis(v float64) string {
	a := math.Abs(v)
	switch {
	case a != 0 && a < 1:
		return trimFloat(v*1e3, 3) + " µs"
	case a >= 1000:
		return trimFloat(v/1e3, 3) + " s"
	}
	return trimFloat(v, 3) + " ms"
}

// trimFloat formats v with at most prec decimals and no trailing zeros.
func trimFloat(v float64, prec int) string {
	s := strconv.FormatFloat(v, 'f', prec, 64)
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	if s == "-0" {
		s = "0"
	}
	return s
}
