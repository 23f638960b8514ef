package rtc

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"volley/bench"
	"volley/bench/benchtest"
	"volley/internal/loadtest"
	"volley/internal/nodetest"
	"volley/load"
	"volley/load/message"
	"volley/load/request"
	"volley/stats"
)

// runRTC runs a WebRTC plan the way `volley run --webrtc` does: set up the
// peer connections (cfg.Connections data channels, rc.Channels to a peer),
// run, and add the WebRTC counts.
func runRTC(t *testing.T, cfg load.Config, rc Config) *stats.Result {
	t.Helper()
	cfg = loadtest.Defaults(cfg)
	if rc.Payload == nil {
		rc.Payload = []byte("hello")
	}
	c, err := NewClient(cfg, rc)
	if err != nil {
		t.Fatal(err)
	}
	c.Open(context.Background(), c.Peers(cfg.Connections))
	return loadtest.Run(t, context.Background(), cfg, c.Engine())
}

func rtcURL(srv *bench.Server, path string) string { return srv.URL() + path }

// TestRTCExactCounts: messages over data channels of the built-in peer,
// every one echoed and counted as the peer counts it; every peer
// connection set up (its phases timed) and DELETEd at the end.
func TestRTCExactCounts(t *testing.T) {
	srv := benchtest.Start(t, bench.Config{})
	res := runRTC(t, load.Config{Spec: request.Spec{Request: request.Request{URL: rtcURL(srv, bench.RTCPath)}},
		Rate: 1000, Connections: 10, Duration: time.Second}, Config{Payload: []byte(`{"op":"ping"}`), Channels: 2})
	st := srv.Stats().RTC
	m, r := res.Messages, res.RTC
	if m.Sent != 1000 || m.Received != 1000 || res.Requests.Completed != 1000 || st.Received != 1000 || st.Echoed != 1000 {
		t.Fatalf("volley sent %d received %d (completed %d); the peer received %d echoed %d; want 1000 each (errors %v %v)",
			m.Sent, m.Received, res.Requests.Completed, st.Received, st.Echoed, res.Errors, res.ErrorSamples)
	}
	if r == nil || r.Peers.Attempted != 5 || r.Peers.OK != 5 || st.Answered != 5 || st.Connected != 5 || st.Channels != 10 || r.Channels != 2 {
		t.Fatalf("rtc %+v; the peer answered %d, connected %d, %d channels; want 5 peers of 2 channels", r, st.Answered, st.Connected, st.Channels)
	}
	if r.Deleted != 5 || st.Deleted != 5 || st.Open != 0 {
		t.Errorf("deleted %d, the peer deleted %d and holds %d open; want every session deleted", r.Deleted, st.Deleted, st.Open)
	}
	for _, p := range stats.RTCPhases() {
		if s := r.Setup[p]; s.Count != 5 || s.Max <= 0 || res.Histograms["rtc."+p].TotalCount() != 5 {
			t.Errorf("setup phase %s: %+v, want 5 positive times", p, s)
		}
	}
	if tot, sig := r.Setup["total"], r.Setup["signal"]; tot.Min < sig.Min {
		t.Errorf("setup total min %.3f ms below the signalling's %.3f: the total holds every phase", tot.Min, sig.Min)
	}
	if res.Status["2xx"] != 0 || len(res.Codes) != 0 || res.Histograms["corrected.answered"].TotalCount() != 1000 {
		t.Errorf("status %v codes %v: an answered message is no HTTP response", res.Status, res.Codes)
	}
}

// TestRTCCoordinatedOmission: 1000 messages/s for 6 s over 50 peer
// connections to the built-in peer, which freezes from 2 s to 3 s: every
// message goes out at its time whatever echoes its channel awaits, and the
// percentiles are the analytic ones; the peer's counts equal volley's.
func TestRTCCoordinatedOmission(t *testing.T) {
	if testing.Short() {
		t.Skip("6 s load run; skipped with -short")
	}
	loadtest.Retry(t, 3, func(miss func(string, ...any)) {
		srv := benchtest.Start(t, bench.Config{Stall: bench.Stall{At: 2 * time.Second, For: time.Second}})
		res := runRTC(t, load.Config{Spec: request.Spec{Request: request.Request{URL: rtcURL(srv, bench.RTCPath)}},
			Rate: 1000, Connections: 50, Duration: 6 * time.Second}, Config{})
		st := srv.Stats().RTC
		m := res.Messages
		if m.Sent != 6000 || m.Received != 6000 || st.Received != 6000 || st.Echoed != 6000 || m.Unanswered != 0 {
			t.Fatalf("volley sent %d received %d unanswered %d; the peer received %d echoed %d; want 6000 (errors %v %v)",
				m.Sent, m.Received, m.Unanswered, st.Received, st.Echoed, res.Errors, res.ErrorSamples)
		}
		if res.RTC.Peers.OK != 50 || st.Connected != 50 {
			t.Fatalf("peers %+v, the peer connected %d; want 50", res.RTC.Peers, st.Connected)
		}
		// The bound, 3% + 5 ms. With pion's blocking writes the
		// 1000 held echoes left one per packet and p90 was 19 to 23 ms
		// late; rtcflow lets SCTP bundle them.
		loadtest.CheckStall(t, res, 5, miss)
	})
}

