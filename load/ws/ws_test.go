package ws

import (
	"context"
	"io"
	"log"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"volley/bench"
	"volley/bench/benchtest"
	"volley/internal/loadtest"
	"volley/load"
	"volley/load/message"
	"volley/load/request"
	"volley/stats"
)

// runWS runs a WebSocket plan the way `volley run` does: open the
// connections, run, attach the WebSocket counts.
func runWS(t *testing.T, cfg load.Config, ws Config) *stats.Result {
	t.Helper()
	cfg = loadtest.Defaults(cfg)
	if ws.Payload == nil && ws.Mode == message.Echo {
		ws.Payload = []byte("hello")
	}
	client, err := NewClient(cfg, ws)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	n := cfg.Connections
	if cfg.Requests > 0 {
		n = int(min(int64(n), cfg.Requests))
	}
	client.Open(context.Background(), n)
	return loadtest.Run(t, context.Background(), cfg, client.Engine())
}

func wsURL(srv *bench.Server, path string) string {
	return "ws" + strings.TrimPrefix(srv.URL(), "http") + path
}

// TestWSCoordinatedOmission: 400 messages/s for 5 s over 10 connections to
// an echo that holds every message arriving in [1 s, 1.25 s) until 1.25 s.
// 100 messages are due in the stall and only 10 connections exist; each
// goes out at its intended time all the same (full duplex), so none waits
// in volley. A message due at s in the stall is answered at about 1.25 s,
// so corrected latency is uniform on (0, D], D = 250 ms, for a share D/T =
// 5% of the messages: for q above 0.95 the q-quantile is D - (1-q)T, p99 =
// 200 ms, p99.9 = 245 ms, p99.99 = 249.5 ms. Sent on time, their service
// time (from the actual send) shows the same.
func TestWSCoordinatedOmission(t *testing.T) {
	if testing.Short() {
		t.Skip("5 s load run; skipped with -short")
	}
	const (
		rate  = 400.0
		conns = 10
		dur   = 5 * time.Second
		stall = 250 * time.Millisecond
	)
	loadtest.Retry(t, 3, func(miss func(string, ...any)) {
		srv := benchtest.Start(t, bench.Config{Stall: bench.Stall{At: time.Second, For: stall}})
		res := runWS(t, load.Config{Spec: request.Spec{Request: request.Request{URL: wsURL(srv, bench.WSPath)}}, Rate: rate, Connections: conns, Duration: dur},
			Config{})
		const total = int64(rate * 5)
		if res.Requests.Total != total || res.Requests.Completed != total {
			t.Fatalf("messages total %d answered %d, want %d each (errors %v)", res.Requests.Total, res.Requests.Completed, total, res.Errors)
		}
		quantile := func(q float64) float64 { // ms
			T, D := dur.Seconds()*1e3, stall.Seconds()*1e3
			return D - (1-q)*T
		}
		c := res.Latency.Corrected
		for _, tc := range []struct {
			name      string
			got, want float64
		}{
			{"p99", c.P99, quantile(0.99)},
			{"p99.9", c.P999, quantile(0.999)},
			{"p99.99", c.P9999, quantile(0.9999)},
		} {
			if tol := 0.03*tc.want + 2; math.Abs(tc.got-tc.want) > tol {
				miss("corrected %s = %.1f ms, want %.1f ± %.1f ms", tc.name, tc.got, tc.want, tol)
			}
		}
		if c.P90 > 20 {
			miss("corrected p90 = %.1f ms, want a normal (unstalled) round trip", c.P90)
		}
		// Every message was sent at its time: the stall is the server's, in
		// the service time too.
		if s := res.Latency.Service.P99; math.Abs(s-c.P99) > 0.03*c.P99+2 {
			miss("service p99 = %.1f ms, want the corrected %.1f ms (messages sent on time)", s, c.P99)
		}
		if lag := res.SendLag.P99; lag > 5 {
			miss("send lag p99 = %.2f ms, want under 5 ms: messages waited in volley", lag)
		}
		st := srv.Stats().WS
		m := res.Messages
		if st.Received != m.Sent || st.Echoed != m.Received || m.Sent != total || m.Unanswered != 0 {
			t.Fatalf("server received %d echoed %d; volley sent %d received %d unanswered %d; want %d, none unanswered",
				st.Received, st.Echoed, m.Sent, m.Received, m.Unanswered, total)
		}
	})
}

