package bench

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"volley/internal/rtctest"

	"github.com/pion/webrtc/v4"
)

// rtcWait bounds every wait of these tests; on loopback a peer connects in
// tens of milliseconds.
const rtcWait = 5 * time.Second

// rtcChan is a client's data channel with what it has seen.
type rtcChan struct {
	dc     *webrtc.DataChannel
	open   chan struct{}
	closed chan struct{}
	msgs   chan webrtc.DataChannelMessage
}

func newRTCChan(t *testing.T, pc *webrtc.PeerConnection, label string) *rtcChan {
	t.Helper()
	c, err := addRTCChan(pc, label)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func addRTCChan(pc *webrtc.PeerConnection, label string) (*rtcChan, error) {
	dc, err := pc.CreateDataChannel(label, nil)
	if err != nil {
		return nil, err
	}
	c := &rtcChan{dc: dc, open: make(chan struct{}), closed: make(chan struct{}), msgs: make(chan webrtc.DataChannelMessage, 1000)}
	dc.OnOpen(func() { close(c.open) })
	dc.OnClose(func() { close(c.closed) })
	dc.OnMessage(func(m webrtc.DataChannelMessage) { c.msgs <- m })
	return c, nil
}

// next returns the channel's next message.
func (c *rtcChan) next(t *testing.T) webrtc.DataChannelMessage {
	t.Helper()
	select {
	case m := <-c.msgs:
		return m
	case <-time.After(rtcWait):
		t.Fatalf("channel %s: no message within %v", c.dc.Label(), rtcWait)
		return webrtc.DataChannelMessage{}
	}
}

// waitClosed fails t unless the channel closes within rtcWait.
func (c *rtcChan) waitClosed(t *testing.T) {
	t.Helper()
	select {
	case <-c.closed:
	case <-time.After(rtcWait):
		t.Fatalf("channel %s still open", c.dc.Label())
	}
}

// rtcClient is a client peer connection that has its answer.
type rtcClient struct {
	pc       *webrtc.PeerConnection
	chans    []*rtcChan
	location string
	answer   string
}

// newRTCPeer makes a client peer connection, closed at cleanup, with a
// data channel for each label, and returns it with its complete offer.
// Like tryDialRTC, it may run outside the test's goroutine.
func newRTCPeer(t *testing.T, labels ...string) (*webrtc.PeerConnection, []*rtcChan, string, error) {
	pc, err := rtctest.ClientAPI.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		return nil, nil, "", err
	}
	t.Cleanup(func() { _ = pc.GracefulClose() })
	var chans []*rtcChan
	for _, l := range labels {
		c, err := addRTCChan(pc, l)
		if err != nil {
			return nil, nil, "", err
		}
		chans = append(chans, c)
	}
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		return nil, nil, "", err
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(offer); err != nil {
		return nil, nil, "", err
	}
	<-gathered
	return pc, chans, pc.LocalDescription().SDP, nil
}

// rtcOffer returns a complete offer with a data channel.
func rtcOffer(t *testing.T) string {
	t.Helper()
	_, _, offer, err := newRTCPeer(t, "x")
	if err != nil {
		t.Fatal(err)
	}
	return offer
}

