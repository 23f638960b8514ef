package stats

import (
	hdr "github.com/HdrHistogram/hdrhistogram-go"
)

// Tally accumulates samples into histograms and exact counts. It is not safe
// for concurrent use; the Collector owns its tallies.
type Tally struct {
	// Corrected and Service hold latencies of requests that got a response.
	Corrected *hdr.Histogram
	Service   *hdr.Histogram
	// ClassCorrected and ClassService hold latencies per class, including
	// ClassError for requests that ended in a transport error. Entries are
	// created on first use.
	ClassCorrected [NumClasses]*hdr.Histogram
	ClassService   [NumClasses]*hdr.Histogram
	// SendLag holds actual-minus-intended send times of every request.
	SendLag *hdr.Histogram

	Requests  int64 // every request that ended (responses and errors)
	Completed int64 // requests that got a response
	Late      int64 // requests sent more than LateThreshold after their intended time
	Classes   [NumClasses]int64
	Codes     [600]int64 // by status code; codes outside 100..599 are counted in Classes[ClassError]
	Errors    [NumErrorKinds]int64
	BytesIn   int64
	// Saturated counts requests with a latency or send lag above the
	// histograms' highest trackable value; such values are recorded at that
	// value, never dropped.
	Saturated int64
}

// NewTally returns an empty tally.
func NewTally() *Tally {
	return &Tally{Corrected: NewHistogram(), Service: NewHistogram(), SendLag: NewHistogram()}
}

// record adds v to h, clamped into range, and reports whether it had to
// clamp. The caller counts saturation once per sample, not per histogram.
func record(h *hdr.Histogram, v int64) bool {
	v, sat := clampValue(v)
	// The value is in range after clamping, so RecordValue cannot fail.
	_ = h.RecordValue(v)
	return sat
}

func classHist(hs *[NumClasses]*hdr.Histogram, c Class) *hdr.Histogram {
	if hs[c] == nil {
		hs[c] = NewHistogram()
	}
	return hs[c]
}

// Add records one sample.
func (t *Tally) Add(s *Sample) {
	t.Requests++
	c := ClassOf(int(s.Code), s.Err)
	t.Classes[c]++
	if s.Err != ErrNone {
		t.Errors[s.Err]++
	} else if c != ClassError {
		t.Completed++
		t.Codes[s.Code]++
		record(t.Corrected, s.Corrected)
		record(t.Service, s.Service)
	}
	sat := record(classHist(&t.ClassCorrected, c), s.Corrected)
	sat = record(classHist(&t.ClassService, c), s.Service) || sat
	lag := s.Lag()
	if lag > int64(LateThreshold) {
		t.Late++
	}
	sat = record(t.SendLag, lag) || sat
	if sat {
		t.Saturated++
	}
	t.BytesIn += s.BytesIn
}
