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
	for i, r := range rs {
		if r == nil {
			return nil, fmt.Errorf("merge: result %d is nil", i+1)
		}
		if r.Schema != Schema {
			return nil, fmt.Errorf("merge: result %d has schema %q, want %q", i+1, r.Schema, Schema)
		}
		if r.Mode != rs[0].Mode {
			return nil, fmt.Errorf("merge: result %d is %s loop, result 1 is %s loop: their latencies are not comparable", i+1, r.Mode, rs[0].Mode)
		}
		for _, k := range []string{"corrected", "service", "send_lag"} {
			if r.Histograms[k].Histogram == nil {
				return nil, fmt.Errorf("merge: result %d has no %q histogram, so it cannot be merged exactly", i+1, k)
			}
		}
	}
	m := &Result{
		Schema: Schema, Mode: rs[0].Mode, Started: rs[0].Started,
		Status: map[string]int64{}, Codes: map[string]int64{}, Errors: map[string]int64{},
		Histograms: map[string]Hist{},
	}
	var urls, methods, aborted []string
	samples := map[string]string{}
	for _, r := range rs {
		urls = appendNew(urls, r.Target.URL)
		methods = appendNew(methods, r.Target.Method)
		if r.Aborted != "" {
			aborted = appendNew(aborted, r.Aborted)
		}
		if r.Started.Before(m.Started) {
			m.Started = r.Started
		}
		m.DurationS = math.Max(m.DurationS, r.DurationS)
		m.Connections += r.Connections
		m.Interrupted = m.Interrupted || r.Interrupted
		m.Parts += max(r.Parts, 1)
		m.Rate.Target += r.Rate.Target
		m.Requests.add(r.Requests)
		addCounts(m.Status, r.Status)
		addCounts(m.Codes, r.Codes)
		addCounts(m.Errors, r.Errors)
		for k, v := range r.ErrorSamples {
			if _, ok := samples[k]; !ok && v != "" {
				samples[k] = v
			}
		}
		m.Bytes.In += r.Bytes.In
		m.Bytes.Out += r.Bytes.Out
		m.Saturated += r.Saturated
		if err := mergeHists(m.Histograms, r.Histograms, "merge: histogram"); err != nil {
			return nil, err
		}
	}
	m.Target = Target{URL: strings.Join(urls, ", "), Method: strings.Join(methods, ",")}
	// Shards of one plan keep its fingerprint; the merged whole is no shard.
	m.Plan = rs[0].Plan
	for _, r := range rs {
		if r.Plan != m.Plan {
			m.Plan = ""
		}
		m.StartLateMS = math.Max(m.StartLateMS, r.StartLateMS)
	}
	m.Aborted = strings.Join(aborted, "; ")
	if len(samples) > 0 {
		m.ErrorSamples = samples
	}
	if m.DurationS > 0 {
		m.Rate.Achieved = float64(m.Requests.Total) / m.DurationS
	}
	m.Latency = Latency{
		Corrected: Summarize(m.Histograms["corrected"].Histogram),
		Service:   Summarize(m.Histograms["service"].Histogram),
	}
	lag := m.Histograms["send_lag"].Histogram
	m.SendLag = SendLag{P50: Quantile(lag, 50), P99: Quantile(lag, 99), Max: Quantile(lag, 100)}
	series, err := mergeSeries(rs)
	if err != nil {
		return nil, err
	}
	m.Series = series
	if err := mergeDetails(m, rs); err != nil {
		return nil, err
	}
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

// mergeSeries aligns the series on time since each part's start (compacting
// finer ones to the coarsest interval, which is exact) and merges the points
// of each interval.
func mergeSeries(rs []*Result) ([]Point, error) {
	step := 0.0
	for _, r := range rs {
		if len(r.Series) > 0 {
			step = math.Max(step, seriesStep(r.Series))
		}
	}
	if step == 0 {
		return []Point{}, nil
	}
	byIndex := map[int64]Point{}
	for i, r := range rs {
		s := r.Series
		for len(s) > 0 && seriesStep(s) < step {
			s = CompactSeries(s)
		}
		if len(s) > 0 && seriesStep(s) != step && len(s) > 1 {
			return nil, fmt.Errorf("merge: result %d has a series interval of %gs, which does not divide %gs", i+1, seriesStep(s), step)
		}
		for _, p := range s {
			k := int64(math.Round(p.T / step))
			if math.Abs(p.T-float64(k)*step) > 1e-6 {
				return nil, fmt.Errorf("merge: result %d has a series point at t=%gs, off the %gs grid", i+1, p.T, step)
			}
			if q, ok := byIndex[k]; ok {
				byIndex[k] = MergePoints(q, p)
			} else {
				byIndex[k] = copyPoint(p)
			}
		}
	}
	keys := make([]int64, 0, len(byIndex))
	for k := range byIndex {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i] < keys[j] })
	out := make([]Point, 0, len(keys))
	for _, k := range keys {
		out = append(out, byIndex[k])
	}
	return out, nil
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
