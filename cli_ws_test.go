package main

import (
	"bytes"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"volley/bench"
)

func wsBenchURL(srv *bench.Server, path string) string {
	return "ws" + strings.TrimPrefix(srv.URL(), "http") + path
}

// TestRunWSUsageErrors: bad WebSocket input exits 2 before any connection is
// opened, naming the flag at fault.
func TestRunWSUsageErrors(t *testing.T) {
	srv := startBench(t, benchOpts{})
	ws := wsBenchURL(srv, bench.WSPath)
	httpURL := srv.URL() + "/"
	bin := filepath.Join(t.TempDir(), "bin")
	if err := os.WriteFile(bin, []byte{0xff, 0xfe, 0}, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		args []string
		want string
	}{
		{"message-on-http", []string{"run", "-n", "1", "--message", "x", httpURL}, "--message: only for ws:// and wss:// URLs"},
		{"mode-on-http", []string{"run", "-n", "1", "--mode", "subscribe", httpURL}, "--mode: only for ws://"},
		{"bad-match", []string{"run", "-n", "1", "--match", "lifo", ws}, `--match: match "lifo": want id or fifo`},
		{"bad-mode", []string{"run", "-n", "1", "--mode", "push", ws}, `--mode: mode "push"`},
		{"subscribe-rate", []string{"run", "-n", "1", "--mode", "subscribe", "-r", "10", ws}, "--rate: --mode subscribe only listens"},
		{"subscribe-message", []string{"run", "-n", "1", "--mode", "subscribe", "--message", "x", ws}, "--message: --mode subscribe sends no messages"},
		{"two-messages", []string{"run", "-n", "1", "--message", "x", "--message-size", "100", ws}, "give one"},
		{"size-too-small", []string{"run", "-n", "1", "--message-size", "16", ws}, "--message-size: message size 16: at least 17 bytes"},
		{"size-negative", []string{"run", "-n", "1", "--message-size", "-1", ws}, `"-1" for "--message-size" flag`},
		{"file-missing", []string{"run", "-n", "1", "--message-file", "/nonexistent", ws}, "--message-file: open /nonexistent"},
		{"file-not-utf8", []string{"run", "-n", "1", "--message-file", bin, ws}, "--message-file: message is not valid UTF-8; send it with --binary"},
		{"size-zero", []string{"run", "-n", "1", "--message-size", "0", ws}, "--message-size 0: want 1 to"},
		{"post", []string{"run", "-n", "1", "-X", "POST", ws}, "--method POST: a WebSocket handshake is a GET"},
		{"body", []string{"run", "-n", "1", "-b", "x", ws}, "--body: a WebSocket handshake has no body"},
		{"handshake-header", []string{"run", "-n", "1", "-H", "Upgrade: h2c", ws}, `--header: header "Upgrade": set by the WebSocket handshake`},
		{"connect-rate", []string{"run", "-n", "1", "--connect-rate", "fast", ws}, `"fast" for "--connect-rate" flag: want a number per second`},
		{"expect-status", []string{"run", "-n", "1", "--expect-status", "200", ws}, "--expect-status: applies to HTTP responses, not WebSocket messages"},
		{"expect-body", []string{"run", "-n", "1", "--expect-body", "ok", ws}, "--expect-body: applies to HTTP response bodies, not WebSocket messages"},
		{"http2", []string{"run", "-n", "1", "--http2", ws}, "--http2: a WebSocket handshake is HTTP/1.1"},
		{"h2c", []string{"run", "-n", "1", "--h2c", ws}, "--h2c: a WebSocket handshake is HTTP/1.1"},
		{"follow-redirects", []string{"run", "-n", "1", "--follow-redirects", "3", ws}, "--follow-redirects: a WebSocket handshake is not redirected"},
		{"compressed", []string{"run", "-n", "1", "--compressed", ws}, "--compressed: applies to HTTP responses"},
		{"no-keepalive", []string{"run", "-n", "1", "--no-keepalive", ws}, "--no-keepalive: a WebSocket connection carries every message"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := runCLI(t, c.args...)
			if r.code != exitUsage || !strings.Contains(r.stderr, c.want) || r.stdout != "" {
				t.Errorf("volley %q: exit %d, stderr %q; want exit 2 and %q", c.args, r.code, r.stderr, c.want)
			}
		})
	}
	if st := srv.Stats().WS; st.Connections != 0 {
		t.Errorf("bad input opened %d connections, want 0", st.Connections)
	}
	for _, args := range [][]string{
		{"serve", "--ws-fault", "drop=0"},
		{"serve", "--broadcast-rate", "0"},
	} {
		if r := runCLI(t, args...); r.code != exitUsage || !strings.Contains(r.stderr, args[1]) {
			t.Errorf("volley %q: exit %d, stderr %q; want exit 2 naming %s", args, r.code, r.stderr, args[1])
		}
	}
}

