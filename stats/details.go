package stats

import (
	"strconv"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
)

// Failed checks, as bits of Sample.Check.
const (
	// CheckStatus: the status code was not one of the expected ones.
	CheckStatus uint8 = 1 << iota
	// CheckBody: the body did not contain the expected text or match the
	// expected expression.
	CheckBody
)

// MaxTargets is how many distinct target names a run can break down.
const MaxTargets = 256

// Phases splits a request's time, in microseconds rounded up (so a phase that
// was observed is at least 1). 0 means the phase did not happen (a reused
// connection has no connect) or the client could not observe it.
type Phases struct {
	// Connect is the TCP (or unix socket, or proxy tunnel) connect time.
	Connect uint32
	// TLS is the TLS handshake time.
	TLS uint32
	// TTFB is from writing the request to the first byte of the response.
	TTFB uint32
	// Transfer is from the first byte of the response to its last.
	Transfer uint32
}

// Phase names in report order, as used in the JSON result.
var phaseNames = [...]string{"connect", "tls", "ttfb", "transfer"}

// PhaseNames lists the phases in report order.
func PhaseNames() []string { return phaseNames[:] }

func (p *Phases) at(i int) uint32 {
	switch i {
	case 0:
		return p.Connect
	case 1:
		return p.TLS
	case 2:
		return p.TTFB
	}
	return p.Transfer
}

// details holds what the Collector tallies beyond the overall Tally: per
// target breakdowns, checks, redirects and phases. Histograms are created on
// first use, so a run that needs none of them pays nothing.
type details struct {
	names       []string       // target names by Sample.Target; nil: no breakdown
	targets     []*TargetTally // by Sample.Target
	checkFailed [2]int64       // by check: status, body
	failed      int64          // responses that failed at least one check
	checks      bool           // whether checks were asked for
	phases      [len(phaseNames)]*hdr.Histogram
	redirected  int64       // requests whose first response was a followed redirect
	firstCodes  [600]int64  // their first status codes
	following   bool        // whether redirects were followed
	protocol    string      // what the client negotiated
	targetInfo  []TargetDef // by Sample.Target
}

// TargetDef describes one target group for the result.
type TargetDef struct {
	Name   string
	Method string
	URL    string
	Weight int
}

// Describe tells the collector what the run sends, so that the result can
// report it: the target groups (by Sample.Target; at most MaxTargets, more
// or fewer than two give no breakdown), whether checks and redirects are
// active. Call it before the run.
func (c *Collector) Describe(targets []TargetDef, checks, followRedirects bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	d := &c.details
	d.checks, d.following = checks, followRedirects
	if len(targets) >= 2 && len(targets) <= MaxTargets {
		d.targetInfo = append([]TargetDef(nil), targets...)
		d.targets = make([]*TargetTally, len(targets))
	}
}

// SetProtocol records the protocol the client negotiated, e.g. "HTTP/2.0".
func (c *Collector) SetProtocol(p string) {
	c.mu.Lock()
	c.details.protocol = p
	c.mu.Unlock()
}

func (d *details) add(s *Sample) {
	if d.targets != nil && int(s.Target) < len(d.targets) {
		t := d.targets[s.Target]
		if t == nil {
			t = newTargetTally()
			d.targets[s.Target] = t
		}
		t.Add(s)
	}
	if s.Check != 0 {
		d.failed++
		if s.Check&CheckStatus != 0 {
			d.checkFailed[0]++
		}
		if s.Check&CheckBody != 0 {
			d.checkFailed[1]++
		}
	}
	if s.First != 0 {
		d.redirected++
		if s.First < 600 {
			d.firstCodes[s.First]++
		}
	}
	for i := range d.phases {
		if v := s.Phases.at(i); v != 0 {
			if d.phases[i] == nil {
				d.phases[i] = NewHistogram()
			}
			record(d.phases[i], int64(v)*1000)
		}
	}
}