// TestWSExactCounts checks messages and handshakes against the server's own
// counts.
func TestWSExactCounts(t *testing.T) {
	srv := benchtest.Start(t, bench.Config{})
	res := runWS(t, load.Config{Spec: request.Spec{Request: request.Request{URL: wsURL(srv, bench.WSPath)}}, Rate: 1000, Connections: 10, Duration: time.Second},
		Config{Payload: []byte(`{"op":"ping"}`)})
	st := srv.Stats().WS
	m := res.Messages
	if m.Sent != 1000 || st.Received != 1000 || st.Echoed != 1000 || m.Received != 1000 || res.Requests.Completed != 1000 {
		t.Fatalf("volley sent %d received %d (completed %d); server received %d echoed %d; want 1000 each",
			m.Sent, m.Received, res.Requests.Completed, st.Received, st.Echoed)
	}
	if h := res.WS.Handshakes; h.Attempted != 10 || h.OK != 10 || st.Connections != 10 {
		t.Errorf("handshakes %+v, server accepted %d; want 10 attempted, 10 ok", h, st.Connections)
	}
	if n := res.Histograms["handshake"].TotalCount(); n != 10 || res.WS.Handshake.Count != 10 || res.WS.Handshake.P50 <= 0 {
		t.Errorf("handshake histogram holds %d, summary %+v; want 10 positive latencies", n, res.WS.Handshake)
	}
	// On the wire: each echo is a 2-byte frame header, 17 bytes of id and
	// the 13-byte payload; each of the 10 handshake answers is a few
	// hundred bytes.
	if in := res.Bytes.In; in < 1000*32+10*100 || in > 1000*32+10*400 {
		t.Errorf("bytes in %d, want 1000 echoes of 32 bytes and 10 handshake answers", in)
	}
	if len(res.WS.CloseCodes) != 0 || res.Requests.Errors != 0 {
		t.Errorf("close codes %v, errors %v; want none", res.WS.CloseCodes, res.Errors)
	}
	// An answered message is no HTTP response: no status class, no code.
	if res.Status["2xx"] != 0 || len(res.Codes) != 0 || res.Histograms["corrected.answered"].TotalCount() != 1000 {
		t.Errorf("status %v codes %v, %d in the answered class; want no status, no code, 1000 answered",
			res.Status, res.Codes, res.Histograms["corrected.answered"].TotalCount())
	}
}

// TestWSUnanswered: an echo that drops every 10th message. Each dropped
// message is unanswered after the timeout and counted as a timeout, its
// connection kept; counts match the server's exactly.
func TestWSUnanswered(t *testing.T) {
	for _, match := range []message.Match{message.MatchID, message.MatchFIFO} {
		t.Run(match.String(), func(t *testing.T) {
			srv := benchtest.Start(t, bench.Config{WSFault: bench.WSFault{Drop: 10}})
			res := runWS(t, load.Config{Spec: request.Spec{Request: request.Request{URL: wsURL(srv, bench.WSPath)}},
				Rate: 200, Connections: 10,
				Duration: time.Second, Timeout: 150 * time.Millisecond,
			}, Config{Match: match})
			st := srv.Stats().WS
			m := res.Messages
			if m.Sent != 200 || st.Received != m.Sent {
				t.Fatalf("volley sent %d, server received %d; want 200 each", m.Sent, st.Received)
			}
			if st.Dropped == 0 || m.Unanswered != st.Dropped || res.Errors["timeout"] != st.Dropped {
				t.Errorf("server dropped %d; volley unanswered %d, timeouts %d; want them equal and > 0",
					st.Dropped, m.Unanswered, res.Errors["timeout"])
			}
			if msg := res.ErrorSamples["timeout"]; strings.Contains(msg, "raw-") {
				t.Errorf("timeout sample %q names the socket's raw path, not the read", msg)
			}
			if m.Received != st.Echoed || res.Requests.Completed != st.Echoed {
				t.Errorf("volley received %d (completed %d), server echoed %d", m.Received, res.Requests.Completed, st.Echoed)
			}
			// A timeout ends the wait for one message, not its connection.
			if h := res.WS.Handshakes; h.OK != 10 || h.Attempted != 10 || st.Connections != 10 {
				t.Errorf("handshakes %+v after %d timeouts, server accepted %d; want the 10 connections kept", h, st.Dropped, st.Connections)
			}
		})
	}
}