// TestRTCSignallingFailures: a signalling endpoint that answers 404, 500,
// garbage for SDP, 201 without a Location, or nothing at all: each setup
// fails in its phase, on time, counted, and the messages meant for it are
// handshake (or timeout) errors, not a hang.
func TestRTCSignallingFailures(t *testing.T) {
	hang := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/404":
			http.NotFound(w, r)
		case "/500":
			http.Error(w, "boom", http.StatusInternalServerError)
		case "/garbage":
			w.Header().Set("Location", "/garbage/1")
			w.WriteHeader(http.StatusCreated)
			fmt.Fprint(w, "this is not SDP")
		case "/nolocation":
			w.WriteHeader(http.StatusCreated)
			fmt.Fprint(w, "v=0\r\n")
		case "/hang":
			select {
			case <-hang:
			case <-r.Context().Done():
			}
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(hang) }) // before Close, which waits for the handlers
	for _, tc := range []struct {
		path, phase, sample string
		kind                stats.ErrorKind
	}{
		{"/404", "signal", "404 Not Found", stats.ErrHandshake},
		{"/500", "signal", "500 Internal Server Error", stats.ErrHandshake},
		{"/garbage", "sdp", "answer", stats.ErrHandshake},
		{"/nolocation", "signal", "without a Location", stats.ErrHandshake},
		{"/hang", "signal", "", stats.ErrTimeout},
	} {
		t.Run(strings.TrimPrefix(tc.path, "/"), func(t *testing.T) {
			start := time.Now()
			res := runRTC(t, load.Config{Spec: request.Spec{Request: request.Request{URL: srv.URL + tc.path}},
				Connections: 1, Requests: 2, Timeout: 500 * time.Millisecond}, Config{})
			if el := time.Since(start); el > 3*time.Second {
				t.Errorf("took %v, want each setup bounded by the 500 ms timeout", el)
			}
			r := res.RTC
			if r.Peers.OK != 0 || r.Peers.Failed < 1 || r.Failures[tc.phase] != r.Peers.Failed {
				t.Errorf("peers %+v failures %v, want every setup failed in %s", r.Peers, r.Failures, tc.phase)
			}
			if !strings.Contains(r.FailureSamples[tc.phase], tc.sample) {
				t.Errorf("sample %q, want it to say %q", r.FailureSamples[tc.phase], tc.sample)
			}
			if res.Requests.Total != 2 || res.Errors[tc.kind.String()] != 2 {
				t.Errorf("requests %d errors %v, want both messages %s errors", res.Requests.Total, res.Errors, tc.kind)
			}
		})
	}
}

