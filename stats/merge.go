package stats

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
)

// Merge combines results into one, exactly: histograms are added bucket by
// bucket (every histogram shares one geometry, so nothing is approximated),
// counts are summed, and every statistic is recomputed from the sums. No
// percentile is ever averaged.
//
// The inputs are taken as parts of one run that ran side by side, such as
// the shards of a distributed benchmark: their series are aligned on time
// since each part's start and summed interval by interval, the duration is
// the longest part's, the target rate and connections are summed, and the
// achieved rate is all requests over that duration. Merging runs made one
// after another (repetitions) gives their combined latency distribution and
// counts, and a rate that is the sum of theirs.
//
// Merge does not modify its inputs. It fails when a result lacks the
// histograms that an exact merge needs, or when open-loop and closed-loop
// results are mixed (their latencies measure different things).
func Merge(rs ...*Result) (*Result, error) {
	if len(rs) == 0 {
		return nil, errors.New("merge: no results")
	}
	var g Merger
	for _, r := range rs {
		if err := g.Add(r); err != nil {
			return nil, err
		}
	}
	return g.Result()
}

// Merger merges results one at a time, as Merge does, keeping only their
// running sum: a result can be dropped once added, so merging a thousand
// results costs what merging two does. The zero value is ready to use; a
// Merger is not safe for concurrent use.
type Merger struct {
	m       *Result
	n       int // results added
	mode    string
	urls    []string
	methods []string
	aborted []string
	// seedsDiffer is set once two parts had different seeds.
	seedsDiffer bool
	samples     map[string]string
	// series holds the merged series by point index on a grid of step
	// seconds, the coarsest of the series added so far.
	series map[int64]Point
	step   float64
}

// Add merges r into the sum. It does not modify r and keeps no reference
// to it. It fails when r lacks the histograms that an exact merge needs,
// or when open-loop and closed-loop results are mixed; then the Merger
// must not be used further.
func (g *Merger) Add(r *Result) error {
	g.n++
	i := g.n
	if r == nil {
		return fmt.Errorf("merge: result %d is nil", i)
	}
	if r.Schema != Schema {
		return fmt.Errorf("merge: result %d has schema %q, want %q", i, r.Schema, Schema)
	}
	if i == 1 {
		g.mode = r.Mode
	} else if r.Mode != g.mode {
		return fmt.Errorf("merge: result %d is %s loop, result 1 is %s loop: their latencies are not comparable", i, r.Mode, g.mode)
	}
	for _, k := range []string{"corrected", "service", "send_lag"} {
		if r.Histograms[k].Histogram == nil {
			return fmt.Errorf("merge: result %d has no %q histogram, so it cannot be merged exactly", i, k)
		}
	}
	if g.m == nil {
		g.m = &Result{
			Schema: Schema, Mode: r.Mode, Started: r.Started, Plan: r.Plan,
			Status: map[string]int64{}, Codes: map[string]int64{}, Errors: map[string]int64{},
			Histograms: map[string]Hist{},
		}
		g.samples = map[string]string{}
		g.series = map[int64]Point{}
	}
	m := g.m
	g.urls = appendNew(g.urls, r.Target.URL)
	g.methods = appendNew(g.methods, r.Target.Method)
	if r.Aborted != "" {
		g.aborted = appendNew(g.aborted, r.Aborted)
	}
	if r.Started.Before(m.Started) {
		m.Started = r.Started
	}
	m.DurationS = math.Max(m.DurationS, r.DurationS)
	m.Connections += r.Connections
	m.Interrupted = m.Interrupted || r.Interrupted
	m.Parts += max(r.Parts, 1)
	if i == 1 {
		m.Seed = r.Seed
	} else if r.Seed != m.Seed {
		g.seedsDiffer = true
	}
	m.Rate.Target += r.Rate.Target
	m.Requests.add(r.Requests)
	addCounts(m.Status, r.Status)
	addCounts(m.Codes, r.Codes)
	addCounts(m.Errors, r.Errors)
	for k, v := range r.ErrorSamples {
		if _, ok := g.samples[k]; !ok && v != "" {
			g.samples[k] = v
		}
	}
	m.Bytes.In += r.Bytes.In
	m.Bytes.Out += r.Bytes.Out
	m.Saturated += r.Saturated
	if err := mergeHists(m.Histograms, r.Histograms, "merge: histogram"); err != nil {
		return err
	}
	// Shards of one plan keep its fingerprint; the merged whole is no shard.
	if r.Plan != m.Plan {
		m.Plan = ""
	}
	m.StartLateMS = math.Max(m.StartLateMS, r.StartLateMS)
	m.Streams = mergeStreams(m.Streams, r.Streams)
	if err := g.addSeries(i, r.Series); err != nil {
		return err
	}
	return addDetails(m, i, r)
}

