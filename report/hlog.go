package report

import (
	"fmt"
	"io"

	hdr "github.com/HdrHistogram/hdrhistogram-go"

	"volley/stats"
)

// HlogClasses are the tags of the per-class lines of an hlog, in order.
var HlogClasses = []string{"1xx", "2xx", "3xx", "4xx", "5xx", "error"}

// Hlog writes the series as an HdrHistogram interval log, format version
// 1.3, as HdrHistogram's HistogramLogWriter does: a version comment, the
// StartTime and BaseTime comments (seconds since the epoch), the legend
// line, then per interval an untagged line with the corrected latency of
// every response and one line per status class that occurred, tagged
// "Tag=2xx" and so on ("Tag=error" for transport errors). Each line holds
// the interval's start (seconds since BaseTime, the run's start), its
// length, its maximum in milliseconds and the histogram in nanoseconds,
// V2-compressed and base64-encoded. HdrHistogram's log readers (Java,
// JavaScript, Go) read it; HistogramLogProcessor can split it by tag.
func Hlog(w io.Writer, r *stats.Result) error {
	p := &printer{w: w}
	start := r.Started
	secs := float64(start.UnixMilli()) / 1e3
	p.f("#[volley %s %s: corrected latency in nanoseconds; untagged lines hold every response, Tag= lines one status class]\n",
		r.Target.Method, r.Target.URL)
	p.f("#[Histogram log format version %s]\n", hdr.HISTOGRAM_LOG_FORMAT_VERSION)
	p.f("#[StartTime: %.3f (seconds since epoch), %s]\n", secs, start.UTC().Format("2006-01-02T15:04:05.000Z07:00"))
	p.f("#[BaseTime: %.3f (seconds since epoch)]\n", secs)
	p.f("\"StartTimestamp\",\"Interval_Length\",\"Interval_Max\",\"Interval_Compressed_Histogram\"\n")
	for _, pt := range r.Series {
		if err := hlogLine(p, "", pt.T, pt.Dur, pt.Hist); err != nil {
			return err
		}
		classes := pointClassHists(pt)
		for _, tag := range HlogClasses {
			if e, ok := classes[tag]; ok {
				if err := hlogLine(p, tag, pt.T, pt.Dur, e); err != nil {
					return err
				}
			}
		}
	}
	return p.err
}

// pointClassHists returns the point's non-empty histogram per class. A point
// with a single status class and no transport error stores none: its Hist is
// that class's histogram.
func pointClassHists(pt stats.Point) map[string]stats.EncodedHist {
	out := map[string]stats.EncodedHist{}
	if len(pt.Classes) > 0 {
		for k, e := range pt.Classes {
			if e != "" {
				out[k] = e
			}
		}
		return out
	}
	var only string
	var n int64
	for k, c := range pt.Status {
		if c > 0 {
			only, n = k, n+c
		}
	}
	if n > 0 && n == pt.Requests && pt.Hist != "" {
		out[only] = pt.Hist
	}
	return out
}

func hlogLine(p *printer, tag string, t, dur float64, e stats.EncodedHist) error {
	h, err := e.Decode()
	if err != nil {
		return fmt.Errorf("interval histogram at %.3f s: %w", t, err)
	}
	enc := []byte(e)
	if e == "" {
		if enc, err = h.Encode(hdr.V2CompressedEncodingCookieBase); err != nil {
			return fmt.Errorf("encode interval histogram: %w", err)
		}
	}
	if tag != "" {
		p.f("Tag=%s,", tag)
	}
	p.f("%.3f,%.3f,%.3f,%s\n", t, dur, maxMillis(h), enc)
	return nil
}
