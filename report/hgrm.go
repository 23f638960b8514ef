package report

import (
	"bytes"
	"fmt"
	"io"
	"sync"

	hdr "github.com/HdrHistogram/hdrhistogram-go"

	"volley/stats"
)

// HgrmScale divides the histograms' nanoseconds into the milliseconds that
// the hgrm file shows, the unit HdrHistogram's plotter assumes.
const HgrmScale = 1e6

// hgrmTicks is the number of percentile lines per halving of the distance
// to 100%, the default of HdrHistogram's outputPercentileDistribution.
const hgrmTicks = 5

// Hgrm renders the "corrected" histogram (or "service" with service set) in
// the percentile distribution text format of HdrHistogram's
// outputPercentileDistribution, values in milliseconds (HgrmScale): the
// Value, Percentile, TotalCount and 1/(1-Percentile) columns, then the
// Mean/StdDeviation, Max/Total count and Buckets/SubBuckets footer. Files in
// this format load into HdrHistogram's plotter.
func Hgrm(service bool) Renderer {
	return RendererFunc(func(w io.Writer, r *stats.Result) error {
		key := "corrected"
		if service {
			key = "service"
		}
		h := r.Histograms[key].Histogram
		if h == nil {
			return fmt.Errorf("the result has no %s histogram", key)
		}
		return WriteHgrm(w, h, HgrmScale)
	})
}

// WriteHgrm writes h's percentile distribution as HdrHistogram's
// outputPercentileDistribution does, dividing values by scale.
func WriteHgrm(w io.Writer, h *hdr.Histogram, scale float64) error {
	p := &printer{w: w}
	digits := h.SignificantFigures()
	p.f("%12s %14s %10s %14s\n\n", "Value", "Percentile", "TotalCount", "1/(1-Percentile)")
	if h.TotalCount() > 0 {
		line := fmt.Sprintf("%%12.%df %%2.12f %%10d %%14.2f\n", digits)
		last := fmt.Sprintf("%%12.%df %%2.12f %%10d\n", digits)
		for _, b := range h.CumulativeDistributionWithTicks(hgrmTicks) {
			q := b.Quantile / 100
			if b.Quantile == 100 {
				p.f(last, float64(b.ValueAt)/scale, q, b.Count)
			} else {
				p.f(line, float64(b.ValueAt)/scale, q, b.Count, 1/(1-q))
			}
		}
	}
	buckets, sub := geometry(h)
	p.f(fmt.Sprintf("#[Mean    = %%12.%df, StdDeviation   = %%12.%df]\n", digits, digits), h.Mean()/scale, h.StdDev()/scale)
	p.f(fmt.Sprintf("#[Max     = %%12.%df, Total count    = %%12d]\n", digits), float64(maxValue(h))/scale, h.TotalCount())
	p.f("#[Buckets = %12d, SubBuckets     = %12d]\n", buckets, sub)
	return p.err
}

var (
	geomOnce          sync.Once
	geomBuckets, geom int64
)

// geometry returns the bucket and sub-bucket counts of volley's histogram
// geometry, which hdrhistogram-go does not export but prints in its own
// percentile footer.
func geometry(h *hdr.Histogram) (int64, int64) {
	if h.LowestTrackableValue() != stats.HistLowest || h.HighestTrackableValue() != stats.HistHighest || h.SignificantFigures() != stats.HistDigits {
		return footerGeometry(h)
	}
	geomOnce.Do(func() { geomBuckets, geom = footerGeometry(stats.NewHistogram()) })
	return geomBuckets, geom
}

func footerGeometry(h *hdr.Histogram) (int64, int64) {
	var buf bytes.Buffer
	empty := hdr.New(h.LowestTrackableValue(), h.HighestTrackableValue(), int(h.SignificantFigures()))
	if _, err := empty.PercentilesPrint(&buf, 1, 1); err != nil {
		return 0, 0
	}
	var b, s int64
	i := bytes.Index(buf.Bytes(), []byte("#[Buckets"))
	if i < 0 {
		return 0, 0
	}
	fmt.Sscanf(buf.String()[i:], "#[Buckets = %d, SubBuckets = %d]", &b, &s)
	return b, s
}

// maxValue is h's largest value (the highest value equivalent to it), 0
// for an empty histogram.
func maxValue(h *hdr.Histogram) int64 {
	if h.TotalCount() == 0 {
		return 0
	}
	return h.Max()
}

func maxMillis(h *hdr.Histogram) float64 { return float64(maxValue(h)) / 1e6 }
