package ws

import (
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/gorilla/websocket"

	"volley/bench"
	"volley/bench/benchtest"
	"volley/load"
	"volley/load/dial"
	"volley/load/dial/dialtest"
	"volley/load/message"
	"volley/load/request"
)

// TestWSClockSkew: a broadcast whose clock is 1.5 s ahead stamps every
// message in the future. Each is counted as clock skew and as an error
// (other), none as received, and no latency is recorded for any (it used to
// record 40 latencies of 0).
func TestWSClockSkew(t *testing.T) {
	srv := benchtest.Start(t, bench.Config{})
	res := runWS(t, load.Config{Spec: request.Spec{Request: request.Request{URL: wsURL(srv, bench.BroadcastPath+"?rate=200&skew=1500ms")}}, Connections: 2, Requests: 40},
		Config{Mode: message.Subscribe})
	m := res.Messages
	if m.ClockSkew != 40 || m.Received != 0 || res.Errors["clock_skew"] != 40 || res.Requests.Completed != 0 {
		t.Fatalf("clock_skew %d received %d completed %d errors %v; want 40 skewed, 40 other errors, none received",
			m.ClockSkew, m.Received, res.Requests.Completed, res.Errors)
	}
	if n := res.Latency.Corrected.Count; n != 0 {
		t.Errorf("%d latencies recorded, want none", n)
	}
	// Stamped 1.5 s ahead, received a little after the (true) time.
	if m.ClockSkewMaxMs < 1400 || m.ClockSkewMaxMs > 1500 {
		t.Errorf("clock_skew_max_ms %.1f, want just under 1500", m.ClockSkewMaxMs)
	}
	if s := res.ErrorSamples["clock_skew"]; !strings.Contains(s, "in the future: the server's clock is ahead of volley's; its latency is not recorded") {
		t.Errorf("error sample %q, want it to say the clock is ahead", s)
	}
}

// TestWSProxy: --proxy tunnels every WebSocket connection through the HTTP
// proxy with CONNECT, as for HTTP.
func TestWSProxy(t *testing.T) {
	srv := benchtest.Start(t, bench.Config{})
	px, tunnels := dialtest.ConnectProxy(t)
	cfg := load.Config{Spec: request.Spec{Request: request.Request{URL: wsURL(srv, bench.WSPath)}}, Connections: 2, Requests: 20}
	cfg.Conn.Proxy = px
	res := runWS(t, cfg, Config{})
	if res.Messages.Received != 20 || tunnels.Load() != 2 || srv.Stats().WS.Received != 20 {
		t.Errorf("received %d, tunnels %d, server received %d; want 20, 2, 20 (errors %v)",
			res.Messages.Received, tunnels.Load(), srv.Stats().WS.Received, res.ErrorSamples)
	}
	// A proxy that refuses (no credentials) fails the handshake.
	bad := *px
	bad.User = nil
	cfg.Conn.Proxy, cfg.Requests = &bad, 3
	res = runWS(t, cfg, Config{})
	if res.Requests.Errors != 3 || !strings.Contains(res.ErrorSamples["handshake"], "407") {
		t.Errorf("refused by the proxy: errors %v %v, want 3 handshake errors naming 407", res.Errors, res.ErrorSamples)
	}
}

// TestWSUnixSocket: --unix-socket connects every WebSocket connection to the
// socket; the URL still gives the Host header.
func TestWSUnixSocket(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ws.sock")
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Skipf("unix sockets unavailable: %v", err)
	}
	var echoed atomic.Int64
	var host atomic.Value
	hs := &http.Server{Handler: wsServe(&websocket.Upgrader{}, func(c *websocket.Conn, r *http.Request) {
		host.Store(r.Host)
		echoAll(c, func() { echoed.Add(1) })
	})}
	go hs.Serve(ln)
	defer hs.Close()
	cfg := load.Config{Spec: request.Spec{Request: request.Request{URL: "ws://sock.example/ws"}}, Connections: 2, Requests: 10}
	cfg.Conn.UnixSocket = path
	res := runWS(t, cfg, Config{})
	if res.Messages.Received != 10 || echoed.Load() != 10 || host.Load() != "sock.example" {
		t.Errorf("received %d, echoed %d, host %v; want 10, 10, sock.example (errors %v)",
			res.Messages.Received, echoed.Load(), host.Load(), res.ErrorSamples)
	}
}

// TestWSRefusesHTTPOnly: settings that mean something for HTTP only are
// refused by NewWSClient rather than ignored.
func TestWSRefusesHTTPOnly(t *testing.T) {
	status, err := request.ParseExpectStatus("200")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		mod  func(*load.Config)
		want string
	}{
		{func(c *load.Config) { c.Expect.Status = status }, "expect status: applies to HTTP responses, not WebSocket messages"},
		{func(c *load.Config) { c.Expect.Body = []byte("ok") }, "expect body: applies to HTTP response bodies"},
		{func(c *load.Config) { c.Conn.Protocol = dial.HTTP2 }, "protocol http2: a WebSocket handshake is HTTP/1.1"},
		{func(c *load.Config) { c.Conn.FollowRedirects = 2 }, "follow redirects 2: a WebSocket handshake is not redirected"},
		{func(c *load.Config) { c.Conn.Compressed = true }, "compressed: applies to HTTP responses"},
		{func(c *load.Config) { c.Conn.NoKeepAlive = true }, "no keepalive: a WebSocket connection carries every message"},
	} {
		cfg := load.Config{Spec: request.Spec{Request: request.Request{URL: "ws://127.0.0.1:1/ws"}}, Connections: 1, Requests: 1, Timeout: 1e9}
		tc.mod(&cfg)
		if _, err := NewClient(cfg, Config{Payload: []byte("x")}); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("error %v, want %q", err, tc.want)
		}
	}
}
