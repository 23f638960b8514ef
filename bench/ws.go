package bench

import (
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
)

const (
	// WSPath answers WebSocket upgrades with an echo: every data message
	// comes back unchanged, in the same frame type, after the configured
	// latency and stall, subject to the WSFault.
	WSPath = "/ws"
	// BroadcastPath answers WebSocket upgrades by pushing timestamped text
	// messages, {"seq":N,"ts_ns":T}, at a fixed rate to each subscriber.
	BroadcastPath = "/ws/broadcast"
	// DefaultBroadcastRate is the messages per second BroadcastPath pushes to
	// each subscriber when neither Config.BroadcastRate nor ?rate= says.
	DefaultBroadcastRate = 10
	// MaxBroadcastRate bounds the broadcast rate per subscriber.
	MaxBroadcastRate = 100_000
	// wsMaxMessage bounds a message the echo reads (64 MiB).
	wsMaxMessage = 64 << 20
	// wsWriteWait bounds one write to a WebSocket client.
	wsWriteWait = 10 * time.Second
	// wsBuffer is the read and write buffer of a server connection.
	wsBuffer = 4096
)

// WSFault makes the /ws echo misbehave on purpose. The zero value echoes
// every message.
type WSFault struct {
	// Drop: every Drop-th message received on a connection (the Drop-th,
	// 2×Drop-th, ...) gets no echo. 0 drops none.
	Drop int
	// Close: after Close echoes on a connection, the next message received
	// gets no echo and the server ends the connection as End says. 0 never.
	Close int
	// End is how the connection ends at Close: EndFrame (a close frame with
	// Code), EndAbrupt (the TCP connection closes without a close frame),
	// EndReset (TCP reset) or EndInvalid (an invalid frame, then TCP close).
	End WSEnd
	// Code is the close frame's status code with EndFrame; 0 means 1000.
	Code int
}

// WSEnd is how a WSFault ends a connection.
type WSEnd uint8

// Ways to end a connection.
const (
	EndFrame WSEnd = iota
	EndAbrupt
	EndReset
	EndInvalid
)

// String returns "frame", "abrupt", "reset" or "invalid".
func (e WSEnd) String() string {
	switch e {
	case EndAbrupt:
		return "abrupt"
	case EndReset:
		return "reset"
	case EndInvalid:
		return "invalid"
	}
	return "frame"
}

// ParseWSFault parses a fault spec: comma-separated entries among drop=N,
// close=N, code=C (1000..4999, not 1004-1006 or 1015), and one of abrupt,
// reset or invalid (how close=N ends the connection; the default is a close
// frame). The empty string is the zero value.
//
//	drop=10              no echo for every 10th message
//	close=100,code=1011  close frame 1011 on the 101st message
//	close=5,abrupt       TCP close without a close frame on the 6th message
//	close=5,invalid      an invalid frame (reserved opcode 3) instead
func ParseWSFault(s string) (WSFault, error) {
	spec := strings.TrimSpace(s)
	var f WSFault
	if spec == "" {
		return f, nil
	}
	seen := map[string]bool{}
	for _, part := range strings.Split(spec, ",") {
		key, val, hasVal := strings.Cut(strings.TrimSpace(part), "=")
		key = strings.TrimSpace(key)
		if seen[key] {
			return WSFault{}, fmt.Errorf("ws fault %q: %s given more than once", s, key)
		}
		seen[key] = true
		switch key {
		case "drop", "close", "code":
			if !hasVal {
				return WSFault{}, fmt.Errorf("ws fault %q: %s needs a value, e.g. %s=10", s, key, key)
			}
			n, err := strconv.Atoi(strings.TrimSpace(val))
			if err != nil || n < 1 {
				return WSFault{}, fmt.Errorf("ws fault %q: %s=%s: want a positive integer", s, key, val)
			}
			switch key {
			case "drop":
				f.Drop = n
			case "close":
				f.Close = n
			case "code":
				if !validCloseCode(n) {
					return WSFault{}, fmt.Errorf("ws fault %q: code %d: want 1000..4999, not 1004, 1005, 1006 or 1015", s, n)
				}
				f.Code = n
			}
		case "abrupt", "reset", "invalid":
			if hasVal {
				return WSFault{}, fmt.Errorf("ws fault %q: %s takes no value", s, key)
			}
			if f.End != EndFrame {
				return WSFault{}, fmt.Errorf("ws fault %q: give one of abrupt, reset and invalid", s)
			}
			f.End = map[string]WSEnd{"abrupt": EndAbrupt, "reset": EndReset, "invalid": EndInvalid}[key]
		default:
			return WSFault{}, fmt.Errorf("ws fault %q: unknown entry %q; want drop=N, close=N, code=C, abrupt, reset or invalid", s, key)
		}
	}
	if (f.End != EndFrame || f.Code != 0) && f.Close == 0 {
		return WSFault{}, fmt.Errorf("ws fault %q: code, abrupt, reset and invalid need close=N", s)
	}
	if f.End != EndFrame && f.Code != 0 {
		return WSFault{}, fmt.Errorf("ws fault %q: code applies to a close frame, not to %s", s, f.End.String())
	}
	return f, nil
}

