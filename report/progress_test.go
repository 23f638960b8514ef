package report

import (
	"bytes"
	"io"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"volley/stats"
)

// TestProgressPhase: a shaped run's progress line names the phase, the
// achieved rate against the target, the last second's p99 and the errors.
func TestProgressPhase(t *testing.T) {
	phase := func(d time.Duration) (string, float64) {
		if d < time.Second {
			return "warm-up", 100
		}
		return "stage 2/3", 750.4
	}
	p := NewProgress(io.Discard, 10*time.Second, 0)
	p.SetPhase(time.Second, "req/s", phase)
	for _, tc := range []struct {
		s    stats.Progress
		want string
	}{
		{stats.Progress{Elapsed: -500 * time.Millisecond, Warmup: 42}, "warm-up  42 req  target 100 req/s, not measured"},
		{stats.Progress{Elapsed: 3 * time.Second, Requests: 2000, Errors: 3, LastRPS: 731.6, LastP99: 4.12},
			"stage 2/3  731/750 req/s  p99 4.12ms  errors 3"},
	} {
		if got := p.describe(tc.s, tc.s.Elapsed+time.Second); got != tc.want {
			t.Errorf("describe = %q, want %q", got, tc.want)
		}
	}
	want := "stage 2/3  –/750 req/s  p99 –  errors 0  (20 req)"
	if got := p.describe(stats.Progress{Elapsed: 100 * time.Millisecond, Requests: 20}, 1100*time.Millisecond); got != want {
		t.Errorf("before the first second closes: describe = %q, want %q", got, want)
	}
	p.SetPhase(0, "conns", func(time.Duration) (string, float64) { return "stage 1/1", 12 })
	want = "stage 1/1 12 conns 900 req/s p99 2.00ms errors 0"
	if got := p.describe(stats.Progress{Requests: 50, LastRPS: 900, LastP99: 2}, 0); got != want {
		t.Errorf("closed loop describe = %q, want %q", got, want)
	}
	plain := NewProgress(io.Discard, 10*time.Second, 0)
	want = "5 req/s  p99 1.00ms  errors 0  (10 req)"
	if got := plain.describe(stats.Progress{Requests: 10, LastRPS: 5, LastP99: 1}, 0); got != want {
		t.Errorf("unshaped describe = %q, want %q", got, want)
	}
}

func TestProgress(t *testing.T) {
	var b bytes.Buffer
	p := NewProgress(&b, 10*time.Second, 0)
	p.Update(stats.Progress{Elapsed: 5 * time.Second, Requests: 4321, Errors: 7, LastRPS: 987.6, LastP99: 12.34})
	out := b.String()
	for _, want := range []string{"4321 req", "987 req/s", "p99 12.3ms", "errors 7", " 50% |"} {
		if !strings.Contains(out, want) {
			t.Errorf("progress line %q lacks %q", out, want)
		}
	}
	// A request bound that is further along wins.
	b.Reset()
	p = NewProgress(&b, 10*time.Second, 5000)
	p.Update(stats.Progress{Elapsed: time.Second, Requests: 4000})
	if !strings.Contains(b.String(), " 80% |") {
		t.Errorf("progress %q, want 80%% (4000 of 5000 requests)", b.String())
	}
	p.Finish()
}

// TestProgressFits80: however large the figures, no progress line is wider
// than 79 columns (80 would wrap the cursor on some terminals).
func TestProgressFits80(t *testing.T) {
	for _, shaped := range []bool{false, true} {
		var b bytes.Buffer
		p := NewProgress(&b, time.Hour, 0)
		if shaped {
			p.SetPhase(time.Second, "req/s", func(time.Duration) (string, float64) { return "stage 12/12", 9_750_000 })
		}
		for _, s := range []stats.Progress{
			{Elapsed: 59*time.Minute + 59*time.Second, Requests: 123_456_789_012, Errors: 98_765_432_109, LastRPS: 9_731_000, LastP99: 123456.7},
			{Elapsed: time.Second, Requests: 2000, Errors: 3, LastRPS: 731.6, LastP99: 4.12},
		} {
			p.Update(s)
		}
		p.Finish()
		for _, l := range strings.Split(b.String(), "\r") {
			if n := utf8.RuneCountInString(l); n > 79 {
				t.Errorf("shaped %v: line of %d columns: %q", shaped, n, l)
			}
		}
	}
}
