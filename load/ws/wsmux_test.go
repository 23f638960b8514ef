package ws

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"volley/bench"
	"volley/bench/benchtest"
	"volley/internal/loadtest"
	"volley/internal/nodetest"
	"volley/internal/race"
	"volley/load"
	"volley/load/message"
	"volley/load/request"
	"volley/stats"
)

// TestWSMuxCoordinatedOmission: 1000 messages/s for 6 s over 50
// connections to the built-in echo, which freezes from 2 s to 3 s. The
// 1000 messages due in the stall are 20 per connection: one at a time per
// connection, 950 of them would wait in volley (send lag p99 about 893 ms);
// full duplex, every one goes out at its time and the percentiles are the
// analytic ones.
func TestWSMuxCoordinatedOmission(t *testing.T) {
	if testing.Short() {
		t.Skip("6 s load run; skipped with -short")
	}
	loadtest.Retry(t, 3, func(miss func(string, ...any)) {
		srv := benchtest.Start(t, bench.Config{Stall: bench.Stall{At: 2 * time.Second, For: time.Second}})
		res := runWS(t, load.Config{Spec: request.Spec{Request: request.Request{URL: wsURL(srv, bench.WSPath)}}, Rate: 1000, Connections: 50, Duration: 6 * time.Second},
			Config{})
		if res.Requests.Total != 6000 || res.Requests.Completed != 6000 {
			t.Fatalf("messages total %d answered %d, want 6000 each (errors %v %v)", res.Requests.Total, res.Requests.Completed, res.Errors, res.ErrorSamples)
		}
		loadtest.CheckStall(t, res, 5, miss)
		st := srv.Stats().WS
		m := res.Messages
		if st.Received != m.Sent || st.Echoed != m.Received || m.Sent != 6000 || m.Unanswered != 0 || m.Unmatched != 0 {
			t.Fatalf("server received %d echoed %d; volley sent %d answered %d unanswered %d unmatched %d; want 6000 each, none else",
				st.Received, st.Echoed, m.Sent, m.Received, m.Unanswered, m.Unmatched)
		}
		if h := res.WS.Handshakes; h.OK != 50 || st.Connections != 50 {
			t.Fatalf("handshakes %+v, server accepted %d; want the 50 connections kept", h, st.Connections)
		}
	})
}

// heldEcho is a WebSocket echo for these tests. With batch it holds the
// echoes of a connection until batch messages have arrived, then sends them
// all, in reverse order if reverse is set. With delay it echoes each message
// delay after it arrived, while reading on (many outstanding, in order).
// With drop, every drop-th message of a connection gets no echo.
// With closeAfter, the first connection ends with a close frame 1011 right
// after reading its closeAfter-th message, its held echoes unsent. It checks
// that every message carries a distinct 16-hex-digit id in front (unless
// fifo, when every message must be the bare payload).
type heldEcho struct {
	batch      int
	reverse    bool
	delay      time.Duration
	closeAfter int
	drop       int    // every drop-th message on a connection gets no echo
	fifo       string // the payload expected, with fifo

	url                              string
	conns, received, echoed, dropped atomic.Int64
	mu                               sync.Mutex
	ids                              map[int64]int
	bad                              []string
}

func startHeldEcho(t *testing.T, h *heldEcho) *heldEcho {
	t.Helper()
	h.ids = map[int64]int{}
	hs := httptest.NewServer(wsServe(&websocket.Upgrader{}, func(c *websocket.Conn, _ *http.Request) {
		h.serve(c, h.conns.Add(1) == 1)
	}))
	t.Cleanup(hs.Close)
	h.url = "ws" + strings.TrimPrefix(hs.URL, "http") + "/"
	return h
}

type heldMsg struct {
	typ int
	msg []byte
	at  time.Time
}

func (h *heldEcho) serve(c *websocket.Conn, first bool) {
	q := make(chan heldMsg, 1<<14)
	defer close(q)
	if h.delay > 0 {
		go func() {
			for m := range q {
				time.Sleep(time.Until(m.at))
				if !h.write(c, m.typ, m.msg) {
					return
				}
			}
		}()
	}
	var held []heldMsg
	for n := 1; ; n++ {
		typ, msg, err := c.ReadMessage()
		if err != nil {
			return
		}
		h.received.Add(1)
		h.check(msg)
		if first && n == h.closeAfter {
			_ = c.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(1011, "held echo: closing"), time.Now().Add(time.Second))
			return
		}
		switch {
		case h.drop > 0 && n%h.drop == 0:
			h.dropped.Add(1)
		case h.delay > 0:
			q <- heldMsg{typ, msg, time.Now().Add(h.delay)}
		case h.batch > 0:
			held = append(held, heldMsg{typ: typ, msg: msg})
			if len(held) < h.batch {
				continue
			}
			for i := range held {
				m := held[i]
				if h.reverse {
					m = held[len(held)-1-i]
				}
				if !h.write(c, m.typ, m.msg) {
					return
				}
			}
			held = held[:0]
		default:
			if !h.write(c, typ, msg) {
				return
			}
		}
	}
}

