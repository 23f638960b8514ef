package load

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Stage is one segment of a load shape. For Duration, the value goes
// linearly from From to To: requests per second in an open-loop run, active
// connections in a closed-loop one. From == To holds it constant.
type Stage struct {
	Duration time.Duration
	From, To float64
}

// String formats the stage as ParseStages reads it: "30s:0-1000" or "2m:1000".
func (s Stage) String() string {
	if s.From == s.To {
		return fmt.Sprintf("%v:%s", s.Duration, fmtNum(s.From))
	}
	return fmt.Sprintf("%v:%s-%s", s.Duration, fmtNum(s.From), fmtNum(s.To))
}

func fmtNum(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

// maxStages bounds the number of stages of one plan.
const maxStages = 1000

// ParseStages parses a comma-separated list of stages, each "DURATION:RATE"
// (constant) or "DURATION:FROM-TO" (linear ramp), e.g.
// "30s:0-1000,2m:1000,30s:1000-0". Errors name the stage at fault.
func ParseStages(s string) ([]Stage, error) {
	if strings.TrimSpace(s) == "" {
		return nil, errors.New("empty: want DURATION:RATE or DURATION:FROM-TO, comma-separated")
	}
	parts := strings.Split(s, ",")
	if len(parts) > maxStages {
		return nil, fmt.Errorf("%d stages: at most %d", len(parts), maxStages)
	}
	stages := make([]Stage, 0, len(parts))
	for k, part := range parts {
		st, err := parseStage(strings.TrimSpace(part))
		if err != nil {
			if len(parts) > 1 {
				return nil, fmt.Errorf("stage %d %q: %w", k+1, strings.TrimSpace(part), err)
			}
			return nil, err
		}
		stages = append(stages, st)
	}
	return stages, nil
}

func parseStage(s string) (Stage, error) {
	ds, rs, ok := strings.Cut(s, ":")
	if !ok {
		return Stage{}, errors.New("want DURATION:RATE or DURATION:FROM-TO, e.g. 30s:0-1000")
	}
	d, err := time.ParseDuration(strings.TrimSpace(ds))
	if err != nil {
		return Stage{}, fmt.Errorf("duration %q: want e.g. 500ms, 30s, 2m", ds)
	}
	if d <= 0 {
		return Stage{}, fmt.Errorf("duration %q: must be positive", ds)
	}
	if v := strings.TrimSpace(rs); strings.HasPrefix(v, "-") {
		return Stage{}, fmt.Errorf("value %q: must not be negative", v)
	}
	from, to, ramp := strings.Cut(rs, "-")
	a, err := parseStageValue(from)
	if err != nil {
		return Stage{}, err
	}
	b := a
	if ramp {
		if b, err = parseStageValue(to); err != nil {
			return Stage{}, err
		}
	}
	return Stage{Duration: d, From: a, To: b}, nil
}

func parseStageValue(s string) (float64, error) {
	s = strings.TrimSpace(s)
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, fmt.Errorf("value %q: want a number, e.g. 1000 or 0-1000", s)
	}
	if v < 0 {
		return 0, fmt.Errorf("value %q: must not be negative", s)
	}
	return v, nil
}

// StagesDuration is the stages' total length.
func StagesDuration(stages []Stage) time.Duration {
	var d time.Duration
	for _, s := range stages {
		d += s.Duration
	}
	return d
}

// checkStages validates stages for an open-loop (rates) or closed-loop
// (connection counts) plan.
func checkStages(stages []Stage, conns bool) error {
	if len(stages) > maxStages {
		return fmt.Errorf("stages: %d, at most %d", len(stages), maxStages)
	}
	var total float64
	var d time.Duration
	for k, s := range stages {
		if s.Duration <= 0 {
			return fmt.Errorf("stages: stage %d %q: duration must be positive", k+1, s)
		}
		if d += s.Duration; d > 1000*time.Hour {
			return errors.New("stages: at most 1000h in all")
		}
		for _, v := range []float64{s.From, s.To} {
			switch {
			case v < 0 || math.IsNaN(v) || math.IsInf(v, 0):
				return fmt.Errorf("stages: stage %d %q: values must be finite and not negative", k+1, s)
			case conns && v != math.Trunc(v):
				return fmt.Errorf("stages: stage %d %q: connection counts must be whole numbers", k+1, s)
			case conns && v > 100_000:
				return fmt.Errorf("stages: stage %d %q: at most 100000 connections", k+1, s)
			case !conns && v > 10_000_000:
				return fmt.Errorf("stages: stage %d %q: at most 10000000 requests per second", k+1, s)
			}
		}
		total += (s.From + s.To) / 2 * s.Duration.Seconds()
	}
	if total == 0 {
		if conns {
			return errors.New("stages: every stage has 0 connections: nothing would be sent")
		}
		return errors.New("stages: every stage has rate 0: nothing would be sent")
	}
	return nil
}

