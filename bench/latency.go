package bench

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"
)

// latencyKind names the distribution a Latency samples from.
type latencyKind uint8

const (
	latNone latencyKind = iota
	latFixed
	latUniform
	latNormal
	latLognormal
	latExp
)

// maxDurationF is the largest duration as float64 nanoseconds; samples and
// means beyond it are clamped so that conversion to time.Duration is defined.
const maxDurationF = float64(math.MaxInt64)

// Latency is a latency distribution the server adds before answering. The
// zero value adds no latency. Latency is a small comparable value; parse one
// with ParseLatency.
type Latency struct {
	kind latencyKind
	// a and b hold the distribution's durations:
	// fixed: a; uniform: a..b; normal: mean a, stdev b; lognormal: median a;
	// exp: mean a.
	a, b time.Duration
	// sigma is the lognormal shape parameter.
	sigma float64
}

// ParseLatency parses a latency distribution:
//
//	"" or "0"            no added latency
//	"5ms"                fixed 5 ms
//	"uniform:1ms-9ms"    uniform between 1 ms and 9 ms inclusive
//	"normal:5ms,1ms"     normal with mean 5 ms and standard deviation 1 ms,
//	                     truncated at 0 (negative draws are redrawn)
//	"lognormal:2ms,0.5"  lognormal with median 2 ms and sigma 0.5
//	"exp:2ms"            exponential with mean 2 ms
//
// Durations use time.ParseDuration syntax and must not be negative.
func ParseLatency(s string) (Latency, error) {
	spec := strings.TrimSpace(s)
	if spec == "" || spec == "0" {
		return Latency{}, nil
	}
	kind, args, ok := strings.Cut(spec, ":")
	if !ok {
		d, err := parseNonNegDuration(spec)
		if err != nil {
			return Latency{}, fmt.Errorf("latency %q: %w", s, err)
		}
		if d == 0 {
			return Latency{}, nil
		}
		return Latency{kind: latFixed, a: d}, nil
	}
	switch kind {
	case "uniform":
		lo, hi, ok := strings.Cut(args, "-")
		if !ok {
			return Latency{}, fmt.Errorf("latency %q: want uniform:MIN-MAX", s)
		}
		from, err := parseNonNegDuration(lo)
		if err != nil {
			return Latency{}, fmt.Errorf("latency %q: min: %w", s, err)
		}
		to, err := parseNonNegDuration(hi)
		if err != nil {
			return Latency{}, fmt.Errorf("latency %q: max: %w", s, err)
		}
		if to < from {
			return Latency{}, fmt.Errorf("latency %q: max %v is below min %v", s, to, from)
		}
		return Latency{kind: latUniform, a: from, b: to}, nil
	case "normal":
		m, sd, ok := strings.Cut(args, ",")
		if !ok {
			return Latency{}, fmt.Errorf("latency %q: want normal:MEAN,STDEV", s)
		}
		mean, err := parseNonNegDuration(m)
		if err != nil {
			return Latency{}, fmt.Errorf("latency %q: mean: %w", s, err)
		}
		stdev, err := parseNonNegDuration(sd)
		if err != nil {
			return Latency{}, fmt.Errorf("latency %q: stdev: %w", s, err)
		}
		return Latency{kind: latNormal, a: mean, b: stdev}, nil
	case "lognormal":
		m, sg, ok := strings.Cut(args, ",")
		if !ok {
			return Latency{}, fmt.Errorf("latency %q: want lognormal:MEDIAN,SIGMA", s)
		}
		median, err := parseNonNegDuration(m)
		if err != nil {
			return Latency{}, fmt.Errorf("latency %q: median: %w", s, err)
		}
		sigma, err := strconv.ParseFloat(strings.TrimSpace(sg), 64)
		if err != nil {
			return Latency{}, fmt.Errorf("latency %q: sigma: %w", s, err)
		}
		if math.IsNaN(sigma) || math.IsInf(sigma, 0) || sigma < 0 {
			return Latency{}, fmt.Errorf("latency %q: sigma %v must be a finite number >= 0", s, sigma)
		}
		// math.Abs turns -0 into 0 so that String prints "0".
		return Latency{kind: latLognormal, a: median, sigma: math.Abs(sigma)}, nil
	case "exp":
		if strings.Contains(args, ",") {
			return Latency{}, fmt.Errorf("latency %q: want exp:MEAN", s)
		}
		mean, err := parseNonNegDuration(args)
		if err != nil {
			return Latency{}, fmt.Errorf("latency %q: mean: %w", s, err)
		}
		return Latency{kind: latExp, a: mean}, nil
	default:
		return Latency{}, fmt.Errorf("latency %q: unknown distribution %q; want DURATION, uniform:MIN-MAX, normal:MEAN,STDEV, lognormal:MEDIAN,SIGMA or exp:MEAN", s, kind)
	}
}