// write echoes msg, counting it first, so that a client that has read the
// echo sees it counted.
func (h *heldEcho) write(c *websocket.Conn, typ int, msg []byte) bool {
	h.echoed.Add(1)
	if c.WriteMessage(typ, msg) != nil {
		h.echoed.Add(-1)
		return false
	}
	return true
}

func (h *heldEcho) check(msg []byte) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.fifo != "" {
		if string(msg) != h.fifo {
			h.bad = append(h.bad, fmt.Sprintf("fifo message %q, want the bare payload %q", msg, h.fifo))
		}
		return
	}
	id, ok := int64(0), len(msg) > message.IDLen && msg[message.IDLen] == ' '
	if ok {
		id, ok = message.ParseID(msg)
	}
	if !ok {
		h.bad = append(h.bad, fmt.Sprintf("message %q carries no id in front", msg))
		return
	}
	if h.ids[id]++; h.ids[id] > 1 {
		h.bad = append(h.bad, fmt.Sprintf("id %d sent twice", id))
	}
}

func (h *heldEcho) problems(t *testing.T) {
	t.Helper()
	h.mu.Lock()
	defer h.mu.Unlock()
	for i, b := range h.bad {
		if i == 5 {
			t.Errorf("... and %d more", len(h.bad)-5)
			break
		}
		t.Error(b)
	}
}

// orderAnswers records the order in which tickets are answered.
type orderAnswers struct {
	mu    sync.Mutex
	order []int64
	outs  []load.Outcome
	done  chan struct{}
	want  int
}

func (a *orderAnswers) Done(t *load.Ticket, out load.Outcome) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.order = append(a.order, t.I)
	a.outs = append(a.outs, out)
	if len(a.order) == a.want {
		close(a.done)
	}
}

