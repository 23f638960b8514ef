package load

import (
	"testing"
	"time"
)

func TestConstantOffset(t *testing.T) {
	cases := []struct {
		rate float64
		i    int64
		want time.Duration
	}{
		{1000, 0, 0},
		{1000, 1, time.Millisecond},
		{1000, 1500, 1500 * time.Millisecond},
		{3, 1, 333333333},
		{3, 2, 666666666},
		{3, 3, time.Second},
		{3, 3_000_000_001, 1_000_000_000*time.Second + 333333333},
		{0.5, 1, 2 * time.Second},
		{2.5, 5, 2 * time.Second},
		{2000, 19999, 9999500 * time.Microsecond},
	}
	for _, c := range cases {
		if got := (Constant{Rate: c.rate}).Offset(c.i); got != c.want {
			t.Errorf("Constant{%v}.Offset(%d) = %v, want %v", c.rate, c.i, got, c.want)
		}
	}
}

func TestConstantMonotonic(t *testing.T) {
	for _, rate := range []float64{1, 7, 999.5, 50000} {
		s := Constant{Rate: rate}
		prev := time.Duration(-1)
		for i := int64(0); i < 100000; i++ {
			o := s.Offset(i)
			if o < prev {
				t.Fatalf("rate %v: Offset(%d)=%v < Offset(%d)=%v", rate, i, o, i-1, prev)
			}
			prev = o
		}
	}
}

func TestConstantCount(t *testing.T) {
	cases := []struct {
		rate float64
		d    time.Duration
		want int64
	}{
		{1000, time.Second, 1000},
		{2000, 10 * time.Second, 20000},
		{3, time.Second, 3},
		{3, 1001 * time.Millisecond, 4},
		{0.5, 3 * time.Second, 2},
		{7, 0, 0},
	}
	for _, c := range cases {
		if got := (Constant{Rate: c.rate}).Count(c.d); got != c.want {
			t.Errorf("Constant{%v}.Count(%v) = %d, want %d", c.rate, c.d, got, c.want)
		}
	}
}
