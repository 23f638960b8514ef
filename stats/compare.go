package stats

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
)

// CompareMetrics are the metrics volley compare reports, in order.
var CompareMetrics = []string{"p50", "p90", "p99", "p99.9", "mean", "error_rate", "rps"}

// Comparison is the outcome of comparing two sets of results.
type Comparison struct {
	// PerInterval is true when a side had a single run, so the samples are
	// the per-interval values of the series rather than one value per run.
	PerInterval bool
	Alpha       float64
	Rows        []CompareRow
}

// CompareRow compares one metric.
type CompareRow struct {
	Metric Metric
	// Base and New are the central values: the median of the per-run values
	// with several runs, or the value over the whole run (from its full
	// histogram) with one run per side.
	Base, New float64
	// Delta is (New-Base)/Base: +0.1 is 10% more. It is 0 when both are 0
	// and ±Inf when only Base is.
	Delta float64
	// P is the two-sided Mann-Whitney p-value over the samples; N1 and N2
	// their sizes. Significant is P < Alpha.
	P           float64
	N1, N2      int
	Significant bool
	// NoData is set when a side had no value for the metric.
	NoData bool
}

// PerIntervalCaveat is printed with a per-interval comparison.
const PerIntervalCaveat = "one run per side: p-values compare per-interval values of the series, " +
	"which are not independent samples (neighbouring seconds are correlated), so they overstate " +
	"significance; run the benchmark 5 or more times per side for a sound test"

// Compare compares base and new result sets metric by metric with a
// Mann-Whitney U test. With at least two runs on each side, each run gives
// one sample per metric. Otherwise the samples are the series' interval
// values (intervals with no requests, and a last interval shorter than the
// others, are left out).
func Compare(base, new []*Result, alpha float64) (*Comparison, error) {
	if len(base) == 0 || len(new) == 0 {
		return nil, errors.New("compare: each side needs at least one result")
	}
	if !(alpha > 0 && alpha < 1) {
		return nil, fmt.Errorf("compare: alpha %v: want a value between 0 and 1", alpha)
	}
	c := &Comparison{Alpha: alpha, PerInterval: len(base) < 2 || len(new) < 2}
	for _, name := range CompareMetrics {
		m, err := ParseMetric(name)
		if err != nil {
			return nil, err
		}
		row := CompareRow{Metric: m}
		var xs, ys []float64
		if c.PerInterval {
			xs, ys = intervalValues(base, m), intervalValues(new, m)
		} else {
			xs, ys = runValues(base, m), runValues(new, m)
		}
		bv, berr := central(base, xs, m, c.PerInterval)
		nv, nerr := central(new, ys, m, c.PerInterval)
		if berr != nil || nerr != nil || len(xs) == 0 || len(ys) == 0 {
			row.NoData = true
			row.N1, row.N2 = len(xs), len(ys)
			c.Rows = append(c.Rows, row)
			continue
		}
		row.Base, row.New = bv, nv
		row.Delta = relDelta(bv, nv)
		mw, err := MannWhitneyU(xs, ys)
		if err != nil {
			return nil, err
		}
		row.P, row.N1, row.N2 = mw.P, mw.N1, mw.N2
		row.Significant = mw.P < alpha
		c.Rows = append(c.Rows, row)
	}
	return c, nil
}

// Row returns the row of the named metric.
func (c *Comparison) Row(name string) (CompareRow, bool) {
	for _, r := range c.Rows {
		if r.Metric.Name == name {
			return r, true
		}
	}
	return CompareRow{}, false
}

func relDelta(base, new float64) float64 {
	switch {
	case base == new:
		return 0
	case base == 0:
		return math.Copysign(math.Inf(1), new)
	}
	return (new - base) / math.Abs(base)
}

// central is a side's value: the whole run's with one run, else the median
// of the runs' values.
func central(rs []*Result, samples []float64, m Metric, perInterval bool) (float64, error) {
	if perInterval {
		if len(rs) == 1 {
			return rs[0].Value(m)
		}
		merged, err := Merge(rs...)
		if err != nil {
			return 0, err
		}
		if m.Name == "rps" {
			// Runs on one side are repetitions: their rate is the mean, not the sum.
			v, err := merged.Value(m)
			return v / float64(len(rs)), err
		}
		return merged.Value(m)
	}
	if len(samples) == 0 {
		return 0, ErrNoData
	}
	return median(samples), nil
}