// muxSend opens one echo connection to url, sends n messages back to back
// on it and returns the order of their answers.
func muxSend(t *testing.T, url string, ws Config, n int) ([]int64, []load.Outcome, *Client) {
	t.Helper()
	client, err := NewClient(load.Config{Spec: request.Spec{Request: request.Request{URL: url}}, Connections: 1, Rate: 1, Requests: int64(n), Timeout: 5 * time.Second, MaxBody: 1 << 20}, ws)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(client.Close)
	a := &orderAnswers{done: make(chan struct{}), want: n}
	conn, err := client.Engine().(load.MuxClient).NewMuxConn(a)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	tickets := make([]load.Ticket, n)
	for i := range tickets {
		tickets[i].I = int64(i)
		if err := conn.Send(&tickets[i]); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case <-a.done:
	case <-time.After(10 * time.Second):
		t.Fatalf("%d of %d answered", len(a.order), n)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.order, a.outs, client
}

// TestWSMuxManyOutstanding: a server that holds every echo until 300
// messages have arrived on the connection, then answers them newest first.
// All 300 are outstanding on one connection at once; each echo is matched
// to its own message by id, so they are answered in reverse order.
func TestWSMuxManyOutstanding(t *testing.T) {
	h := startHeldEcho(t, &heldEcho{batch: 300, reverse: true})
	order, outs, client := muxSend(t, h.url, Config{Payload: []byte("hold")}, 300)
	for k, i := range order {
		if want := int64(299 - k); i != want {
			t.Fatalf("answer %d went to message %d, want %d (echoes matched to the wrong messages)", k, i, want)
		}
		if outs[k].Code != stats.Answered || outs[k].BytesIn != message.IDHeaderLen+4 {
			t.Fatalf("answer %d: %+v, want answered with its 21-byte echo", k, outs[k])
		}
	}
	m, _, _ := client.Stats()
	if m.Sent != 300 || m.Received != 300 || m.Unmatched != 0 || h.received.Load() != 300 || h.echoed.Load() != 300 {
		t.Errorf("sent %d received %d unmatched %d; server received %d echoed %d; want 300 each, none unmatched",
			m.Sent, m.Received, m.Unmatched, h.received.Load(), h.echoed.Load())
	}
	h.problems(t)
}

// TestWSMuxManyOutstandingRun: the same through the engine, 2000 messages/s
// on one connection to a server that answers in reversed batches of 200:
// every message answered, the counts equal to the server's, every id sent
// once.
func TestWSMuxManyOutstandingRun(t *testing.T) {
	h := startHeldEcho(t, &heldEcho{batch: 200, reverse: true})
	res := runWS(t, load.Config{Spec: request.Spec{Request: request.Request{URL: h.url}}, Rate: 2000, Connections: 1, Requests: 1000}, Config{})
	m := res.Messages
	if res.Requests.Completed != 1000 || m.Sent != 1000 || m.Received != 1000 || m.Unanswered != 0 || m.Unmatched != 0 {
		t.Errorf("completed %d, messages %+v, errors %v; want 1000 answered", res.Requests.Completed, m, res.Errors)
	}
	if h.received.Load() != m.Sent || h.echoed.Load() != m.Received || len(h.ids) != 1000 {
		t.Errorf("server received %d echoed %d, %d distinct ids; volley sent %d answered %d", h.received.Load(), h.echoed.Load(), len(h.ids), m.Sent, m.Received)
	}
	// The first of a batch waits for the 199 after it: about 100 ms at
	// 2000/s; the last is answered at once.
	if c := res.Latency.Corrected; c.Max < 90 || c.P50 > 80 {
		t.Errorf("corrected p50 %.1f max %.1f ms, want the batches to show (max about 100 ms)", c.P50, c.Max)
	}
	h.problems(t)
}

// TestWSMuxFIFO: with --match fifo the messages go bare, several are
// outstanding at once, and the echoes are taken in send order.
func TestWSMuxFIFO(t *testing.T) {
	h := startHeldEcho(t, &heldEcho{batch: 50, fifo: "bare"})
	order, outs, client := muxSend(t, h.url, Config{Payload: []byte("bare"), Match: message.MatchFIFO}, 50)
	for k, i := range order {
		if i != int64(k) || outs[k].Code != stats.Answered {
			t.Fatalf("answer %d went to message %d (%+v), want %d answered", k, i, outs[k], k)
		}
	}
	m, _, _ := client.Stats()
	if m.Sent != 50 || m.Received != 50 || m.Match != "fifo" {
		t.Errorf("sent %d received %d match %q, want 50, 50, fifo", m.Sent, m.Received, m.Match)
	}
	h.problems(t)

	// Through the engine, with 20 messages held per connection.
	loadtest.Retry(t, 3, func(miss func(string, ...any)) {
		h := startHeldEcho(t, &heldEcho{delay: 20 * time.Millisecond, fifo: "bare"})
		res := runWS(t, load.Config{Spec: request.Spec{Request: request.Request{URL: h.url}}, Rate: 1000, Connections: 2, Duration: 500 * time.Millisecond},
			Config{Payload: []byte("bare"), Match: message.MatchFIFO})
		if m := res.Messages; m.Sent != 500 || m.Received != 500 || h.echoed.Load() != 500 || h.received.Load() != 500 {
			t.Fatalf("sent %d received %d; server received %d echoed %d; want 500 each", m.Sent, m.Received, h.received.Load(), h.echoed.Load())
		}
		// A message held behind an outstanding echo would wait the echo's 20 ms.
		if c := res.Latency.Corrected; !race.Enabled && (math.Abs(c.P50-20) > 5 || res.SendLag.P99 > 5) {
			miss("corrected p50 %.1f ms, send lag p99 %.2f ms; want about 20 ms (the delay) and no wait in volley", c.P50, res.SendLag.P99)
		}
		h.problems(t)
	})
}

// TestWSMuxDropTimeouts: an echo that drops every 7th message on a
// connection: 1000 messages/s over 2 connections for 1 s is 500 per
// connection, 71 dropped on each; exactly 142 are unanswered (timeouts),
// once --timeout has passed, and every other one is answered.
func TestWSMuxDropTimeouts(t *testing.T) {
	for _, match := range []message.Match{message.MatchID, message.MatchFIFO} {
		t.Run(match.String(), func(t *testing.T) {
			srv := benchtest.Start(t, bench.Config{WSFault: bench.WSFault{Drop: 7}})
			began := time.Now()
			res := runWS(t, load.Config{Spec: request.Spec{Request: request.Request{URL: wsURL(srv, bench.WSPath)}}, Rate: 1000, Connections: 2,
				Duration: time.Second, Timeout: 300 * time.Millisecond}, Config{Match: match})
			took := time.Since(began)
			st := srv.Stats().WS
			m := res.Messages
			if m.Sent != 1000 || st.Received != 1000 || st.Dropped != 142 {
				t.Fatalf("volley sent %d; server received %d dropped %d; want 1000, 1000, 142", m.Sent, st.Received, st.Dropped)
			}
			if m.Unanswered != 142 || res.Errors["timeout"] != 142 || res.Requests.Errors != 142 {
				t.Errorf("unanswered %d, errors %v; want exactly 142 timeouts", m.Unanswered, res.Errors)
			}
			if m.Received != 858 || res.Requests.Completed != 858 || st.Echoed != 858 {
				t.Errorf("answered %d (completed %d), server echoed %d; want 858", m.Received, res.Requests.Completed, st.Echoed)
			}
			if h := res.WS.Handshakes; h.OK != 2 || st.Connections != 2 {
				t.Errorf("handshakes %+v, server accepted %d; want the 2 connections kept", h, st.Connections)
			}
			// The last drop times out 300 ms after its send: the run waits for
			// it, and no longer.
			if took < 1200*time.Millisecond || took > 3*time.Second {
				t.Errorf("run took %v, want the 1 s window and the 300 ms timeout", took)
			}
			if match == message.MatchID && res.Latency.Corrected.Max > 100 {
				t.Errorf("corrected max %.1f ms: an answered echo waited for a dropped one", res.Latency.Corrected.Max)
			}
		})
	}
	// An echo 20 ms late, so that about 10 messages are outstanding on
	// each connection when a dropped one times out: only that one is
	// unanswered, and the others are answered in their time.
	t.Run("outstanding", func(t *testing.T) {
		h := startHeldEcho(t, &heldEcho{delay: 20 * time.Millisecond, drop: 7})
		res := runWS(t, load.Config{Spec: request.Spec{Request: request.Request{URL: h.url}}, Rate: 1000, Connections: 2,
			Duration: time.Second, Timeout: 300 * time.Millisecond}, Config{})
		m := res.Messages
		if m.Sent != 1000 || h.received.Load() != 1000 || h.dropped.Load() != 142 || m.Unanswered != 142 || res.Errors["timeout"] != 142 {
			t.Errorf("sent %d, server received %d dropped %d; unanswered %d, errors %v; want 1000, 1000, 142, 142 timeouts",
				m.Sent, h.received.Load(), h.dropped.Load(), m.Unanswered, res.Errors)
		}
		if m.Received != 858 || h.echoed.Load() != 858 || m.Unmatched != 0 {
			t.Errorf("answered %d, unmatched %d, server echoed %d; want 858, 0, 858", m.Received, m.Unmatched, h.echoed.Load())
		}
		if c := res.Latency.Corrected; !race.Enabled && (c.Max > 60 || math.Abs(c.P50-20) > 5) {
			t.Errorf("corrected p50 %.1f max %.1f ms, want about 20 ms (the delay) for every answered message", c.P50, c.Max)
		}
		h.problems(t)
	})
}

// TestWSMuxConnectionEnds: 500 messages/s on one connection to an echo that
// answers each after 20 ms (about 10 outstanding) and ends the connection
// with 1011 after its 100th message. The messages outstanding then are
// answered once, as closed and unanswered; the next message opens a new
// connection and the rest are answered.
func TestWSMuxConnectionEnds(t *testing.T) {
	h := startHeldEcho(t, &heldEcho{delay: 20 * time.Millisecond, closeAfter: 100})
	res := runWS(t, load.Config{Spec: request.Spec{Request: request.Request{URL: h.url}}, Rate: 500, Connections: 1, Duration: 2 * time.Second}, Config{})
	m := res.Messages
	if res.Requests.Total != 1000 {
		t.Fatalf("total %d, want every one of the 1000 messages accounted for", res.Requests.Total)
	}
	if m.Received != h.echoed.Load() || res.Requests.Completed != m.Received {
		t.Errorf("answered %d (completed %d), server echoed %d", m.Received, res.Requests.Completed, h.echoed.Load())
	}
	if m.Sent != m.Received+m.Unanswered {
		t.Errorf("sent %d, answered %d, unanswered %d: each message must end once", m.Sent, m.Received, m.Unanswered)
	}
	if m.Unanswered < 5 || m.Unanswered > 30 || res.Errors["closed"] < m.Unanswered || res.Errors["timeout"] != 0 {
		t.Errorf("unanswered %d, errors %v; want the ~10 outstanding at the close failed as closed, none timed out", m.Unanswered, res.Errors)
	}
	if res.Requests.Errors != res.Requests.Total-res.Requests.Completed {
		t.Errorf("errors %d of %d, completed %d", res.Requests.Errors, res.Requests.Total, res.Requests.Completed)
	}
	if hs := res.WS.Handshakes; hs.OK != 2 || h.conns.Load() != 2 || res.WS.CloseCodes["1011"] != 1 {
		t.Errorf("handshakes %+v, server accepted %d, close codes %v; want one reopen after one 1011", hs, h.conns.Load(), res.WS.CloseCodes)
	}
	if res.Requests.Completed < 1000-100-30 {
		t.Errorf("answered %d, want the run to recover on the new connection", res.Requests.Completed)
	}
	h.problems(t)
}

// TestWSMuxAbandon: against an echo that answers nothing, a cancel and then
// an abandon end the run at once, every message sent counted as abandoned.
func TestWSMuxAbandon(t *testing.T) {
	h := startHeldEcho(t, &heldEcho{batch: 1 << 30})
	cfg := load.Config{Spec: request.Spec{Request: request.Request{Method: "GET", URL: h.url}}, Rate: 400, Connections: 2, Duration: 20 * time.Second,
		Timeout: 20 * time.Second, MaxBody: 1 << 20}
	client, err := NewClient(cfg, Config{Payload: []byte("x")})
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	client.Open(context.Background(), 2)
	ctx, cancel := context.WithCancel(context.Background())
	abandon := make(chan struct{})
	go func() {
		for h.received.Load() < 40 {
			time.Sleep(2 * time.Millisecond)
		}
		cancel()
		time.Sleep(100 * time.Millisecond)
		close(abandon)
	}()
	col := stats.NewCollector()
	began := time.Now()
	rep, err := load.RunAbandonable(ctx, abandon, cfg, client.Engine(), col)
	if err != nil {
		t.Fatal(err)
	}
	if took := time.Since(began); took > 5*time.Second {
		t.Fatalf("took %v", took)
	}
	res := col.Result(stats.Meta{Rate: cfg.Rate, Connections: 2}, rep.Elapsed, rep.BytesOut)
	client.Attach(res)
	m := res.Messages
	if res.Requests.Total != m.Sent || res.Errors["abandoned"] != m.Sent || m.Sent < 40 || m.Unanswered != m.Sent {
		t.Errorf("total %d, abandoned %d, sent %d, unanswered %d: want every message sent abandoned (and unanswered)",
			res.Requests.Total, res.Errors["abandoned"], m.Sent, m.Unanswered)
	}
}

// TestWSMuxNodeEcho: the coordinated-omission plan against an independent
// server, npm ws (testdata/node/ws-echo.js), stalled for 1 s 2 s after its
// first connection: the analytic percentiles, no wait in volley, and
// counts equal to the server's.
func TestWSMuxNodeEcho(t *testing.T) {
	if testing.Short() {
		t.Skip("6 s load run; skipped with -short")
	}
	port := nodetest.Start(t, "ws-echo.js", "--stall-at", "2000", "--stall-for", "1000")
	res := runWS(t, load.Config{Spec: request.Spec{Request: request.Request{URL: "ws://127.0.0.1:" + port + "/"}}, Rate: 1000, Connections: 50, Duration: 6 * time.Second},
		Config{})
	if res.Requests.Total != 6000 || res.Requests.Completed != 6000 {
		t.Fatalf("messages total %d answered %d, want 6000 each (errors %v %v)", res.Requests.Total, res.Requests.Completed, res.Errors, res.ErrorSamples)
	}
	// npm ws echoes the 1000 messages it held one event-loop turn after
	// another when its stall timer fires (itself a little late): about
	// 15 ms on this machine, the server's own time, so 25 ms slack.
	loadtest.CheckStall(t, res, 25, t.Errorf)
	resp, err := http.Get("http://127.0.0.1:" + port + "/stats")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var st struct{ Connections, Received, Echoed int64 }
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		t.Fatal(err)
	}
	m := res.Messages
	if st.Received != m.Sent || st.Echoed != m.Received || m.Sent != 6000 || st.Connections != 50 {
		t.Errorf("npm ws received %d echoed %d over %d connections; volley sent %d answered %d; want 6000 each over 50",
			st.Received, st.Echoed, st.Connections, m.Sent, m.Received)
	}
}