// TestRTCICENeverConnects: an answer whose only candidate is a port where
// nothing listens: ICE does not connect, and the setup fails in its ice
// phase within the timeout.
func TestRTCICENeverConnects(t *testing.T) {
	peer := benchtest.Start(t, bench.Config{})
	udp, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := udp.LocalAddr().(*net.UDPAddr).Port
	udp.Close()
	// A proxy of the signalling that drops the offer's candidates and
	// points every candidate of the answer at the dead port.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.WriteHeader(http.StatusOK)
			return
		}
		// The peer learns none of volley's candidates, and volley only a
		// dead one of the peer's: neither can reach the other.
		offer, _ := io.ReadAll(r.Body)
		var kept []string
		for _, line := range strings.Split(string(offer), "\r\n") {
			if !strings.HasPrefix(line, "a=candidate:") {
				kept = append(kept, line)
			}
		}
		resp, err := http.Post(peer.URL()+bench.RTCPath, "application/sdp", strings.NewReader(strings.Join(kept, "\r\n")))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		var b strings.Builder
		buf := make([]byte, 64<<10)
		n, _ := resp.Body.Read(buf)
		for _, line := range strings.Split(string(buf[:n]), "\r\n") {
			if f := strings.Fields(line); strings.HasPrefix(line, "a=candidate:") && len(f) > 5 {
				f[5] = fmt.Sprint(dead)
				line = strings.Join(f, " ")
			}
			if line != "" {
				b.WriteString(line + "\r\n")
			}
		}
		w.Header().Set("Location", "/rtc/x")
		w.WriteHeader(http.StatusCreated)
		fmt.Fprint(w, b.String())
	}))
	t.Cleanup(srv.Close)
	start := time.Now()
	res := runRTC(t, load.Config{Spec: request.Spec{Request: request.Request{URL: srv.URL + "/rtc"}},
		Connections: 1, Requests: 1, Timeout: 2 * time.Second}, Config{})
	if el := time.Since(start); el > 6*time.Second {
		t.Errorf("took %v, want the setup bounded by the 2 s timeout", el)
	}
	if r := res.RTC; r.Peers.OK != 0 || r.Failures["ice"] < 1 {
		t.Errorf("peers %+v failures %v samples %v, want the setup failed in ice", r.Peers, r.Failures, r.FailureSamples)
	}
}

// TestRTCChannelClosedByPeer: a peer that closes each channel after 20
// echoes (fault close=20): the messages then awaiting their echo fail as
// closed, the channel is counted closed by the peer, and the next message
// sets up a new peer connection.
func TestRTCChannelClosedByPeer(t *testing.T) {
	srv := benchtest.Start(t, bench.Config{WSFault: bench.WSFault{Close: 20}})
	res := runRTC(t, load.Config{Spec: request.Spec{Request: request.Request{URL: rtcURL(srv, bench.RTCPath)}},
		Rate: 200, Connections: 2, Duration: time.Second}, Config{})
	r, m := res.RTC, res.Messages
	if r.ChannelsClosed < 2 || r.Peers.Attempted < 4 || res.Errors["closed"] < 1 {
		t.Errorf("channels closed %d, peers %+v, errors %v; want the closes counted and new peers set up", r.ChannelsClosed, r.Peers, res.Errors)
	}
	if st := srv.Stats().RTC; st.Echoed != m.Received {
		t.Errorf("the peer echoed %d, volley received %d", st.Echoed, m.Received)
	}
}

// TestRTCSubscribe: channels that only listen to /rtc/broadcast: every
// message's latency from the peer's timestamp, none missed, and the
// peer's stall shows in the latency.
func TestRTCSubscribe(t *testing.T) {
	srv := benchtest.Start(t, bench.Config{BroadcastRate: 200, Stall: bench.Stall{At: 500 * time.Millisecond, For: 200 * time.Millisecond}})
	res := runRTC(t, load.Config{Spec: request.Spec{Request: request.Request{URL: rtcURL(srv, bench.RTCBroadcastPath)}},
		Connections: 4, Requests: 800}, Config{Mode: message.Subscribe})
	m := res.Messages
	if res.Requests.Completed != 800 || m.Received != 800 || m.Missed != 0 || m.Sent != 0 || res.Mode != "subscribe" {
		t.Fatalf("completed %d received %d missed %d sent %d mode %q, errors %v; want 800 received, none missed, subscribe",
			res.Requests.Completed, m.Received, m.Missed, m.Sent, res.Mode, res.Errors)
	}
	if l := res.Latency.Service; l.Max < 180 || l.Max > 400 || l.P50 > 40 {
		t.Errorf("latency p50 %.1f max %.1f ms, want normal delivery and the 200 ms stall at the top", l.P50, l.Max)
	}
	if st := srv.Stats().RTC; st.Pushed < 800 {
		t.Errorf("the peer pushed %d, want at least the 800 received", st.Pushed)
	}
}

// TestRTCNoGoroutineLeak: after a run and the client's Close, the peer
// connections' goroutines are gone.
func TestRTCNoGoroutineLeak(t *testing.T) {
	srv := benchtest.Start(t, bench.Config{})
	before := runtime.NumGoroutine()
	runRTC(t, load.Config{Spec: request.Spec{Request: request.Request{URL: rtcURL(srv, bench.RTCPath)}},
		Rate: 200, Connections: 5, Duration: 300 * time.Millisecond}, Config{})
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before+2 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before+2 {
		buf := make([]byte, 1<<16)
		t.Errorf("%d goroutines after the run, %d before:\n%s", n, before, buf[:runtime.Stack(buf, true)])
	}
}

