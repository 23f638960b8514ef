package stats

import (
	"math"
	"math/rand/v2"
	"sort"
	"strconv"
	"testing"
	"time"
)

// synthStart is the start of every synthetic run.
var synthStart = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// genSamples returns n samples spread over span, in completion order, with
// log-normal latencies around median, 2% 404s, 2% 500s and 1% timeouts.
func genSamples(rng *rand.Rand, n int, span, median time.Duration) []Sample {
	out := make([]Sample, n)
	for i := range out {
		corrected := int64(float64(median) * math.Exp(0.6*rng.NormFloat64()))
		lag := int64(0)
		if rng.IntN(10) == 0 {
			lag = int64(rng.IntN(3_000_000))
		}
		s := Sample{
			Done:      rng.Int64N(int64(span)),
			Corrected: corrected + lag,
			Service:   corrected,
			BytesIn:   100,
			Code:      200,
		}
		switch k := rng.IntN(100); {
		case k < 2:
			s.Code = 404
		case k < 4:
			s.Code = 500
		case k < 5:
			s.Code, s.Err = 0, ErrTimeout
		}
		out[i] = s
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Done < out[j].Done })
	return out
}

// collect runs samples through a Collector as one run would.
func collect(t testing.TB, samples []Sample, meta Meta, elapsed time.Duration) *Result {
	t.Helper()
	c := NewCollector()
	r := c.NewRecorder(len(samples) + 1)
	c.Start(meta.Started)
	for _, s := range samples {
		r.Record(s)
	}
	return c.Result(meta, elapsed, 1000)
}

func openMeta(rate float64, conns int) Meta {
	return Meta{Target: Target{URL: "http://127.0.0.1:8080/", Method: "GET"}, Started: synthStart, Rate: rate, Connections: conns}
}

func fmtInt(i int64) string { return strconv.FormatInt(i, 10) }