// fill adds the details to a frozen result.
func (d *details) fill(r *Result) {
	r.Protocol = d.protocol
	r.Requests.CheckFailed = d.failed
	if d.checks {
		r.Checks = &Checks{Failed: d.failed, Status: d.checkFailed[0], Body: d.checkFailed[1]}
		r.Checks.Rate = r.CheckRate()
	}
	if d.following {
		r.Redirects = &Redirects{Followed: d.redirected, FirstCodes: codeMap(&d.firstCodes)}
	}
	for i, h := range d.phases {
		if h == nil {
			continue
		}
		if r.Phases == nil {
			r.Phases = map[string]Summary{}
		}
		r.Phases[phaseNames[i]] = Summarize(h)
		r.Histograms["phase."+phaseNames[i]] = Hist{h}
	}
	if d.targets == nil {
		return
	}
	r.Targets = map[string]*TargetResult{}
	for i, def := range d.targetInfo {
		t := d.targets[i]
		if t == nil {
			t = newTargetTally()
		}
		r.Targets[def.Name] = t.result(def)
	}
}

func codeMap(codes *[600]int64) map[string]int64 {
	m := map[string]int64{}
	for code, n := range codes {
		if n > 0 {
			m[strconv.Itoa(code)] = n
		}
	}
	return m
}

// TargetTally is one target's share of a run: counts and latency
// histograms. It is not safe for concurrent use.
type TargetTally struct {
	Requests, Completed, CheckFailed, Late int64
	Classes                                [NumClasses]int64
	Codes                                  [600]int64
	Errors                                 [NumErrorKinds]int64
	// Corrected and Service hold latencies of requests that got a response.
	Corrected, Service *hdr.Histogram
}

func newTargetTally() *TargetTally {
	return &TargetTally{Corrected: NewHistogram(), Service: NewHistogram()}
}

// Add records one sample.
func (t *TargetTally) Add(s *Sample) {
	t.Requests++
	c := ClassOf(int(s.Code), s.Err)
	t.Classes[c]++
	if s.Check != 0 {
		t.CheckFailed++
	}
	if s.Lag() > int64(LateThreshold) {
		t.Late++
	}
	if s.Err != ErrNone {
		t.Errors[s.Err]++
		return
	}
	if c == ClassError {
		return
	}
	t.Completed++
	t.Codes[s.Code]++
	record(t.Corrected, s.Corrected)
	record(t.Service, s.Service)
}

func (t *TargetTally) result(def TargetDef) *TargetResult {
	r := &TargetResult{
		Method: def.Method, URL: def.URL, Weight: def.Weight,
		Requests: Requests{
			Total: t.Requests, Completed: t.Completed, CheckFailed: t.CheckFailed, Late: t.Late,
			Errors: t.Classes[ClassError] + t.Classes[Class4xx] + t.Classes[Class5xx],
		},
		Status: map[string]int64{}, Codes: codeMap(&t.Codes), Errors: map[string]int64{},
		Latency:    Latency{Corrected: Summarize(t.Corrected), Service: Summarize(t.Service)},
		Histograms: map[string]Hist{"corrected": {t.Corrected}, "service": {t.Service}},
	}
	for _, c := range StatusClasses() {
		r.Status[c.String()] = t.Classes[c]
	}
	for _, k := range ErrorKinds() {
		r.Errors[k.String()] = t.Errors[k]
	}
	return r
}

// TargetResult is one target's part of a Result, shaped like the Result's
// own fields of the same names.
type TargetResult struct {
	Method     string           `json:"method"`
	URL        string           `json:"url"`
	Weight     int              `json:"weight"`
	Requests   Requests         `json:"requests"`
	Status     map[string]int64 `json:"status"`
	Codes      map[string]int64 `json:"codes"`
	Errors     map[string]int64 `json:"errors"`
	Latency    Latency          `json:"latency"`
	Histograms map[string]Hist  `json:"histograms"`
}

// Checks counts responses that failed the run's --expect checks.
type Checks struct {
	// Failed counts responses that failed at least one check.
	Failed int64 `json:"failed"`
	// Status and Body count failures of each check.
	Status int64 `json:"status"`
	Body   int64 `json:"body"`
	// Rate is Failed over all requests (see Result.CheckRate).
	Rate float64 `json:"rate"`
}

// Redirects describes followed redirects: how many requests were redirected
// at least once, and the status codes of their first responses. Status and
// Codes of the Result hold final statuses.
type Redirects struct {
	Followed   int64            `json:"followed"`
	FirstCodes map[string]int64 `json:"first_codes"`
}

// CheckRate is the share of all requests whose response failed a check
// (transport errors are not checked: they count in ErrorRate).
func (r *Result) CheckRate() float64 {
	if r.Requests.Total == 0 {
		return 0
	}
	return float64(r.Requests.CheckFailed) / float64(r.Requests.Total)
}