// TestRunWS runs the command end to end against the bench's echo and
// broadcast, and checks the report and the JSON result against the server's
// counts.
func TestRunWS(t *testing.T) {
	srv := startBench(t, benchOpts{})
	dir := t.TempDir()
	out := filepath.Join(dir, "ws.json")
	r := runCLI(t, "run", "-r", "200", "-c", "4", "-d", "1s", "--connect-rate", "100/s",
		"--message", `{"op":"ping","id":"{{id}}"}`, "--out", "json="+out, wsBenchURL(srv, bench.WSPath+"?fault=drop=50"), "-t", "200ms")
	if r.code != exitOK {
		t.Fatalf("exit %d, stderr %s", r.code, r.stderr)
	}
	res := readResult(t, out)
	st := srv.Stats().WS
	if res.WS == nil {
		t.Fatal("JSON result has no ws section")
	}
	m := res.Messages
	if m.Sent != 200 || st.Received != 200 || m.Unanswered != st.Dropped || m.Received != st.Echoed || st.Dropped == 0 {
		t.Errorf("volley sent %d received %d unanswered %d; server received %d echoed %d dropped %d",
			m.Sent, m.Received, m.Unanswered, st.Received, st.Echoed, st.Dropped)
	}
	if res.Messages.Mode != "echo" || res.Messages.Match != "id" || res.Histograms["handshake"].Histogram == nil || res.WS.Handshakes.OK < 4 {
		t.Errorf("ws section %+v, handshake histogram %v", res.WS, res.Histograms["handshake"].Histogram)
	}
	for _, want := range []string{"open loop at 200 msg/s", "Messages   200 in", "Messages   sent 200   answered", "Handshake  ", "timeout"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("report lacks %q:\n%s", want, r.stdout)
		}
	}
	if strings.Contains(r.stdout, "Status ") {
		t.Errorf("WebSocket report shows the HTTP status table:\n%s", r.stdout)
	}

	r = runCLI(t, "run", "-c", "2", "-n", "40", "--mode", "subscribe", wsBenchURL(srv, bench.BroadcastPath+"?rate=100"))
	if r.code != exitOK || !strings.Contains(r.stdout, "received 40   missed 0") || !strings.Contains(r.stdout, "subscribed") {
		t.Errorf("subscribe: exit %d, stdout:\n%s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
}

// TestWSShardsMerge: a WebSocket plan run as two shards merges into the
// whole: the messages add up to the plan's and to what the server received,
// the merged report shows them, and a WebSocket result does not merge with
// an HTTP one (exit 2).
func TestWSShardsMerge(t *testing.T) {
	bin := needBinary(t)
	srv := startBench(t, benchOpts{})
	dir := t.TempDir()
	startAt := time.Now().Add(1500 * time.Millisecond).UTC().Format(time.RFC3339Nano)
	files := []string{filepath.Join(dir, "ws-0.json"), filepath.Join(dir, "ws-1.json")}
	var wg sync.WaitGroup
	outs, errs := make([][]byte, 2), make([]error, 2)
	for k := range files {
		wg.Go(func() {
			outs[k], errs[k] = exec.Command(bin, "run", "--shard", strconv.Itoa(k)+"/2", "--start-at", startAt,
				"-r", "200", "-c", "4", "-d", "1s", "-q", "--message", `{"id":"{{id}}"}`,
				"--out", "json="+files[k], wsBenchURL(srv, bench.WSPath)).CombinedOutput()
		})
	}
	wg.Wait()
	for k := range files {
		if errs[k] != nil {
			t.Fatalf("shard %d: %v\n%s", k, errs[k], outs[k])
		}
	}
	merged := filepath.Join(dir, "merged.json")
	r := runCLI(t, "merge", files[0], files[1], "--out", "json="+merged, "--threshold", "unanswered==0")
	if r.code != exitOK {
		t.Fatalf("merge: exit %d, stderr %s, stdout %s", r.code, r.stderr, r.stdout)
	}
	m := readResult(t, merged)
	st := srv.Stats().WS
	if m.WS == nil || m.Messages.Sent != 200 || m.Messages.Received != 200 || st.Received != 200 || m.WS.Handshakes.OK != 8 {
		t.Fatalf("merged ws %+v; server received %d; want 200 messages over 8 connections", m.WS, st.Received)
	}
	if m.WS.Handshake.Count != 8 {
		t.Errorf("merged handshake summary counts %d, want 8", m.WS.Handshake.Count)
	}
	if r := runCLI(t, "report", files[0], files[1]); r.code != exitOK || !strings.Contains(r.stdout, "Messages   sent 200   answered 200") {
		t.Errorf("merged report: exit %d, stdout:\n%s", r.code, r.stdout)
	}

	wsOut, httpOut := filepath.Join(dir, "ws.json"), filepath.Join(dir, "http.json")
	if r := runCLI(t, "run", "-n", "10", "-c", "1", "-q", "--message", "x", "--out", "json="+wsOut, wsBenchURL(srv, bench.WSPath)); r.code != exitOK {
		t.Fatalf("ws run: exit %d, stderr %s", r.code, r.stderr)
	}
	if r := runCLI(t, "run", "-n", "10", "-c", "1", "-q", "--out", "json="+httpOut, srv.URL()+"/"); r.code != exitOK {
		t.Fatalf("http run: exit %d, stderr %s", r.code, r.stderr)
	}
	if r := runCLI(t, "report", wsOut, httpOut); r.code != exitUsage || !strings.Contains(r.stderr, "WebSocket") {
		t.Errorf("report of a WebSocket and an HTTP result: exit %d, stderr %q; want 2 and a message about the mix", r.code, r.stderr)
	}
}

// TestRunWSClockSkew: subscribed to a broadcast whose clock is 1.5 s ahead,
// every message is counted as clock_skew (JSON and report) and as an error,
// none gets a made-up latency of 0, and one warning on stderr says how far
// ahead the server's clock is.
func TestRunWSClockSkew(t *testing.T) {
	srv := startBench(t, benchOpts{})
	out := filepath.Join(t.TempDir(), "skew.json")
	r := runCLI(t, "run", "-c", "2", "-n", "20", "--mode", "subscribe", "--out", "json="+out,
		wsBenchURL(srv, bench.BroadcastPath+"?rate=100&skew=1500ms"))
	if r.code != exitOK {
		t.Fatalf("exit %d, stderr %s", r.code, r.stderr)
	}
	const warning = "volley: warning: 20 messages carried timestamps up to 1."
	if n := strings.Count(r.stderr, "volley: warning:"); n != 1 || !strings.Contains(r.stderr, warning) ||
		!strings.Contains(strings.Join(strings.Fields(r.stderr), " "), "s in the future: the server's clock is ahead; their latency is not recorded") {
		t.Errorf("stderr %q: want one warning %q... naming the skew", r.stderr, warning)
	}
	if !strings.Contains(r.stdout, "received 0   missed 0   unmatched 0   clock_skew 20") || !strings.Contains(r.stdout, "Clock skew: 20 messages") {
		t.Errorf("report lacks the clock skew:\n%s", r.stdout)
	}
	raw, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`"clock_skew":\s*20,`).Match(raw) || !regexp.MustCompile(`"clock_skew_max_ms":\s*1[45]\d\d`).Match(raw) {
		t.Errorf("JSON result lacks clock_skew 20 and clock_skew_max_ms about 1500:\n%s", raw)
	}
	res := readResult(t, out)
	m := res.Messages
	if m.ClockSkew != 20 || m.ClockSkewMaxMs < 1400 || m.ClockSkewMaxMs > 1500 || res.Latency.Corrected.Count != 0 || res.Errors["clock_skew"] != 20 {
		t.Errorf("messages %+v, latencies recorded %d, errors %v; want 20 skewed by about 1500 ms, no latency, 20 other errors",
			m, res.Latency.Corrected.Count, res.Errors)
	}

	// Clocks that agree: no warning, no clock_skew.
	r = runCLI(t, "run", "-c", "2", "-n", "20", "--mode", "subscribe", wsBenchURL(srv, bench.BroadcastPath+"?rate=100"))
	if r.code != exitOK || strings.Contains(r.stderr, "warning") || strings.Contains(r.stdout, "clock_skew") {
		t.Errorf("agreeing clocks: exit %d, stderr %q, stdout:\n%s", r.code, r.stderr, r.stdout)
	}
}

