package request

import (
	"math/bits"
	"volley/load/field"
)

// picker chooses the target of request i. It is a pure function of i (and
// the seed), so a run's mix does not depend on timing or on which worker
// sends which request. It is safe for concurrent use.
type picker struct {
	// table lists target indexes, each as often as its reduced weight,
	// interleaved by smooth weighted round robin.
	table  []uint32
	random bool
	seed   uint64
}

// newPicker builds the interleaving table for weights. With random set,
// request i picks a uniformly random table entry instead of entry i mod
// len(table), so the weights hold in expectation rather than exactly.
func newPicker(weights []int, random bool, seed uint64) (picker, error) {
	g := 0
	for _, w := range weights {
		g = gcd(g, w)
	}
	total := 0
	reduced := make([]int, len(weights))
	for i, w := range weights {
		reduced[i] = w / g
		total += reduced[i]
		if total > MaxTotalWeight {
			return picker{}, field.Errorf("Targets", "weights: sum of weights %d (after dividing by their common divisor) exceeds %d", total, MaxTotalWeight)
		}
	}
	p := picker{table: make([]uint32, 0, total), random: random, seed: seed}
	if len(weights) == 1 {
		p.table = append(p.table, 0)
		return p, nil
	}
	// Smooth weighted round robin: every step each target gains its weight,
	// the richest is picked and pays the total. Over one period each target
	// is picked exactly its weight's number of times, spread out evenly.
	current := make([]int, len(reduced))
	for range total {
		best := 0
		for i, w := range reduced {
			current[i] += w
			if current[i] > current[best] {
				best = i
			}
		}
		current[best] -= total
		p.table = append(p.table, uint32(best))
	}
	return p, nil
}

// pick returns the target index of request i.
func (p *picker) pick(i int64) int {
	n := uint64(len(p.table))
	if n == 1 {
		return 0
	}
	if p.random {
		return int(p.table[below(mix(p.seed, uint64(i), saltPick), n)])
	}
	return int(p.table[uint64(i)%n])
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// Salts keep the random streams of different uses independent.
const (
	saltPick uint64 = 0x6a09e667f3bcc908
	saltRow  uint64 = 0xbb67ae8584caa73b
	saltUUID uint64 = 0x3c6ef372fe94f82b
	saltRand uint64 = 0xa54ff53a5f1d36f1
)

// mix hashes (seed, i, salt) to 64 well-mixed bits (SplitMix64's finalizer).
// For a fixed seed and salt it is a bijection of i.
func mix(seed, i, salt uint64) uint64 {
	z := seed + salt + i*0x9e3779b97f4a7c15
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// below maps h uniformly (to within 2^-64) onto [0, n).
func below(h, n uint64) uint64 {
	hi, _ := bits.Mul64(h, n)
	return hi
}
