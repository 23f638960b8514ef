package stats

import (
	"math/rand/v2"
	"testing"
	"time"
)

// TestMergeOrderOfSteps: merging one at a time, a result with a coarser
// series after a finer one must give what the other order gives: the sum
// so far is brought to the coarser grid exactly, as the finer result would
// have been.
func TestMergeOrderOfSteps(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	fine := collect(t, genSamples(rng, 800, 8*time.Second, time.Millisecond), openMeta(100, 1), 8*time.Second)
	c := NewCollector()
	c.every = 2 * time.Second
	r := c.NewRecorder(900)
	c.Start(synthStart)
	for _, s := range genSamples(rng, 800, 8*time.Second, time.Millisecond) {
		r.Record(s)
	}
	coarse := c.Result(openMeta(100, 1), 8*time.Second, 1000)
	ab, err := Merge(fine, coarse)
	if err != nil {
		t.Fatal(err)
	}
	ba, err := Merge(coarse, fine)
	if err != nil {
		t.Fatal(err)
	}
	if len(ab.Series) != 4 {
		t.Errorf("merged series has %d points, want 4 of 2 s: %s", len(ab.Series), pointsString(ab.Series))
	}
	var n int64
	for _, p := range ab.Series {
		n += p.Requests
	}
	if n != 1600 {
		t.Errorf("merged series holds %d requests, want 1600", n)
	}
	ab.Target, ba.Target = Target{}, Target{}
	if g, w := resultJSON(t, ab), resultJSON(t, ba); g != w {
		t.Errorf("merge order changes the result\n%s", firstDiff(g, w))
	}
}
