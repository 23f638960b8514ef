package stats

import (
	"errors"
	"math"
	"sort"
)

// MannWhitney is the outcome of a two-sided Mann-Whitney U test (also
// called the Wilcoxon rank-sum test).
type MannWhitney struct {
	// U is the statistic of the first sample: the number of pairs (x, y)
	// with x > y, ties counting one half.
	U      float64
	N1, N2 int
	// P is the two-sided p-value: the probability, if both samples came
	// from one distribution, of a U at least this far from its mean.
	P float64
	// Exact is true when P comes from the exact distribution of U (no ties,
	// both samples of at most MaxExact values); otherwise from the normal
	// approximation with tie and continuity corrections.
	Exact bool
}

// MaxExact is the largest sample size for which the exact distribution of
// U is computed.
const MaxExact = 50

// ErrEmptySample is returned when a sample has no values.
var ErrEmptySample = errors.New("mann-whitney: empty sample")

// MannWhitneyU tests whether x and y come from the same distribution
// against the alternative that one tends to hold larger values. It makes no
// assumption about the shape of the distributions.
//
// Without ties and with both samples of at most MaxExact values the p-value
// is exact; otherwise it uses the normal approximation
//
//	z = (|U - n1·n2/2| - 1/2) / σ,  σ² = n1·n2/12 · (N+1 - Σ(t³-t)/(N(N-1)))
//
// where t runs over the sizes of groups of tied values and N = n1+n2. When
// every value is tied, σ = 0 and P is 1.
//
// With n values per side the smallest two-sided p the test can give is
// 2/C(2n, n): 0.1 for n=3, 0.029 for n=4, 0.0079 for n=5. A difference can
// only be significant at alpha = 0.05 with at least 4 values per side.
func MannWhitneyU(x, y []float64) (MannWhitney, error) {
	n1, n2 := len(x), len(y)
	if n1 == 0 || n2 == 0 {
		return MannWhitney{}, ErrEmptySample
	}
	type obs struct {
		v     float64
		first bool
	}
	all := make([]obs, 0, n1+n2)
	for _, v := range x {
		all = append(all, obs{v, true})
	}
	for _, v := range y {
		all = append(all, obs{v, false})
	}
	sort.SliceStable(all, func(i, j int) bool { return all[i].v < all[j].v })
	// Midranks (1-based), and the tie correction term Σ(t³-t).
	var r1, ties float64
	hasTies := false
	for i := 0; i < len(all); {
		j := i + 1
		for j < len(all) && all[j].v == all[i].v {
			j++
		}
		rank := float64(i+j+1) / 2 // mean of ranks i+1 .. j
		for k := i; k < j; k++ {
			if all[k].first {
				r1 += rank
			}
		}
		if t := float64(j - i); t > 1 {
			hasTies = true
			ties += t*t*t - t
		}
		i = j
	}
	u := r1 - float64(n1)*float64(n1+1)/2
	res := MannWhitney{U: u, N1: n1, N2: n2}
	if !hasTies && n1 <= MaxExact && n2 <= MaxExact {
		res.Exact = true
		res.P = exactP(u, n1, n2)
		return res, nil
	}
	res.P = normalP(u, n1, n2, ties)
	return res, nil
}

// normalP is the two-sided p-value of U = u from the normal approximation
// with continuity correction; ties is Σ(t³-t) over groups of tied values.
func normalP(u float64, n1, n2 int, ties float64) float64 {
	N := float64(n1 + n2)
	mu := float64(n1) * float64(n2) / 2
	variance := float64(n1) * float64(n2) / 12 * ((N + 1) - ties/(N*(N-1)))
	d := math.Abs(u-mu) - 0.5
	if variance <= 0 || d <= 0 {
		return 1
	}
	return math.Min(1, math.Erfc(d/math.Sqrt(variance)/math.Sqrt2))
}

// exactP is the two-sided p-value of U = u under the null hypothesis:
// 2·min(P(U ≤ u), P(U ≥ u)), at most 1.
func exactP(u float64, n1, n2 int) float64 {
	dist := uDistribution(n1, n2)
	total := 0.0
	for _, c := range dist {
		total += c
	}
	k := int(math.Round(u))
	lo, hi := 0.0, 0.0
	for i, c := range dist {
		if i <= k {
			lo += c
		}
		if i >= k {
			hi += c
		}
	}
	return math.Min(1, 2*math.Min(lo, hi)/total)
}

// uDistribution returns, for u = 0..n1·n2, the number of orderings of n1
// x's and n2 y's in which U = u. It uses the recurrence
// f(m, n, u) = f(m-1, n, u-n) + f(m, n-1, u): the largest value is either an
// x (beating all n y's) or a y.
func uDistribution(n1, n2 int) []float64 {
	size := n1*n2 + 1
	// prev[n] holds f(m-1, n, ·), cur[n] holds f(m, n, ·).
	prev := make([][]float64, n2+1)
	cur := make([][]float64, n2+1)
	for n := range prev {
		prev[n] = make([]float64, size)
		cur[n] = make([]float64, size)
		prev[n][0] = 1 // m = 0: one ordering, U = 0
	}
	for m := 1; m <= n1; m++ {
		for n := 0; n <= n2; n++ {
			c := cur[n]
			for u := range c {
				c[u] = 0
				if u-n >= 0 {
					c[u] += prev[n][u-n]
				}
				if n > 0 {
					c[u] += cur[n-1][u]
				}
			}
		}
		prev, cur = cur, prev
	}
	return prev[n2]
}

// MinPValue is the smallest two-sided p-value a Mann-Whitney test can give
// with n1 and n2 values and no ties: 2/C(n1+n2, n1).
func MinPValue(n1, n2 int) float64 {
	// C(n1+n2, n1) as a float, product form.
	c := 1.0
	for i := 1; i <= n1; i++ {
		c = c * float64(n2+i) / float64(i)
	}
	return math.Min(1, 2/c)
}
