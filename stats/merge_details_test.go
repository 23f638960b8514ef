package stats

import (
	"strings"
	"testing"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
)

// TestMergeDetails: merging adds the per-target breakdowns, checks,
// redirects and phases of the parts, exactly.
func TestMergeDetails(t *testing.T) {
	part := func(ok, bad []int64, failed int64) *Result {
		r := fuzzSeedResult(t)
		r.Protocol = "HTTP/1.1"
		r.Requests.CheckFailed = failed
		r.Checks = &Checks{Failed: failed, Status: failed}
		r.Redirects = &Redirects{Followed: 2, FirstCodes: map[string]int64{"302": 2}}
		r.Histograms["phase.connect"] = Hist{histOf(t, ok...)}
		r.Targets = map[string]*TargetResult{
			"home": {Requests: Requests{Total: int64(len(ok)), Completed: int64(len(ok))},
				Status: map[string]int64{"2xx": int64(len(ok))}, Codes: map[string]int64{"200": int64(len(ok))},
				Errors: map[string]int64{}, Histograms: map[string]Hist{"corrected": {histOf(t, ok...)}, "service": {histOf(t, ok...)}}},
			"login": {Requests: Requests{Total: int64(len(bad)), Completed: int64(len(bad)), Errors: int64(len(bad))},
				Status: map[string]int64{"5xx": int64(len(bad))}, Codes: map[string]int64{"500": int64(len(bad))},
				Errors: map[string]int64{}, Histograms: map[string]Hist{"corrected": {histOf(t, bad...)}, "service": {histOf(t, bad...)}}},
		}
		return r
	}
	a := part([]int64{1e6, 2e6, 3e6}, []int64{9e6}, 1)
	b := part([]int64{4e6, 5e6}, []int64{8e6, 7e6}, 2)
	m, err := Merge(a, b)
	if err != nil {
		t.Fatal(err)
	}
	home, login := m.Targets["home"], m.Targets["login"]
	if home == nil || login == nil || home.Requests.Total != 5 || login.Requests.Total != 3 || login.Codes["500"] != 3 {
		t.Fatalf("merged targets %+v %+v", home, login)
	}
	if want := Summarize(histOf(t, 1e6, 2e6, 3e6, 4e6, 5e6)); home.Latency.Corrected != want {
		t.Errorf("home latency %+v, want %+v (recomputed from the merged histogram)", home.Latency.Corrected, want)
	}
	if m.Checks == nil || m.Checks.Failed != 3 || m.Requests.CheckFailed != 3 {
		t.Errorf("merged checks %+v, check_failed %d; want 3", m.Checks, m.Requests.CheckFailed)
	}
	if m.Redirects == nil || m.Redirects.Followed != 4 || m.Redirects.FirstCodes["302"] != 4 {
		t.Errorf("merged redirects %+v", m.Redirects)
	}
	if got := m.Phases["connect"]; got.Count != 5 {
		t.Errorf("merged connect phase %+v, want 5 values", got)
	}
	if m.Protocol != "HTTP/1.1" {
		t.Errorf("protocol %q", m.Protocol)
	}
}

