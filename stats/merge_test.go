package stats

import (
	"bytes"
	"math/rand/v2"
	"testing"
	"time"
)

func resultJSON(t *testing.T, r *Result) string {
	t.Helper()
	var b bytes.Buffer
	if err := r.WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// TestMergePartsEqualsWhole is the property volley merge relies on: split
// one run's samples among k parts at random, collect each part on its own,
// merge the parts, and the result is the whole run's, byte for byte in
// JSON (histograms, counts, summaries and the series alike).
func TestMergePartsEqualsWhole(t *testing.T) {
	for seed := uint64(1); seed <= 12; seed++ {
		rng := rand.New(rand.NewPCG(seed, 7))
		k := 2 + rng.IntN(4)
		span := time.Duration(2+rng.IntN(20)) * time.Second
		n := 200 + rng.IntN(3000)
		samples := genSamples(rng, n, span, time.Duration(1+rng.IntN(50))*time.Millisecond)
		parts := make([][]Sample, k)
		for _, s := range samples {
			i := rng.IntN(k)
			parts[i] = append(parts[i], s)
		}
		elapsed := span + time.Duration(rng.IntN(int(time.Second)))
		whole := collect(t, samples, openMeta(100*float64(k), k), elapsed)
		whole.Parts = k
		whole.Bytes.Out = 1000 * int64(k)
		var rs []*Result
		for _, p := range parts {
			rs = append(rs, collect(t, p, openMeta(100, 1), elapsed))
		}
		merged, err := Merge(rs...)
		if err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		if got, want := resultJSON(t, merged), resultJSON(t, whole); got != want {
			t.Fatalf("seed %d (k=%d, n=%d): merged parts differ from the whole run\n%s", seed, k, n, firstDiff(got, want))
		}
	}
}

// TestMergeThroughJSON merges results read back from their JSON files, as
// volley report does.
func TestMergeThroughJSON(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	samples := genSamples(rng, 2000, 5*time.Second, 5*time.Millisecond)
	a, b := samples[:1000], samples[1000:]
	// b covers the later part of the run only: the series still align.
	whole := collect(t, samples, openMeta(200, 2), 5*time.Second)
	whole.Parts = 2
	whole.Bytes.Out = 2000
	var rs []*Result
	for _, p := range [][]Sample{a, b} {
		r := collect(t, p, openMeta(100, 1), 5*time.Second)
		back, err := ReadResult(bytes.NewReader([]byte(resultJSON(t, r))))
		if err != nil {
			t.Fatal(err)
		}
		rs = append(rs, back)
	}
	merged, err := Merge(rs...)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := resultJSON(t, merged), resultJSON(t, whole); got != want {
		t.Fatalf("merged JSON parts differ from the whole run\n%s", firstDiff(got, want))
	}
}

func TestMergeDoesNotModifyInputs(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	a := collect(t, genSamples(rng, 500, 3*time.Second, time.Millisecond), openMeta(100, 1), 3*time.Second)
	b := collect(t, genSamples(rng, 500, 3*time.Second, time.Millisecond), openMeta(100, 1), 3*time.Second)
	before := resultJSON(t, a) + resultJSON(t, b)
	if _, err := Merge(a, b); err != nil {
		t.Fatal(err)
	}
	if resultJSON(t, a)+resultJSON(t, b) != before {
		t.Fatal("Merge modified its inputs")
	}
}

func TestMergeRejects(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	open := collect(t, genSamples(rng, 100, time.Second, time.Millisecond), openMeta(100, 1), time.Second)
	closed := collect(t, genSamples(rng, 100, time.Second, time.Millisecond), openMeta(0, 1), time.Second)
	if _, err := Merge(); err == nil {
		t.Error("Merge() of nothing: no error")
	}
	if _, err := Merge(open, closed); err == nil {
		t.Error("Merge of open and closed loop: no error")
	}
	bare := *open
	bare.Histograms = map[string]Hist{}
	if _, err := Merge(open, &bare); err == nil {
		t.Error("Merge of a result without histograms: no error")
	}
}

// TestCompactSeriesExact: compacting a 1 s series gives the series a
// collector with 2 s intervals would have produced.
func TestCompactSeriesExact(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	samples := genSamples(rng, 3000, 12*time.Second, 3*time.Millisecond)
	fine := collect(t, samples, openMeta(100, 1), 12*time.Second)
	c := NewCollector()
	c.every = 2 * time.Second
	r := c.NewRecorder(len(samples))
	c.Start(synthStart)
	for _, s := range samples {
		r.Record(s)
	}
	coarse := c.Result(openMeta(100, 1), 12*time.Second, 1000)
	got := &Result{Schema: Schema, Series: CompactSeries(fine.Series)}
	want := &Result{Schema: Schema, Series: coarse.Series}
	if g, w := resultJSON(t, got), resultJSON(t, want); g != w {
		t.Fatalf("compacted series differs from a 2 s series\n%s", firstDiff(g, w))
	}
}

func firstDiff(a, b string) string {
	la, lb := bytes.Split([]byte(a), []byte("\n")), bytes.Split([]byte(b), []byte("\n"))
	for i := 0; i < len(la) && i < len(lb); i++ {
		if !bytes.Equal(la[i], lb[i]) {
			return "line " + itoa(i+1) + ":\n  got  " + clipS(string(la[i])) + "\n  want " + clipS(string(lb[i]))
		}
	}
	return "lengths differ: " + itoa(len(la)) + " vs " + itoa(len(lb)) + " lines"
}

func clipS(s string) string {
	if len(s) > 200 {
		return s[:200] + "…"
	}
	return s
}

func itoa(i int) string { return fmtInt(int64(i)) }
