package load

import (
	"math"
	"time"
)

// Schedule maps a request index to its intended send time, as an offset
// from the start of the run. Implementations are pure functions, safe for
// concurrent use, and non-decreasing in i.
type Schedule interface {
	Offset(i int64) time.Duration
}

// Constant sends Rate requests per second, evenly spaced: request i is due
// at i/Rate seconds.
type Constant struct{ Rate float64 }

var _ Schedule = Constant{}

// Offset returns i/Rate seconds. Integer rates are computed exactly. Offsets
// beyond the range of a time.Duration (about 292 years) are clamped to its
// maximum, so Offset stays non-decreasing for every rate and index.
func (c Constant) Offset(i int64) time.Duration {
	if c.Rate <= 0 || i <= 0 {
		return 0
	}
	if r := int64(c.Rate); float64(r) == c.Rate && r > 0 {
		q, rem := i/r, i%r
		if q >= math.MaxInt64/int64(time.Second) {
			return math.MaxInt64
		}
		return time.Duration(q*int64(time.Second) + rem*int64(time.Second)/r)
	}
	ns := math.Floor(float64(i) * 1e9 / c.Rate)
	if !(ns < math.MaxInt64) { // also catches +Inf and NaN
		return math.MaxInt64
	}
	return time.Duration(ns)
}

// Count returns how many requests Constant schedules in [0, d): the i with
// Offset(i) < d.
func (c Constant) Count(d time.Duration) int64 {
	if c.Rate <= 0 {
		return 0
	}
	n := int64(math.Ceil(d.Seconds() * c.Rate))
	for n > 0 && c.Offset(n-1) >= d {
		n--
	}
	for c.Offset(n) < d {
		n++
	}
	return n
}
