package stats

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Op is a comparison operator of a threshold.
type Op string

// Operators.
const (
	OpLT Op = "<"
	OpLE Op = "<="
	OpGT Op = ">"
	OpGE Op = ">="
	OpEQ Op = "=="
)

// Holds reports whether "a op b".
func (o Op) Holds(a, b float64) bool {
	switch o {
	case OpLT:
		return a < b
	case OpLE:
		return a <= b
	case OpGT:
		return a > b
	case OpGE:
		return a >= b
	case OpEQ:
		return a == b
	}
	return false
}

// Threshold is a pass/fail condition on one metric of a run, such as
// "p99<250ms", "error_rate<1%" or "rps>=950".
type Threshold struct {
	// Expr is the expression as written.
	Expr   string
	Metric Metric
	Op     Op
	// Bound is in the metric's unit: milliseconds, a share 0..1, req/s or
	// a count.
	Bound float64
}

// String returns the expression as written.
func (t Threshold) String() string { return t.Expr }

// Canonical returns the expression in canonical spelling, e.g.
// "p99 < 250 ms"; parsing it gives the same threshold.
func (t Threshold) Canonical() string {
	return fmt.Sprintf("%s %s %s", t.Metric.Name, t.Op, t.boundText())
}

func (t Threshold) boundText() string {
	switch t.Metric.Kind {
	case KindDuration:
		return strconv.FormatFloat(t.Bound, 'f', -1, 64) + "ms"
	case KindRate:
		return strconv.FormatFloat(t.Bound, 'f', -1, 64)
	}
	return strconv.FormatFloat(t.Bound, 'f', -1, 64)
}

// ExprError is a bad expression. Its message quotes the expression and
// points a caret at the offending part:
//
//	threshold "p99<250": a duration needs a unit: us, ms or s
//	  p99<250
//	         ^
type ExprError struct {
	Kind string // "threshold" or "fail-on"
	Expr string
	Pos  int // byte offset of the offending part
	Msg  string
}

func (e *ExprError) Error() string {
	pos := min(max(e.Pos, 0), len(e.Expr))
	// The caret sits under the right character even when the expression
	// holds multi-byte runes before it.
	col := len([]rune(e.Expr[:pos]))
	return fmt.Sprintf("%s %q: %s\n  %s\n  %s^", e.Kind, e.Expr, e.Msg, printable(e.Expr), strings.Repeat(" ", col))
}

// printable replaces control characters so the caret line stays aligned.
func printable(s string) string {
	return strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return '?'
		}
		return r
	}, s)
}

// ParseThreshold parses "METRIC OP VALUE[UNIT]", spaces allowed between the
// parts. Durations need a unit (us, µs, ms or s); shares take a fraction
// (0.01) or a percentage (1%); rps and requests take a plain number.
func ParseThreshold(expr string) (Threshold, error) {
	fail := func(pos int, format string, args ...any) (Threshold, error) {
		return Threshold{}, &ExprError{Kind: "threshold", Expr: expr, Pos: pos, Msg: fmt.Sprintf(format, args...)}
	}
	s := scanner{s: expr}
	s.space()
	mstart := s.i
	name := s.metricName()
	if name == "" {
		return fail(mstart, "want a metric name such as p99, error_rate or rps")
	}
	m, err := ParseMetric(name)
	if err != nil {
		return fail(mstart, "%v", err)
	}
	s.space()
	opos := s.i
	op := s.op()
	if op == "" {
		return fail(opos, "want an operator: <, <=, >, >= or ==")
	}
	s.space()
	vpos := s.i
	num := s.number()
	if num == "" {
		return fail(vpos, "want a number after %s", op)
	}
	v, err := strconv.ParseFloat(num, 64)
	if err != nil || math.IsInf(v, 0) || math.IsNaN(v) {
		return fail(vpos, "bad number %q", num)
	}
	s.space()
	upos := s.i
	unit := s.unit()
	s.space()
	if s.i < len(expr) {
		return fail(s.i, "unexpected %q", expr[s.i:])
	}
	t := Threshold{Expr: expr, Metric: m, Op: op}
	switch m.Kind {
	case KindDuration:
		scale, ok := durationUnits[unit]
		if unit == "" {
			return fail(upos, "a duration needs a unit: us, ms or s (e.g. %s250ms)", expr[:vpos])
		}
		if !ok {
			return fail(upos, "unknown duration unit %q: want us, ms or s", unit)
		}
		t.Bound = v * scale
	case KindRate:
		switch unit {
		case "%":
			t.Bound = v / 100
		case "":
			t.Bound = v
		default:
			return fail(upos, "a share takes a fraction (0.01) or a percentage (1%%), not %q", unit)
		}
		if t.Bound < 0 || t.Bound > 1 {
			return fail(vpos, "a share is between 0 and 1 (or 0%% and 100%%)")
		}
	default:
		if unit != "" && !(m.Kind == KindPerSec && unit == "/s") {
			return fail(upos, "%s takes a plain number, not %q", m.Name, unit)
		}
		if v < 0 {
			return fail(vpos, "%s cannot be negative", m.Name)
		}
		if m.Kind == KindCount && v != math.Trunc(v) {
			return fail(vpos, "%s is a count: want a whole number, not %s", m.Name, num)
		}
		t.Bound = v
	}
	if m.Kind == KindDuration && v < 0 {
		return fail(vpos, "a duration cannot be negative")
	}
	return t, nil
}

