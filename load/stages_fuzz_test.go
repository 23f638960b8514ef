package load

import (
	"strings"
	"testing"
	"time"
)

// FuzzParseStages: any input either fails with an error or gives stages
// that print back to a spec parsing to the same stages, with a schedule that
// never goes back in time.
func FuzzParseStages(f *testing.F) {
	for _, s := range []string{"30s:0-1000,2m:1000,30s:1000-0", "1s:5", "10s:0-0,1s:3", "", "1s", "x:1", "1s:-1", "1h:1e9"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		st, err := ParseStages(s)
		if err != nil {
			return
		}
		parts := make([]string, len(st))
		for i, x := range st {
			if x.Duration <= 0 || x.From < 0 || x.To < 0 {
				t.Fatalf("%q: stage %d = %+v", s, i, x)
			}
			parts[i] = x.String()
		}
		again, err := ParseStages(strings.Join(parts, ","))
		if err != nil || len(again) != len(st) {
			t.Fatalf("%q printed as %q does not parse back: %v", s, strings.Join(parts, ","), err)
		}
		if StagesDuration(st) > 1000*time.Hour {
			return
		}
		sched, _, err := (&Config{Stages: st}).schedule()
		if err != nil || sched == nil {
			return
		}
		var prev time.Duration
		for i := range int64(200) {
			o := sched.Offset(i)
			if o < prev {
				t.Fatalf("%q: Offset(%d) = %v before Offset(%d) = %v", s, i, o, i-1, prev)
			}
			prev = o
		}
	})
}

// FuzzParseShard: accepted shards always satisfy 0 <= K < N and split any
// request count exactly.
func FuzzParseShard(f *testing.F) {
	for _, s := range []string{"0/1", "3/4", "4/4", "-1/2", "1/0", "a/b", "1/2/3", " 1 / 3 "} {
		f.Add(s, int64(10))
	}
	f.Fuzz(func(t *testing.T, s string, n int64) {
		sh, err := ParseShard(s)
		if err != nil {
			return
		}
		if sh.Index < 0 || sh.Index >= sh.Count {
			t.Fatalf("%q gave %+v", s, sh)
		}
		if n < 0 || n > 1e12 || sh.Count > 1000 {
			return
		}
		var sum int64
		for k := range sh.Count {
			sum += Shard{Index: k, Count: sh.Count}.Requests(n)
		}
		if sum != n {
			t.Fatalf("%d shards of %d requests add to %d", sh.Count, n, sum)
		}
	})
}
