package report

import (
	"io"

	"volley/stats"
)

// Thresholds writes one line per evaluated threshold:
//
//	Thresholds
//	  PASS  p99<250ms        p99 = 204 ms, want < 250 ms
//	  FAIL  error_rate<1%    error_rate = 4%, want < 1%
func Thresholds(w io.Writer, r *stats.Result) error {
	if len(r.Thresholds) == 0 {
		return nil
	}
	p := &printer{w: w}
	width := 0
	for _, o := range r.Thresholds {
		width = max(width, len([]rune(o.Threshold)))
	}
	width = min(width, 30)
	failed := 0
	for _, o := range r.Thresholds {
		if !o.Pass {
			failed++
		}
	}
	p.f("\n")
	if failed == 0 {
		p.f("  Thresholds: all %d passed\n", len(r.Thresholds))
	} else {
		p.f("  Thresholds: %d of %d FAILED\n", failed, len(r.Thresholds))
	}
	for _, o := range r.Thresholds {
		verdict := "PASS"
		if !o.Pass {
			verdict = "FAIL"
		}
		note := ""
		if o.Aborted {
			note = "  (stopped the run)"
		}
		p.f("    %s  %-*s  %s%s\n", verdict, width, o.Threshold, o.Message, note)
	}
	if r.Aborted != "" {
		p.f("%s\n", wrap("Run stopped early by --abort-on-fail: "+r.Aborted, reportWidth, "  "))
	}
	return p.err
}

// TextWithThresholds writes the text report followed by the thresholds.
func TextWithThresholds(w io.Writer, r *stats.Result) error {
	if err := Text(w, r); err != nil {
		return err
	}
	return Thresholds(w, r)
}
