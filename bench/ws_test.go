package bench

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

func TestParseWSFault(t *testing.T) {
	for _, tc := range []struct {
		spec string
		want WSFault
		str  string
	}{
		{"", WSFault{}, ""},
		{"drop=10", WSFault{Drop: 10}, "drop=10"},
		{"close=100,code=1011", WSFault{Close: 100, Code: 1011}, "close=100,code=1011"},
		{" close=5 , abrupt ", WSFault{Close: 5, End: EndAbrupt}, "close=5,abrupt"},
		{"reset,close=5,drop=2", WSFault{Drop: 2, Close: 5, End: EndReset}, "drop=2,close=5,reset"},
		{"close=1,invalid", WSFault{Close: 1, End: EndInvalid}, "close=1,invalid"},
		{"close=1,code=4000", WSFault{Close: 1, Code: 4000}, "close=1,code=4000"},
	} {
		got, err := ParseWSFault(tc.spec)
		if err != nil || got != tc.want {
			t.Errorf("ParseWSFault(%q) = %+v, %v; want %+v", tc.spec, got, err, tc.want)
			continue
		}
		if got.String() != tc.str {
			t.Errorf("%+v.String() = %q, want %q", got, got.String(), tc.str)
		}
		if back, err := ParseWSFault(got.String()); err != nil || back != got {
			t.Errorf("round trip of %q: %+v, %v", got.String(), back, err)
		}
	}
	for _, tc := range []struct{ spec, want string }{
		{"drop", "needs a value"},
		{"drop=0", "positive integer"},
		{"drop=x", "positive integer"},
		{"close=5,code=1006", "code 1006"},
		{"close=5,code=999", "code 999"},
		{"code=1000", "need close=N"},
		{"abrupt", "need close=N"},
		{"close=5,abrupt,reset", "one of abrupt"},
		{"close=5,abrupt=1", "takes no value"},
		{"close=5,abrupt,code=1011", "code applies to a close frame"},
		{"drop=1,drop=2", "more than once"},
		{"sometimes", "unknown entry"},
	} {
		if _, err := ParseWSFault(tc.spec); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseWSFault(%q): error %v, want %q", tc.spec, err, tc.want)
		}
	}
}

func TestParseBroadcastRate(t *testing.T) {
	for _, s := range []string{"10", "2.5", "1000/s"} {
		if _, err := ParseBroadcastRate(s); err != nil {
			t.Errorf("ParseBroadcastRate(%q): %v", s, err)
		}
	}
	for _, s := range []string{"0", "-1", "x", "NaN", "1e9"} {
		if _, err := ParseBroadcastRate(s); err == nil {
			t.Errorf("ParseBroadcastRate(%q): no error", s)
		}
	}
	if _, err := Start(Config{Addr: "127.0.0.1:0", BroadcastRate: -1}); err == nil {
		t.Error("Start with a negative broadcast rate: no error")
	}
}

func dialWS(t *testing.T, s *Server, path string) *websocket.Conn {
	t.Helper()
	c, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(s.URL(), "http")+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	return c
}

// TestWSEcho: messages come back unchanged in their frame type, dropped
// messages do not, and the counts say so; Reset zeroes them.
func TestWSEcho(t *testing.T) {
	verifyNoLeaks(t)
	s := startServer(t, Config{WSFault: WSFault{Drop: 3}})
	c := dialWS(t, s, WSPath)
	for i, m := range []struct {
		typ  int
		data []byte
	}{
		{websocket.TextMessage, []byte("one")},
		{websocket.BinaryMessage, []byte{0, 1, 2, 0xff}},
		{websocket.TextMessage, []byte("dropped")},
		{websocket.TextMessage, bytes.Repeat([]byte("x"), 100_000)},
	} {
		if err := c.WriteMessage(m.typ, m.data); err != nil {
			t.Fatal(err)
		}
		if i == 2 {
			continue
		}
		typ, got, err := c.ReadMessage()
		if err != nil || typ != m.typ || !bytes.Equal(got, m.data) {
			t.Fatalf("message %d: echo type %d, %d bytes, %v; want type %d, %d bytes unchanged", i, typ, len(got), err, m.typ, len(m.data))
		}
	}
	want := WSStats{Connections: 1, Received: 4, Echoed: 3, Dropped: 1}
	if got := s.Stats().WS; got != want {
		t.Errorf("stats %+v, want %+v", got, want)
	}
	if s.Stats().Total != 0 {
		t.Errorf("WebSocket messages counted as HTTP responses: %+v", s.Stats())
	}
	s.Reset()
	if got := s.Stats().WS; got != (WSStats{}) {
		t.Errorf("after Reset: %+v, want zeros", got)
	}
}