// TestWSHandshakeFailures: a wrong path, a forbidden upgrade, a plain HTTP
// server, a server that does not speak HTTP and a closed port are each
// counted in their category, message by message, without a panic.
func TestWSHandshakeFailures(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/forbidden", func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "origin not allowed", http.StatusForbidden)
	})
	mux.HandleFunc("/", http.NotFound)
	hs := httptest.NewServer(mux)
	defer hs.Close()
	wsBase := "ws" + strings.TrimPrefix(hs.URL, "http")

	plain := benchtest.Start(t, bench.Config{})

	garbage, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer garbage.Close()
	go func() {
		for {
			c, err := garbage.Accept()
			if err != nil {
				return
			}
			_, _ = io.WriteString(c, "SSH-2.0-NotHTTP\r\n\r\n")
			c.Close()
		}
	}()

	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedURL := "ws://" + closed.Addr().String() + "/ws"
	closed.Close()

	for _, tc := range []struct {
		name, url string
		kind      stats.ErrorKind
		msg       string
	}{
		{"wrong-path-404", wsBase + "/nope", stats.ErrHandshake, "404 Not Found"},
		{"forbidden-403", wsBase + "/forbidden", stats.ErrHandshake, "403 Forbidden"},
		{"plain-http-200", wsURL(plain, "/plain"), stats.ErrHandshake, "not a WebSocket endpoint"},
		{"not-http", "ws://" + garbage.Addr().String() + "/", stats.ErrHandshake, "handshake"},
		{"refused", closedURL, stats.ErrRefused, "refused"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := runWS(t, load.Config{Spec: request.Spec{Request: request.Request{URL: tc.url}}, Connections: 1, Requests: 5, Timeout: 2 * time.Second}, Config{})
			k := tc.kind.String()
			if res.Requests.Total != 5 || res.Errors[k] != 5 || res.Requests.Completed != 0 {
				t.Fatalf("total %d, completed %d, errors %v; want 5 %s errors", res.Requests.Total, res.Requests.Completed, res.Errors, k)
			}
			if got := res.ErrorSamples[k]; !strings.Contains(got, tc.msg) {
				t.Errorf("error sample %q, want it to contain %q", got, tc.msg)
			}
			// One handshake when opening, then one per message.
			if h := res.WS.Handshakes; h.Attempted != 6 || h.Failed != 6 || h.OK != 0 {
				t.Errorf("handshakes %+v, want 6 attempted, 6 failed", h)
			}
			if res.Messages.Sent != 0 {
				t.Errorf("sent %d messages without a connection", res.Messages.Sent)
			}
		})
	}
}

// TestWSConnectionEnds: a server that ends the connection after 3 echoes,
// with a close frame, without one, with a TCP reset or with an invalid
// frame. Each ending is counted once per connection in its error category
// and close code, the message it cut off is unanswered, and the next
// message reopens the connection.
func TestWSConnectionEnds(t *testing.T) {
	for _, tc := range []struct {
		fault string
		kind  stats.ErrorKind
		code  string
	}{
		{"close=3,code=1011", stats.ErrClosed, "1011"},
		{"close=3,abrupt", stats.ErrClosed, "1006"},
		{"close=3,reset", stats.ErrReset, "1006"},
		{"close=3,invalid", stats.ErrProtocol, "1002"},
	} {
		t.Run(tc.fault, func(t *testing.T) {
			f, err := bench.ParseWSFault(tc.fault)
			if err != nil {
				t.Fatal(err)
			}
			srv := benchtest.Start(t, bench.Config{WSFault: f})
			res := runWS(t, load.Config{Spec: request.Spec{Request: request.Request{URL: wsURL(srv, bench.WSPath)}}, Connections: 1, Requests: 8}, Config{})
			k := tc.kind.String()
			m := res.Messages
			if res.Requests.Completed != 6 || res.Errors[k] != 2 || m.Unanswered != 2 || m.Sent != 8 {
				t.Errorf("completed %d, errors %v, sent %d, unanswered %d; want 6 answered and 2 %s errors, unanswered",
					res.Requests.Completed, res.Errors, m.Sent, m.Unanswered, k)
			}
			if res.WS.CloseCodes[tc.code] != 2 || len(res.WS.CloseCodes) != 1 {
				t.Errorf("close codes %v, want {%s: 2}", res.WS.CloseCodes, tc.code)
			}
			if st := srv.Stats().WS; st.Received != 8 || st.Echoed != 6 {
				t.Errorf("server received %d echoed %d, want 8 and 6", st.Received, st.Echoed)
			}
			if h := res.WS.Handshakes; h.OK != 2 {
				t.Errorf("handshakes %+v, want 2 ok (one reopen)", h)
			}
		})
	}
}

