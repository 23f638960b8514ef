package stats

import hdr "github.com/HdrHistogram/hdrhistogram-go"

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
	if isEmptyPoint(a) && isEmptyPoint(b) {
		// Nothing to add: build no histogram, so that compacting a long
		// quiet stretch costs no histogram per point.
		return p
	}
	h := NewHistogram()
	for _, x := range []Point{a, b} {
		mergeEncoded(h, x.Hist)
	}
	p.Hist = EncodeHist(h)
	p.Classes = mergeClasses(a, b)
	p.P50, p.P90, p.P99, p.Max = Quantile(h, 50), Quantile(h, 90), Quantile(h, 99), Quantile(h, 100)
	sh := NewHistogram()
	mergeEncoded(sh, a.ServiceHist)
	mergeEncoded(sh, b.ServiceHist)
	p.ServiceHist = EncodeHist(sh)
	p.ServiceP99 = Quantile(sh, 99)
	if sh.TotalCount() == 0 {
		// Points without service histograms: the larger p99 is an upper bound.
		p.ServiceP99 = max(a.ServiceP99, b.ServiceP99)
	}
	if p.Dur > 0 {
		p.RPS = float64(p.Requests) / p.Dur
	}
	return p
}

// isEmptyPoint reports whether p holds no request and no histogram.
func isEmptyPoint(p Point) bool {
	return p.Requests == 0 && p.Hist == "" && p.ServiceHist == "" && len(p.Classes) == 0
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

// pointClasses returns p's per-class histograms. A point that holds one
// status class and no transport error carries no Classes (its Hist is that
// class's histogram): it is filled in here so that merging stays exact.
func pointClasses(p Point) map[string]EncodedHist {
	if len(p.Classes) > 0 || p.Hist == "" {
		return p.Classes
	}
	var only string
	var responses int64
	for k, n := range p.Status {
		if n > 0 {
			if only != "" {
				return nil
			}
			only = k
			responses += n
		}
	}
	if only == "" || responses != p.Requests {
		return nil
	}
	return map[string]EncodedHist{only: p.Hist}
}

// mergeClasses adds the per-class histograms of a and b and keeps them when
// the collector would: several classes, or any transport error.
func mergeClasses(a, b Point) map[string]EncodedHist {
	ca, cb := pointClasses(a), pointClasses(b)
	if len(ca)+len(cb) == 0 {
		return nil
	}
	merged := map[string]*hdr.Histogram{}
	for _, cs := range []map[string]EncodedHist{ca, cb} {
		for k, v := range cs {
			if v == "" {
				continue
			}
			if merged[k] == nil {
				merged[k] = NewHistogram()
			}
			mergeEncoded(merged[k], v)
		}
	}
	if _, hasErr := merged[ClassError.String()]; len(merged) < 2 && !hasErr {
		return nil
	}
	out := make(map[string]EncodedHist, len(merged))
	for k, h := range merged {
		out[k] = EncodeHist(h)
	}
	return out
}

// mergeEncoded adds the histogram e into h. A histogram that does not decode
// (only possible in a hand-edited result) is skipped.
func mergeEncoded(h *hdr.Histogram, e EncodedHist) {
	if d, err := e.Decode(); err == nil {
		h.Merge(d)
	}
}