// TestRTCConfigErrors: bad WebRTC plans are refused before any setup.
func TestRTCConfigErrors(t *testing.T) {
	base := load.Config{Spec: request.Spec{Request: request.Request{URL: "http://127.0.0.1:1/rtc"}}, Connections: 1, Requests: 1, Timeout: time.Second}
	one := uint16(1)
	for _, tc := range []struct {
		mod  func(*load.Config, *Config)
		want string
	}{
		{func(c *load.Config, _ *Config) { c.Request.URL = "ws://127.0.0.1:1/" }, "want an http:// or https:// URL"},
		{func(c *load.Config, _ *Config) { c.Request.Body = []byte("x") }, "sends the offer"},
		{func(_ *load.Config, r *Config) { r.Channels = 5000 }, "channels 5000"},
		{func(_ *load.Config, r *Config) { r.MaxRetransmits, r.MaxPacketLife = &one, time.Second }, "give one"},
		{func(_ *load.Config, r *Config) { r.PortMin, r.PortMax = 9000, 8000 }, "MIN <= MAX"},
		{func(c *load.Config, r *Config) { r.Mode, c.Rate = message.Subscribe, 10 }, "only listen"},
	} {
		cfg, rc := base, Config{}
		tc.mod(&cfg, &rc)
		if _, err := NewClient(cfg, rc); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("error %v, want %q", err, tc.want)
		}
	}
}

// nodeStats is what the independent peer (testdata/node/rtc-echo.js)
// counts.
type nodeStats struct{ Offered, Answered, Connected, Deleted, Open, Channels, Received, Echoed int64 }

func getNodeStats(t *testing.T, port string) nodeStats {
	t.Helper()
	resp, err := http.Get("http://127.0.0.1:" + port + "/stats")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var st nodeStats
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		t.Fatal(err)
	}
	return st
}

// TestRTCNodeEcho: against an independent WebRTC stack (npm werift, in
// Node): every offer answered, every message echoed and counted as the
// peer counts it, every peer connection released at the end (DELETE sent,
// the peer holds none); over a socket per peer connection and over one
// socket for all (--udp-mux, which this peer, a port per session, allows).
func TestRTCNodeEcho(t *testing.T) {
	for _, mux := range []bool{false, true} {
		t.Run(fmt.Sprintf("udp-mux=%v", mux), func(t *testing.T) {
			port := nodetest.Start(t, "rtc-echo.js")
			res := runRTC(t, load.Config{Spec: request.Spec{Request: request.Request{URL: "http://127.0.0.1:" + port + "/rtc"}},
				Rate: 500, Connections: 20, Duration: time.Second}, Config{Channels: 2, UDPMux: mux})
			st := getNodeStats(t, port)
			m, r := res.Messages, res.RTC
			if m.Sent != 500 || m.Received != 500 || st.Received != 500 || st.Echoed != 500 || m.Unanswered != 0 {
				t.Errorf("volley sent %d received %d unanswered %d; werift received %d echoed %d; want 500 (errors %v %v)",
					m.Sent, m.Received, m.Unanswered, st.Received, st.Echoed, res.Errors, res.ErrorSamples)
			}
			if r.Peers.OK != 10 || st.Offered != 10 || st.Answered != 10 || st.Connected != 10 || st.Channels != 20 {
				t.Errorf("peers %+v (failures %v %v); werift offered %d answered %d connected %d channels %d; want 10 peers of 2 channels",
					r.Peers, r.Failures, r.FailureSamples, st.Offered, st.Answered, st.Connected, st.Channels)
			}
			if r.Deleted != 10 || st.Deleted != 10 || st.Open != 0 {
				t.Errorf("deleted %d; werift deleted %d and holds %d open; want every session released", r.Deleted, st.Deleted, st.Open)
			}
		})
	}
}