// bigReply is a WebSocket server that answers every message with one text
// message of size bytes, written in 64 KiB pieces so that it never holds
// the whole message.
func bigReply(t *testing.T, size int) string {
	t.Helper()
	up := websocket.Upgrader{}
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer c.Close()
		piece := bytes.Repeat([]byte("x"), 64<<10)
		for {
			if _, _, err := c.ReadMessage(); err != nil {
				return
			}
			wr, err := c.NextWriter(websocket.TextMessage)
			if err != nil {
				return
			}
			for left := size; left > 0; left -= len(piece) {
				if _, err := wr.Write(piece[:min(left, len(piece))]); err != nil {
					return
				}
			}
			if wr.Close() != nil {
				return
			}
		}
	}))
	t.Cleanup(hs.Close)
	return "ws" + strings.TrimPrefix(hs.URL, "http") + "/"
}

// TestRunWSMaxBodyZero: --max-body 0 means no limit for WebSocket messages,
// as for HTTP/1.1: a message larger than the default limit (64 MiB) is
// received whole. The default limit and a small one refuse it as
// body_too_large.
func TestRunWSMaxBodyZero(t *testing.T) {
	url := bigReply(t, 64<<20+4096)
	dir := t.TempDir()
	for _, tc := range []struct {
		name      string
		maxBody   []string
		received  int64
		tooLarge  int64
		bytesOver int64
	}{
		{"unlimited", []string{"--max-body", "0"}, 1, 0, 64 << 20},
		{"default", nil, 0, 1, 0},
		{"small", []string{"--max-body", "1KiB"}, 0, 1, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(dir, tc.name+".json")
			args := append([]string{"run", "-n", "1", "-c", "1", "--match", "fifo", "--message", "x", "-q", "--out", "json=" + out}, tc.maxBody...)
			r := runCLI(t, append(args, url)...)
			if r.code != exitOK {
				t.Fatalf("exit %d, stderr %s", r.code, r.stderr)
			}
			res := readResult(t, out)
			if res.Messages.Received != tc.received || res.Errors["body_too_large"] != tc.tooLarge || res.Bytes.In < tc.bytesOver {
				t.Errorf("received %d, errors %v, bytes in %d; want %d received, %d body_too_large, at least %d bytes",
					res.Messages.Received, res.Errors, res.Bytes.In, tc.received, tc.tooLarge, tc.bytesOver)
			}
		})
	}
}