// noisyEcho answers every message with an unrelated message first, then a
// reply that wraps the message: {"reply":MESSAGE}.
func noisyEcho(t *testing.T) string {
	hs := httptest.NewServer(wsServe(&websocket.Upgrader{}, func(c *websocket.Conn, _ *http.Request) {
		for {
			typ, msg, err := c.ReadMessage()
			if err != nil {
				return
			}
			if c.WriteMessage(typ, []byte(`{"event":"tick","id":"ffffffffffffffff"}`)) != nil {
				return
			}
			if c.WriteMessage(typ, append(append([]byte(`{"reply":`), msg...), '}')) != nil {
				return
			}
		}
	}))
	t.Cleanup(hs.Close)
	return "ws" + strings.TrimPrefix(hs.URL, "http")
}

// TestWSMatchByID: other messages are skipped and counted; the echo is found
// by its id wherever the server put it, with {{id}} in the message or with
// the default id header.
func TestWSMatchByID(t *testing.T) {
	url := noisyEcho(t)
	for _, payload := range []string{`{"id":"{{id}}","op":"ping"}`, `"ping"`} {
		res := runWS(t, load.Config{Spec: request.Spec{Request: request.Request{URL: url}}, Connections: 2, Requests: 50}, Config{Payload: []byte(payload)})
		m := res.Messages
		if m.Sent != 50 || m.Received != 50 || m.Unmatched != 50 || res.Requests.Completed != 50 {
			t.Errorf("payload %s: sent %d received %d unmatched %d; want 50 each", payload, m.Sent, m.Received, m.Unmatched)
		}
	}
}

// TestWSSubscribe: connections listen to the broadcast; latency comes from
// the server's timestamp, so a stall on the server shows in it: messages
// intended in [500 ms, 700 ms) are sent at 700 ms, the first 200 ms late.
func TestWSSubscribe(t *testing.T) {
	srv := benchtest.Start(t, bench.Config{BroadcastRate: 200, Stall: bench.Stall{At: 500 * time.Millisecond, For: 200 * time.Millisecond}})
	res := runWS(t, load.Config{Spec: request.Spec{Request: request.Request{URL: wsURL(srv, bench.BroadcastPath)}}, Connections: 4, Requests: 800},
		Config{Mode: message.Subscribe})
	m := res.Messages
	// Messages pushed between the handshakes and the start of the run are
	// skipped as unmatched, not counted with the time they waited.
	if res.Requests.Completed != 800 || m.Received != 800 || m.Missed != 0 {
		t.Fatalf("completed %d received %d missed %d unmatched %d errors %v; want 800 received, none missed",
			res.Requests.Completed, m.Received, m.Missed, m.Unmatched, res.Errors)
	}
	if m.Sent != 0 || res.Messages.Mode != "subscribe" || res.Mode != "subscribe" {
		t.Errorf("sent %d, messages mode %q, mode %q; want 0 and subscribe", m.Sent, res.Messages.Mode, res.Mode)
	}
	l := res.Latency.Service
	if l.Max < 180 || l.Max > 350 {
		t.Errorf("latency max %.1f ms, want about 200 (the stall)", l.Max)
	}
	if l.P50 > 40 {
		t.Errorf("latency p50 %.1f ms, want a normal delivery time", l.P50)
	}
	// 4 connections × 40 messages intended during the stall, latencies
	// spread over (0, 200 ms]: 160 of 800.
	if l.P90 < 50 {
		t.Errorf("latency p90 %.1f ms, want the stall to show (20%% of messages were held)", l.P90)
	}
}

// TestWSConfigErrors: bad WebSocket plans are refused before connecting.
func TestWSConfigErrors(t *testing.T) {
	base := load.Config{Spec: request.Spec{Request: request.Request{URL: "ws://127.0.0.1:1/ws"}}, Connections: 1, Requests: 1, Timeout: time.Second}
	for _, tc := range []struct {
		mod  func(*load.Config, *Config)
		want string
	}{
		{func(c *load.Config, _ *Config) { c.Request.URL = "http://127.0.0.1:1/" }, "want a ws:// or wss:// URL"},
		{func(c *load.Config, _ *Config) { c.Request.Method = "POST" }, "a WebSocket handshake is a GET"},
		{func(c *load.Config, _ *Config) { c.Request.Body = []byte("x") }, "has no body"},
		{func(c *load.Config, w *Config) { w.Mode = message.Subscribe; c.Rate = 10 }, "only listen"},
		{func(_ *load.Config, w *Config) { w.ConnectRate = -1 }, "connect rate"},
		{func(c *load.Config, _ *Config) {
			c.Request.Headers = []request.Header{{Key: "sec-websocket-key", Value: "x"}}
		}, "set by the WebSocket handshake"},
	} {
		cfg, ws := base, Config{}
		tc.mod(&cfg, &ws)
		if _, err := NewClient(cfg, ws); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("error %v, want %q", err, tc.want)
		}
	}
}