// validCloseCode reports whether a close frame may carry code (RFC 6455
// section 7.4: 1004, 1005, 1006 and 1015 are never sent).
func validCloseCode(code int) bool {
	switch {
	case code >= 1000 && code <= 1003, code >= 1007 && code <= 1014, code >= 3000 && code <= 4999:
		return true
	}
	return false
}

// String returns the spec in the form ParseWSFault accepts.
func (f WSFault) String() string {
	var parts []string
	if f.Drop > 0 {
		parts = append(parts, "drop="+strconv.Itoa(f.Drop))
	}
	if f.Close > 0 {
		parts = append(parts, "close="+strconv.Itoa(f.Close))
		if f.Code > 0 {
			parts = append(parts, "code="+strconv.Itoa(f.Code))
		}
		if f.End != EndFrame {
			parts = append(parts, f.End.String())
		}
	}
	return strings.Join(parts, ",")
}

// ParseBroadcastRate parses a broadcast rate in messages per second.
func ParseBroadcastRate(s string) (float64, error) {
	r, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(s), "/s"), 64)
	if err != nil || !(r > 0) || r > MaxBroadcastRate {
		return 0, fmt.Errorf("broadcast rate %q: want messages per second, more than 0 and at most %d", s, MaxBroadcastRate)
	}
	return r, nil
}

// WSStats are the WebSocket counts of Stats.
type WSStats struct {
	// Connections is the upgrades accepted on WSPath and BroadcastPath.
	Connections int64 `json:"connections"`
	// Received is the data messages the echo read, Echoed those it answered
	// and Dropped those it left unanswered on purpose (WSFault).
	Received int64 `json:"received"`
	Echoed   int64 `json:"echoed"`
	Dropped  int64 `json:"dropped"`
	// Pushed is the messages BroadcastPath sent.
	Pushed int64 `json:"pushed"`
}

// wsCounts are an epoch's WebSocket counts.
type wsCounts struct {
	conns, received, echoed, dropped, pushed atomic.Int64
}

func (c *wsCounts) stats() WSStats {
	return WSStats{
		Connections: c.conns.Load(), Received: c.received.Load(), Echoed: c.echoed.Load(),
		Dropped: c.dropped.Load(), Pushed: c.pushed.Load(),
	}
}