// TestRTCChannelOptions: the channels are made as the flags say
// (unordered, partially reliable, labelled), and messages still go both
// ways on them.
func TestRTCChannelOptions(t *testing.T) {
	srv := benchtest.Start(t, bench.Config{})
	three := uint16(3)
	for _, rc := range []Config{
		{Unordered: true, MaxRetransmits: &three, Label: "chat"},
		{MaxPacketLife: 250 * time.Millisecond},
	} {
		cfg := loadtest.Defaults(load.Config{Spec: request.Spec{Request: request.Request{URL: rtcURL(srv, bench.RTCPath)}},
			Rate: 200, Connections: 2, Duration: 300 * time.Millisecond})
		rc.Payload = []byte("x")
		c, err := NewClient(cfg, rc)
		if err != nil {
			t.Fatal(err)
		}
		c.Open(context.Background(), 2)
		c.mu.Lock()
		dc := c.ready[0].dc
		c.mu.Unlock()
		label := rc.Label
		if label == "" {
			label = DefaultLabel
		}
		if dc.Ordered() == rc.Unordered || dc.Label() != label {
			t.Errorf("%+v: channel ordered %v label %q", rc, dc.Ordered(), dc.Label())
		}
		if got := dc.MaxRetransmits(); (got == nil) != (rc.MaxRetransmits == nil) || got != nil && *got != 3 {
			t.Errorf("%+v: max retransmits %v", rc, got)
		}
		if got := dc.MaxPacketLifeTime(); (got == nil) != (rc.MaxPacketLife == 0) || got != nil && *got != 250 {
			t.Errorf("%+v: max packet life %v ms", rc, got)
		}
		res := loadtest.Run(t, context.Background(), cfg, c.Engine())
		if m := res.Messages; m.Sent != 60 || m.Received != 60 {
			t.Errorf("%+v: sent %d received %d, want 60 answered", rc, m.Sent, m.Received)
		}
	}
}

// TestRTCConnectRate: --connect-rate paces the setups: 5 peer connections
// at 20 per second take 200 ms at least, and each setup's total counts from
// its own slot, so none carries the wait of the ones before it.
func TestRTCConnectRate(t *testing.T) {
	srv := benchtest.Start(t, bench.Config{})
	cfg := loadtest.Defaults(load.Config{Spec: request.Spec{Request: request.Request{URL: rtcURL(srv, bench.RTCPath)}},
		Connections: 5, Requests: 5})
	c, err := NewClient(cfg, Config{Payload: []byte("x"), ConnectRate: 20})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	start := time.Now()
	c.Open(context.Background(), 5)
	if el := time.Since(start); el < 200*time.Millisecond {
		t.Errorf("5 setups at 20/s took %v, want at least 200 ms", el)
	}
	if _, r, _ := c.Stats(); r.Peers.OK != 5 {
		t.Fatalf("peers %+v, want 5 set up", r)
	}
	res := &stats.Result{}
	c.Attach(res)
	if tot := res.RTC.Setup["total"]; tot.Max > 150 {
		t.Errorf("setup total max %.1f ms: the pacing's wait counted in a setup", tot.Max)
	}
}

// TestRTCICEPorts: with PortMin and PortMax every host candidate volley
// offers is on a port in that range, and the setup still succeeds.
func TestRTCICEPorts(t *testing.T) {
	srv := benchtest.Start(t, bench.Config{})
	udp, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	lo := uint16(udp.LocalAddr().(*net.UDPAddr).Port)
	udp.Close()
	hi := lo + 20
	cfg := loadtest.Defaults(load.Config{Spec: request.Spec{Request: request.Request{URL: rtcURL(srv, bench.RTCPath)}},
		Connections: 1, Requests: 1})
	c, err := NewClient(cfg, Config{Payload: []byte("x"), PortMin: lo, PortMax: hi})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Open(context.Background(), 1)
	c.mu.Lock()
	peers := c.peers
	c.mu.Unlock()
	if len(peers) != 1 {
		t.Fatalf("%d peers set up, want 1", len(peers))
	}
	n := 0
	for _, line := range strings.Split(peers[0].pc.LocalDescription().SDP, "\r\n") {
		if f := strings.Fields(line); strings.HasPrefix(line, "a=candidate:") && len(f) > 7 && f[7] == "host" {
			p, _ := strconv.Atoi(f[5])
			if p < int(lo) || p > int(hi) {
				t.Errorf("candidate %q: port %d outside %d-%d", line, p, lo, hi)
			}
			n++
		}
	}
	if n == 0 {
		t.Error("no host candidate offered")
	}
}

// TestRTCReadLimit: an echo larger than --max-body is a body_too_large
// error, not a message read past the bound.
func TestRTCReadLimit(t *testing.T) {
	srv := benchtest.Start(t, bench.Config{})
	res := runRTC(t, load.Config{Spec: request.Spec{Request: request.Request{URL: rtcURL(srv, bench.RTCPath)}},
		Connections: 1, Requests: 1, MaxBody: 100}, Config{Payload: bytes.Repeat([]byte("a"), 200)})
	if res.Errors["body_too_large"] != 1 || res.Messages.Received != 0 {
		t.Errorf("errors %v, received %d; want the 217-byte echo refused as body_too_large", res.Errors, res.Messages.Received)
	}
}