// Result returns the merged result, every statistic recomputed from the
// sums. The Merger must not be used afterwards.
func (g *Merger) Result() (*Result, error) {
	if g.m == nil {
		return nil, errors.New("merge: no results")
	}
	m := g.m
	m.Target = Target{URL: strings.Join(g.urls, ", "), Method: strings.Join(g.methods, ",")}
	m.Aborted = strings.Join(g.aborted, "; ")
	if g.seedsDiffer {
		m.Seed = 0
	}
	if len(g.samples) > 0 {
		m.ErrorSamples = g.samples
	}
	if m.DurationS > 0 {
		m.Rate.Achieved = float64(m.Requests.Total) / m.DurationS
	}
	m.Latency = Latency{
		Corrected: Summarize(m.Histograms["corrected"].Histogram),
		Service:   Summarize(m.Histograms["service"].Histogram),
	}
	lag := m.Histograms["send_lag"].Histogram
	m.SendLag = SendLag{P50: Quantile(lag, 50), P99: Quantile(lag, 99), Max: Quantile(lag, 100), Tick: m.SendLag.Tick}
	keys := make([]int64, 0, len(g.series))
	for k := range g.series {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i] < keys[j] })
	m.Series = make([]Point, 0, len(keys))
	for _, k := range keys {
		m.Series = append(m.Series, g.series[k])
	}
	finishDetails(m)
	g.m = nil
	return m, nil
}

// add sums the counts of o into q.
func (q *Requests) add(o Requests) {
	q.Total += o.Total
	q.Completed += o.Completed
	q.Errors += o.Errors
	q.Late += o.Late
	q.CheckFailed += o.CheckFailed
}

// mergeHists adds every histogram of from into the one of the same name in
// into, creating it when missing.
func mergeHists(into, from map[string]Hist, what string) error {
	for k, h := range from {
		if h.Histogram == nil {
			continue
		}
		if into[k].Histogram == nil {
			into[k] = Hist{NewHistogram()}
		}
		if err := mergeInto(into[k].Histogram, h.Histogram); err != nil {
			return fmt.Errorf("%s %q: %w", what, k, err)
		}
	}
	return nil
}

// mergeInto adds from to into and fails if any count could not be placed,
// which only a histogram of another geometry would cause.
func mergeInto(into, from *hdr.Histogram) error {
	if from.LowestTrackableValue() != HistLowest || from.SignificantFigures() != HistDigits || from.HighestTrackableValue() < HistHighest {
		return fmt.Errorf("range %d..%d ns at %d digits, want %d..%d at %d",
			from.LowestTrackableValue(), from.HighestTrackableValue(), from.SignificantFigures(), HistLowest, HistHighest, HistDigits)
	}
	if dropped := into.Merge(from); dropped != 0 {
		return fmt.Errorf("%d values out of range", dropped)
	}
	return nil
}

func appendNew(list []string, s string) []string {
	for _, x := range list {
		if x == s {
			return list
		}
	}
	return append(list, s)
}

func addCounts(into, from map[string]int64) {
	for k, v := range from {
		into[k] += v
	}
}

// seriesStep returns the interval length of a series in seconds: the
// collector starts at 1 s and doubles it each time it compacts.
func seriesStep(s []Point) float64 {
	switch {
	case len(s) >= 2:
		return s[1].T - s[0].T
	case len(s) == 1 && s[0].Dur > 1:
		return math.Pow(2, math.Ceil(math.Log2(s[0].Dur)-1e-9))
	}
	return 1
}

// addSeries merges the series s of result i into g.series, aligned on time
// since each part's start. Series are brought to the coarsest interval seen
// (compacting the finer, which is exact): the new one if it is finer than
// the sum, else the sum.
func (g *Merger) addSeries(i int, s []Point) error {
	if len(s) == 0 {
		return nil
	}
	step := seriesStep(s)
	if g.step == 0 {
		g.step = step
	}
	for g.step < step {
		halved := make(map[int64]Point, len(g.series)/2+1)
		for k, p := range g.series {
			if q, ok := halved[k/2]; ok {
				halved[k/2] = MergePoints(q, p)
			} else {
				halved[k/2] = p
			}
		}
		g.series = halved
		g.step *= 2
	}
	for len(s) > 0 && seriesStep(s) < g.step {
		s = CompactSeries(s)
	}
	if len(s) > 1 && seriesStep(s) != g.step {
		return fmt.Errorf("merge: result %d has a series interval of %gs, which does not divide %gs", i, seriesStep(s), g.step)
	}
	for _, p := range s {
		k := int64(math.Round(p.T / g.step))
		if math.Abs(p.T-float64(k)*g.step) > 1e-6 {
			return fmt.Errorf("merge: result %d has a series point at t=%gs, off the %gs grid", i, p.T, g.step)
		}
		if q, ok := g.series[k]; ok {
			g.series[k] = MergePoints(q, p)
		} else {
			g.series[k] = copyPoint(p)
		}
	}
	return nil
}

// copyPoint returns a point that shares no map with p (encoded histograms
// are immutable strings).
func copyPoint(p Point) Point {
	q := p
	q.Status = map[string]int64{}
	addCounts(q.Status, p.Status)
	if p.Classes != nil {
		q.Classes = make(map[string]EncodedHist, len(p.Classes))
		for k, v := range p.Classes {
			q.Classes[k] = v
		}
	}
	return q
}

// mergeStreams keeps what parts could carry per connection: the most asked,
// and the lowest cap a server set.
func mergeStreams(a, b *Streams) *Streams {
	switch {
	case b == nil:
		return a
	case a == nil:
		c := *b
		return &c
	}
	c := Streams{PerConnection: max(a.PerConnection, b.PerConnection), ServerCap: a.ServerCap}
	if b.ServerCap > 0 && (c.ServerCap == 0 || b.ServerCap < c.ServerCap) {
		c.ServerCap = b.ServerCap
	}
	return &c
}
