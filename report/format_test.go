package report

import (
	"math"
	"testing"
)

func TestDuration(t *testing.T) {
	for _, c := range []struct {
		ms   float64
		want string
	}{
		{0, "0"},
		{0.000512, "1µs"},
		{0.001, "1µs"},
		{0.174, "174µs"},
		{0.9994, "999µs"},
		{0.9996, "1.00ms"}, // rounds up into the next unit, not "1000µs"
		{1, "1.00ms"},
		{1.234, "1.23ms"},
		{9.994, "9.99ms"},
		{9.996, "10.0ms"}, // not "10.00ms"
		{12.34, "12.3ms"},
		{99.94, "99.9ms"},
		{99.96, "100ms"}, // not "100.0ms"
		{412.4, "412ms"},
		{999.4, "999ms"},
		{999.6, "1.00s"}, // not "1000ms"
		{1020, "1.02s"},
		{59_994, "59.99s"},
		{59_996, "60s"}, // not "60.00s"
		{61_400, "61s"},
		{3_600_000, "3600s"},
	} {
		if got := Duration(c.ms); got != c.want {
			t.Errorf("Duration(%v) = %q, want %q", c.ms, got, c.want)
		}
	}
}

func TestBytes(t *testing.T) {
	for _, c := range []struct {
		n    int64
		want string
	}{
		{0, "0 B"},
		{1, "1 B"},
		{1023, "1023 B"},
		{1024, "1.0 KiB"},
		{1536, "1.5 KiB"},
		{10 * 1024, "10.0 KiB"},
		{1024*1024 - 1, "1.0 MiB"}, // not "1024.0 KiB"
		{1024 * 1024, "1.0 MiB"},
		{5 * 1024 * 1024 / 2, "2.5 MiB"},
		{1 << 30, "1.0 GiB"},
		{1<<40 - 1, "1.0 TiB"},
		{1 << 40, "1.0 TiB"},
		{3 << 50, "3.0 PiB"},
		{1 << 60, "1.0 EiB"},
		{math.MaxInt64, "8.0 EiB"},
	} {
		if got := Bytes(c.n); got != c.want {
			t.Errorf("Bytes(%d) = %q, want %q", c.n, got, c.want)
		}
	}
}

func TestPct(t *testing.T) {
	for _, c := range []struct {
		n, total int64
		want     string
	}{
		{0, 0, "0%"},
		{0, 10, "0.00%"},
		{1, 100_000, "<0.01%"},
		{1, 3, "33.33%"},
		{10, 10, "100.00%"},
	} {
		if got := pct(c.n, c.total); got != c.want {
			t.Errorf("pct(%d, %d) = %q, want %q", c.n, c.total, got, c.want)
		}
	}
}

func TestNum(t *testing.T) {
	for _, c := range []struct {
		v    float64
		want string
	}{{0, "0"}, {1000, "1000"}, {333.333, "333.3"}, {2.5, "2.5"}} {
		if got := num(c.v); got != c.want {
			t.Errorf("num(%v) = %q, want %q", c.v, got, c.want)
		}
	}
}

func TestClipAndWrap(t *testing.T) {
	if got := clip("héllo wörld", 5); got != "héll…" {
		t.Errorf("clip = %q, want %q", got, "héll…")
	}
	if got := clip("a\nb", 5); got != "a b" {
		t.Errorf("clip keeps newline: %q", got)
	}
	got := wrap("  one two three four five six", 12, "  ")
	want := "  one two\n  three four\n  five six"
	if got != want {
		t.Errorf("wrap = %q, want %q", got, want)
	}
}
