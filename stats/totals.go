package stats

import (
	"sync/atomic"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
)

// Totals is the run so far, for live metrics: cumulative counts and copies
// of the cumulative histograms, drained up to the instant it was taken. It
// is the caller's own, safe to read while the run goes on.
type Totals struct {
	Requests  int64                   // requests that ended, responses and errors
	InFlight  int64                   // requests sent that have not ended (or not been drained)
	Status    map[string]int64        // by status class, as the result's status
	Codes     map[string]int64        // by status code, as the result's codes
	Errors    map[string]int64        // by ErrorKind name
	Corrected *hdr.Histogram          // responses' latency from the intended send
	Service   *hdr.Histogram          // responses' latency from the actual send
	SendLag   *hdr.Histogram          // every request's actual minus intended send
	Targets   map[string]TargetTotals // by target name; nil without a breakdown
	// WarmBytes is what was on the wire (in, out) when the warm-up ended,
	// which the result's bytes leave out; WarmDone says it has ended.
	WarmBytes [2]int64
	WarmDone  bool
}

// TargetTotals is one target's share of Totals.
type TargetTotals struct {
	Status map[string]int64
	Codes  map[string]int64
}

// TrackIssued tells the collector how many requests the run has issued so
// far (warm-up included), for Totals' InFlight.
func (c *Collector) TrackIssued(issued func() int64) {
	c.mu.Lock()
	c.issued = issued
	c.mu.Unlock()
}

// SetWarmBytes keeps the bytes on the wire (in, out) at the end of the
// warm-up, for Totals.
func (c *Collector) SetWarmBytes(b [2]int64) {
	c.mu.Lock()
	c.warmBytes, c.warmDone = b, true
	c.mu.Unlock()
}

// Totals drains the recorders and returns a copy of the run so far. It
// copies three histograms: call it once an interval, not per request.
func (c *Collector) Totals() Totals {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.drainLocked()
	t := c.total
	out := Totals{
		Requests: t.Requests, Status: classMap(&t.Classes),
		Codes: codeMap(&t.Codes), Errors: map[string]int64{},
		Corrected: hdr.Import(t.Corrected.Export()),
		Service:   hdr.Import(t.Service.Export()),
		SendLag:   hdr.Import(t.SendLag.Export()),
		WarmBytes: c.warmBytes, WarmDone: c.warmDone,
	}
	for _, k := range ErrorKinds() {
		if n := t.Errors[k]; n > 0 {
			out.Errors[k.String()] = n
		}
	}
	if c.issued != nil {
		out.InFlight = max(c.issued()-t.Requests-c.warm.Requests, 0)
	}
	if d := &c.details; d.targets != nil {
		out.Targets = make(map[string]TargetTotals, len(d.targets))
		for i, tt := range d.targets {
			name := d.targetInfo[i].Name
			if tt == nil {
				var zero [NumClasses]int64
				out.Targets[name] = TargetTotals{Status: classMap(&zero), Codes: map[string]int64{}}
				continue
			}
			out.Targets[name] = TargetTotals{Status: classMap(&tt.Classes), Codes: codeMap(&tt.Codes)}
		}
	}
	return out
}

// TotalsOf is a finished run's Totals: what its result says, so that the
// last values live metrics send equal the result. InFlight is 0.
func TotalsOf(r *Result) Totals {
	t := Totals{
		Requests: r.Requests.Total, Status: r.Status, Codes: r.Codes, Errors: r.Errors,
		Corrected: r.Histograms["corrected"].Histogram,
		Service:   r.Histograms["service"].Histogram,
		SendLag:   r.Histograms["send_lag"].Histogram,
	}
	for _, h := range []**hdr.Histogram{&t.Corrected, &t.Service, &t.SendLag} {
		if *h == nil {
			*h = NewHistogram()
		}
	}
	if len(r.Targets) > 0 {
		t.Targets = make(map[string]TargetTotals, len(r.Targets))
		for name, tr := range r.Targets {
			t.Targets[name] = TargetTotals{Status: tr.Status, Codes: tr.Codes}
		}
	}
	return t
}

// IssuedCounter adapts an atomic ticket counter, which may run past the
// plan's limit as workers find nothing left to claim, to TrackIssued.
func IssuedCounter(next *atomic.Int64, limit int64) func() int64 {
	return func() int64 {
		n := next.Load()
		if limit > 0 {
			n = min(n, limit)
		}
		return n
	}
}
