package bench

import (
	"strings"
	"sync"
	"testing"
)

func TestParseStatusMix(t *testing.T) {
	tests := []struct {
		spec       string
		wantStr    string
		wantPeriod int
	}{
		{"", "200", 1},
		{"200", "200", 1},
		{"503", "503", 1},
		{"200:1", "200", 1},
		{"200:7", "200:7", 1},
		{"200:90,404:5,500:5", "200:90,404:5,500:5", 20},
		{" 200 : 3 , 500 : 2 ", "200:3,500:2", 5},
		{"200,500", "200:1,500:1", 2},
		{"599:2,200:4", "599:2,200:4", 3},
		{"200:99999,500:1", "200:99999,500:1", 100000},
	}
	for _, tc := range tests {
		m, err := ParseStatusMix(tc.spec)
		if err != nil {
			t.Errorf("ParseStatusMix(%q): %v", tc.spec, err)
			continue
		}
		if got := m.String(); got != tc.wantStr {
			t.Errorf("ParseStatusMix(%q).String() = %q, want %q", tc.spec, got, tc.wantStr)
		}
		if got := m.Period(); got != tc.wantPeriod {
			t.Errorf("ParseStatusMix(%q).Period() = %d, want %d", tc.spec, got, tc.wantPeriod)
		}
	}
}

func TestParseStatusMixErrors(t *testing.T) {
	tests := []struct {
		spec string
		want string
	}{
		{"ok", `status mix "ok": entry "ok": want CODE or CODE:WEIGHT`},
		{"100", `status mix "100": code 100 is informational (1xx)`},
		{"101", `status mix "101": code 101 is informational (1xx)`},
		{"199:1", `status mix "199:1": code 199 is informational (1xx)`},
		{"99", `status mix "99": code 99 out of range 200..599`},
		{"600", `status mix "600": code 600 out of range 200..599`},
		{"200:0", `status mix "200:0": weight 0 of code 200 out of range`},
		{"200:-3", `status mix "200:-3": weight -3 of code 200 out of range`},
		{"200:x", `status mix "200:x": weight of 200:`},
		{"200:1:2", `status mix "200:1:2": weight of 200:`},
		{"200:1,200:2", `status mix "200:1,200:2": code 200 given more than once`},
		{"200,", `status mix "200,": entry ""`},
		{"200:1000000001", `status mix "200:1000000001": weight 1000000001 of code 200 out of range 1..1000000000`},
		{"200:100000,500:1", `status mix "200:100000,500:1": weights too fine-grained`},
	}
	for _, tc := range tests {
		_, err := ParseStatusMix(tc.spec)
		if err == nil {
			t.Errorf("ParseStatusMix(%q) succeeded, want error containing %q", tc.spec, tc.want)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseStatusMix(%q) error = %q, want it to contain %q", tc.spec, err, tc.want)
		}
	}
}

// checkWindows asserts that every window of size consecutive codes in seq
// holds exactly want[code] of each code.
func checkWindows(t *testing.T, seq []int, size int, want map[int]int) {
	t.Helper()
	for start := 0; start+size <= len(seq); start++ {
		got := map[int]int{}
		for _, c := range seq[start : start+size] {
			got[c]++
		}
		if len(got) != len(want) {
			t.Fatalf("window [%d,%d) counts %v, want %v", start, start+size, got, want)
		}
		for c, n := range want {
			if got[c] != n {
				t.Fatalf("window [%d,%d) counts %v, want %v", start, start+size, got, want)
			}
		}
	}
}

func TestStatusMixWindows(t *testing.T) {
	tests := []struct {
		spec    string
		weights map[int]int
		reduced map[int]int // weights divided by their gcd
	}{
		{"200:90,404:5,500:5", map[int]int{200: 90, 404: 5, 500: 5}, map[int]int{200: 18, 404: 1, 500: 1}},
		{"200:3,500:2,503:1", map[int]int{200: 3, 500: 2, 503: 1}, nil},
		{"200:5,429:3", map[int]int{200: 5, 429: 3}, nil},
		{"500", map[int]int{500: 1}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.spec, func(t *testing.T) {
			m, err := ParseStatusMix(tc.spec)
			if err != nil {
				t.Fatal(err)
			}
			sum := 0
			for _, w := range tc.weights {
				sum += w
			}
			seq := make([]int, 3*sum+7)
			for i := range seq {
				seq[i] = m.Next()
			}
			checkWindows(t, seq, sum, tc.weights)
			if tc.reduced != nil {
				// The codes are spread out: even windows of sum/gcd are exact.
				checkWindows(t, seq, m.Period(), tc.reduced)
			}
		})
	}
}

func TestStatusMixSmooth(t *testing.T) {
	// Smooth weighted round-robin never bunches the heavy code: with weights
	// 5 and 1 the light code appears once in every 6, not at the end.
	m, err := ParseStatusMix("200:5,503:1")
	if err != nil {
		t.Fatal(err)
	}
	var got []int
	for range 6 {
		got = append(got, m.Next())
	}
	want := []int{200, 200, 200, 503, 200, 200}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("sequence %v, want %v", got, want)
		}
	}
}

func TestStatusMixZeroValue(t *testing.T) {
	var m StatusMix
	for range 10 {
		if c := m.Next(); c != 200 {
			t.Fatalf("zero StatusMix.Next() = %d, want 200", c)
		}
	}
	if s := m.String(); s != "200" {
		t.Errorf("zero StatusMix.String() = %q, want 200", s)
	}
}

func TestStatusMixConcurrent(t *testing.T) {
	m, err := ParseStatusMix("200:90,404:5,500:5")
	if err != nil {
		t.Fatal(err)
	}
	const workers, perWorker = 8, 250 // 2000 calls: 20 full windows of 100
	counts := make([]map[int]int, workers)
	var wg sync.WaitGroup
	for w := range workers {
		counts[w] = map[int]int{}
		wg.Go(func() {
			for range perWorker {
				counts[w][m.Next()]++
			}
		})
	}
	wg.Wait()
	total := map[int]int{}
	for _, c := range counts {
		for code, n := range c {
			total[code] += n
		}
	}
	want := map[int]int{200: 1800, 404: 100, 500: 100}
	if len(total) != len(want) || total[200] != want[200] || total[404] != want[404] || total[500] != want[500] {
		t.Errorf("concurrent counts %v, want %v", total, want)
	}
}