// durationUnits maps a unit to milliseconds.
var durationUnits = map[string]float64{"us": 1e-3, "µs": 1e-3, "ms": 1, "s": 1e3}

// scanner reads the tokens of an expression.
type scanner struct {
	s string
	i int
}

func (s *scanner) space() {
	for s.i < len(s.s) && (s.s[s.i] == ' ' || s.s[s.i] == '\t') {
		s.i++
	}
}

// metricName reads letters, digits, '_', '.', and a parenthesised
// percentile such as p(99.9).
func (s *scanner) metricName() string {
	start := s.i
	for s.i < len(s.s) {
		c := s.s[s.i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' {
			s.i++
			continue
		}
		if c == '(' {
			if j := strings.IndexByte(s.s[s.i:], ')'); j >= 0 {
				s.i += j + 1
				continue
			}
		}
		break
	}
	return s.s[start:s.i]
}

func (s *scanner) op() Op {
	for _, o := range []Op{OpLE, OpGE, OpEQ, OpLT, OpGT} {
		if strings.HasPrefix(s.s[s.i:], string(o)) {
			s.i += len(o)
			return o
		}
	}
	return ""
}

// number reads an optional sign, digits and one decimal point.
func (s *scanner) number() string {
	start := s.i
	if s.i < len(s.s) && (s.s[s.i] == '+' || s.s[s.i] == '-') {
		s.i++
	}
	digits := 0
	dot := false
	for s.i < len(s.s) {
		c := s.s[s.i]
		switch {
		case c >= '0' && c <= '9':
			digits++
		case c == '.' && !dot:
			dot = true
		default:
			if digits == 0 {
				s.i = start
				return ""
			}
			return s.s[start:s.i]
		}
		s.i++
	}
	if digits == 0 {
		s.i = start
		return ""
	}
	return s.s[start:s.i]
}

// unit reads everything up to the next space.
func (s *scanner) unit() string {
	start := s.i
	for s.i < len(s.s) && s.s[s.i] != ' ' && s.s[s.i] != '\t' {
		s.i++
	}
	return s.s[start:s.i]
}

// Outcome is a threshold evaluated against a result.
type Outcome struct {
	Threshold string `json:"threshold"`
	// Metric is the canonical metric name, Op the operator, Bound the bound
	// and Actual the value in the metric's unit (ms for latencies, a share
	// 0..1 for rates). Actual is null when the run had nothing to measure.
	Metric string   `json:"metric"`
	Op     Op       `json:"op"`
	Bound  float64  `json:"bound"`
	Actual *float64 `json:"actual"`
	Pass   bool     `json:"pass"`
	// Message reads like "p99 = 312 ms, want < 250 ms".
	Message string `json:"message"`
	// Aborted is set on the threshold that stopped the run early.
	Aborted bool `json:"aborted"`
}

// Eval evaluates t against r. A metric with no data (a latency without
// responses, a share without requests) fails.
func (t Threshold) Eval(r *Result) Outcome {
	o := Outcome{Threshold: t.Expr, Metric: t.Metric.Name, Op: t.Op, Bound: t.Bound}
	v, err := r.Value(t.Metric)
	want := fmt.Sprintf("want %s %s", t.Op, t.Metric.FormatValue(t.Bound))
	if err != nil {
		o.Message = fmt.Sprintf("%s = n/a (%v), %s", t.Metric.Name, noDataReason(t.Metric, err), want)
		return o
	}
	o.Actual = &v
	o.Pass = t.Op.Holds(v, t.Bound)
	o.Message = fmt.Sprintf("%s = %s, %s", t.Metric.Name, t.Metric.FormatValue(v), want)
	return o
}

func noDataReason(m Metric, err error) string {
	if err != ErrNoData {
		return err.Error()
	}
	if m.Latency() {
		return "no responses"
	}
	return "no requests"
}

// EvalAll evaluates every threshold against r and reports whether all pass.
func EvalAll(ts []Threshold, r *Result) ([]Outcome, bool) {
	out := make([]Outcome, 0, len(ts))
	ok := true
	for _, t := range ts {
		o := t.Eval(r)
		ok = ok && o.Pass
		out = append(out, o)
	}
	return out, ok
}

