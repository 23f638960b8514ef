package stats

import (
	"strconv"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
)

// WebSocket modes, as WS.Mode.
const (
	WSModeEcho      = "echo"      // send messages and time their echoes
	WSModeSubscribe = "subscribe" // only listen; latency from the server's timestamp
)

// WSAnswered is the code a WebSocket run records for a message that was
// answered (its echo arrived, or, subscribing, a timestamped message was
// received), so that answered messages count as completed in every tally.
const WSAnswered = 200

// WS is the WebSocket part of a Result.
type WS struct {
	// Mode is WSModeEcho or WSModeSubscribe; Match ("id" or "fifo") says how
	// echoes were matched to messages.
	Mode  string `json:"mode"`
	Match string `json:"match,omitempty"`
	// Handshakes counts opening handshakes (HTTP upgrades) by result.
	Handshakes Handshakes `json:"handshakes"`
	// Handshake summarises the latency of successful handshakes, from the
	// start of the TCP connect to the 101 response (ms).
	Handshake Summary  `json:"handshake"`
	Messages  Messages `json:"messages"`
	// CloseCodes counts how connections ended other than by volley: the code
	// of the server's close frame, 1006 when the connection dropped without
	// one, 1002 when volley closed it on an invalid frame.
	CloseCodes map[string]int64 `json:"close_codes"`
}

// Handshakes counts opening handshakes.
type Handshakes struct {
	Attempted int64 `json:"attempted"`
	OK        int64 `json:"ok"`
	Failed    int64 `json:"failed"`
}

// Messages counts WebSocket messages.
type Messages struct {
	// Sent is the messages written to a connection; Received the echoes
	// matched to them (subscribing: the timestamped messages received whose
	// latency was recorded).
	Sent     int64 `json:"sent"`
	Received int64 `json:"received"`
	// Unanswered is the messages sent whose echo did not arrive within the
	// timeout or before the connection ended.
	Unanswered int64 `json:"unanswered"`
	// Unmatched is the messages received that were not the awaited echo
	// (another id; subscribing, no timestamp, or stamped before the run
	// began listening); they are skipped.
	Unmatched int64 `json:"unmatched"`
	// Missed is, subscribing, the gaps in the server's "seq" numbers.
	Missed int64 `json:"missed,omitempty"`
	// ClockSkew is, subscribing, the messages stamped later than volley
	// received them: the server's clock is ahead, so their latency is
	// unknown. They are not in Received, their latency is not recorded (a
	// latency of 0 would be made up), and each counts as an error (other).
	// ClockSkewMaxMs is how far ahead the furthest one was stamped (ms).
	ClockSkew      int64   `json:"clock_skew,omitempty"`
	ClockSkewMaxMs float64 `json:"clock_skew_max_ms,omitempty"`
}

// UnansweredRate is the share of sent messages left unanswered.
func (m Messages) UnansweredRate() float64 {
	if m.Sent == 0 {
		return 0
	}
	return float64(m.Unanswered) / float64(m.Sent)
}

// CloseCodeMap turns counts by close code into the JSON map form.
func CloseCodeMap(counts map[int]int64) map[string]int64 {
	m := make(map[string]int64, len(counts))
	for code, n := range counts {
		if n > 0 {
			m[strconv.Itoa(code)] = n
		}
	}
	return m
}

// AttachWS adds the WebSocket part to r: ws, with its handshake summary and
// histogram (nil for none) computed from handshake.
func (r *Result) AttachWS(ws WS, handshake *hdr.Histogram) {
	if handshake == nil {
		handshake = NewHistogram()
	}
	ws.Handshake = Summarize(handshake)
	if ws.CloseCodes == nil {
		ws.CloseCodes = map[string]int64{}
	}
	r.WS = &ws
	if r.Histograms == nil {
		r.Histograms = map[string]Hist{}
	}
	r.Histograms["handshake"] = Hist{handshake}
}

// RecordHandshake adds a handshake latency (ns) to h, clamped into range.
func RecordHandshake(h *hdr.Histogram, ns int64) { record(h, ns) }