// TestRunWSS: a wss:// run verifies the server's certificate with the TLS
// flags HTTP uses: --cacert trusts the built-in target's CA, without it the
// handshakes fail as tls, --insecure skips verification, and --servername
// sets the name verified.
func TestRunWSS(t *testing.T) {
	cert, err := bench.NewCertificate()
	if err != nil {
		t.Fatal(err)
	}
	srv := startBenchConfig(t, bench.Config{TLS: &cert})
	url := wsBenchURL(srv, bench.WSPath)
	if !strings.HasPrefix(url, "wss://") {
		t.Fatalf("url %s, want wss://", url)
	}
	dir := t.TempDir()
	ca := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(ca, cert.CAPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name     string
		flags    []string
		received int64
		tlsErrs  int64
	}{
		{"cacert", []string{"--cacert", ca}, 5, 0},
		{"untrusted", nil, 0, 5},
		{"insecure", []string{"--insecure"}, 5, 0},
		{"servername-localhost", []string{"--cacert", ca, "--servername", "localhost"}, 5, 0},
		{"servername-wrong", []string{"--cacert", ca, "--servername", "wrong.example"}, 0, 5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(dir, tc.name+".json")
			args := append([]string{"run", "-n", "5", "-c", "1", "-q", "--out", "json=" + out}, tc.flags...)
			r := runCLI(t, append(args, url)...)
			if r.code != exitOK {
				t.Fatalf("exit %d, stderr %s", r.code, r.stderr)
			}
			res := readResult(t, out)
			if res.Messages.Received != tc.received || res.Errors["tls"] != tc.tlsErrs {
				t.Errorf("received %d, errors %v %v; want %d received, %d tls", res.Messages.Received, res.Errors, res.ErrorSamples, tc.received, tc.tlsErrs)
			}
		})
	}
}

