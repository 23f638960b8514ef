package stats

import (
	"strconv"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
)

// WS is the WebSocket part of a Result: what only WebSocket has (its
// messages are in Result.Messages).
type WS struct {
	// Handshakes counts opening handshakes (HTTP upgrades) by result.
	Handshakes Handshakes `json:"handshakes"`
	// Handshake summarises the latency of successful handshakes, from the
	// start of the TCP connect to the 101 response (ms).
	Handshake Summary `json:"handshake"`
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
