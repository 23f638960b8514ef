package stats

import hdr "github.com/HdrHistogram/hdrhistogram-go"

// mergeEncoded adds the histogram e into h. A histogram that does not decode
// (only possible in a hand-edited result) is skipped.
func mergeEncoded(h *hdr.Histogram, e EncodedHist) {
	if d, err := e.Decode(); err == nil {
		h.Merge(d)
	}
}

// MergePoints merges b into a: counts add, histograms add exactly and the
// percentiles are recomputed from the merged histogram. a and b must cover
// the same or adjacent time; the merged point spans both.
func MergePoints(a, b Point) Point {
	end := max(a.T+a.Dur, b.T+b.Dur)
	p := Point{
		T: min(a.T, b.T), Requests: a.Requests + b.Requests, Errors: a.Errors + b.Errors,
		Status: map[string]int64{},
	}
	p.Dur = end - p.T
	for k, v := range a.Status {
		p.Status[k] += v
	}
	for k, v := range b.Status {
		p.Status[k] += v
	}
	h := NewHistogram()
	for _, x := range []Point{a, b} {
		mergeEncoded(h, x.Hist)
	}
	p.Hist = EncodeHist(h)
	if len(a.Classes)+len(b.Classes) > 0 {
		p.Classes = map[string]EncodedHist{}
		classes := map[string]*hdr.Histogram{}
		for _, x := range []Point{a, b} {
			for k, v := range x.Classes {
				if classes[k] == nil {
					classes[k] = NewHistogram()
				}
				mergeEncoded(classes[k], v)
			}
		}
		for k, ch := range classes {
			p.Classes[k] = EncodeHist(ch)
		}
	}
	p.P50, p.P90, p.P99, p.Max = Quantile(h, 50), Quantile(h, 90), Quantile(h, 99), Quantile(h, 100)
	// The service-time histogram is not kept per point: the larger p99 of the
	// two is an upper bound.
	p.ServiceP99 = max(a.ServiceP99, b.ServiceP99)
	if p.Dur > 0 {
		p.RPS = float64(p.Requests) / p.Dur
	}
	return p
}

// CompactSeries halves a series by merging adjacent pairs of points.
func CompactSeries(s []Point) []Point {
	out := make([]Point, 0, (len(s)+1)/2)
	for i := 0; i < len(s); i += 2 {
		if i+1 < len(s) {
			out = append(out, MergePoints(s[i], s[i+1]))
		} else {
			out = append(out, s[i])
		}
	}
	return out
}