// TestWSConnectRate: Open paces handshakes at the connect rate.
func TestWSConnectRate(t *testing.T) {
	srv := benchtest.Start(t, bench.Config{})
	client, err := NewClient(load.Config{Spec: request.Spec{Request: request.Request{URL: wsURL(srv, bench.WSPath)}}, Connections: 5, Requests: 5, Timeout: time.Second},
		Config{Payload: []byte("x"), ConnectRate: 50})
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	start := time.Now()
	client.Open(context.Background(), 5)
	// Handshake j is due at j/50 s: the last at 80 ms.
	if d := time.Since(start); d < 80*time.Millisecond {
		t.Errorf("5 handshakes at 50/s took %v, want at least 80ms", d)
	}
	_, ws, _ := client.Stats()
	if ws.Handshakes.OK != 5 {
		t.Errorf("handshakes %+v, want 5 ok", ws.Handshakes)
	}
}

// TestWSS: wss:// verifies the server's certificate (a failure is a tls
// error) and, once trusted, carries messages like ws://.
func TestWSS(t *testing.T) {
	hs := httptest.NewUnstartedServer(wsServe(&websocket.Upgrader{}, func(c *websocket.Conn, _ *http.Request) {
		echoAll(c, nil)
	}))
	hs.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused certificate is expected
	hs.StartTLS()
	defer hs.Close()
	url := "wss" + strings.TrimPrefix(hs.URL, "https") + "/ws"
	res := runWS(t, load.Config{Spec: request.Spec{Request: request.Request{URL: url}}, Connections: 1, Requests: 3}, Config{})
	if res.Errors["tls"] != 3 {
		t.Errorf("untrusted certificate: errors %v, want 3 tls", res.Errors)
	}

	cfg := load.Config{Spec: request.Spec{Request: request.Request{Method: "GET", URL: url}}, Connections: 2, Requests: 20, Timeout: 5 * time.Second, MaxBody: 1 << 20}
	cfg.Conn.RootCAs = hs.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs
	client, err := NewClient(cfg, Config{Payload: []byte("secure")})
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	client.Open(context.Background(), 2)
	col := stats.NewCollector()
	rep, err := load.Run(context.Background(), cfg, client.Engine(), col)
	if err != nil {
		t.Fatal(err)
	}
	res = col.Result(stats.Meta{Connections: 2}, rep.Elapsed, rep.BytesOut)
	client.Attach(res)
	if res.Requests.Completed != 20 || res.Messages.Received != 20 || res.WS.Handshakes.OK != 2 {
		t.Errorf("trusted: completed %d, ws %+v, errors %v; want 20 answered over 2 handshakes", res.Requests.Completed, res.WS, res.Errors)
	}
	if rep.BytesOut < 20*23 || rep.BytesIn < 20*23 {
		t.Errorf("bytes on the wire in %d out %d, want at least the messages", rep.BytesIn, rep.BytesOut)
	}
}

// TestWSHeaders: -H headers, Host included, go on the handshake.
func TestWSHeaders(t *testing.T) {
	up := &websocket.Upgrader{CheckOrigin: func(r *http.Request) bool { return r.Header.Get("Origin") == "https://app.example" }}
	echo := wsServe(up, func(c *websocket.Conn, _ *http.Request) { echoAll(c, nil) })
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Host != "chat.internal" || r.Header.Get("Authorization") != "Bearer t0k" {
			http.Error(w, "who are you", http.StatusUnauthorized)
			return
		}
		echo(w, r)
	}))
	defer hs.Close()
	url := "ws" + strings.TrimPrefix(hs.URL, "http") + "/"
	headers := []request.Header{{Key: "Host", Value: "chat.internal"}, {Key: "Authorization", Value: "Bearer t0k"}, {Key: "Origin", Value: "https://app.example"}}
	res := runWS(t, load.Config{Spec: request.Spec{Request: request.Request{URL: url, Headers: headers}}, Connections: 1, Requests: 3}, Config{})
	if res.Requests.Completed != 3 {
		t.Errorf("with the headers: completed %d, errors %v %v; want 3", res.Requests.Completed, res.Errors, res.ErrorSamples)
	}
	res = runWS(t, load.Config{Spec: request.Spec{Request: request.Request{URL: url, Headers: headers[:2]}}, Connections: 1, Requests: 3}, Config{})
	if res.Errors["handshake"] != 3 || !strings.Contains(res.ErrorSamples["handshake"], "403") {
		t.Errorf("without Origin: errors %v %v; want 3 handshake errors (403)", res.Errors, res.ErrorSamples)
	}
}
