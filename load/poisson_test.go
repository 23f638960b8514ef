package load

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

func mustPoisson(t testing.TB, stages []Stage, rate float64, limit int64, seed uint64) *Poisson {
	t.Helper()
	p, err := NewPoisson(stages, rate, limit, seed)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestPoissonIsPure: the same seed gives the same times whatever the order
// of the calls; another seed gives other times.
func TestPoissonIsPure(t *testing.T) {
	st := []Stage{{Duration: 10 * time.Second, From: 1000, To: 1000}}
	a, b := mustPoisson(t, st, 0, 0, 42), mustPoisson(t, st, 0, 0, 42)
	c := mustPoisson(t, st, 0, 0, 43)
	seq := make([]time.Duration, 9000)
	for i := range seq {
		seq[i] = a.Offset(int64(i))
	}
	rng := rand.New(rand.NewPCG(1, 2))
	same := 0
	for range 5000 {
		i := rng.IntN(len(seq))
		if got := b.Offset(int64(i)); got != seq[i] {
			t.Fatalf("Offset(%d) = %v out of order, %v in order", i, got, seq[i])
		}
		if c.Offset(int64(i)) == seq[i] {
			same++
		}
	}
	if same > 50 {
		t.Errorf("seeds 42 and 43 agree on %d of 5000 send times", same)
	}
	for i := 1; i < len(seq); i++ {
		if seq[i] < seq[i-1] {
			t.Fatalf("Offset(%d) = %v < Offset(%d) = %v", i, seq[i], i-1, seq[i-1])
		}
	}
}

// TestPoissonStatistics checks what makes arrivals Poisson at 1000 req/s for
// 20 s: the count is 20000 ± 4σ (σ = √20000 ≈ 141), gaps are exponential
// (a share e⁻¹ ≈ 0.368 of them exceed the mean, e⁻³ ≈ 0.050 exceed three
// means) and counts per 100 ms window have variance ≈ mean (index of
// dispersion 1; an even spacing has 0).
func TestPoissonStatistics(t *testing.T) {
	const rate, secs = 1000.0, 20
	p := mustPoisson(t, []Stage{{Duration: secs * time.Second, From: rate, To: rate}}, 0, 0, 1)
	end := time.Duration(secs) * time.Second
	var n, over1, over3 int64
	windows := make([]float64, secs*10)
	prev := time.Duration(0)
	mean := time.Duration(float64(time.Second) / rate)
	for i := int64(0); ; i++ {
		o := p.Offset(i)
		if o >= end {
			break
		}
		n++
		windows[o/(100*time.Millisecond)]++
		if i > 0 {
			gap := o - prev
			if gap > mean {
				over1++
			}
			if gap > 3*mean {
				over3++
			}
		}
		prev = o
	}
	if math.Abs(float64(n)-rate*secs) > 4*math.Sqrt(rate*secs) {
		t.Errorf("%d requests in %d s at %v req/s, want %v ± %.0f", n, secs, rate, rate*secs, 4*math.Sqrt(rate*secs))
	}
	share1, share3 := float64(over1)/float64(n), float64(over3)/float64(n)
	if math.Abs(share1-math.Exp(-1)) > 0.015 {
		t.Errorf("share of gaps above the mean %.4f, want e⁻¹ = 0.368 ± 0.015", share1)
	}
	if math.Abs(share3-math.Exp(-3)) > 0.007 {
		t.Errorf("share of gaps above 3× the mean %.4f, want e⁻³ = 0.050 ± 0.007", share3)
	}
	var sum, sq float64
	for _, w := range windows {
		sum += w
	}
	m := sum / float64(len(windows))
	for _, w := range windows {
		sq += (w - m) * (w - m)
	}
	// The variance estimate from 200 windows has a relative standard error
	// of about √(2/199) ≈ 0.1.
	if d := sq / float64(len(windows)-1) / m; d < 0.6 || d > 1.4 {
		t.Errorf("index of dispersion of 100 ms counts %.2f, want about 1", d)
	}
}

// TestPoissonFollowsStages: with a ramp, counts per second follow the
// planned integral within 4σ of a Poisson count.
func TestPoissonFollowsStages(t *testing.T) {
	st, err := ParseStages("5s:0-2000,2s:2000,3s:2000-500")
	if err != nil {
		t.Fatal(err)
	}
	p := mustPoisson(t, st, 0, 0, 9)
	r := NewRamp(st)
	var idx int64
	for w := time.Duration(0); w < 10*time.Second; w += time.Second {
		n, next := countIn(p, idx, w, w+time.Second)
		idx = next
		want := r.Planned(w+time.Second) - r.Planned(w)
		if math.Abs(float64(n)-want) > 4*math.Sqrt(want)+1 {
			t.Errorf("second [%v, %v): %d requests, planned %.0f", w, w+time.Second, n, want)
		}
	}
	if o := p.Offset(idx); o < 10*time.Second {
		t.Errorf("request %d at %v: beyond the plan must be at its end", idx, o)
	}
}

func TestPoissonLimits(t *testing.T) {
	if _, err := NewPoisson(nil, 100, 0, 1); err == nil {
		t.Errorf("an unbounded constant-rate Poisson plan was accepted")
	}
	p := mustPoisson(t, nil, 100, 500, 1)
	if o := p.Offset(499); o <= 0 || o > 10*time.Second {
		t.Errorf("Offset(499) at 100 req/s = %v, want about 5 s", o)
	}
	if _, err := NewPoisson([]Stage{{Duration: 1000 * time.Hour, From: 1e6, To: 1e6}}, 0, 0, 1); err == nil {
		t.Errorf("a Poisson plan of 3.6e12 requests was accepted")
	}
}

func BenchmarkPoissonOffset(b *testing.B) {
	p := mustPoisson(b, []Stage{{Duration: 100 * time.Second, From: 10000, To: 10000}}, 0, 0, 1)
	var sink time.Duration
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		sink += p.Offset(int64(i % 1_000_000))
	}
	_ = sink
}

func BenchmarkRampOffset(b *testing.B) {
	st, _ := ParseStages("30s:0-1000,2m:1000,30s:1000-0")
	r := NewRamp(st)
	var sink time.Duration
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		sink += r.Offset(int64(i % 150_000))
	}
	_ = sink
}