func median(xs []float64) float64 {
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// runValues returns one value per run, leaving out runs without data.
func runValues(rs []*Result, m Metric) []float64 {
	var out []float64
	for _, r := range rs {
		if v, err := r.Value(m); err == nil {
			out = append(out, v)
		}
	}
	return out
}

// intervalValues returns the metric's value in every interval of every
// run's series.
func intervalValues(rs []*Result, m Metric) []float64 {
	var out []float64
	for _, r := range rs {
		s := r.Series
		if n := len(s); n > 1 && s[n-1].Dur < s[0].Dur {
			s = s[:n-1] // a partial last interval would skew rps
		}
		for _, p := range s {
			if p.Requests == 0 || p.Dur <= 0 {
				continue
			}
			switch m.Name {
			case "error_rate":
				out = append(out, float64(p.Errors)/float64(p.Requests))
			case "rps":
				out = append(out, float64(p.Requests)/p.Dur)
			default:
				h, err := p.Hist.Decode()
				if err != nil || h.TotalCount() == 0 {
					continue
				}
				if m.Stat == "mean" {
					out = append(out, h.Mean()/1e6)
				} else {
					out = append(out, ms(h.ValueAtQuantile(m.Percentile)))
				}
			}
		}
	}
	return out
}

// FailOn is a regression rule of volley compare, such as "p99>+10%" (fail
// when p99 grew by more than 10%) or "rps<-5%" (fail when the rate fell by
// more than 5%). A rule fires only on a significant change.
type FailOn struct {
	Expr   string
	Metric Metric
	Op     Op // <, <=, > or >=
	// Change is the relative change as a fraction: +0.10 for +10%.
	Change float64
}

// String returns the rule as written.
func (f FailOn) String() string { return f.Expr }

// Canonical returns the rule in canonical spelling; parsing it gives the
// same rule.
func (f FailOn) Canonical() string {
	return fmt.Sprintf("%s%s%s%%", f.Metric.Name, f.Op, strconv.FormatFloat(f.Change*100, 'f', -1, 64))
}

// ParseFailOn parses "METRIC OP CHANGE%", where METRIC is one of
// CompareMetrics, OP is <, <=, > or >=, and CHANGE a signed percentage.
func ParseFailOn(expr string) (FailOn, error) {
	fail := func(pos int, format string, args ...any) (FailOn, error) {
		return FailOn{}, &ExprError{Kind: "fail-on", Expr: expr, Pos: pos, Msg: fmt.Sprintf(format, args...)}
	}
	s := scanner{s: expr}
	s.space()
	mpos := s.i
	name := s.metricName()
	if name == "" {
		return fail(mpos, "want a metric: one of %v", CompareMetrics)
	}
	m, err := ParseMetric(name)
	known := false
	for _, n := range CompareMetrics {
		known = known || err == nil && n == m.Name
	}
	if !known {
		return fail(mpos, "unknown metric %q: want one of %v", name, CompareMetrics)
	}
	s.space()
	opos := s.i
	op := s.op()
	if op == "" || op == OpEQ {
		return fail(opos, "want an operator: > (grew by more than), >=, < (fell by more than) or <=")
	}
	s.space()
	vpos := s.i
	num := s.number()
	if num == "" {
		return fail(vpos, "want a signed percentage such as +10%% or -5%%")
	}
	v, err := strconv.ParseFloat(num, 64)
	if err != nil || math.IsInf(v, 0) || math.IsNaN(v) {
		return fail(vpos, "bad number %q", num)
	}
	upos := s.i
	if s.i >= len(expr) || expr[s.i] != '%' {
		return fail(upos, "the change is a percentage: end it with %% (e.g. %s%%)", num)
	}
	s.i++
	s.space()
	if s.i < len(expr) {
		return fail(s.i, "unexpected %q", expr[s.i:])
	}
	return FailOn{Expr: expr, Metric: m, Op: op, Change: v / 100}, nil
}

// Check reports whether the rule fires on c: the metric's change is
// significant and beyond the stated one. The message reads like
// "p99 +23.50% (p=0.00794, significant at alpha 0.05), fails on a
// significant change > +10%".
func (f FailOn) Check(c *Comparison) (bool, string) {
	row, ok := c.Row(f.Metric.Name)
	if !ok || row.NoData {
		return false, fmt.Sprintf("%s: no data to compare", f.Metric.Name)
	}
	hit := row.Significant && f.Op.Holds(row.Delta, f.Change)
	sig := "significant"
	if !row.Significant {
		sig = "not significant"
	}
	return hit, fmt.Sprintf("%s %s (p=%.3g, %s at alpha %g), fails on a significant change %s %s%%",
		f.Metric.Name, FormatDelta(row.Delta), row.P, sig, c.Alpha, f.Op, signed(f.Change*100))
}

func signed(v float64) string {
	s := strconv.FormatFloat(v, 'g', -1, 64)
	if v >= 0 {
		s = "+" + s
	}
	return s
}

// FormatDelta prints a relative change: "+12.34%", "-5.00%", "+inf%".
func FormatDelta(d float64) string {
	switch {
	case math.IsInf(d, 1):
		return "+inf%"
	case math.IsInf(d, -1):
		return "-inf%"
	}
	return fmt.Sprintf("%+.2f%%", d*100)
}