// serveWS upgrades a WebSocket request on WSPath or BroadcastPath; any other
// request there is answered as a load request. The query may override the
// fault (?fault=SPEC) and the broadcast rate (?rate=N).
func (s *Server) serveWS(w http.ResponseWriter, r *http.Request) {
	if !websocket.IsWebSocketUpgrade(r) {
		s.serveLoad(w, r)
		return
	}
	fault, rate := s.cfg.WSFault, s.cfg.BroadcastRate
	if rate <= 0 {
		rate = DefaultBroadcastRate
	}
	q := r.URL.Query()
	if spec := q.Get("fault"); spec != "" {
		f, err := ParseWSFault(spec)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		fault = f
	}
	if v := q.Get("rate"); v != "" {
		rt, err := ParseBroadcastRate(v)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		rate = rt
	}
	var skew time.Duration
	if v := q.Get("skew"); v != "" {
		d, err := ParseClockSkew(v)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		skew = d
	}
	up := websocket.Upgrader{
		ReadBufferSize: wsBuffer, WriteBufferSize: wsBuffer,
		HandshakeTimeout: readHeaderTimeout,
		// A test bench accepts clients from any origin.
		CheckOrigin: func(*http.Request) bool { return true },
	}
	conn, err := up.Upgrade(w, r, nil)
	if err != nil {
		return // Upgrade has answered with an HTTP error
	}
	// Hijacked connections are not closed by http.Server.Close: close this
	// one when the server closes.
	finished := make(chan struct{})
	defer close(finished)
	go func() {
		select {
		case <-s.done:
			conn.Close()
		case <-finished:
		}
	}()
	defer conn.Close()
	s.ep.Load().ws.conns.Add(1)
	if r.URL.Path == BroadcastPath {
		s.broadcast(conn, rate, skew)
		return
	}
	conn.SetReadLimit(wsMaxMessage)
	s.echo(conn, fault)
}

// echo answers the messages of one connection, one at a time, in order.
func (s *Server) echo(conn *websocket.Conn, f WSFault) {
	var (
		buf    []byte
		n      int // messages received
		echoed int
		tm     *time.Timer
	)
	for {
		typ, rd, err := conn.NextReader()
		if err != nil {
			return
		}
		if buf, err = readMessage(rd, buf[:0]); err != nil {
			return
		}
		now := int64(time.Since(s.base))
		ep := s.ep.Load()
		offset := max(now-ep.begin(now, s.cfg.Stall), 0)
		ep.ws.received.Add(1)
		n++
		if f.Close > 0 && echoed >= f.Close {
			s.end(conn, f)
			return
		}
		if f.Drop > 0 && n%f.Drop == 0 {
			ep.ws.dropped.Add(1)
			continue
		}
		if st := s.cfg.Stall; !st.IsZero() && offset >= int64(st.At) && offset < int64(st.end()) {
			select {
			case <-ep.release:
			case <-s.done:
				return
			}
		}
		if d := s.sampleLatency(); d > 0 {
			if !sleep(&tm, d, s.done, nil) {
				return
			}
		}
		// Count before writing, so a client that has read its echo sees it.
		ep.ws.echoed.Add(1)
		_ = conn.SetWriteDeadline(time.Now().Add(wsWriteWait))
		if err := conn.WriteMessage(typ, buf); err != nil {
			return
		}
		echoed++
	}
}

// end ends a connection as f says.
func (s *Server) end(conn *websocket.Conn, f WSFault) {
	nc := conn.UnderlyingConn()
	switch f.End {
	case EndFrame:
		code := f.Code
		if code == 0 {
			code = websocket.CloseNormalClosure
		}
		msg := websocket.FormatCloseMessage(code, "volley serve: fault close="+strconv.Itoa(f.Close))
		_ = conn.WriteControl(websocket.CloseMessage, msg, time.Now().Add(wsWriteWait))
	case EndReset:
		if tc, ok := nc.(*net.TCPConn); ok {
			_ = tc.SetLinger(0)
		}
	case EndInvalid:
		// FIN set, reserved opcode 3, empty payload: RFC 6455 says a
		// client must fail the connection.
		_ = nc.SetWriteDeadline(time.Now().Add(wsWriteWait))
		_, _ = nc.Write([]byte{0x83, 0x00})
	}
	_ = nc.Close()
}