// Live is a running view of a run's counts for deciding thresholds early.
// Every field only grows during a run, except MinNS which only shrinks.
type Live struct {
	Requests int64
	Errors   int64 // transport errors plus 4xx and 5xx
	// TransportErrors counts requests that got no response.
	TransportErrors int64
	Classes         [NumClasses]int64
	Late            int64
	// Min and max latencies (ns) of responses so far; 0 when none.
	MinNS, MaxNS               int64
	ServiceMinNS, ServiceMaxNS int64
	// Planned is how many requests the run will send if not stopped early;
	// 0 when unknown (a closed-loop run bound by time only).
	Planned int64
}

// Decided reports whether t can no longer pass whatever the rest of the run
// brings, judging from counts that only grow (or, for min, only shrink):
//
//   - requests with <, <= or ==: once more requests than the bound ended;
//   - max (and service.max) with <, <= or ==: once a larger latency was seen;
//   - min (and service.min) with >, >= or ==: once a smaller latency was seen;
//   - a share (error_rate, transport_error_rate, 1xx..5xx, late) with <, <=
//     or ==: once its count alone reaches the bound's share of the planned
//     requests; with > or >=: once the requests outside it do the same for
//     the complement. Needs a known plan (open loop, or --requests).
//
// Percentiles, mean, stdev and rps are never decided early: the rest of the
// run could always move them back.
func (t Threshold) Decided(l Live) (bool, string) {
	m := t.Metric
	switch {
	case m.Name == "requests":
		// The count only grows: once it fails its bound from above, it stays failed.
		if (t.Op == OpLT || t.Op == OpLE || t.Op == OpEQ) && !t.Op.Holds(float64(l.Requests), t.Bound) && float64(l.Requests) >= t.Bound {
			return true, fmt.Sprintf("requests = %d already, want %s %s", l.Requests, t.Op, trimFloat(t.Bound, 0))
		}
	case m.Stat == "max" || m.Stat == "min":
		v := l.MaxNS
		if m.Stat == "min" {
			v = l.MinNS
		}
		if m.Service {
			v = l.ServiceMaxNS
			if m.Stat == "min" {
				v = l.ServiceMinNS
			}
		}
		if l.Requests == 0 || (v == 0 && m.Stat == "min") {
			return false, ""
		}
		x := ms(v)
		var gone bool
		if m.Stat == "max" {
			gone = (t.Op == OpLT || t.Op == OpLE || t.Op == OpEQ) && x > t.Bound || t.Op == OpLT && x == t.Bound
		} else {
			gone = (t.Op == OpGT || t.Op == OpGE || t.Op == OpEQ) && x < t.Bound || t.Op == OpGT && x == t.Bound
		}
		if gone {
			return true, fmt.Sprintf("%s = %s already, want %s %s", m.Name, FormatMillis(x), t.Op, FormatMillis(t.Bound))
		}
	case m.Kind == KindRate && l.Planned > 0:
		n := l.count(m.Name)
		p := float64(l.Planned)
		switch t.Op {
		case OpLT, OpLE, OpEQ:
			// The final share is at least n/Planned.
			lo := float64(n) / p
			if lo > t.Bound || t.Op == OpLT && lo == t.Bound {
				return true, fmt.Sprintf("%s: %d of at most %d planned requests already (%s), want %s %s",
					m.Name, n, l.Planned, m.FormatValue(lo), t.Op, m.FormatValue(t.Bound))
			}
		case OpGT, OpGE:
			// The final share is at most 1 - (Requests-n)/Planned.
			hi := 1 - float64(l.Requests-n)/p
			if hi < t.Bound || t.Op == OpGT && hi == t.Bound {
				return true, fmt.Sprintf("%s: at most %s of %d planned requests can still reach it, want %s %s",
					m.Name, m.FormatValue(hi), l.Planned, t.Op, m.FormatValue(t.Bound))
			}
		}
	}
	return false, ""
}

// count returns the count behind a share metric.
func (l Live) count(name string) int64 {
	switch name {
	case "error_rate":
		return l.Errors
	case "transport_error_rate":
		return l.TransportErrors
	case "late":
		return l.Late
	}
	for _, c := range StatusClasses() {
		if c.String() == name {
			return l.Classes[c]
		}
	}
	return 0
}

// Decidable reports whether Decided can ever return true for t: whether the
// run can be stopped early on its account. planKnown says whether the run
// knows how many requests it will send.
func (t Threshold) Decidable(planKnown bool) bool {
	m := t.Metric
	switch {
	case m.Name == "requests":
		return t.Op == OpLT || t.Op == OpLE || t.Op == OpEQ
	case m.Stat == "max":
		return t.Op == OpLT || t.Op == OpLE || t.Op == OpEQ
	case m.Stat == "min":
		return t.Op == OpGT || t.Op == OpGE || t.Op == OpEQ
	case m.Name == "unanswered":
		// Known only once every message has had its time to be answered.
		return false
	case m.Kind == KindRate:
		return planKnown
	}
	return false
}
