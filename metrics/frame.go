package metrics

import (
	"maps"
	"slices"
	"strconv"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"

	"volley/stats"
)

// Frame is one instant of a run as every receiver sees it.
type Frame struct {
	Time  time.Time
	Start time.Time // when the run started: the counters' start
	// Labels go on every series: --tag's and the shard's.
	Labels map[string]string
	Totals stats.Totals
	// BytesIn and BytesOut are on the wire so far.
	BytesIn, BytesOut int64
	// TargetRate is the rate asked of this process now, 0 for a closed loop.
	TargetRate float64
	// Messages marks a message protocol (WebSocket, WebRTC): message series
	// are sent as well.
	Messages bool
	// Final is the frame of the finished run: its values are the result's.
	Final bool
}

// Kind is what a family's values mean.
type Kind uint8

// Kinds of family.
const (
	Counter Kind = iota
	Gauge
	Histogram
)

// Family is one metric name and its series.
type Family struct {
	Name, Help string
	Kind       Kind
	Unit       string // "seconds", "bytes", "requests", ...: for OTLP
	Series     []Series
}

// Series is one labelled value of a family: Value for counters and gauges,
// Hist (in nanoseconds, as recorded) for histograms.
type Series struct {
	Labels []Label // sorted by name; the frame's labels not included
	Value  float64
	Hist   *hdr.Histogram
}

// Label is a name and its value.
type Label struct{ Name, Value string }

// Names of the families, as documented in the README.
const (
	RequestsTotal   = "volley_requests_total"
	ErrorsTotal     = "volley_errors_total"
	RequestDuration = "volley_request_duration_seconds"
	ServiceDuration = "volley_service_duration_seconds"
	SendLag         = "volley_send_lag_seconds"
	InFlight        = "volley_in_flight"
	TargetRate      = "volley_target_rate"
	BytesTotal      = "volley_bytes_total"
	MessagesTotal   = "volley_messages_total"
	MessageRTT      = "volley_message_rtt_seconds"
)

// Families is the frame as metric families, in a fixed order.
func (f *Frame) Families() []Family {
	t := &f.Totals
	fams := []Family{
		{Name: RequestsTotal, Kind: Counter, Unit: "requests",
			Help:   "Requests that ended, by status code, class (1xx to 5xx, error for a transport error, answered for a message's answer) and target.",
			Series: requestSeries(t)},
		{Name: ErrorsTotal, Kind: Counter, Unit: "errors",
			Help:   "Requests that ended in a transport error, by kind (timeout, refused, reset, ...).",
			Series: errorSeries(t)},
		{Name: RequestDuration, Kind: Histogram, Unit: "seconds",
			Help:   "Latency of answered requests from their intended send time (corrected for coordinated omission).",
			Series: []Series{{Hist: t.Corrected}}},
		{Name: ServiceDuration, Kind: Histogram, Unit: "seconds",
			Help:   "Latency of answered requests from their actual send time.",
			Series: []Series{{Hist: t.Service}}},
		{Name: SendLag, Kind: Histogram, Unit: "seconds",
			Help:   "How late each request was sent after its intended time.",
			Series: []Series{{Hist: t.SendLag}}},
		{Name: InFlight, Kind: Gauge, Unit: "requests",
			Help:   "Requests sent that have not ended.",
			Series: []Series{{Value: float64(t.InFlight)}}},
		{Name: TargetRate, Kind: Gauge, Unit: "requests per second",
			Help:   "The rate asked of this process, in requests per second (0 for a closed loop).",
			Series: []Series{{Value: f.TargetRate}}},
		{Name: BytesTotal, Kind: Counter, Unit: "bytes",
			Help: "Bytes on the wire, by direction (in, out).",
			Series: []Series{
				{Labels: []Label{{"direction", "in"}}, Value: float64(f.BytesIn)},
				{Labels: []Label{{"direction", "out"}}, Value: float64(f.BytesOut)},
			}},
	}
	if f.Messages {
		received := t.Status[stats.ClassAnswered.String()]
		fams = append(fams,
			Family{Name: MessagesTotal, Kind: Counter, Unit: "messages",
				Help: "Messages by direction: sent, and received (answered or pushed).",
				Series: []Series{
					{Labels: []Label{{"direction", "received"}}, Value: float64(received)},
					{Labels: []Label{{"direction", "sent"}}, Value: float64(t.Requests + t.InFlight)},
				}},
			Family{Name: MessageRTT, Kind: Histogram, Unit: "seconds",
				Help:   "Round trip of answered messages from their intended send time.",
				Series: []Series{{Hist: t.Corrected}}})
	}
	return fams
}

// requestSeries splits the requests by target, class and code: a class's
// requests without a code of their own (transport errors, answered
// messages) have code "".
func requestSeries(t *stats.Totals) []Series {
	var out []Series
	add := func(target string, status, codes map[string]int64) {
		byClass := map[string]int64{}
		for _, code := range slices.Sorted(maps.Keys(codes)) {
			n, _ := strconv.Atoi(code)
			class := stats.ClassOf(n, stats.ErrNone).String()
			byClass[class] += codes[code]
			out = append(out, Series{Labels: []Label{{"class", class}, {"code", code}, {"target", target}}, Value: float64(codes[code])})
		}
		for _, class := range slices.Sorted(maps.Keys(status)) {
			if rest := status[class] - byClass[class]; rest > 0 {
				out = append(out, Series{Labels: []Label{{"class", class}, {"code", ""}, {"target", target}}, Value: float64(rest)})
			}
		}
	}
	if len(t.Targets) == 0 {
		add("", t.Status, t.Codes)
		return out
	}
	for _, name := range slices.Sorted(maps.Keys(t.Targets)) {
		tt := t.Targets[name]
		add(name, tt.Status, tt.Codes)
	}
	return out
}

func errorSeries(t *stats.Totals) []Series {
	var out []Series
	for _, k := range stats.ErrorKinds() {
		if n := t.Errors[k.String()]; n > 0 {
			out = append(out, Series{Labels: []Label{{"kind", k.String()}}, Value: float64(n)})
		}
	}
	return out
}