// tryPost sends body to url with the content type and reads the response.
func tryPost(c *http.Client, url, contentType, body string) (result, error) {
	resp, err := c.Post(url, contentType, strings.NewReader(body))
	if err != nil {
		return result{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return result{code: resp.StatusCode, body: string(b), header: resp.Header}, err
}

func post(t *testing.T, c *http.Client, url, contentType, body string) result {
	t.Helper()
	r, err := tryPost(c, url, contentType, body)
	if err != nil {
		t.Fatalf("POST %s: %v", url, err)
	}
	return r
}

// dialRTC offers to s on path (with any query) through c and returns the
// client once every channel is open.
func dialRTC(t *testing.T, s *Server, c *http.Client, path string, labels ...string) *rtcClient {
	t.Helper()
	rc, err := tryDialRTC(t, s, c, path, labels...)
	if err != nil {
		t.Fatal(err)
	}
	return rc
}

// tryDialRTC is dialRTC returning what went wrong, for goroutines other
// than the test's.
func tryDialRTC(t *testing.T, s *Server, c *http.Client, path string, labels ...string) (*rtcClient, error) {
	pc, chans, offer, err := newRTCPeer(t, labels...)
	if err != nil {
		return nil, err
	}
	r, err := tryPost(c, s.URL()+path, "application/sdp", offer)
	if err != nil {
		return nil, fmt.Errorf("POST %s: %w", path, err)
	}
	if r.code != http.StatusCreated {
		return nil, fmt.Errorf("POST %s: %d %q, want 201", path, r.code, r.body)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/sdp" {
		return nil, fmt.Errorf("answer Content-Type %q, want application/sdp", ct)
	}
	base, _, _ := strings.Cut(path, "?")
	loc := r.header.Get("Location")
	if id, ok := strings.CutPrefix(loc, base+"/"); !ok || id == "" || strings.Contains(id, "/") {
		return nil, fmt.Errorf("location %q, want %s/<id>", loc, base)
	}
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: r.body}); err != nil {
		return nil, fmt.Errorf("answer does not apply: %w\n%s", err, r.body)
	}
	for _, ch := range chans {
		select {
		case <-ch.open:
		case <-time.After(rtcWait):
			return nil, fmt.Errorf("channel %s not open within %v (connection %s)", ch.dc.Label(), rtcWait, pc.ConnectionState())
		}
	}
	return &rtcClient{pc: pc, chans: chans, location: loc, answer: r.body}, nil
}

// waitFor polls cond until it holds, failing t after rtcWait.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(rtcWait); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatalf("%s: not within %v", what, rtcWait)
		}
	}
}

func deleteSession(t *testing.T, c *http.Client, url string) int {
	t.Helper()
	r := do(c, http.MethodDelete, url, "")
	if r.err != nil {
		t.Fatalf("DELETE %s: %v", url, r.err)
	}
	return r.code
}

