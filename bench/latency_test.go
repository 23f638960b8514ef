package bench

import (
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestParseLatency(t *testing.T) {
	tests := []struct {
		spec     string
		wantStr  string
		wantMean time.Duration
	}{
		{"", "0", 0},
		{"0", "0", 0},
		{"0s", "0", 0},
		{"5ms", "5ms", 5 * time.Millisecond},
		{" 1.5s ", "1.5s", 1500 * time.Millisecond},
		{"uniform:1ms-9ms", "uniform:1ms-9ms", 5 * time.Millisecond},
		{"uniform:0s-10ms", "uniform:0s-10ms", 5 * time.Millisecond},
		{"uniform:3ms-3ms", "uniform:3ms-3ms", 3 * time.Millisecond},
		{"normal:5ms,0s", "normal:5ms,0s", 5 * time.Millisecond},
		{"normal: 5ms , 1ms", "normal:5ms,1ms", 5 * time.Millisecond},
		{"lognormal:2ms,0", "lognormal:2ms,0", 2 * time.Millisecond},
		{"lognormal:2ms,0.5", "lognormal:2ms,0.5", time.Duration(2e6 * math.Exp(0.125))},
		{"exp:2ms", "exp:2ms", 2 * time.Millisecond},
		{"exp:0s", "exp:0s", 0},
	}
	for _, tc := range tests {
		l, err := ParseLatency(tc.spec)
		if err != nil {
			t.Errorf("ParseLatency(%q): %v", tc.spec, err)
			continue
		}
		if got := l.String(); got != tc.wantStr {
			t.Errorf("ParseLatency(%q).String() = %q, want %q", tc.spec, got, tc.wantStr)
		}
		// Truncation at 0 moves the mean of normal:5ms,1ms by 1.5ns.
		if got := l.Mean(); got < tc.wantMean || got > tc.wantMean+2 {
			t.Errorf("ParseLatency(%q).Mean() = %v, want %v", tc.spec, got, tc.wantMean)
		}
	}
}

func TestParseLatencyErrors(t *testing.T) {
	tests := []struct {
		spec string
		want string // substring of the error
	}{
		{"5", `latency "5": time: missing unit`},
		{"-5ms", `latency "-5ms": duration "-5ms" is negative`},
		{"fast", `latency "fast"`},
		{"normal:5ms", `latency "normal:5ms": want normal:MEAN,STDEV`},
		{"normal:5ms,-1ms", `latency "normal:5ms,-1ms": stdev: duration "-1ms" is negative`},
		{"normal:x,1ms", `latency "normal:x,1ms": mean:`},
		{"uniform:9ms", `latency "uniform:9ms": want uniform:MIN-MAX`},
		{"uniform:9ms-1ms", `latency "uniform:9ms-1ms": max 1ms is below min 9ms`},
		{"uniform:1ms--2ms", `latency "uniform:1ms--2ms": max: duration "-2ms" is negative`},
		{"lognormal:2ms", `latency "lognormal:2ms": want lognormal:MEDIAN,SIGMA`},
		{"lognormal:2ms,-1", `latency "lognormal:2ms,-1": sigma -1 must be a finite number >= 0`},
		{"lognormal:2ms,NaN", `latency "lognormal:2ms,NaN": sigma NaN`},
		{"lognormal:2ms,x", `latency "lognormal:2ms,x": sigma:`},
		{"exp:2ms,1ms", `latency "exp:2ms,1ms": want exp:MEAN`},
		{"exp:", `latency "exp:": mean:`},
		{"pareto:1ms", `latency "pareto:1ms": unknown distribution "pareto"`},
	}
	for _, tc := range tests {
		_, err := ParseLatency(tc.spec)
		if err == nil {
			t.Errorf("ParseLatency(%q) succeeded, want error containing %q", tc.spec, tc.want)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseLatency(%q) error = %q, want it to contain %q", tc.spec, err, tc.want)
		}
	}
}

// stdNormalCDF is the standard normal distribution function.
func stdNormalCDF(z float64) float64 { return 0.5 * math.Erfc(-z/math.Sqrt2) }

// TestLatencySampleDistribution draws 20000 samples of each distribution and
// checks the sample mean against Mean and the sample quantiles against the
// analytic distribution function.
func TestLatencySampleDistribution(t *testing.T) {
	const n = 20000
	ms := float64(time.Millisecond)
	tests := []struct {
		spec string
		cdf  func(x float64) float64 // x in nanoseconds
	}{
		{"uniform:1ms-9ms", func(x float64) float64 { return (x - 1*ms) / (8 * ms) }},
		{"normal:5ms,1ms", func(x float64) float64 { return stdNormalCDF((x - 5*ms) / ms) }},
		{"normal:1ms,1ms", func(x float64) float64 {
			// Normal(1ms, 1ms) conditioned on x >= 0.
			lo := stdNormalCDF(-1)
			return (stdNormalCDF((x-ms)/ms) - lo) / (1 - lo)
		}},
		{"lognormal:2ms,0.5", func(x float64) float64 { return stdNormalCDF(math.Log(x/(2*ms)) / 0.5) }},
		{"exp:2ms", func(x float64) float64 { return 1 - math.Exp(-x/(2*ms)) }},
	}
	for _, tc := range tests {
		t.Run(tc.spec, func(t *testing.T) {
			l, err := ParseLatency(tc.spec)
			if err != nil {
				t.Fatal(err)
			}
			r := rand.New(rand.NewPCG(1, 2))
			samples := make([]float64, n)
			var sum float64
			for i := range samples {
				d := l.Sample(r)
				if d < 0 {
					t.Fatalf("sample %v is negative", d)
				}
				samples[i] = float64(d)
				sum += samples[i]
			}
			mean := sum / n
			if want := float64(l.Mean()); math.Abs(mean-want) > 0.03*want {
				t.Errorf("sample mean %v, want %v within 3%%", time.Duration(mean), time.Duration(want))
			}
			slices.Sort(samples)
			for _, q := range []float64{0.1, 0.5, 0.9, 0.99} {
				x := samples[int(q*n)]
				if got := tc.cdf(x); math.Abs(got-q) > 0.015 {
					t.Errorf("sample p%v = %v has analytic CDF %.4f, want %.4f ± 0.015",
						q*100, time.Duration(x), got, q)
				}
			}
		})
	}
}

func TestLatencySampleBounds(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	l, err := ParseLatency("uniform:2ms-3ms")
	if err != nil {
		t.Fatal(err)
	}
	for range 10000 {
		if d := l.Sample(r); d < 2*time.Millisecond || d > 3*time.Millisecond {
			t.Fatalf("uniform:2ms-3ms sample %v out of range", d)
		}
	}
	// Fixed and zero latencies need no random source.
	if d := (Latency{}).Sample(nil); d != 0 {
		t.Errorf("zero Latency sample = %v, want 0", d)
	}
	fixed, err := ParseLatency("7ms")
	if err != nil {
		t.Fatal(err)
	}
	if d := fixed.Sample(nil); d != 7*time.Millisecond {
		t.Errorf("fixed 7ms sample = %v, want 7ms", d)
	}
	// A huge sigma must clamp, not overflow into negative durations.
	wild, err := ParseLatency("lognormal:1h,500")
	if err != nil {
		t.Fatal(err)
	}
	for range 1000 {
		if d := wild.Sample(r); d < 0 {
			t.Fatalf("lognormal:1h,500 sample %v is negative", d)
		}
	}
	if m := wild.Mean(); m != time.Duration(math.MaxInt64) {
		t.Errorf("lognormal:1h,500 mean = %v, want clamped to the largest duration", m)
	}
}

func TestSeededSamplesRepeat(t *testing.T) {
	l, err := ParseLatency("exp:2ms")
	if err != nil {
		t.Fatal(err)
	}
	a, b := rand.New(rand.NewPCG(9, 1)), rand.New(rand.NewPCG(9, 1))
	for i := range 100 {
		if x, y := l.Sample(a), l.Sample(b); x != y {
			t.Fatalf("sample %d differs between equally seeded sources: %v vs %v", i, x, y)
		}
	}
}
