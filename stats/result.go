package stats

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
	"time"
)

// Schema identifies the JSON result format. Fields are only ever added to
// a version; a change that removes or redefines one bumps it. Every key is
// always present: zero, empty or null when it does not apply.
const Schema = "volley.result/v2"

// SchemaV1 is the format before every key was always present; it is still
// read (and read as the current one).
const SchemaV1 = "volley.result/v1"

// Target describes what was loaded.
type Target struct {
	URL    string `json:"url"`
	Method string `json:"method"`
	// File names the targets file and Count its targets, when one was sent;
	// URL and Method are then set only if all targets share them (and are
	// written null otherwise).
	File  string `json:"file"`
	Count int    `json:"count"`
}

// MarshalJSON writes what Target leaves empty as null: url and method are
// null when a targets file's requests do not share them, file when none
// was read.
func (t Target) MarshalJSON() ([]byte, error) {
	null := func(s string) *string {
		if s == "" {
			return nil
		}
		return &s
	}
	return json.Marshal(struct {
		URL    *string `json:"url"`
		Method *string `json:"method"`
		File   *string `json:"file"`
		Count  int     `json:"count"`
	}{null(t.URL), null(t.Method), null(t.File), t.Count})
}

// Rate holds the asked and achieved request rates (requests per second).
type Rate struct {
	Target   float64 `json:"target"`
	Achieved float64 `json:"achieved"`
}

// Requests holds request counts.
type Requests struct {
	Total     int64 `json:"total"`
	Completed int64 `json:"completed"`
	Errors    int64 `json:"errors"`
	Late      int64 `json:"late"`
	// CheckFailed counts responses that failed an --expect check.
	CheckFailed int64 `json:"check_failed"`
}

// Latency holds corrected and service-time summaries.
type Latency struct {
	Corrected Summary `json:"corrected"`
	Service   Summary `json:"service"`
}

// SendLag summarises how far sends fell behind the schedule (ms).
type SendLag struct {
	P50 float64 `json:"p50"`
	P99 float64 `json:"p99"`
	Max float64 `json:"max"`
	// Tick is the pacing grid (ms): requests due within one tick were sent
	// together at its start, and lag and latency count from there. Absent
	// when every request was paced to its own due time.
	Tick float64 `json:"tick_ms"`
}

// Bytes counts bytes on the wire.
type Bytes struct {
	In  int64 `json:"in"`
	Out int64 `json:"out"`
}

// Point is one interval of the time series.
type Point struct {
	// T is the interval's start in seconds since the run started, Dur its length.
	T   float64 `json:"t"`
	Dur float64 `json:"dur"`
	// Requests that ended in the interval, and how many of them were errors
	// (transport errors, 4xx and 5xx).
	Requests int64            `json:"requests"`
	Errors   int64            `json:"errors"`
	Status   map[string]int64 `json:"status"`
	RPS      float64          `json:"rps"`
	// Corrected latency percentiles (ms) of responses in the interval, and the
	// service-time p99.
	P50        float64 `json:"p50"`
	P90        float64 `json:"p90"`
	P99        float64 `json:"p99"`
	Max        float64 `json:"max"`
	ServiceP99 float64 `json:"service_p99"`
	// Hist is the interval's corrected-latency histogram of responses.
	Hist EncodedHist `json:"hist"`
	// ServiceHist is the interval's service-time histogram of responses
	// (absent in files written before it existed).
	ServiceHist EncodedHist `json:"service_hist"`
	// Classes holds the interval's corrected-latency histogram per class
	// (including "error") when more than one class occurred or any
	// transport error did.
	Classes map[string]EncodedHist `json:"classes"`
}