// TestRTCEcho: an offer is answered 201 with a Location and an answer that
// applies; 100 messages come back unchanged and in order; the counts say
// so; DELETE ends the session (and the client sees it), a second DELETE is
// 404; Reset zeroes the counts.
func TestRTCEcho(t *testing.T) {
	verifyNoLeaks(t)
	s := startServer(t, Config{})
	hc := newClient(t)
	c := dialRTC(t, s, hc, RTCPath, "echo")
	checkAnswer(t, s, c.answer)
	ch := c.chans[0]
	for i := range 100 {
		if err := ch.dc.SendText("message " + strconv.Itoa(i)); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 100 {
		m := ch.next(t)
		if want := "message " + strconv.Itoa(i); !m.IsString || string(m.Data) != want {
			t.Fatalf("echo %d: %q (text %v), want text %q", i, m.Data, m.IsString, want)
		}
	}
	want := RTCStats{Offered: 1, Answered: 1, Connected: 1, Open: 1, Channels: 1, Received: 100, Echoed: 100}
	waitFor(t, "connected counted", func() bool { return s.Stats().RTC.Connected == 1 })
	if got := s.Stats().RTC; got != want {
		t.Errorf("stats %+v, want %+v", got, want)
	}
	if st := s.Stats(); st.Total != 0 || st.WS != (WSStats{}) {
		t.Errorf("WebRTC counted as HTTP or WebSocket: %+v", st)
	}

	if code := deleteSession(t, hc, s.URL()+c.location); code != http.StatusOK {
		t.Fatalf("DELETE: %d, want 200", code)
	}
	if got := s.Stats().RTC; got.Open != 0 || got.Deleted != 1 {
		t.Errorf("after DELETE: %+v, want 0 open, 1 deleted", got)
	}
	ch.waitClosed(t)
	if code := deleteSession(t, hc, s.URL()+c.location); code != http.StatusNotFound {
		t.Errorf("second DELETE: %d, want 404", code)
	}
	s.Reset()
	if got := s.Stats().RTC; got != (RTCStats{}) {
		t.Errorf("after Reset: %+v, want zeros", got)
	}
}

// checkAnswer: the answer offers host candidates only, all on the server's
// one UDP socket, and says the largest message the peer takes.
func checkAnswer(t *testing.T, s *Server, answer string) {
	t.Helper()
	host, port, err := net.SplitHostPort(s.RTCAddr())
	if err != nil {
		t.Fatalf("RTCAddr %q: %v", s.RTCAddr(), err)
	}
	var candidates int
	for line := range strings.Lines(answer) {
		if c, ok := strings.CutPrefix(strings.TrimSpace(line), "a=candidate:"); ok {
			candidates++
			// foundation component transport priority address port typ type
			if f := strings.Fields(c); len(f) < 8 || f[4] != host || f[5] != port || f[7] != "host" {
				t.Errorf("candidate %q, want a host candidate on %s", c, s.RTCAddr())
			}
		}
	}
	if candidates == 0 {
		t.Errorf("answer has no candidate:\n%s", answer)
	}
	if !strings.Contains(answer, "a=max-message-size:"+strconv.Itoa(rtcMaxMessage)) {
		t.Errorf("answer does not say max-message-size %d:\n%s", rtcMaxMessage, answer)
	}
}

// TestRTCClientLeaves: a client that closes its peer connection ends its
// session without a DELETE.
func TestRTCClientLeaves(t *testing.T) {
	verifyNoLeaks(t)
	s := startServer(t, Config{})
	c := dialRTC(t, s, newClient(t), RTCPath, "echo")
	if err := c.pc.GracefulClose(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "session ended", func() bool { return s.Stats().RTC.Open == 0 })
	if st := s.Stats().RTC; st.Answered != 1 || st.Deleted != 0 {
		t.Errorf("stats %+v, want 1 answered, 0 deleted", st)
	}
}

// TestRTCChannels: every channel the client opens, before or after the
// connection is up, is echoed on itself, text as text and binary as binary,
// empty and large messages included.
func TestRTCChannels(t *testing.T) {
	verifyNoLeaks(t)
	s := startServer(t, Config{})
	c := dialRTC(t, s, newClient(t), RTCPath, "a", "b", "c")
	late := newRTCChan(t, c.pc, "late")
	select {
	case <-late.open:
	case <-time.After(rtcWait):
		t.Fatal("channel opened after connecting did not open")
	}
	chans := append(c.chans, late)
	large := bytes.Repeat([]byte{0, 1, 2, 0xff}, 25_000) // 100 kB, past the first read buffer
	type msg struct {
		text bool
		data []byte
	}
	sent := make([][]msg, len(chans))
	for round := range 5 {
		for i, ch := range chans {
			m := msg{text: (i+round)%2 == 0, data: fmt.Appendf(nil, "%s-%d", ch.dc.Label(), round)}
			switch round {
			case 3:
				m.data = nil
			case 4:
				m.text, m.data = false, large
			}
			var err error
			if m.text {
				err = ch.dc.SendText(string(m.data))
			} else {
				err = ch.dc.Send(m.data)
			}
			if err != nil {
				t.Fatal(err)
			}
			sent[i] = append(sent[i], m)
		}
	}
	for i, ch := range chans {
		for j, m := range sent[i] {
			got := ch.next(t)
			if got.IsString != m.text || !bytes.Equal(got.Data, m.data) {
				t.Errorf("channel %s, echo %d: text %v, %d bytes; want text %v, %d bytes as sent",
					ch.dc.Label(), j, got.IsString, len(got.Data), m.text, len(m.data))
			}
		}
	}
	if got := s.Stats().RTC; got.Channels != 4 || got.Received != 20 || got.Echoed != 20 {
		t.Errorf("stats %+v, want 4 channels, 20 received and echoed", got)
	}
}

// TestRTCLatency: the echo waits out Config.Latency.
func TestRTCLatency(t *testing.T) {
	verifyNoLeaks(t)
	s := startServer(t, Config{Latency: mustLatency(t, "20ms")})
	ch := dialRTC(t, s, newClient(t), RTCPath, "echo").chans[0]
	for i := range 3 {
		start := time.Now()
		if err := ch.dc.SendText("ping"); err != nil {
			t.Fatal(err)
		}
		ch.next(t)
		if rtt := time.Since(start); rtt < 20*time.Millisecond {
			t.Errorf("round trip %d took %v, want at least the 20ms latency", i, rtt)
		}
	}
}

// TestRTCStall: a message arriving in the stall window is echoed when the
// window ends.
func TestRTCStall(t *testing.T) {
	verifyNoLeaks(t)
	s := startServer(t, Config{Stall: Stall{For: 200 * time.Millisecond}})
	ch := dialRTC(t, s, newClient(t), RTCPath, "echo").chans[0]
	start := time.Now()
	if err := ch.dc.SendText("held"); err != nil {
		t.Fatal(err)
	}
	ch.next(t)
	if rtt := time.Since(start); rtt < 150*time.Millisecond {
		t.Errorf("echo after %v, want it held to the end of the 200ms stall", rtt)
	}
}

// TestRTCFaults: drop=N leaves every N-th message of a channel unanswered;
// close=N closes the channel on the message after the N-th echo. ?fault=
// overrides the server's fault, and only drop and close apply.
func TestRTCFaults(t *testing.T) {
	verifyNoLeaks(t)
	s := startServer(t, Config{WSFault: WSFault{Drop: 3}})
	hc := newClient(t)
	ch := dialRTC(t, s, hc, RTCPath, "drop").chans[0]
	for i := 1; i <= 7; i++ {
		if err := ch.dc.SendText(strconv.Itoa(i)); err != nil {
			t.Fatal(err)
		}
	}
	for _, want := range []string{"1", "2", "4", "5", "7"} {
		if got := ch.next(t); string(got.Data) != want {
			t.Fatalf("echo %q, want %q (every third dropped)", got.Data, want)
		}
	}
	if got := s.Stats().RTC; got.Received != 7 || got.Echoed != 5 || got.Dropped != 2 {
		t.Errorf("stats %+v, want 7 received, 5 echoed, 2 dropped", got)
	}

	ch = dialRTC(t, s, hc, RTCPath+"?fault=close=2", "close").chans[0]
	for i := range 3 {
		if err := ch.dc.SendText(strconv.Itoa(i)); err != nil {
			t.Fatal(err)
		}
	}
	ch.next(t)
	ch.next(t)
	ch.waitClosed(t)
	if len(ch.msgs) != 0 {
		t.Errorf("an echo after close=2's two: %q", (<-ch.msgs).Data)
	}
	if r := post(t, hc, s.URL()+RTCPath+"?fault=close=1,abrupt", "application/sdp", rtcOffer(t)); r.code != http.StatusBadRequest {
		t.Errorf("?fault=close=1,abrupt: %d, want 400", r.code)
	}
}

// TestRTCBadOffers: a wrong content type is 415; a body that is no SDP, an
// offer without a data channel and a bad query are 400; DELETE of no
// session is 404, PATCH (trickle ICE) 405; none of them opens a session.
func TestRTCBadOffers(t *testing.T) {
	verifyNoLeaks(t)
	s := startServer(t, Config{})
	hc := newClient(t)
	offer := rtcOffer(t)
	const audioOnly = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n" +
		"m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=rtpmap:111 opus/48000/2\r\n"
	for _, tc := range []struct {
		name, path, contentType, body string
		code                          int
	}{
		{"text/plain", RTCPath, "text/plain", offer, http.StatusUnsupportedMediaType},
		{"no content type", RTCPath, "", offer, http.StatusUnsupportedMediaType},
		{"garbage", RTCPath, "application/sdp", "this is not SDP", http.StatusBadRequest},
		{"empty", RTCPath, "application/sdp", "", http.StatusBadRequest},
		{"audio only", RTCPath, "application/sdp", audioOnly, http.StatusBadRequest},
		{"bad rate", RTCBroadcastPath + "?rate=0", "application/sdp", offer, http.StatusBadRequest},
		{"bad skew", RTCBroadcastPath + "?skew=soon", "application/sdp", offer, http.StatusBadRequest},
		{"too large", RTCPath, "application/sdp", offer + strings.Repeat("a=x\r\n", 20_000), http.StatusRequestEntityTooLarge},
	} {
		r := post(t, hc, s.URL()+tc.path, tc.contentType, tc.body)
		if r.code != tc.code || r.body == "" {
			t.Errorf("%s: %d %q, want %d with a reason", tc.name, r.code, r.body, tc.code)
		}
		if tc.code == http.StatusUnsupportedMediaType && r.header.Get("Accept-Post") != "application/sdp" {
			t.Errorf("%s: Accept-Post %q, want application/sdp", tc.name, r.header.Get("Accept-Post"))
		}
	}
	if code := deleteSession(t, hc, s.URL()+RTCPath+"/nosuchsession"); code != http.StatusNotFound {
		t.Errorf("DELETE of an unknown session: %d, want 404", code)
	}
	if r := do(hc, http.MethodPatch, s.URL()+RTCPath+"/nosuchsession", ""); r.code != http.StatusMethodNotAllowed {
		t.Errorf("PATCH: %d, want 405", r.code)
	}
	if r := get(t, hc, s.URL()+RTCPath); r.code != 200 || r.body != "hello" {
		t.Errorf("GET /rtc: %d %q, want the load response", r.code, r.body)
	}
	if got := s.Stats().RTC; got != (RTCStats{Offered: 8}) {
		t.Errorf("stats %+v, want 8 offered and nothing else", got)
	}
}

// TestRTCMaxSessions: offers beyond Config.RTCMaxSessions are 503 until a
// session ends.
func TestRTCMaxSessions(t *testing.T) {
	verifyNoLeaks(t)
	s := startServer(t, Config{RTCMaxSessions: 1})
	hc := newClient(t)
	c := dialRTC(t, s, hc, RTCPath, "one")
	if r := post(t, hc, s.URL()+RTCPath, "application/sdp", rtcOffer(t)); r.code != http.StatusServiceUnavailable {
		t.Errorf("second session: %d %q, want 503", r.code, r.body)
	}
	if code := deleteSession(t, hc, s.URL()+c.location); code != http.StatusOK {
		t.Fatalf("DELETE: %d", code)
	}
	dialRTC(t, s, hc, RTCPath, "three")
	if _, err := Start(Config{Addr: "127.0.0.1:0", RTCMaxSessions: -1}); err == nil {
		t.Error("Start with negative RTCMaxSessions: no error")
	}
}

// TestRTCBroadcast: every channel gets {"seq":N,"ts_ns":T} with
// consecutive seq and T the intended time, N/rate after the first, just
// before the message arrives; DELETE works on the broadcast Location.
func TestRTCBroadcast(t *testing.T) {
	verifyNoLeaks(t)
	s := startServer(t, Config{BroadcastRate: 5})
	hc := newClient(t)
	c := dialRTC(t, s, hc, RTCBroadcastPath+"?rate=200", "a", "b")
	for _, ch := range c.chans {
		var first int64
		for i := range 20 {
			m := ch.next(t)
			var msg struct {
				Seq  *int64 `json:"seq"`
				TsNs *int64 `json:"ts_ns"`
			}
			if err := json.Unmarshal(m.Data, &msg); err != nil || !m.IsString || msg.Seq == nil || msg.TsNs == nil {
				t.Fatalf("message %q (text %v): %v; want text {\"seq\":N,\"ts_ns\":T}", m.Data, m.IsString, err)
			}
			if *msg.Seq != int64(i) {
				t.Fatalf("channel %s: message %d has seq %d", ch.dc.Label(), i, *msg.Seq)
			}
			if i == 0 {
				first = *msg.TsNs
			}
			if want := first + int64(i)*int64(5*time.Millisecond); *msg.TsNs < want-1000 || *msg.TsNs > want+1000 {
				t.Errorf("message %d: ts_ns %d, want %d (intended time at 200/s)", i, *msg.TsNs, want)
			}
			if late := time.Since(time.Unix(0, *msg.TsNs)); late < 0 || late > time.Second {
				t.Errorf("message %d received %v after its timestamp", i, late)
			}
		}
	}
	if st := s.Stats().RTC; st.Channels != 2 || st.Pushed < 40 || st.Received != 0 {
		t.Errorf("stats %+v, want 2 channels, at least 40 pushed", st)
	}
	if !strings.HasPrefix(c.location, RTCBroadcastPath+"/") {
		t.Errorf("Location %q, want under %s", c.location, RTCBroadcastPath)
	}
	if code := deleteSession(t, hc, s.URL()+c.location); code != http.StatusOK {
		t.Errorf("DELETE: %d, want 200", code)
	}
	c.chans[0].waitClosed(t)
}

// TestRTCManyPeers: 50 peer connections made at once all connect, all to
// the one UDP port the server shares among them, and echo.
func TestRTCManyPeers(t *testing.T) {
	verifyNoLeaks(t)
	const peers = 50
	s := startServer(t, Config{})
	hc := newClient(t)
	clients := make([]*rtcClient, peers)
	errs := make([]error, peers)
	var wg sync.WaitGroup
	for i := range clients {
		wg.Go(func() { clients[i], errs[i] = tryDialRTC(t, s, hc, RTCPath, "echo") })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	_, port, err := net.SplitHostPort(s.RTCAddr())
	if err != nil {
		t.Fatalf("RTCAddr %q: %v", s.RTCAddr(), err)
	}
	for i, c := range clients {
		pair, err := c.pc.SCTP().Transport().ICETransport().GetSelectedCandidatePair()
		if err != nil || pair == nil {
			t.Fatalf("client %d: no selected candidate pair: %v", i, err)
		}
		if got := strconv.Itoa(int(pair.Remote.Port)); got != port || pair.Remote.Address != "127.0.0.1" {
			t.Errorf("client %d talks to %s:%s, want the shared 127.0.0.1:%s", i, pair.Remote.Address, got, port)
		}
		if err := c.chans[0].dc.SendText("hi"); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range clients {
		if m := c.chans[0].next(t); string(m.Data) != "hi" {
			t.Errorf("echo %q, want hi", m.Data)
		}
	}
	waitFor(t, "50 connected", func() bool { return s.Stats().RTC.Connected == peers })
	if st := s.Stats().RTC; st.Answered != peers || st.Open != peers || st.Echoed != peers {
		t.Errorf("stats %+v, want %d answered, open and echoed", st, peers)
	}
}

// TestRTCCloseEndsPeers: Close returns promptly with peers connected,
// echoing, held by a stall or subscribed; every client sees its channel
// close, and no goroutine is left behind.
func TestRTCCloseEndsPeers(t *testing.T) {
	before := runtime.NumGoroutine()
	s, err := Start(Config{Addr: "127.0.0.1:0", Stall: Stall{For: time.Hour}})
	if err != nil {
		t.Fatal(err)
	}
	hc := &http.Client{Transport: &http.Transport{}, Timeout: rtcWait}
	idle := dialRTC(t, s, hc, RTCPath, "idle")
	held := dialRTC(t, s, hc, RTCPath, "held")
	sub := dialRTC(t, s, hc, RTCBroadcastPath, "sub")
	if err := held.chans[0].dc.SendText("held"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "held message received", func() bool { return s.Stats().RTC.Received == 1 })
	done := make(chan error, 1)
	go func() { done <- s.Close() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Close: %v", err)
		}
	case <-time.After(rtcWait):
		t.Fatalf("Close did not return within %v with peers connected", rtcWait)
	}
	for _, c := range []*rtcClient{idle, held, sub} {
		c.chans[0].waitClosed(t)
		if err := c.pc.GracefulClose(); err != nil {
			t.Errorf("closing the client: %v", err)
		}
	}
	hc.CloseIdleConnections()
	for end := time.Now().Add(rtcWait); runtime.NumGoroutine() > before; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(end) {
			buf := make([]byte, 1<<20)
			t.Fatalf("%d goroutines after Close, %d before:\n%s", runtime.NumGoroutine(), before, buf[:runtime.Stack(buf, true)])
		}
	}
}
