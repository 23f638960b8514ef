package load

import (
	"math"
	"strings"
	"testing"
	"time"
	"volley/internal/race"
	"volley/load/request"
)

func TestParseStages(t *testing.T) {
	got, err := ParseStages("30s:0-1000, 2m:1000,30s:1000-0,500ms:2.5")
	if err != nil {
		t.Fatal(err)
	}
	want := []Stage{
		{30 * time.Second, 0, 1000}, {2 * time.Minute, 1000, 1000},
		{30 * time.Second, 1000, 0}, {500 * time.Millisecond, 2.5, 2.5},
	}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("stage %d = %+v, want %+v", i+1, got[i], want[i])
		}
	}
	if s := got[0].String() + "," + got[1].String(); s != "30s:0-1000,2m0s:1000" {
		t.Errorf("String() = %q", s)
	}
	for _, tc := range []struct{ in, want string }{
		{"", "empty"},
		{"30s:abc", `value "abc": want a number`},
		{"30s", "want DURATION:RATE"},
		{"xs:10", `duration "xs"`},
		{"0s:10", "must be positive"},
		{"-1s:10", "must be positive"},
		{"10s:-5", "must not be negative"},
		{"10s:5-", `value "": want a number`},
		{"10s:NaN", "want a number"},
		{"1s:10,2s:x", `stage 2 "2s:x": value "x"`},
	} {
		_, err := ParseStages(tc.in)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseStages(%q) = %v, want an error containing %q", tc.in, err, tc.want)
		}
	}
}

// countIn counts the requests a schedule puts in [t1, t2), scanning from
// index from; it returns the count and the first index at or after t2.
func countIn(s Schedule, from int64, t1, t2 time.Duration) (int64, int64) {
	var n int64
	i := from
	for ; ; i++ {
		o := s.Offset(i)
		if o >= t2 {
			break
		}
		if o >= t1 {
			n++
		}
	}
	return n, i
}

// TestRampFollowsIntegral checks a ramp-hold-ramp-pause-hold plan window by
// window against the analytic cumulative count N(t): request i is due at
// N⁻¹(i), so exactly ⌈N(t2)⌉ - ⌈N(t1)⌉ requests fall in [t1, t2).
func TestRampFollowsIntegral(t *testing.T) {
	stages, err := ParseStages("2s:0-1000,1s:1000,1s:1000-0,500ms:0,1s:333")
	if err != nil {
		t.Fatal(err)
	}
	r := NewRamp(stages)
	// N(t), written out piece by piece.
	N := func(t float64) float64 {
		switch {
		case t < 2:
			return 250 * t * t // ∫ 500 t
		case t < 3:
			return 1000 + 1000*(t-2)
		case t < 4:
			x := t - 3
			return 2000 + 1000*x - 500*x*x
		case t < 4.5:
			return 2500
		default:
			return 2500 + 333*math.Min(t-4.5, 1)
		}
	}
	if got := r.Duration(); got != 5500*time.Millisecond {
		t.Fatalf("Duration() = %v, want 5.5s", got)
	}
	var idx int64
	total := int64(0)
	for w := time.Duration(0); w < r.Duration(); w += 100 * time.Millisecond {
		n, next := countIn(r, idx, w, w+100*time.Millisecond)
		idx = next
		total += n
		want := int64(math.Ceil(N((w+100*time.Millisecond).Seconds())-1e-9) - math.Ceil(N(w.Seconds())-1e-9))
		if n != want {
			t.Errorf("window [%v, %v): %d requests, want %d", w, w+100*time.Millisecond, n, want)
		}
		if p := r.Planned(w); math.Abs(p-N(w.Seconds())) > 1e-6 {
			t.Errorf("Planned(%v) = %v, want %v", w, p, N(w.Seconds()))
		}
	}
	if total != 2833 {
		t.Errorf("plan sends %d requests, want ⌈N(5.5 s)⌉ = 2833", total)
	}
	// Exact points of the closed form: N(t) = 250 t² on the first ramp.
	for _, tc := range []struct {
		i    int64
		want time.Duration
	}{
		{0, 0}, {1, 63245553}, {250, time.Second}, {1000, 2 * time.Second},
		{1500, 2500 * time.Millisecond}, {2500, 4500 * time.Millisecond},
	} {
		if got := r.Offset(tc.i); absDur(got-tc.want) > 1 {
			t.Errorf("Offset(%d) = %v, want %v", tc.i, got, tc.want)
		}
	}
	// Nothing is due in the pause [4 s, 4.5 s): request 2499 is the last
	// before it and 2500 the first after.
	if o := r.Offset(2499); o >= 4*time.Second {
		t.Errorf("Offset(2499) = %v, want before the pause", o)
	}
	// Past the end, the end.
	if o := r.Offset(2833); o != r.Duration() {
		t.Errorf("Offset(2833) = %v, want the end %v", o, r.Duration())
	}
}

func absDur(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}

// TestRampStable: a ramp with a slope too small to matter must give the
// constant rate's times (the textbook quadratic formula (-a + √(a²+2bn))/b
// cancels catastrophically here and is off by milliseconds).
func TestRampStable(t *testing.T) {
	const a = 1e6
	r := NewRamp([]Stage{{Duration: time.Hour, From: a, To: a + 1e-6}})
	c := Constant{Rate: a}
	for _, i := range []int64{1, 7, 1000, 123456789, 3_599_000_000} {
		if d := absDur(r.Offset(i) - c.Offset(i)); d > 2 {
			t.Errorf("i=%d: ramp %v, constant %v (off by %v)", i, r.Offset(i), c.Offset(i), d)
		}
	}
}