// Result is a frozen run: what the report renders and the JSON file holds.
type Result struct {
	Schema string `json:"schema"`
	Target Target `json:"target"`
	// Protocol is the HTTP version the client negotiated ("HTTP/1.1",
	// "HTTP/2.0"; both, comma-separated, when connections differed).
	Protocol string `json:"protocol"`
	// Streams is set when connections carried many requests or messages
	// at once (--streams).
	Streams     *Streams  `json:"streams"`
	Started     time.Time `json:"started"`
	DurationS   float64   `json:"duration_s"`
	Mode        string    `json:"mode"` // "open" (fixed rate), "closed" or "subscribe" (WebSocket, only listening)
	Connections int       `json:"connections"`
	Interrupted bool      `json:"interrupted"`
	// Shard is "K/N" when the run was shard K of N of a plan.
	Shard string `json:"shard"`
	// Plan fingerprints the settings every shard of a plan must share.
	Plan string `json:"plan"`
	// Seed seeded everything random in the run: target picks, template
	// values, --data rows, Poisson gaps (0 for a merge of parts that
	// differed).
	Seed uint64 `json:"seed"`
	// StartLateMS is how far past its scheduled start (--start-at) the run
	// began, in milliseconds.
	StartLateMS float64 `json:"start_late_ms"`
	// Aborted says why --abort-on-fail stopped the run early.
	Aborted string `json:"aborted"`
	// Parts is how many results were merged into this one (1 for a
	// single run).
	Parts    int              `json:"parts"`
	Rate     Rate             `json:"rate"`
	Requests Requests         `json:"requests"`
	Status   map[string]int64 `json:"status"`
	Codes    map[string]int64 `json:"codes"`
	Errors   map[string]int64 `json:"errors"`
	// ErrorSamples holds one message per error category that occurred.
	ErrorSamples map[string]string `json:"error_samples"`
	Latency      Latency           `json:"latency"`
	SendLag      SendLag           `json:"send_lag"`
	Bytes        Bytes             `json:"bytes"`
	// Saturated counts requests with a latency beyond one hour, recorded as
	// one hour.
	Saturated int64 `json:"saturated"`
	// Shape holds the stages and arrival process of a shaped run.
	Shape *Shape `json:"shape"`
	// Warmup counts the warm-up's requests, which no other field includes.
	Warmup *Warmup `json:"warmup"`
	Series []Point `json:"series"`
	// Histograms: "corrected", "service", "send_lag", and per class
	// "corrected.2xx", "service.2xx", ..., "corrected.error".
	Histograms map[string]Hist `json:"histograms"`
	// Targets breaks the run down per target name when there were several.
	Targets map[string]*TargetResult `json:"targets"`
	// Checks counts failed --expect checks when any were asked for.
	Checks *Checks `json:"checks"`
	// Redirects describes followed redirects when --follow-redirects is on.
	Redirects *Redirects `json:"redirects"`
	// Phases summarises connect, tls, ttfb and transfer times (ms) where the
	// client observed them; their histograms are "phase.NAME".
	Phases map[string]Summary `json:"phases"`
	// Messages describes a run of messages (any message protocol): the
	// mode, how echoes were matched, and the counts of what was sent and
	// what came back. Its answered messages are in Requests.Completed and
	// in the "answered" class, never in an HTTP status class.
	Messages *Messages `json:"messages"`
	// WS describes what only a WebSocket run has: handshakes and close
	// codes. Its handshake latencies are in Histograms["handshake"].
	WS *WS `json:"ws"`
	// RTC describes what only a WebRTC run has: its peer connections'
	// setups, phase by phase. Its phase histograms are "rtc.NAME".
	RTC *RTC `json:"rtc"`
	// Thresholds holds the outcomes of the thresholds evaluated against
	// this result, when any were given.
	Thresholds []Outcome `json:"thresholds"`
}

// ThresholdsPassed reports whether every evaluated threshold passed (true
// when none were evaluated).
func (r *Result) ThresholdsPassed() bool {
	for _, o := range r.Thresholds {
		if !o.Pass {
			return false
		}
	}
	return true
}

// Elapsed is the run's length (DurationS) as a duration.
func (r *Result) Elapsed() time.Duration {
	return time.Duration(math.Round(r.DurationS * float64(time.Second)))
}

// ErrorRate is the share of requests that failed: transport errors plus 4xx
// and 5xx responses.
func (r *Result) ErrorRate() float64 {
	if r.Requests.Total == 0 {
		return 0
	}
	return float64(r.Requests.Errors) / float64(r.Requests.Total)
}