// MaxClockSkew bounds the skew a broadcast may pretend its clock has.
const MaxClockSkew = 24 * time.Hour

// ParseClockSkew parses the ?skew= of BroadcastPath: a duration, up to
// MaxClockSkew either way, by which the broadcast's clock pretends to be
// ahead (negative: behind) of the real one.
func ParseClockSkew(s string) (time.Duration, error) {
	d, err := time.ParseDuration(strings.TrimSpace(s))
	if err != nil || d > MaxClockSkew || d < -MaxClockSkew {
		return 0, fmt.Errorf("clock skew %q: want a duration such as 1.5s or -200ms, at most %v either way", s, MaxClockSkew)
	}
	return d, nil
}

// broadcast pushes {"seq":N,"ts_ns":T} text messages at rate per second,
// message N intended at N/rate seconds after the upgrade and stamped with
// that intended time (Unix nanoseconds), so a subscriber's latency includes
// any delay the server adds (latency, stall) as well as the network's. The
// stamps are skew later than the truth, as a server whose clock is skew
// ahead would write them: a way to show what a subscriber makes of that.
func (s *Server) broadcast(conn *websocket.Conn, rate float64, skew time.Duration) {
	// Read (and discard) what the client sends, so that pings are answered
	// and a close is noticed.
	gone := make(chan struct{})
	go func() {
		defer close(gone)
		for {
			if _, _, err := conn.NextReader(); err != nil {
				return
			}
		}
	}()
	start := time.Now()
	var (
		tm  *time.Timer
		buf []byte
	)
	for seq := int64(0); ; seq++ {
		due := start.Add(time.Duration(math.Floor(float64(seq) * 1e9 / rate)))
		if d := time.Until(due); d > 0 && !sleep(&tm, d, s.done, gone) {
			return
		}
		now := int64(time.Since(s.base))
		ep := s.ep.Load()
		offset := max(now-ep.begin(now, s.cfg.Stall), 0)
		if st := s.cfg.Stall; !st.IsZero() && offset >= int64(st.At) && offset < int64(st.end()) {
			select {
			case <-ep.release:
			case <-s.done:
				return
			case <-gone:
				return
			}
		}
		if d := s.sampleLatency(); d > 0 && !sleep(&tm, d, s.done, gone) {
			return
		}
		buf = append(buf[:0], `{"seq":`...)
		buf = strconv.AppendInt(buf, seq, 10)
		buf = append(buf, `,"ts_ns":`...)
		buf = strconv.AppendInt(buf, due.Add(skew).UnixNano(), 10)
		buf = append(buf, '}')
		ep.ws.pushed.Add(1)
		_ = conn.SetWriteDeadline(time.Now().Add(wsWriteWait))
		if err := conn.WriteMessage(websocket.TextMessage, buf); err != nil {
			return
		}
	}
}

// sleep waits d on the reusable timer *tm; it reports false if done or gone
// (either may be nil) closed first.
func sleep(tm **time.Timer, d time.Duration, done, gone <-chan struct{}) bool {
	if *tm == nil {
		*tm = time.NewTimer(d)
	} else {
		(*tm).Reset(d)
	}
	select {
	case <-(*tm).C:
		return true
	case <-done:
	case <-gone:
	}
	(*tm).Stop()
	return false
}

// readMessage appends the rest of a message to buf.
func readMessage(r io.Reader, buf []byte) ([]byte, error) {
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}

// checkWS validates the WebSocket settings of a Config.
func (cfg *Config) checkWS() error {
	if r := cfg.BroadcastRate; r < 0 || r != r || r > MaxBroadcastRate {
		return fmt.Errorf("broadcast rate %v: want 0 (default) or up to %d per second", r, MaxBroadcastRate)
	}
	f := cfg.WSFault
	if f.Drop < 0 || f.Close < 0 || (f.Code != 0 && !validCloseCode(f.Code)) || f.End > EndInvalid {
		return fmt.Errorf("ws fault %+v: invalid", f)
	}
	return nil
}
