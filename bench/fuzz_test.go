package bench

import (
	"math/rand/v2"
	"testing"
)

func FuzzParseLatency(f *testing.F) {
	for _, s := range []string{
		"", "0", "5ms", "1h2m3.000000004s", "uniform:1ms-9ms", "normal:5ms,1ms",
		"lognormal:2ms,0.5", "lognormal:1ns,1e-300", "exp:2ms", "uniform:1ms--2ms", "normal:,", "exp:-1s",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		l, err := ParseLatency(s)
		if err != nil {
			return
		}
		l2, err := ParseLatency(l.String())
		if err != nil {
			t.Fatalf("ParseLatency(%q) = %q, which does not parse: %v", s, l.String(), err)
		}
		if l2 != l {
			t.Fatalf("ParseLatency(%q) = %#v; round trip through %q gives %#v", s, l, l.String(), l2)
		}
		if m := l.Mean(); m < 0 {
			t.Fatalf("ParseLatency(%q).Mean() = %v, negative", s, m)
		}
		r := rand.New(rand.NewPCG(1, 1))
		for range 4 {
			if d := l.Sample(r); d < 0 {
				t.Fatalf("ParseLatency(%q).Sample() = %v, negative", s, d)
			}
		}
	})
}

func FuzzParseStatusMix(f *testing.F) {
	for _, s := range []string{
		"", "200", "200:90,404:5,500:5", "200,500", "101", "200:0", "200:1,200:1", "599:1000000000,200:1",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := ParseStatusMix(s)
		if err != nil {
			return
		}
		m2, err := ParseStatusMix(m.String())
		if err != nil {
			t.Fatalf("ParseStatusMix(%q) = %q, which does not parse: %v", s, m.String(), err)
		}
		if m2.String() != m.String() || m2.Period() != m.Period() {
			t.Fatalf("ParseStatusMix(%q) = %q (period %d); round trip gives %q (period %d)",
				s, m.String(), m.Period(), m2.String(), m2.Period())
		}
		for range 3 {
			if c := m.Next(); c < 200 || c > 599 {
				t.Fatalf("ParseStatusMix(%q).Next() = %d, outside 200..599", s, c)
			}
		}
	})
}

func FuzzParseStall(f *testing.F) {
	for _, s := range []string{"", "at=2s,for=1s", "for=1s", "for=1s,at=0s", "at=1s", "at=2562047h,for=1ns"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		st, err := ParseStall(s)
		if err != nil {
			return
		}
		st2, err := ParseStall(st.String())
		if err != nil {
			t.Fatalf("ParseStall(%q) = %q, which does not parse: %v", s, st.String(), err)
		}
		if st2 != st {
			t.Fatalf("ParseStall(%q) = %+v; round trip through %q gives %+v", s, st, st.String(), st2)
		}
		if st.At < 0 || st.For < 0 || st.end() < st.At {
			t.Fatalf("ParseStall(%q) = %+v: negative or overflowing window", s, st)
		}
	})
}
