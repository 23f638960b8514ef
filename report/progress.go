package report

import (
	"fmt"
	"io"
	"math"
	"time"

	"github.com/schollz/progressbar/v3"

	"volley/stats"
)

// Progress draws the live progress bar. It is refreshed by a timer (see
// Update), never per request. Its methods are called from one goroutine.
type Progress struct {
	bar      *progressbar.ProgressBar
	duration time.Duration
	requests int64
	// Set by SetPhase for a shaped run or a warm-up.
	offset time.Duration
	phase  func(time.Duration) (string, float64)
	unit   string
}

// SetPhase makes the bar show the run's phase ("warm-up", "stage 2/3") and
// its target (in unit: "req/s" or "conns") as phase reports them at a time
// since the run's start. offset is the warm-up's length: Update's
// stats.Progress measures time from the end of the warm-up.
func (p *Progress) SetPhase(offset time.Duration, unit string, phase func(time.Duration) (label string, target float64)) {
	p.offset, p.unit, p.phase = offset, unit, phase
}

// NewProgress draws on w against the run's bound: a duration, a request
// count, or both (whichever comes first is shown as the fuller of the two).
func NewProgress(w io.Writer, duration time.Duration, requests int64) *Progress {
	max := int64(1000)
	bar := progressbar.NewOptions64(max,
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetWidth(24),
		progressbar.OptionShowDescriptionAtLineEnd(),
		progressbar.OptionSetPredictTime(false),
		progressbar.OptionShowCount(),
		progressbar.OptionSetRenderBlankState(true),
		progressbar.OptionClearOnFinish(),
		progressbar.OptionThrottle(0),
		progressbar.OptionSetElapsedTime(true),
	)
	return &Progress{bar: bar, duration: duration, requests: requests}
}

// Update shows s: the share done (per mille), the last second's rate and
// p99, and the error count.
func (p *Progress) Update(s stats.Progress) {
	var done float64
	t := s.Elapsed + p.offset
	if p.duration > 0 {
		done = float64(t) / float64(p.duration)
	}
	if p.requests > 0 {
		done = max(done, float64(s.Requests)/float64(p.requests))
	}
	done = min(max(done, 0), 1)
	p.bar.Describe(p.describe(s, t))
	_ = p.bar.Set64(int64(done * 1000))
}

// describe is the text after the bar.
func (p *Progress) describe(s stats.Progress, t time.Duration) string {
	if p.phase == nil {
		return fmt.Sprintf("%d req  %s req/s  p99 %s  errors %d",
			s.Requests, num(float64(int64(s.LastRPS))), Duration(s.LastP99), s.Errors)
	}
	label, target := p.phase(t)
	if label == "warm-up" {
		return fmt.Sprintf("warm-up  %d req  target %s %s (not measured)", s.Warmup, num(math.Round(target)), p.unit)
	}
	if label != "" {
		label += "  "
	}
	// Until the first measured second has closed there is no rate or p99.
	rps, p99 := num(float64(int64(s.LastRPS))), Duration(s.LastP99)
	if s.LastRPS == 0 && s.LastP99 == 0 {
		rps, p99 = "–", "–"
	}
	if p.unit == "req/s" {
		return fmt.Sprintf("%s%s/%s req/s  p99 %s  errors %d  (%d req)",
			label, rps, num(math.Round(target)), p99, s.Errors, s.Requests)
	}
	return fmt.Sprintf("%s%s %s  %s req/s  p99 %s  errors %d  (%d req)",
		label, num(target), p.unit, rps, p99, s.Errors, s.Requests)
}

// Finish clears the bar.
func (p *Progress) Finish() {
	_ = p.bar.Finish()
	_ = p.bar.Clear()
}
