package load

import (
	"errors"
	"math"
	"time"
)

// poissonBlock is how many gaps one entry of a Poisson schedule's table
// covers: memory is 8 bytes per poissonBlock planned requests, and finding
// one send time sums at most poissonBlock-1 gaps.
const poissonBlock = 32

// maxPoissonRequests bounds the requests a Poisson schedule plans for, and so
// its table: 2²⁸ requests (an hour at 74000 req/s) take 64 MiB and about
// three seconds to prepare.
const maxPoissonRequests = 1 << 28

// ErrPoissonTooLong is returned for a Poisson plan of more than 2²⁸ requests.
var ErrPoissonTooLong = errors.New("arrival poisson: at most 268435456 planned requests (an hour at 74000 req/s)")

// Poisson is an open-loop schedule whose gaps between requests are
// exponentially distributed: the arrivals of many independent users, at the
// same mean rate as the stages (or constant rate) it follows.
//
// Gap j, in units of "planned requests", is e_j = -ln(u_j) with u_j in (0, 1]
// taken from a counter-based hash of (seed, j), so it depends on nothing but
// the seed and j. Request i is due when the planned cumulative count N(t)
// reaches S_i = e_0 + … + e_i (a unit-rate Poisson process mapped through the
// inverse of N: a Poisson process whose intensity is the planned rate). A
// table holds S at every 32nd request, computed once by NewPoisson, so
// Offset(i) adds at most 31 gaps to a table entry: it is a pure function of
// i, safe for concurrent use, allocates nothing, and the same seed gives the
// same send times on every run.
type Poisson struct {
	p    profile
	key  uint64
	base []float64 // base[k] = e_0 + … + e_(k·poissonBlock-1)
	stop int64     // requests from this index on are past the end
}

var _ Schedule = (*Poisson)(nil)

// NewPoisson returns the Poisson schedule of stages (rates in requests per
// second) with seed. limit, when positive, is the most requests the run
// sends; with no stages, rate is a constant rate and limit is required.
func NewPoisson(stages []Stage, rate float64, limit int64, seed uint64) (*Poisson, error) {
	ps := &Poisson{key: mix64(seed ^ 0x5eed5eed5eed5eed)}
	if len(stages) > 0 {
		ps.p = newProfile(stages)
	} else {
		ps.p = openProfile(rate)
	}
	horizon := ps.p.total // planned requests in unit time
	n := int64(math.MaxInt64)
	if limit > 0 {
		n = limit
	}
	if math.IsInf(horizon, 1) && limit <= 0 {
		return nil, errors.New("arrival poisson: needs a duration or a request count")
	}
	// S_i has mean i+1 and standard deviation √(i+1): the table must reach
	// past the horizon, which takes about horizon + 6√horizon gaps.
	if !math.IsInf(horizon, 1) && horizon+6*math.Sqrt(horizon)+64 > maxPoissonRequests {
		return nil, ErrPoissonTooLong
	}
	if n > maxPoissonRequests && math.IsInf(horizon, 1) {
		return nil, ErrPoissonTooLong
	}
	var s float64
	ps.base = make([]float64, 0, 64)
	for i := int64(0); ; i++ {
		if i%poissonBlock == 0 {
			ps.base = append(ps.base, s)
		}
		s += ps.gap(i)
		if s >= horizon || i+1 >= n {
			ps.stop = i + 1
			if s >= horizon {
				ps.stop = i // request i itself falls beyond the end
			}
			break
		}
	}
	return ps, nil
}

// gap returns e_j, an exponential variate of mean 1.
func (ps *Poisson) gap(j int64) float64 {
	u := float64(mix64(ps.key+uint64(j)*0x9e3779b97f4a7c15)>>11+1) * (1.0 / (1 << 53))
	return -math.Log(u)
}

// Offset returns the intended send time of request i.
func (ps *Poisson) Offset(i int64) time.Duration {
	if i >= ps.stop || i < 0 {
		return ps.p.end
	}
	k := i / poissonBlock
	s := ps.base[k]
	for j := k * poissonBlock; j <= i; j++ {
		s += ps.gap(j)
	}
	return ps.p.at(s)
}

// Planned returns N(d): how many requests the plan expects in [0, d).
func (ps *Poisson) Planned(d time.Duration) float64 { return ps.p.count(d) }

// mix64 is SplitMix64's finalizer: a bijection of 64-bit words whose output
// bits each depend on every input bit.
func mix64(z uint64) uint64 {
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}
