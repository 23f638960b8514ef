package stats

import (
	"math"
	"testing"
)

func nearAbs(a, b, tol float64) bool { return math.Abs(a-b) <= tol }

// TestMannWhitneyTextbook checks the test against published values.
func TestMannWhitneyTextbook(t *testing.T) {
	// R's ?wilcox.test example (Hollander & Wolfe 1973, p. 69): W = 35 and
	// the one-sided exact p-value 0.1272, so the two-sided one is 0.2544.
	x := []float64{0.80, 0.83, 1.89, 1.04, 1.45, 1.38, 1.91, 1.64, 0.73, 1.46}
	y := []float64{1.15, 0.88, 0.90, 0.74, 1.21}
	r, err := MannWhitneyU(x, y)
	if err != nil {
		t.Fatal(err)
	}
	if r.U != 35 || !r.Exact || !nearAbs(r.P, 2*0.1272, 0.0002) {
		t.Errorf("R example: U=%v exact=%v p=%.5f, want U=35 exact p=0.2544", r.U, r.Exact, r.P)
	}

	// SciPy's mannwhitneyu example: males vs females, U = 17, exact
	// two-sided p = 0.1111, asymptotic (continuity-corrected) p = 0.11134688653314041.
	males := []float64{19, 22, 16, 29, 24}
	females := []float64{20, 11, 17, 12}
	r, _ = MannWhitneyU(males, females)
	if r.U != 17 || !r.Exact || !nearAbs(r.P, 1.0/9, 1e-12) {
		t.Errorf("SciPy example: U=%v exact=%v p=%v, want U=17 exact p=0.1111", r.U, r.Exact, r.P)
	}
	if p := normalP(17, 5, 4, 0); !nearAbs(p, 0.11134688653314041, 1e-12) {
		t.Errorf("SciPy example, normal approximation: p=%.17g, want 0.11134688653314041", p)
	}

	// Critical values for n1 = n2 = 5 at alpha = 0.05 (two-sided): U <= 2
	// is significant, U = 3 is not. P(U<=2) = 4/252, P(U<=3) = 7/252.
	a := []float64{1, 2, 3, 6, 7}
	b := []float64{4, 5, 8, 9, 10}
	r, _ = MannWhitneyU(a, b)
	// a beats b in (6,4) (6,5) (7,4) (7,5): U = 4, P(U<=4) = 12/252.
	if r.U != 4 || !nearAbs(r.P, 2*12.0/252, 1e-12) {
		t.Errorf("5+5, U=4: got U=%v p=%v, want p=%v", r.U, r.P, 2*12.0/252)
	}
	for u, want := range map[int]float64{0: 2 * 1.0 / 252, 1: 2 * 2.0 / 252, 2: 2 * 4.0 / 252, 3: 2 * 7.0 / 252} {
		if p := exactP(float64(u), 5, 5); !nearAbs(p, want, 1e-12) {
			t.Errorf("5+5 exact p at U=%d: %v, want %v", u, p, want)
		}
	}
	if exactP(2, 5, 5) >= 0.05 || exactP(3, 5, 5) < 0.05 {
		t.Error("5+5: the 0.05 critical value is not U=2")
	}
	// n1 = n2 = 8: the 0.05 critical value is U = 13.
	if exactP(13, 8, 8) >= 0.05 || exactP(14, 8, 8) < 0.05 {
		t.Errorf("8+8: p(13)=%v p(14)=%v, want the 0.05 critical value at U=13", exactP(13, 8, 8), exactP(14, 8, 8))
	}
}

// TestMannWhitneyTies checks the normal approximation with tie correction
// against a value computed by hand:
//
//	x = 1 2 2 3, y = 2 3 3 4; midranks: 1→1, 2→3, 3→6, 4→8
//	R1 = 1+3+3+6 = 13, U = 13 - 10 = 3, mean 8
//	σ² = 16/12 · (9 - (2·(3³-3))/(8·7)) = 10.857142857
//	z = (|3-8| - 0.5)/σ = 1.3656980, p = erfc(z/√2) = 0.17204
func TestMannWhitneyTies(t *testing.T) {
	r, err := MannWhitneyU([]float64{1, 2, 2, 3}, []float64{2, 3, 3, 4})
	if err != nil {
		t.Fatal(err)
	}
	if r.Exact || r.U != 3 || !nearAbs(r.P, 0.17204, 5e-5) {
		t.Errorf("ties: U=%v exact=%v p=%.5f, want U=3 normal p=0.17204", r.U, r.Exact, r.P)
	}
	// All values equal: no evidence of a difference.
	r, _ = MannWhitneyU([]float64{0, 0, 0}, []float64{0, 0, 0, 0})
	if r.P != 1 {
		t.Errorf("all tied: p=%v, want 1", r.P)
	}
	if _, err := MannWhitneyU(nil, []float64{1}); err == nil {
		t.Error("empty sample: no error")
	}
}

// TestMinPValue verifies the repetition counts the documentation gives: with
// n runs per side the smallest two-sided p is 2/C(2n,n).
func TestMinPValue(t *testing.T) {
	for n, want := range map[int]float64{2: 1.0 / 3, 3: 0.1, 4: 2.0 / 70, 5: 2.0 / 252, 6: 2.0 / 924} {
		if got := MinPValue(n, n); !nearAbs(got, want, 1e-12) {
			t.Errorf("MinPValue(%d,%d) = %v, want %v", n, n, got, want)
		}
		// Completely separated samples reach it.
		var x, y []float64
		for i := range n {
			x = append(x, float64(i))
			y = append(y, float64(100+i))
		}
		r, _ := MannWhitneyU(x, y)
		if !nearAbs(r.P, want, 1e-12) {
			t.Errorf("n=%d separated samples: p=%v, want %v", n, r.P, want)
		}
	}
	if !nearAbs(MinPValue(3, 3), 0.1, 1e-12) || !(MinPValue(4, 4) < 0.05) || !(MinPValue(3, 3) > 0.05) {
		t.Error("4 runs per side are the fewest that can be significant at 0.05")
	}
	if got := MinPValue(4, 4); !nearAbs(got, 0.0286, 1e-4) {
		t.Errorf("n=4: %v, want 0.029", got)
	}
	if got := MinPValue(5, 5); !nearAbs(got, 0.0079, 1e-4) {
		t.Errorf("n=5: %v, want 0.0079", got)
	}
}

// TestExactMatchesNormalForLargeSamples: the two computations agree where
// both apply.
func TestExactMatchesNormalForLargeSamples(t *testing.T) {
	var x, y []float64
	for i := range 40 {
		x = append(x, float64(i)*1.7)
		y = append(y, float64(i)*1.7+9.35)
	}
	r, _ := MannWhitneyU(x, y)
	if !r.Exact {
		t.Fatal("40+40 without ties: want the exact test")
	}
	if p := normalP(r.U, 40, 40, 0); !nearAbs(p, r.P, 0.005) {
		t.Errorf("exact p %v, normal p %v: too far apart", r.P, p)
	}
}
