package report

import (
	"fmt"
	"io"
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
	if p.duration > 0 {
		done = float64(s.Elapsed) / float64(p.duration)
	}
	if p.requests > 0 {
		done = max(done, float64(s.Requests)/float64(p.requests))
	}
	done = min(max(done, 0), 1)
	p.bar.Describe(fmt.Sprintf("%d req  %s req/s  p99 %s  errors %d",
		s.Requests, num(float64(int64(s.LastRPS))), Duration(s.LastP99), s.Errors))
	_ = p.bar.Set64(int64(done * 1000))
}

// Finish clears the bar.
func (p *Progress) Finish() {
	_ = p.bar.Finish()
	_ = p.bar.Clear()
}