// TestWSFaultEnds: close=N answers N messages, then ends the connection on
// the next one as asked; ?fault= overrides the server's fault.
func TestWSFaultEnds(t *testing.T) {
	verifyNoLeaks(t)
	s := startServer(t, Config{WSFault: WSFault{Close: 100}})
	for _, tc := range []struct {
		query string
		check func(error) bool
	}{
		{"?fault=close=1,code=4001", func(err error) bool {
			var ce *websocket.CloseError
			return errors.As(err, &ce) && ce.Code == 4001 && strings.Contains(ce.Text, "close=1")
		}},
		{"?fault=close=1,abrupt", func(err error) bool { return websocket.IsCloseError(err, websocket.CloseAbnormalClosure) }},
		{"?fault=close=1,invalid", func(err error) bool { return strings.Contains(err.Error(), "opcode 3") }},
		{"?fault=close=1,reset", func(err error) bool {
			return err != nil && (strings.Contains(err.Error(), "reset") || websocket.IsCloseError(err, websocket.CloseAbnormalClosure))
		}},
	} {
		c := dialWS(t, s, WSPath+tc.query)
		for i := range 2 {
			if err := c.WriteMessage(websocket.TextMessage, []byte("m")); err != nil {
				t.Fatal(err)
			}
			_, _, err := c.ReadMessage()
			if i == 0 && err != nil {
				t.Fatalf("%s: first message: %v", tc.query, err)
			}
			if i == 1 && !tc.check(err) {
				t.Errorf("%s: second message read error %v, not the fault asked for", tc.query, err)
			}
		}
	}
}

// TestWSNotUpgrade: a plain request to /ws is an ordinary load request, and a
// bad ?fault= is refused before the upgrade.
func TestWSNotUpgrade(t *testing.T) {
	verifyNoLeaks(t)
	s := startServer(t, Config{})
	c := newClient(t)
	if r := get(t, c, s.URL()+WSPath); r.code != 200 || r.body != "hello" {
		t.Errorf("GET /ws without upgrade: %d %q, want 200 hello", r.code, r.body)
	}
	_, resp, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(s.URL(), "http")+WSPath+"?fault=nonsense", nil)
	if err == nil || resp == nil || resp.StatusCode != http.StatusBadRequest {
		t.Errorf("bad fault: err %v, resp %v; want a 400", err, resp)
	}
}

// TestWSBroadcast: messages are {"seq":N,"ts_ns":T} with consecutive seq
// and T the intended time, N/rate after the first.
func TestWSBroadcast(t *testing.T) {
	verifyNoLeaks(t)
	s := startServer(t, Config{BroadcastRate: 5})
	c := dialWS(t, s, BroadcastPath+"?rate=200")
	var first int64
	for i := range 20 {
		_, data, err := c.ReadMessage()
		if err != nil {
			t.Fatal(err)
		}
		var m struct {
			Seq  *int64 `json:"seq"`
			TsNs *int64 `json:"ts_ns"`
		}
		if err := json.Unmarshal(data, &m); err != nil || m.Seq == nil || m.TsNs == nil {
			t.Fatalf("message %q: %v; want {\"seq\":N,\"ts_ns\":T}", data, err)
		}
		if *m.Seq != int64(i) {
			t.Fatalf("message %d has seq %d", i, *m.Seq)
		}
		if i == 0 {
			first = *m.TsNs
		}
		if want := first + int64(i)*int64(5*time.Millisecond); *m.TsNs < want-1000 || *m.TsNs > want+1000 {
			t.Errorf("message %d: ts_ns %d, want %d (intended time at 200/s)", i, *m.TsNs, want)
		}
		if late := time.Since(time.Unix(0, *m.TsNs)); late < 0 || late > time.Second {
			t.Errorf("message %d received %v after its timestamp", i, late)
		}
	}
	if st := s.Stats().WS; st.Connections != 1 || st.Pushed < 20 {
		t.Errorf("stats %+v, want 1 connection, at least 20 pushed", st)
	}
}

// TestWSCloseEndsConnections: Close returns promptly with WebSocket clients
// still connected, echoing, held by a stall or subscribed, and they see the
// connection end.
func TestWSCloseEndsConnections(t *testing.T) {
	verifyNoLeaks(t)
	s, err := Start(Config{Addr: "127.0.0.1:0", Stall: Stall{For: time.Hour}})
	if err != nil {
		t.Fatal(err)
	}
	idle := dialWS(t, s, WSPath)
	held := dialWS(t, s, WSPath)
	sub := dialWS(t, s, BroadcastPath)
	if err := held.WriteMessage(websocket.TextMessage, []byte("held")); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond)
	done := make(chan error, 1)
	go func() { done <- s.Close() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Close: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not return within 5 s with WebSocket clients connected")
	}
	// Each client sees its connection end (before the 5 s read deadline).
	for _, c := range []*websocket.Conn{idle, held, sub} {
		var err error
		for err == nil {
			_, _, err = c.ReadMessage()
		}
		var ne interface{ Timeout() bool }
		if errors.As(err, &ne) && ne.Timeout() {
			t.Errorf("connection still open after Close: %v", err)
		}
	}
}