// TestRunWSStreams: echo connections are full duplex. 500 messages/s on one
// connection to an echo that freezes for 300 ms: by default every message
// goes out at its time (send lag p99 small) and waits on the server;
// --streams 5 lets 5 await their echo, so the rest wait in volley, as the
// report's send lag shows. Either way the latency counts from the intended
// time, and every message is answered.
func TestRunWSStreams(t *testing.T) {
	for _, tc := range []struct {
		streams []string
		lagOver bool // send lag p99 above 100 ms
	}{
		{nil, false},
		{[]string{"--streams", "5"}, true},
	} {
		srv := startBenchConfig(t, bench.Config{Stall: bench.Stall{At: 300 * time.Millisecond, For: 300 * time.Millisecond}})
		out := filepath.Join(t.TempDir(), "ws.json")
		args := append([]string{"run", "-r", "500", "-c", "1", "-d", "1s", "--out", "json=" + out}, tc.streams...)
		r := runCLI(t, append(args, wsBenchURL(srv, bench.WSPath))...)
		if r.code != exitOK {
			t.Fatalf("%v: exit %d, stderr %s", tc.streams, r.code, r.stderr)
		}
		res := readResult(t, out)
		m, st := res.Messages, srv.Stats().WS
		if m.Sent != 500 || m.Received != 500 || st.Received != 500 || st.Echoed != 500 {
			t.Errorf("%v: sent %d answered %d, server received %d echoed %d; want 500 each", tc.streams, m.Sent, m.Received, st.Received, st.Echoed)
		}
		if lag := res.SendLag.P99; (lag > 100) != tc.lagOver || (!tc.lagOver && lag > 5) {
			t.Errorf("%v: send lag p99 %.1f ms, want above 100 ms: %v (else under 5 ms)", tc.streams, lag, tc.lagOver)
		}
		// 150 messages due in the stall wait uniform on (0, 300 ms]: a
		// share 0.3, so p99 is 300 - 0.01 × 1000 = 290 ms.
		if p := res.Latency.Corrected.P99; math.Abs(p-290) > 0.03*290+10 {
			t.Errorf("%v: corrected p99 %.1f ms, want about 290", tc.streams, p)
		}
	}
}