// newResult freezes a tally into a Result.
func newResult(t *Tally, meta Meta, elapsed time.Duration, out int64, samples map[string]string, series []Point) *Result {
	r := &Result{
		Schema: Schema, Target: meta.Target, Started: meta.Started.UTC(),
		DurationS: elapsed.Seconds(), Mode: meta.Mode(), Connections: meta.Connections,
		Interrupted: meta.Interrupted,
		Shard:       meta.Shard, Plan: meta.Plan, Seed: meta.Seed, StartLateMS: ms(int64(meta.StartLate)),
		Parts: 1,
		Requests: Requests{
			Total: t.Requests, Completed: t.Completed, Late: t.Late,
			Errors: t.Classes[ClassError] + t.Classes[Class4xx] + t.Classes[Class5xx],
		},
		Status: map[string]int64{}, Codes: map[string]int64{}, Errors: map[string]int64{},
		ErrorSamples: samples,
		Latency:      Latency{Corrected: Summarize(t.Corrected), Service: Summarize(t.Service)},
		SendLag: SendLag{
			P50: Quantile(t.SendLag, 50), P99: Quantile(t.SendLag, 99), Max: Quantile(t.SendLag, 100),
			Tick: ms(int64(meta.Tick)),
		},
		Bytes:      Bytes{In: t.BytesIn, Out: out},
		Saturated:  t.Saturated,
		Series:     series,
		Histograms: map[string]Hist{},
	}
	r.Rate.Target = meta.Rate
	if elapsed > 0 {
		r.Rate.Achieved = float64(t.Requests) / elapsed.Seconds()
	}
	for _, c := range StatusClasses() {
		r.Status[c.String()] = t.Classes[c]
	}
	for code, n := range t.Codes {
		if n > 0 && code != Answered { // an answered message has no status code
			r.Codes[strconv.Itoa(code)] = n
		}
	}
	for _, k := range ErrorKinds() {
		r.Errors[k.String()] = t.Errors[k]
	}
	r.Histograms["corrected"] = Hist{t.Corrected}
	r.Histograms["service"] = Hist{t.Service}
	r.Histograms["send_lag"] = Hist{t.SendLag}
	for c := Class(0); c < numClasses; c++ {
		if t.ClassCorrected[c] != nil {
			r.Histograms["corrected."+c.String()] = Hist{t.ClassCorrected[c]}
			r.Histograms["service."+c.String()] = Hist{t.ClassService[c]}
		}
	}
	return r
}

// WriteJSON writes r as indented JSON, with every key present: what r
// leaves nil is written empty ({} or []) or null.
func (r *Result) WriteJSON(w io.Writer) error {
	c := *r
	c.fill()
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(&c)
}

// fill gives the maps and lists that always have entries when a run has
// any an empty value instead of nil, so that they are written {} or [],
// and counts a single run as one part.
func (r *Result) fill() {
	for _, m := range []*map[string]int64{&r.Status, &r.Codes, &r.Errors} {
		if *m == nil {
			*m = map[string]int64{}
		}
	}
	if r.ErrorSamples == nil {
		r.ErrorSamples = map[string]string{}
	}
	if r.Phases == nil {
		r.Phases = map[string]Summary{}
	}
	if r.Histograms == nil {
		r.Histograms = map[string]Hist{}
	}
	if r.Series == nil {
		r.Series = []Point{}
	}
	if r.Thresholds == nil {
		r.Thresholds = []Outcome{}
	}
	r.Parts = max(r.Parts, 1)
}

// ReadResult decodes a JSON result and checks its schema.
func ReadResult(rd io.Reader) (*Result, error) {
	var r Result
	dec := json.NewDecoder(rd)
	if err := dec.Decode(&r); err != nil {
		return nil, fmt.Errorf("decode result: %w", err)
	}
	switch r.Schema {
	case Schema:
	case SchemaV1:
		r.Schema = Schema
	default:
		return nil, fmt.Errorf("decode result: schema %q, want %q (or %q)", r.Schema, Schema, SchemaV1)
	}
	r.fill()
	return &r, nil
}

// Streams is what each connection of a multiplexed run could carry.
type Streams struct {
	// PerConnection is what was asked: --streams, or the protocol's default.
	PerConnection int `json:"per_connection"`
	// ServerCap is the lowest limit a server set below PerConnection (an
	// HTTP/2 server's SETTINGS_MAX_CONCURRENT_STREAMS), 0 if none did.
	ServerCap int `json:"server_cap"`
}
