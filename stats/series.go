package stats

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
		if x.Hist.Histogram != nil {
			h.Merge(x.Hist.Histogram)
		}
	}
	p.Hist = Hist{h}
	p.Classes = mergeClasses(a, b)
	p.P50, p.P90, p.P99, p.Max = Quantile(h, 50), Quantile(h, 90), Quantile(h, 99), Quantile(h, 100)
	p.ServiceP99 = max(a.ServiceP99, b.ServiceP99)
	if !a.ServiceHist.IsZero() && !b.ServiceHist.IsZero() {
		sh := a.ServiceHist.Dense()
		b.ServiceHist.p.MergeInto(sh)
		p.ServiceHist = Pack(sh)
		p.ServiceP99 = Quantile(sh, 99)
	}
	// Otherwise a point comes from a file without service histograms: the
	// larger p99 of the two is an upper bound.
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

// pointClasses returns p's per-class histograms. A point that holds one
// status class and no transport error carries no Classes (its Hist is that
// class's histogram): it is filled in here so that merging stays exact.
func pointClasses(p Point) map[string]Hist {
	if len(p.Classes) > 0 || p.Hist.Histogram == nil {
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
	return map[string]Hist{only: p.Hist}
}

// mergeClasses adds the per-class histograms of a and b and keeps them when
// the collector would: several classes, or any transport error.
func mergeClasses(a, b Point) map[string]Hist {
	ca, cb := pointClasses(a), pointClasses(b)
	if len(ca)+len(cb) == 0 {
		return nil
	}
	out := map[string]Hist{}
	for _, cs := range []map[string]Hist{ca, cb} {
		for k, v := range cs {
			if v.Histogram == nil {
				continue
			}
			if out[k].Histogram == nil {
				out[k] = Hist{NewHistogram()}
			}
			out[k].Merge(v.Histogram)
		}
	}
	if _, hasErr := out[ClassError.String()]; len(out) < 2 && !hasErr {
		return nil
	}
	return out
}
