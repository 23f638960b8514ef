package report

import (
	"fmt"
	"io"
	"math"
	"strings"
	"time"
	"unicode/utf8"

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
		progressbar.OptionSetWidth(barWidth),
		progressbar.OptionShowDescriptionAtLineEnd(),
		progressbar.OptionSetPredictTime(false),
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

// describe is the text after the bar: the phase, the last second's rate
// (against the target when shaped), p99 and errors, then the request count,
// fitted into what the line leaves of 80 columns (see fit).
func (p *Progress) describe(s stats.Progress, t time.Duration) string {
	rps, p99 := num(float64(int64(s.LastRPS))), Duration(s.LastP99)
	count := fmt.Sprintf("(%d req)", s.Requests)
	errs := fmt.Sprintf("errors %d", s.Errors)
	if p.phase == nil {
		return fit(descWidth, rps+" req/s", "p99 "+p99, errs, count)
	}
	label, target := p.phase(t)
	if label == "warm-up" {
		return fit(descWidth, "warm-up", fmt.Sprintf("%d req", s.Warmup),
			fmt.Sprintf("target %s %s, not measured", num(math.Round(target)), p.unit))
	}
	if s.LastRPS == 0 && s.LastP99 == 0 {
		rps, p99 = "–", "–"
	}
	parts := []string{}
	if label != "" {
		parts = append(parts, label)
	}
	if p.unit == "req/s" {
		parts = append(parts, fmt.Sprintf("%s/%s req/s", rps, num(math.Round(target))))
	} else {
		parts = append(parts, fmt.Sprintf("%s %s", num(target), p.unit), rps+" req/s")
	}
	return fit(descWidth, append(parts, "p99 "+p99, errs, count)...)
}

// descWidth is what 80 columns leave the description after the bar,
// rendered as "  50% |" + bar + "|  [59m59s] ", with a column spare so
// that the cursor never wraps.
const descWidth = 80 - 1 - len("  50% |") - barWidth - len("|  [59m59s] ")

// barWidth is the bar's width in columns.
const barWidth = 10

// fit joins parts with two spaces, or one if that is too wide for width.
// If even that is too wide it leaves out the request count (the last
// part), then the p99 (the one before the errors, the second to last), then
// parts from the end; the first is cut if it must.
func fit(width int, parts ...string) string {
	try := func(ps []string) (string, bool) {
		for _, sep := range []string{"  ", " "} {
			if s := strings.Join(ps, sep); utf8.RuneCountInString(s) <= width {
				return s, true
			}
		}
		return "", false
	}
	n := len(parts)
	cands := [][]string{parts}
	if n >= 3 {
		cands = append(cands, parts[:n-1], append(append([]string{}, parts[:n-3]...), parts[n-2]))
	}
	for k := n - 3; k >= 1; k-- {
		cands = append(cands, parts[:k])
	}
	for _, c := range cands {
		if s, ok := try(c); ok {
			return s
		}
	}
	r := []rune(parts[0])
	return string(r[:min(len(r), width)])
}

func (p *Progress) Finish() {
	_ = p.bar.Finish()
	_ = p.bar.Clear()
}