// segment is one stage of a profile, precomputed for inversion.
type segment struct {
	start, end time.Duration // offsets from the start of the run
	secs       float64       // length in seconds; +Inf for an open-ended one
	a, b       float64       // rate at its start (1/s) and slope (1/s²)
	cum        float64       // planned requests before it
	n          float64       // planned requests in it
}

// profile is a piecewise-linear rate r(t). Its cumulative count
// N(t) = ∫₀ᵗ r is what the schedules invert: the request numbered u (a real
// number of "planned requests") is due at the t with N(t) = u.
type profile struct {
	segs  []segment
	total float64       // N at the end; +Inf when open-ended
	end   time.Duration // the profile's length
}

func newProfile(stages []Stage) profile {
	p := profile{segs: make([]segment, 0, len(stages))}
	var t time.Duration
	for _, s := range stages {
		secs := s.Duration.Seconds()
		sg := segment{
			start: t, end: t + s.Duration, secs: secs,
			a: s.From, b: (s.To - s.From) / secs, cum: p.total,
			n: (s.From + s.To) / 2 * secs,
		}
		p.segs = append(p.segs, sg)
		p.total += sg.n
		t += s.Duration
	}
	p.end = t
	return p
}

// openProfile is a constant rate without an end (a count-bounded run).
func openProfile(rate float64) profile {
	return profile{
		segs:  []segment{{end: math.MaxInt64, secs: math.Inf(1), a: rate, n: math.Inf(1)}},
		total: math.Inf(1), end: math.MaxInt64,
	}
}

// at returns when the cumulative count reaches u: the t with N(t) = u. For
// u at or beyond the total it returns the end. It allocates nothing.
func (p *profile) at(u float64) time.Duration {
	if !(u < p.total) {
		return p.end
	}
	if u <= 0 {
		u = 0
	}
	// The first segment whose end count exceeds u; segments with no
	// requests (rate 0) are passed over because their end equals their start.
	lo, hi := 0, len(p.segs)-1
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if s := &p.segs[mid]; s.cum+s.n > u {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	s := &p.segs[lo]
	t := solveRamp(s.a, s.b, u-s.cum)
	if t > s.secs {
		t = s.secs
	}
	off := s.start + time.Duration(t*1e9)
	return min(off, s.end)
}

// solveRamp returns the t ≥ 0 with a·t + b·t²/2 = n, for a ramp r(t) = a + b·t
// whose cumulative count reaches n. It uses t = 2n / (a + √(a² + 2bn)), the
// form of the quadratic formula that does not subtract nearly equal numbers:
// it stays exact to rounding for b → 0 (where it becomes n/a) and for a → 0
// (where it becomes √(2n/b)).
func solveRamp(a, b, n float64) float64 {
	if n <= 0 {
		return 0
	}
	disc := a*a + 2*b*n
	if disc < 0 { // beyond the peak of a falling ramp: only by rounding
		disc = 0
	}
	den := a + math.Sqrt(disc)
	if den <= 0 {
		return 0
	}
	return 2 * n / den
}

// count returns N(t), the planned number of requests in [0, t).
func (p *profile) count(t time.Duration) float64 {
	var n float64
	for i := range p.segs {
		s := &p.segs[i]
		if t <= s.start {
			break
		}
		if t >= s.end {
			n += s.n
			continue
		}
		x := (t - s.start).Seconds()
		n += s.a*x + s.b*x*x/2
	}
	return n
}

// rate returns r(t), the planned rate at t.
func (p *profile) rate(t time.Duration) float64 {
	for i := range p.segs {
		s := &p.segs[i]
		if t >= s.start && t < s.end {
			return s.a + s.b*(t-s.start).Seconds()
		}
	}
	return 0
}

// Ramp is the open-loop schedule of a list of stages: request i is due at
// the time the planned cumulative count N(t) = ∫ r reaches i, so the send
// times follow the integral of the rate exactly, through ramps and holds.
// It is a pure function of i, safe for concurrent use.
type Ramp struct{ p profile }

var _ Schedule = Ramp{}

// NewRamp returns the schedule of stages (rates in requests per second).
func NewRamp(stages []Stage) Ramp { return Ramp{p: newProfile(stages)} }

// Offset returns the intended send time of request i. Requests beyond the
// stages' total are due at the end, which the engine does not send.
func (r Ramp) Offset(i int64) time.Duration { return r.p.at(float64(i)) }

// Planned returns N(d): how many requests the stages plan in [0, d).
func (r Ramp) Planned(d time.Duration) float64 { return r.p.count(d) }

// RateAt returns the planned rate at d.
func (r Ramp) RateAt(d time.Duration) float64 { return r.p.rate(d) }

// Duration returns the stages' total length.
func (r Ramp) Duration() time.Duration { return r.p.end }
