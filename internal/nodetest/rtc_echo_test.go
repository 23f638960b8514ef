package nodetest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
	"volley/internal/rtctest"

	"github.com/pion/webrtc/v4"
)

// rtcWait bounds every wait; on loopback a peer connects in well under a
// second.
const rtcWait = 10 * time.Second

type rtcStats struct {
	Offered, Answered, Connected, Deleted, Open, Channels, Received, Echoed int64
}

func getStats(t *testing.T, base string) rtcStats {
	t.Helper()
	resp, err := http.Get(base + "/stats")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var st rtcStats
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		t.Fatal(err)
	}
	return st
}

func do(t *testing.T, method, url, contentType, body string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

// dial connects a client with one data channel to the peer at base and
// returns the channel once open, its messages, and the session's location.
func dial(t *testing.T, base string) (*webrtc.DataChannel, <-chan webrtc.DataChannelMessage, string) {
	t.Helper()
	pc, err := rtctest.ClientAPI.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pc.GracefulClose() })
	dc, err := pc.CreateDataChannel("echo", nil)
	if err != nil {
		t.Fatal(err)
	}
	open := make(chan struct{})
	msgs := make(chan webrtc.DataChannelMessage, 1000)
	dc.OnOpen(func() { close(open) })
	dc.OnMessage(func(m webrtc.DataChannelMessage) { msgs <- m })
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(offer); err != nil {
		t.Fatal(err)
	}
	<-gathered
	resp, answer := do(t, http.MethodPost, base+"/rtc", "application/sdp", pc.LocalDescription().SDP)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("POST /rtc: %d %q, want 201", resp.StatusCode, answer)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/sdp" {
		t.Fatalf("answer Content-Type %q, want application/sdp", ct)
	}
	loc := resp.Header.Get("Location")
	if id, ok := strings.CutPrefix(loc, "/rtc/"); !ok || id == "" || strings.Contains(id, "/") {
		t.Fatalf("Location %q, want /rtc/<id>", loc)
	}
	for _, line := range strings.Split(answer, "\r\n") {
		if strings.HasPrefix(line, "a=candidate:") {
			if f := strings.Fields(line); len(f) < 5 || !net.ParseIP(f[4]).IsLoopback() {
				t.Errorf("answer candidate %q not on loopback", line)
			}
		}
	}
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: answer}); err != nil {
		t.Fatalf("answer does not apply: %v\n%s", err, answer)
	}
	select {
	case <-open:
	case <-time.After(rtcWait):
		t.Fatalf("channel not open within %v (connection %s)", rtcWait, pc.ConnectionState())
	}
	return dc, msgs, loc
}

func next(t *testing.T, msgs <-chan webrtc.DataChannelMessage) webrtc.DataChannelMessage {
	t.Helper()
	select {
	case m := <-msgs:
		return m
	case <-time.After(rtcWait):
		t.Fatalf("no echo within %v", rtcWait)
		return webrtc.DataChannelMessage{}
	}
}

// TestRTCEchoNode: a pion client against the werift echo peer
// (testdata/node/rtc-echo.js) on loopback: 100 text and binary messages,
// empty ones too, come back unchanged and in order, the peer's counts
// agree, DELETE ends the session once, and bad posts are refused.
func TestRTCEchoNode(t *testing.T) {
	base := "http://127.0.0.1:" + Start(t, "rtc-echo.js")
	if resp, _ := do(t, http.MethodPost, base+"/rtc", "text/plain", "v=0\r\n"); resp.StatusCode != http.StatusUnsupportedMediaType {
		t.Errorf("POST text/plain: %d, want 415", resp.StatusCode)
	}
	dc, msgs, loc := dial(t, base)
	// Text and binary in turn, with an empty one of each and one of 30 kB
	// (many SCTP fragments).
	const n = 100
	want := make([]webrtc.DataChannelMessage, n)
	for i := range want {
		w := &want[i]
		switch {
		case i == 50, i == 51:
			w.Data = []byte{}
		case i == 99:
			w.Data = bytes.Repeat([]byte{0, 1, 0xfe, 0xff}, 7500)
		case i%2 == 0:
			w.Data = fmt.Appendf(nil, "message %d", i)
		default:
			w.Data = bytes.Repeat([]byte{byte(i), 0, 0xff}, i)
		}
		w.IsString = i%2 == 0
		send := dc.Send
		if w.IsString {
			send = func(b []byte) error { return dc.SendText(string(b)) }
		}
		if err := send(w.Data); err != nil {
			t.Fatal(err)
		}
	}
	for i, w := range want {
		m := next(t, msgs)
		if m.IsString != w.IsString || !bytes.Equal(m.Data, w.Data) {
			t.Fatalf("echo %d: string %v %d bytes %.40q, want string %v %d bytes %.40q",
				i, m.IsString, len(m.Data), m.Data, w.IsString, len(w.Data), w.Data)
		}
	}
	st := getStats(t, base)
	if (st != rtcStats{Offered: 1, Answered: 1, Connected: 1, Open: 1, Channels: 1, Received: n, Echoed: n}) {
		t.Errorf("stats %+v, want 1 offered, answered, connected, open, channel; %d received and echoed", st, n)
	}
	if resp, _ := do(t, http.MethodDelete, base+loc, "", ""); resp.StatusCode != http.StatusOK {
		t.Errorf("DELETE %s: %d, want 200", loc, resp.StatusCode)
	}
	if st := getStats(t, base); st.Open != 0 || st.Deleted != 1 {
		t.Errorf("after DELETE: open %d deleted %d, want 0 and 1", st.Open, st.Deleted)
	}
	if resp, _ := do(t, http.MethodDelete, base+loc, "", ""); resp.StatusCode != http.StatusNotFound {
		t.Errorf("second DELETE %s: %d, want 404", loc, resp.StatusCode)
	}
	if resp, body := do(t, http.MethodPost, base+"/rtc", "application/sdp", "not an offer"); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("POST a bad offer: %d %q, want 400", resp.StatusCode, body)
	}
	if st := getStats(t, base); st.Offered != 2 || st.Answered != 1 || st.Open != 0 {
		t.Errorf("after a bad offer: %+v, want 2 offered, 1 answered, 0 open", st)
	}
}

// TestRTCEchoNodeStall: a message that arrives in the stall window
// (--stall-at 0 --stall-for 300, from the channel's open) is held until the
// window ends.
func TestRTCEchoNodeStall(t *testing.T) {
	base := "http://127.0.0.1:" + Start(t, "rtc-echo.js", "--stall-at", "0", "--stall-for", "300")
	dc, msgs, _ := dial(t, base)
	sent := time.Now()
	if err := dc.SendText("held"); err != nil {
		t.Fatal(err)
	}
	m := next(t, msgs)
	if d := time.Since(sent); d < 250*time.Millisecond || !m.IsString || string(m.Data) != "held" {
		t.Errorf("echo %q (string %v) after %v, want \"held\" after 250 ms or more", m.Data, m.IsString, d)
	}
}