// TestMergeWS: the WebSocket parts of shards add up (handshakes, messages,
// close codes), the handshake summary comes from the merged histogram, the
// pacing grid survives, and a WebSocket result does not merge with an HTTP
// one or with one of another mode.
func TestMergeWS(t *testing.T) {
	part := func(hs []int64, sent, recv, unanswered int64, closes map[string]int64) *Result {
		r := fuzzSeedResult(t)
		r.SendLag.Tick = 1
		r.Messages = &Messages{Mode: MessageModeEcho, Match: "id",
			Sent: sent, Received: recv, Unanswered: unanswered, ClockSkew: sent - recv - unanswered, ClockSkewMaxMs: float64(sent)}
		r.AttachWS(WS{Handshakes: Handshakes{Attempted: int64(len(hs)), OK: int64(len(hs))}, CloseCodes: closes},
			histOf(t, hs...))
		return r
	}
	a := part([]int64{1e6, 2e6}, 100, 97, 2, map[string]int64{"1006": 1})
	b := part([]int64{3e6, 4e6, 5e6}, 50, 48, 0, map[string]int64{"1006": 2, "1001": 1})
	m, err := Merge(a, b)
	if err != nil {
		t.Fatal(err)
	}
	ws := m.WS
	if ws == nil {
		t.Fatal("merged result has no WebSocket part")
	}
	want := Messages{Mode: MessageModeEcho, Match: "id", Sent: 150, Received: 145, Unanswered: 2, ClockSkew: 3, ClockSkewMaxMs: 100}
	if m.Messages == nil || *m.Messages != want || ws.Handshakes != (Handshakes{Attempted: 5, OK: 5}) {
		t.Errorf("merged messages %+v and ws %+v, want messages %+v, 5 handshakes", m.Messages, *ws, want)
	}
	if ws.CloseCodes["1006"] != 3 || ws.CloseCodes["1001"] != 1 {
		t.Errorf("close codes %v, want 1006:3 1001:1", ws.CloseCodes)
	}
	if h := Summarize(histOf(t, 1e6, 2e6, 3e6, 4e6, 5e6)); ws.Handshake != h {
		t.Errorf("handshake summary %+v, want %+v (from the merged histogram)", ws.Handshake, h)
	}
	if got := m.Messages.UnansweredRate(); got != 2.0/150 {
		t.Errorf("unanswered rate %v, want 2/150", got)
	}
	if m.SendLag.Tick != 1 {
		t.Errorf("send lag tick %v ms, want the parts' 1", m.SendLag.Tick)
	}
	// a and b are untouched.
	if a.Messages.Sent != 100 || a.WS.CloseCodes["1006"] != 1 {
		t.Errorf("merge modified its input: %+v", *a.WS)
	}
	if _, err := Merge(a, fuzzSeedResult(t)); err == nil || !strings.Contains(err.Error(), "result 2 is not a WebSocket run") {
		t.Errorf("merging WebSocket with HTTP: err %v", err)
	}
	if _, err := Merge(fuzzSeedResult(t), a); err == nil || !strings.Contains(err.Error(), "result 2 is a WebSocket run") {
		t.Errorf("merging HTTP with WebSocket: err %v", err)
	}
	c := part([]int64{1e6}, 1, 1, 0, nil)
	c.Messages.Mode = MessageModeSubscribe
	if _, err := Merge(a, c); err == nil || !strings.Contains(err.Error(), "subscribe") {
		t.Errorf("merging echo with subscribe: err %v", err)
	}
}

// TestMergeRTC: the WebRTC parts of shards add up (peers, failures by
// phase, deletes, closed channels), each setup summary comes from the
// merged histogram, and a WebRTC result merges with no other kind.
func TestMergeRTC(t *testing.T) {
	part := func(signal []int64, failed map[string]int64, deleted int64) *Result {
		r := fuzzSeedResult(t)
		r.Messages = &Messages{Mode: MessageModeEcho, Match: "id", Sent: 10, Received: 10}
		phases := map[string]*hdr.Histogram{}
		for _, p := range RTCPhases() {
			phases[p] = histOf(t, signal...)
		}
		var n int64
		for _, v := range failed {
			n += v
		}
		r.AttachRTC(RTC{Peers: Handshakes{Attempted: int64(len(signal)) + n, OK: int64(len(signal)), Failed: n}, Channels: 2,
			Failures: failed, FailureSamples: map[string]string{"ice": "webrtc ice: ICE failed"}, Deleted: deleted, ChannelsClosed: 1}, phases)
		return r
	}
	a := part([]int64{1e6, 2e6}, map[string]int64{"ice": 1}, 2)
	b := part([]int64{3e6, 4e6, 5e6}, map[string]int64{"signal": 2}, 3)
	m, err := Merge(a, b)
	if err != nil {
		t.Fatal(err)
	}
	x := m.RTC
	if x == nil || x.Peers != (Handshakes{Attempted: 8, OK: 5, Failed: 3}) || x.Failures["ice"] != 1 || x.Failures["signal"] != 2 ||
		x.Failures["dtls"] != 0 || x.Deleted != 5 || x.ChannelsClosed != 2 || x.Channels != 2 || x.FailureSamples["ice"] == "" {
		t.Fatalf("merged rtc %+v", x)
	}
	if h := Summarize(histOf(t, 1e6, 2e6, 3e6, 4e6, 5e6)); x.Setup["signal"] != h || x.Setup["total"] != h {
		t.Errorf("setup signal %+v, want %+v (from the merged histogram)", x.Setup["signal"], h)
	}
	ws := fuzzSeedResult(t)
	ws.Messages = &Messages{Mode: MessageModeEcho, Match: "id"}
	if _, err := Merge(a, ws); err == nil || !strings.Contains(err.Error(), "not a WebRTC run") {
		t.Errorf("merging WebRTC with another run of messages: err %v", err)
	}
}