func TestRampMonotonic(t *testing.T) {
	stages, _ := ParseStages("1s:3-7,2s:7-0,1s:0,3s:0-50000,1s:50000-1")
	r := NewRamp(stages)
	prev := time.Duration(-1)
	for i := int64(0); ; i++ {
		o := r.Offset(i)
		if o < prev {
			t.Fatalf("Offset(%d) = %v < Offset(%d) = %v", i, o, i-1, prev)
		}
		prev = o
		if o >= r.Duration() {
			break
		}
	}
}

func TestRampAllocatesNothing(t *testing.T) {
	if race.Enabled {
		t.Skip("allocation counts are not meaningful under the race detector")
	}
	stages, _ := ParseStages("1s:0-100,1s:100,1s:100-0")
	r := Schedule(NewRamp(stages))
	p, err := NewPoisson(stages, 0, 0, 7)
	if err != nil {
		t.Fatal(err)
	}
	var i int64
	var sink time.Duration
	for _, s := range []Schedule{r, p} {
		if n := testing.AllocsPerRun(1000, func() { sink += s.Offset(i % 200); i++ }); n != 0 {
			t.Errorf("%T.Offset allocates %.1f times per call", s, n)
		}
	}
	_ = sink
}

func TestConcurrencyShape(t *testing.T) {
	stages, _ := ParseStages("1s:0-4,1s:4,1s:4-0")
	c := NewConcurrency(stages)
	for _, tc := range []struct {
		at   time.Duration
		want int
	}{
		{0, 0}, {124 * time.Millisecond, 0}, {126 * time.Millisecond, 1},
		{500 * time.Millisecond, 2}, {999 * time.Millisecond, 4}, {1500 * time.Millisecond, 4},
		{2100 * time.Millisecond, 4}, {2500 * time.Millisecond, 2}, {2900 * time.Millisecond, 0},
		{3 * time.Second, 0}, {time.Hour, 0},
	} {
		if got := c.Active(tc.at); got != tc.want {
			t.Errorf("Active(%v) = %d, want %d", tc.at, got, tc.want)
		}
	}
	// Worker 2 (the third) starts when the ramp reaches 2.5: at 625 ms.
	if got := c.NextActive(2, 0); got != 625*time.Millisecond {
		t.Errorf("NextActive(2, 0) = %v, want 625ms", got)
	}
	if got := c.NextActive(2, 2*time.Second); got != 2*time.Second {
		t.Errorf("NextActive(2, 2s) = %v, want 2s (active)", got)
	}
	// Worker 3 is inactive after 2.125 s and never active again.
	if got := c.NextActive(3, 2200*time.Millisecond); got != 3*time.Second {
		t.Errorf("NextActive(3, 2.2s) = %v, want the end 3s", got)
	}
	if got := c.NextActive(4, 0); got != 3*time.Second {
		t.Errorf("NextActive(4, 0) = %v, want the end: there are only 4 connections", got)
	}
}

func TestShapeValidation(t *testing.T) {
	good := Config{Spec: request.Spec{Request: request.Request{Method: "GET", URL: "http://127.0.0.1:1/"}}, Connections: 10, Timeout: time.Second}
	st := func(s string) []Stage {
		v, err := ParseStages(s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	for _, tc := range []struct {
		mut  func(*Config)
		want string
	}{
		{func(c *Config) { c.Stages = st("1s:0") }, "nothing would be sent"},
		{func(c *Config) { c.Stages, c.Rate = st("1s:5"), 5 }, "the stages set the rate"},
		{func(c *Config) { c.Stages, c.StageConnections = st("1s:2.5"), true }, "whole numbers"},
		{func(c *Config) { c.Stages, c.StageConnections = st("1s:20"), true }, "fewer than the stages' peak 20"},
		{func(c *Config) { c.Duration, c.Arrival = time.Second, ArrivalPoisson }, "needs an open-loop run"},
		{func(c *Config) { c.Stages, c.Warmup = st("1s:0-10"), time.Second }, "first stage starts at 0"},
		{func(c *Config) { c.Requests, c.Warmup = 10, time.Second }, "closed-loop warm-up"},
		{func(c *Config) { c.Duration, c.Warmup = time.Second, -time.Second }, "warmup -1s"},
		{func(c *Config) { c.Stages = st("1s:20000000") }, "at most 10000000"},
	} {
		c := good
		tc.mut(&c)
		err := c.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Validate() = %v, want an error containing %q", err, tc.want)
		}
	}
	ok := good
	ok.Stages, ok.Warmup, ok.Arrival = st("1s:5-10,1s:10"), time.Second, ArrivalPoisson
	if err := ok.Validate(); err != nil {
		t.Errorf("valid shaped plan: %v", err)
	}
	if l := ok.Length(); l != 3*time.Second {
		t.Errorf("Length() = %v, want 3s (1 s warm-up + 2 s of stages)", l)
	}
	if r := ok.PlannedRate(); math.Abs(r-8.75) > 1e-9 {
		t.Errorf("PlannedRate() = %v, want 8.75 (17.5 requests in 2 s)", r)
	}
	for _, tc := range []struct {
		at    time.Duration
		label string
		v     float64
	}{
		{500 * time.Millisecond, "warm-up", 5}, {1500 * time.Millisecond, "stage 1/2", 7.5},
		{2500 * time.Millisecond, "stage 2/2", 10},
	} {
		if l, v := ok.Phase(tc.at); l != tc.label || v != tc.v {
			t.Errorf("Phase(%v) = %q, %v; want %q, %v", tc.at, l, v, tc.label, tc.v)
		}
	}
}
