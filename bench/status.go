package bench

import (
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
)

const (
	// maxStatusWeight bounds one weight so that sums cannot overflow.
	maxStatusWeight = 1_000_000_000
	// maxStatusCycle bounds the precomputed cycle: the sum of the weights
	// after dividing them by their greatest common divisor.
	maxStatusCycle = 100_000
)

// codeWeight is one entry of a status mix as written in its spec.
type codeWeight struct {
	code, weight int
}

// StatusMix is a weighted mix of HTTP status codes. The zero value always
// yields 200. Parse one with ParseStatusMix.
//
// Next interleaves the codes by smooth weighted round-robin (as nginx
// balances upstreams), so over every run of sum(weights) consecutive calls
// each code is returned exactly its weight times, and the codes are spread
// evenly rather than bunched. Copies of a StatusMix share their position in
// the sequence.
type StatusMix struct {
	entries []codeWeight
	// cycle is one period of the sequence, computed from the weights divided
	// by their greatest common divisor (the period is unchanged by that).
	cycle []uint16
	next  *atomic.Uint64
}

// ParseStatusMix parses a status mix: a single code ("200") or
// comma-separated CODE:WEIGHT entries ("200:90,404:5,500:5"). A code without
// a weight has weight 1. Codes must be final statuses, 200..599, each at most
// once; informational 1xx codes are rejected. Weights are positive integers.
// The empty string yields the zero value (always 200).
func ParseStatusMix(s string) (StatusMix, error) {
	spec := strings.TrimSpace(s)
	if spec == "" {
		return StatusMix{}, nil
	}
	parts := strings.Split(spec, ",")
	entries := make([]codeWeight, 0, len(parts))
	seen := make(map[int]bool, len(parts))
	for _, part := range parts {
		part = strings.TrimSpace(part)
		c, w, hasWeight := strings.Cut(part, ":")
		code, err := strconv.Atoi(strings.TrimSpace(c))
		if err != nil {
			return StatusMix{}, fmt.Errorf("status mix %q: entry %q: want CODE or CODE:WEIGHT: %w", s, part, err)
		}
		switch {
		case code >= 100 && code <= 199:
			return StatusMix{}, fmt.Errorf("status mix %q: code %d is informational (1xx), not a final status; want 200..599", s, code)
		case code < 200 || code > 599:
			return StatusMix{}, fmt.Errorf("status mix %q: code %d out of range 200..599", s, code)
		}
		if seen[code] {
			return StatusMix{}, fmt.Errorf("status mix %q: code %d given more than once", s, code)
		}
		seen[code] = true
		weight := 1
		if hasWeight {
			weight, err = strconv.Atoi(strings.TrimSpace(w))
			if err != nil {
				return StatusMix{}, fmt.Errorf("status mix %q: weight of %d: %w", s, code, err)
			}
			if weight < 1 || weight > maxStatusWeight {
				return StatusMix{}, fmt.Errorf("status mix %q: weight %d of code %d out of range 1..%d", s, weight, code, maxStatusWeight)
			}
		}
		entries = append(entries, codeWeight{code: code, weight: weight})
	}
	cycle, err := smoothCycle(entries)
	if err != nil {
		return StatusMix{}, fmt.Errorf("status mix %q: %w", s, err)
	}
	return StatusMix{entries: entries, cycle: cycle, next: new(atomic.Uint64)}, nil
}

// smoothCycle returns one period of the smooth weighted round-robin sequence
// for entries, with the weights divided by their greatest common divisor.
func smoothCycle(entries []codeWeight) ([]uint16, error) {
	g := 0
	for _, e := range entries {
		g = gcd(g, e.weight)
	}
	weights := make([]int64, len(entries))
	var total int64
	for i, e := range entries {
		weights[i] = int64(e.weight / g)
		total += weights[i]
	}
	if total > maxStatusCycle {
		return nil, fmt.Errorf("weights too fine-grained: they reduce to a cycle of %d responses, more than %d", total, maxStatusCycle)
	}
	cycle := make([]uint16, total)
	current := make([]int64, len(entries))
	for n := range cycle {
		best := 0
		for i, w := range weights {
			current[i] += w
			if current[i] > current[best] {
				best = i
			}
		}
		current[best] -= total
		cycle[n] = uint16(entries[best].code)
	}
	return cycle, nil
}

// gcd returns the greatest common divisor of a and b (gcd(0, b) = b).
func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// Next returns the next status code of the mix. It is safe for concurrent
// use: concurrent callers take consecutive positions of the sequence.
func (m StatusMix) Next() int {
	switch len(m.cycle) {
	case 0:
		return 200
	case 1:
		return int(m.cycle[0])
	}
	return m.at(m.next.Add(1) - 1)
}

// at returns the code at position i of the sequence.
func (m StatusMix) at(i uint64) int {
	if len(m.cycle) == 0 {
		return 200
	}
	return int(m.cycle[i%uint64(len(m.cycle))])
}

// Period returns the length of one cycle of the sequence Next produces: the
// sum of the weights divided by their greatest common divisor. Over any
// Period consecutive calls each code is returned weight/gcd times.
func (m StatusMix) Period() int {
	if len(m.cycle) == 0 {
		return 1
	}
	return len(m.cycle)
}

// String returns the mix in the form ParseStatusMix accepts, with the weights
// as given; the zero value is "200".
func (m StatusMix) String() string {
	if len(m.entries) == 0 {
		return "200"
	}
	if len(m.entries) == 1 && m.entries[0].weight == 1 {
		return strconv.Itoa(m.entries[0].code)
	}
	var b strings.Builder
	for i, e := range m.entries {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Itoa(e.code))
		b.WriteByte(':')
		b.WriteString(strconv.Itoa(e.weight))
	}
	return b.String()
}