// parseNonNegDuration parses a time.ParseDuration string that must not be
// negative.
func parseNonNegDuration(s string) (time.Duration, error) {
	d, err := time.ParseDuration(strings.TrimSpace(s))
	if err != nil {
		return 0, err
	}
	if d < 0 {
		return 0, fmt.Errorf("duration %q is negative", s)
	}
	return d, nil
}

// String returns the spec of l in the form ParseLatency accepts; the zero
// value is "0".
func (l Latency) String() string {
	switch l.kind {
	case latFixed:
		return l.a.String()
	case latUniform:
		return "uniform:" + l.a.String() + "-" + l.b.String()
	case latNormal:
		return "normal:" + l.a.String() + "," + l.b.String()
	case latLognormal:
		return "lognormal:" + l.a.String() + "," + strconv.FormatFloat(l.sigma, 'g', -1, 64)
	case latExp:
		return "exp:" + l.a.String()
	default:
		return "0"
	}
}

// IsZero reports whether l adds no latency at all.
func (l Latency) IsZero() bool { return l.kind == latNone }

// random reports whether sampling l needs a random source.
func (l Latency) random() bool {
	switch l.kind {
	case latUniform:
		return l.b > l.a
	case latNormal:
		return l.b > 0
	case latLognormal:
		return l.sigma > 0 && l.a > 0
	case latExp:
		return l.a > 0
	default:
		return false
	}
}

// Mean returns the analytic mean of the distribution. For the truncated
// normal it is the mean of the truncated distribution, which exceeds MEAN
// when STDEV is not small against it. Means beyond the largest
// time.Duration are clamped to it.
func (l Latency) Mean() time.Duration {
	switch l.kind {
	case latFixed, latExp:
		return l.a
	case latUniform:
		return l.a + (l.b-l.a)/2
	case latNormal:
		if l.b == 0 {
			return l.a
		}
		mu, sd := float64(l.a), float64(l.b)
		alpha := mu / sd
		// E[X | X >= 0] = mu + sd * phi(alpha) / Phi(alpha) for X ~ N(mu, sd^2).
		pdf := math.Exp(-alpha*alpha/2) / math.Sqrt(2*math.Pi)
		cdf := 0.5 * math.Erfc(-alpha/math.Sqrt2)
		return clampDuration(mu + sd*pdf/cdf)
	case latLognormal:
		return clampDuration(float64(l.a) * math.Exp(l.sigma*l.sigma/2))
	default:
		return 0
	}
}

// Sample draws one latency from l using r. r may be nil when l needs no
// randomness (the zero value or a fixed latency). Samples beyond the largest
// time.Duration are clamped to it.
func (l Latency) Sample(r *rand.Rand) time.Duration {
	switch l.kind {
	case latFixed:
		return l.a
	case latUniform:
		if l.b <= l.a {
			return l.a
		}
		return l.a + time.Duration(r.Uint64N(uint64(l.b-l.a)+1))
	case latNormal:
		if l.b == 0 {
			return l.a
		}
		mu, sd := float64(l.a), float64(l.b)
		for {
			// mu >= 0, so at least half of the draws are accepted.
			if x := mu + sd*r.NormFloat64(); x >= 0 {
				return clampDuration(x)
			}
		}
	case latLognormal:
		if l.sigma == 0 || l.a == 0 {
			return l.a
		}
		return clampDuration(float64(l.a) * math.Exp(l.sigma*r.NormFloat64()))
	case latExp:
		if l.a == 0 {
			return 0
		}
		return clampDuration(float64(l.a) * r.ExpFloat64())
	default:
		return 0
	}
}

// clampDuration converts float64 nanoseconds to a Duration within
// [0, MaxInt64].
func clampDuration(ns float64) time.Duration {
	switch {
	case ns >= maxDurationF || math.IsInf(ns, 1):
		return time.Duration(math.MaxInt64)
	case ns > 0:
		return time.Duration(ns)
	default:
		return 0
	}
}
