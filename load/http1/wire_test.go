package http1

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"volley/internal/loadtest"
	"volley/load"
	"volley/load/request"
	"volley/stats"
)

// capture is a raw TCP server that records the exact bytes of every request
// it receives and answers each with a fixed 200 response, after delay
// (nanoseconds) when set. With closeAfter set, it closes a connection that
// stays idle that long after an answer, as a server's keep-alive timeout
// does.
type capture struct {
	ln         net.Listener
	mu         sync.Mutex
	reqs       [][]byte
	delay      atomic.Int64
	closeAfter atomic.Int64
	conns      atomic.Int64 // connections accepted
	// respond, when set, writes the answer to request number i (counted
	// from 0 over all connections) with the exact bytes it chooses; it
	// returns false to close the connection.
	respond func(conn net.Conn, i int, req string) bool
	n       atomic.Int64 // requests received
}

func startCapture(t *testing.T) *capture {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return captureOn(t, ln)
}

// startAnswering is a capture server whose every answer is respond's.
func startAnswering(t *testing.T, respond func(conn net.Conn, i int, req string) bool) *capture {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return serveCapture(t, &capture{ln: ln, respond: respond})
}

// answerAll answers every request with the same bytes.
func answerAll(resp string) func(net.Conn, int, string) bool {
	return func(conn net.Conn, _ int, _ string) bool {
		_, err := io.WriteString(conn, resp)
		return err == nil
	}
}

// captureOn serves capture on ln (say, a TLS listener).
func captureOn(t *testing.T, ln net.Listener) *capture {
	return serveCapture(t, &capture{ln: ln})
}

func serveCapture(t *testing.T, c *capture) *capture {
	ln := c.ln
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			c.conns.Add(1)
			go c.serve(conn)
		}
	}()
	t.Cleanup(func() { ln.Close() })
	return c
}

func (c *capture) serve(conn net.Conn) {
	defer conn.Close()
	br := bufio.NewReader(conn)
	for {
		var raw bytes.Buffer
		length := 0
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				return
			}
			raw.WriteString(line)
			if k, v, ok := strings.Cut(line, ":"); ok && strings.EqualFold(k, "Content-Length") {
				length, _ = strconv.Atoi(strings.TrimSpace(v))
			}
			if line == "\r\n" {
				break
			}
		}
		if _, err := io.CopyN(&raw, br, int64(length)); err != nil {
			return
		}
		c.mu.Lock()
		c.reqs = append(c.reqs, raw.Bytes())
		c.mu.Unlock()
		i := int(c.n.Add(1) - 1)
		time.Sleep(time.Duration(c.delay.Load()))
		if c.respond != nil {
			if !c.respond(conn, i, raw.String()) {
				return
			}
			continue
		}
		resp := captureOK
		if strings.Contains(raw.String(), " /start ") {
			resp = "HTTP/1.1 302 Found\r\nLocation: /next?a=1\r\nContent-Length: 0\r\n\r\n"
		}
		if _, err := conn.Write([]byte(resp)); err != nil {
			return
		}
		if d := c.closeAfter.Load(); d > 0 {
			// Close if the next request does not come in time.
			_ = conn.SetReadDeadline(time.Now().Add(time.Duration(d)))
		}
	}
}

// captureOK is capture's answer to every request but /start.
const captureOK = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"

func (c *capture) url() string { return "http://" + c.ln.Addr().String() }

func (c *capture) requests() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]string, len(c.reqs))
	for i, r := range c.reqs {
		out[i] = string(r)
	}
	return out
}

// sendAll runs cfg closed loop on one connection, so that requests arrive
// in index order.
func sendAll(t *testing.T, cfg load.Config, n int64) {
	t.Helper()
	cfg.Connections, cfg.Requests = 1, n
	if cfg.Timeout == 0 {
		cfg.Timeout = 5 * time.Second
	}
	if cfg.MaxBody == 0 {
		cfg.MaxBody = 1 << 20
	}
	if cfg.Request.Method == "" && len(cfg.Targets) == 0 {
		cfg.Request.Method = "GET"
	}
	res := runWith(t, context.Background(), cfg)
	if res.Requests.Total != n || res.Codes["200"] != n {
		t.Fatalf("sent %d, 200s %d, want %d (errors %v %v)", res.Requests.Total, res.Codes["200"], n, res.Errors, res.ErrorSamples)
	}
}

// TestWireHTTP1 checks every byte of a request: method, path, query, each
// header including Host, and the body. fasthttp writes User-Agent, Host,
// Content-Type and Content-Length first, then the other headers in the
// order given; it adds no header the user did not ask for beyond those.
func TestWireHTTP1(t *testing.T) {
	c := startCapture(t)
	addr := c.ln.Addr().String()
	for _, tc := range []struct {
		name string
		req  request.Request
		want string
	}{
		{"get", request.Request{Method: "GET", URL: c.url() + "/a/b?x=1&y=%20z"},
			"GET /a/b?x=1&y=%20z HTTP/1.1\r\nUser-Agent: volley\r\nHost: " + addr + "\r\n\r\n"},
		{"post with host and headers", request.Request{Method: "POST", URL: c.url() + "/api/v1/items?dry=true",
			Headers: []request.Header{{Key: "Host", Value: "api.example.test"}, {Key: "Content-Type", Value: "application/json"}, {Key: "X-Trace", Value: "abc"}, {Key: "x-lower", Value: "Mixed Case"}, {Key: "X-Trace", Value: "def"}},
			Body:    []byte(`{"id":1,"name":"a b"}`)},
			"POST /api/v1/items?dry=true HTTP/1.1\r\nUser-Agent: volley\r\nHost: api.example.test\r\nContent-Type: application/json\r\nContent-Length: 21\r\nX-Trace: abc\r\nx-lower: Mixed Case\r\nX-Trace: def\r\n\r\n" + `{"id":1,"name":"a b"}`},
		{"custom user agent, odd path", request.Request{Method: "PATCH", URL: c.url() + "/a//b/../c%2Fd",
			Headers: []request.Header{{Key: "User-Agent", Value: "bench/1"}}, Body: []byte("x")},
			"PATCH /a//b/../c%2Fd HTTP/1.1\r\nUser-Agent: bench/1\r\nHost: " + addr + "\r\nContent-Length: 1\r\n\r\nx"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := len(c.requests())
			sendAll(t, load.Config{Spec: request.Spec{Request: tc.req}}, 2)
			got := c.requests()[before:]
			for i, g := range got {
				if g != tc.want {
					t.Errorf("request %d on the wire:\n%q\nwant\n%q", i, g, tc.want)
				}
			}
		})
	}
}

// TestWireRedirect: a POST answered by 302 is followed by a GET without
// body, Content-Length or Content-Type, with the other headers kept.
func TestWireRedirect(t *testing.T) {
	c := startCapture(t)
	cfg := load.Config{Spec: request.Spec{Request: request.Request{Method: "POST", URL: c.url() + "/start",
		Headers: []request.Header{{Key: "Content-Type", Value: "application/json"}, {Key: "X-A", Value: "1"}}, Body: []byte(`{"a":1}`)}}}
	cfg.Conn.FollowRedirects = 1
	sendAll(t, cfg, 1)
	got := c.requests()
	addr := c.ln.Addr().String()
	want := []string{
		"POST /start HTTP/1.1\r\nUser-Agent: volley\r\nHost: " + addr + "\r\nContent-Type: application/json\r\nContent-Length: 7\r\nX-A: 1\r\n\r\n{\"a\":1}",
		"GET /next?a=1 HTTP/1.1\r\nUser-Agent: volley\r\nHost: " + addr + "\r\nX-A: 1\r\n\r\n",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("on the wire:\n%q\nwant\n%q", got, want)
	}
}

// TestWireTemplates checks each template kind on the wire, in the path,
// query, a header and the body.
func TestWireTemplates(t *testing.T) {
	c := startCapture(t)
	data, err := request.ReadData(strings.NewReader("user,token\nann,t1\nbob,t2\ncid,t3\n"))
	if err != nil {
		t.Fatal(err)
	}
	const n = 7
	start := time.Now()
	sendAll(t, load.Config{Spec: request.Spec{Request: request.Request{Method: "POST", URL: c.url() + "/u/{{csv.user}}?seq={{seq}}&r={{rand 5 7}}",
		Headers: []request.Header{{Key: "X-Id", Value: "{{uuid}}"}, {Key: "X-Token", Value: "{{csv.token}}"}, {Key: "X-Now", Value: "{{now_unix}}"}, {Key: "X-Ms", Value: "{{now_unix_ms}}"}},
		Body:    []byte(`{"seq":{{seq}},"at":"{{now}}","id":"{{uuid}}","lit":"{{"{{"}}"}`)}, Data: data},

		Seed: 42,
	}, n)
	end := time.Now()
	reqs := c.requests()
	if len(reqs) != n {
		t.Fatalf("captured %d requests, want %d", len(reqs), n)
	}
	users, tokens := []string{"ann", "bob", "cid"}, []string{"t1", "t2", "t3"}
	uuidRE := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	seen := map[string]bool{}
	rands := map[string]int{}
	for i, raw := range reqs {
		head, body, _ := strings.Cut(raw, "\r\n\r\n")
		lines := strings.Split(head, "\r\n")
		hdr := map[string]string{}
		for _, l := range lines[1:] {
			k, v, _ := strings.Cut(l, ": ")
			hdr[k] = v
		}
		reqLine := regexp.MustCompile(`^POST /u/(\w+)\?seq=(\d+)&r=(\d+) HTTP/1.1$`).FindStringSubmatch(lines[0])
		if reqLine == nil {
			t.Fatalf("request %d: request line %q", i, lines[0])
		}
		if reqLine[1] != users[i%3] || reqLine[2] != strconv.Itoa(i) {
			t.Errorf("request %d: user %s seq %s, want %s %d (round robin rows, seq from 0)", i, reqLine[1], reqLine[2], users[i%3], i)
		}
		if r, _ := strconv.Atoi(reqLine[3]); r < 5 || r > 7 {
			t.Errorf("request %d: rand %d outside 5..7", i, r)
		}
		rands[reqLine[3]]++
		if hdr["X-Token"] != tokens[i%3] {
			t.Errorf("request %d: X-Token %q, want %q (same row as the URL)", i, hdr["X-Token"], tokens[i%3])
		}
		id := hdr["X-Id"]
		if !uuidRE.MatchString(id) || seen[id] {
			t.Errorf("request %d: X-Id %q is not a fresh version 4 UUID", i, id)
		}
		seen[id] = true
		sec, _ := strconv.ParseInt(hdr["X-Now"], 10, 64)
		ms, _ := strconv.ParseInt(hdr["X-Ms"], 10, 64)
		if sec < start.Unix() || sec > end.Unix() || ms < start.UnixMilli() || ms > end.UnixMilli() {
			t.Errorf("request %d: now_unix %d, now_unix_ms %d outside the run [%d, %d]", i, sec, ms, start.UnixMilli(), end.UnixMilli())
		}
		wantBody := regexp.MustCompile(fmt.Sprintf(`^\{"seq":%d,"at":"([^"]+)","id":"%s","lit":"\{\{"\}$`, i, regexp.QuoteMeta(id)))
		m := wantBody.FindStringSubmatch(body)
		if m == nil {
			t.Errorf("request %d: body %q", i, body)
			continue
		}
		at, err := time.Parse(time.RFC3339Nano, m[1])
		if err != nil || at.Before(start) || at.After(end) {
			t.Errorf("request %d: now %q (%v) not an RFC 3339 time within the run", i, m[1], err)
		}
		if hdr["Content-Length"] != strconv.Itoa(len(body)) {
			t.Errorf("request %d: Content-Length %s for a %d-byte body", i, hdr["Content-Length"], len(body))
		}
	}
	if len(rands) < 2 {
		t.Errorf("rand 5 7 gave %v over %d requests: not random", rands, n)
	}
	// The same seed renders the same values.
	c2 := startCapture(t)
	sendAll(t, load.Config{Spec: request.Spec{Request: request.Request{Method: "GET", URL: c2.url() + "/{{rand 1 1000000}}/{{uuid}}"}}, Seed: 42}, 3)
	c3 := startCapture(t)
	sendAll(t, load.Config{Spec: request.Spec{Request: request.Request{Method: "GET", URL: c3.url() + "/{{rand 1 1000000}}/{{uuid}}"}}, Seed: 42}, 3)
	a, b := c2.requests(), c3.requests()
	for i := range a {
		la, _, _ := strings.Cut(a[i], "\r\n")
		lb, _, _ := strings.Cut(b[i], "\r\n")
		if la != lb {
			t.Errorf("seed 42, request %d: %q then %q; want the same", i, la, lb)
		}
	}
}

// okWith is a 200 response with extra header lines (each ending in CRLF)
// and body "ok".
func okWith(headers string) string {
	return "HTTP/1.1 200 OK\r\n" + headers + "Content-Length: 2\r\n\r\nok"
}

// writeInPieces writes s a few hundred bytes at a time, pausing between
// writes, so that the client reads the header block in several reads.
func writeInPieces(conn net.Conn, s string) bool {
	for len(s) > 0 {
		n := min(len(s), 700)
		if _, err := io.WriteString(conn, s[:n]); err != nil {
			return false
		}
		s = s[n:]
		time.Sleep(time.Millisecond)
	}
	return true
}

// TestLargeResponseHeaders: header blocks beyond the connection's first
// 4 KiB reader are read whole up to the bound (64 KiB by default,
// MaxHeader otherwise), in one read or many; beyond it every request is a
// protocol error naming the bound and the flag. Each request is counted
// exactly, on both sides.
func TestLargeResponseHeaders(t *testing.T) {
	big := "X-Big: " + strings.Repeat("b", 5000) + "\r\n"
	var cookies strings.Builder
	for i := range 25 {
		fmt.Fprintf(&cookies, "Set-Cookie: c%02d=%s\r\n", i, strings.Repeat("c", 200))
	}
	huge := "X-Huge: " + strings.Repeat("h", 70<<10) + "\r\n"
	for _, tc := range []struct {
		name      string
		headers   string
		maxHeader int
		pieces    bool
		wantErr   string // "" for 200s; else the bound the message names
	}{
		{"one 5000-byte header", big, 0, false, ""},
		{"25 cookies of 200 bytes", cookies.String(), 0, false, ""},
		{"5000-byte header in several reads", big, 0, true, ""},
		{"70 KiB header past the default bound", huge, 0, false, "64 KiB"},
		{"70 KiB header in several reads", huge, 0, true, "64 KiB"},
		{"70 KiB header within a bound of 1 MiB", huge, 1 << 20, false, ""},
		{"5000-byte header past a bound of 4 KiB", big, 4 << 10, false, "4 KiB"},
		{"25 cookies past a bound of 4 KiB", cookies.String(), 4 << 10, false, "4 KiB"},
		// The smallest bound is the first read's size, so a block is
		// checked against it whether or not it fits that read.
		{"3500-byte block within the smallest bound", "X-Mid: " + strings.Repeat("m", 3400) + "\r\n", load.MinMaxHeader, false, ""},
		{"4200-byte block just past the smallest bound", "X-Mid: " + strings.Repeat("m", 4150) + "\r\n", load.MinMaxHeader, true, "4 KiB"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := okWith(tc.headers)
			srv := startAnswering(t, func(conn net.Conn, _ int, _ string) bool {
				if tc.pieces {
					return writeInPieces(conn, resp)
				}
				_, err := io.WriteString(conn, resp)
				return err == nil
			})
			cfg := loadtest.Plan(srv.url()+"/", 2, 20)
			cfg.MaxHeader = tc.maxHeader
			res := runWith(t, context.Background(), cfg)
			if got := srv.n.Load(); got != 20 || res.Requests.Total != 20 {
				t.Fatalf("server got %d requests, volley sent %d; want 20", got, res.Requests.Total)
			}
			if tc.wantErr == "" {
				if res.Codes["200"] != 20 || res.Requests.Errors != 0 {
					t.Errorf("200s %d, errors %v %v; want 20 and none", res.Codes["200"], res.Errors, res.ErrorSamples)
				}
				return
			}
			msg := res.ErrorSamples["protocol"]
			if res.Errors["protocol"] != 20 || !strings.Contains(msg, tc.wantErr) || !strings.Contains(msg, "--max-header") {
				t.Errorf("errors %v, sample %q; want 20 protocol errors naming %s and --max-header", res.Errors, msg, tc.wantErr)
			}
		})
	}
}

// TestLargeHeadersKeepTheConnection: large and small header blocks
// alternate on one keep-alive connection; the grown reader serves them
// all, and nothing is redialled.
func TestLargeHeadersKeepTheConnection(t *testing.T) {
	big := okWith("X-Big: " + strings.Repeat("b", 9000) + "\r\n")
	srv := startAnswering(t, func(conn net.Conn, i int, _ string) bool {
		resp := captureOK
		if i%2 == 1 {
			resp = big
		}
		_, err := io.WriteString(conn, resp)
		return err == nil
	})
	res := runWith(t, context.Background(), loadtest.Plan(srv.url()+"/", 1, 20))
	if res.Codes["200"] != 20 || srv.n.Load() != 20 || srv.conns.Load() != 1 {
		t.Errorf("200s %d (errors %v), server %d requests over %d connections; want 20 over 1",
			res.Codes["200"], res.ErrorSamples, srv.n.Load(), srv.conns.Load())
	}
}

// TestLargeTrailers: chunked trailers beyond the 4 KiB reader are read up
// to the bound too; past it they are a protocol error.
func TestLargeTrailers(t *testing.T) {
	chunked := func(trailer string) string {
		return "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-Sum\r\n\r\n2\r\nok\r\n0\r\nX-Sum: " + trailer + "\r\n\r\n"
	}
	for _, tc := range []struct {
		name, resp string
		want       map[string]int64
	}{
		{"small", chunked("1"), nil},
		{"5000 bytes", chunked(strings.Repeat("s", 5000)), nil},
		{"70 KiB", chunked(strings.Repeat("s", 70<<10)), map[string]int64{"protocol": 10}},
	} {
		srv := startAnswering(t, answerAll(tc.resp))
		res := runWith(t, context.Background(), loadtest.Plan(srv.url()+"/", 1, 10))
		wantOK := int64(10)
		if tc.want != nil {
			wantOK = 0
		}
		if res.Codes["200"] != wantOK || !reflect.DeepEqual(nonZero(res.Errors), tc.want) || srv.n.Load() != 10 {
			t.Errorf("%s trailer: 200s %d, errors %v %v, server %d; want %d 200s, errors %v", tc.name,
				res.Codes["200"], res.Errors, res.ErrorSamples, srv.n.Load(), wantOK, tc.want)
		}
		if tc.want != nil && !strings.Contains(res.ErrorSamples["protocol"], "trailers larger than 64 KiB (--max-header)") {
			t.Errorf("%s trailer: sample %q", tc.name, res.ErrorSamples["protocol"])
		}
	}
}

// nonZero drops the zero counts of an error tally (nil when none is left).
func nonZero(m map[string]int64) map[string]int64 {
	var out map[string]int64
	for k, v := range m {
		if v != 0 {
			if out == nil {
				out = map[string]int64{}
			}
			out[k] = v
		}
	}
	return out
}

// TestStatusLines: a status outside 100..599 is an invalid status, 000
// too (fasthttp alone reads it as 200); a missing reason phrase is fine.
func TestStatusLines(t *testing.T) {
	for _, tc := range []struct {
		line string
		code string // the status counted, or "" for 10 errors of category other
	}{
		{"HTTP/1.1 000 Zero", ""},
		{"HTTP/1.1 099 Low", ""},
		{"HTTP/1.1 600 High", ""},
		{"HTTP/1.1 999", ""},
		{"HTTP/1.1 200", "200"},
		{"HTTP/1.1 200 ", "200"},
		{"HTTP/1.1 418 I'm a teapot", "418"},
		{"HTTP/1.0 599 Edge", "599"},
		{"HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 After", "201"},
	} {
		srv := startAnswering(t, answerAll(tc.line+"\r\nContent-Length: 2\r\n\r\nok"))
		res := runWith(t, context.Background(), loadtest.Plan(srv.url()+"/", 1, 10))
		if srv.n.Load() != 10 || res.Requests.Total != 10 {
			t.Fatalf("%q: server %d, volley %d; want 10", tc.line, srv.n.Load(), res.Requests.Total)
		}
		if tc.code != "" {
			if res.Codes[tc.code] != 10 || len(res.Codes) != 1 {
				t.Errorf("%q: codes %v (errors %v), want %s x10", tc.line, res.Codes, res.ErrorSamples, tc.code)
			}
			continue
		}
		if res.Errors["other"] != 10 || len(res.Codes) != 0 || !strings.Contains(res.ErrorSamples["other"], "invalid status code") {
			t.Errorf("%q: codes %v, errors %v %v; want 10 invalid statuses", tc.line, res.Codes, res.Errors, res.ErrorSamples)
		}
	}
}

// TestBareLineFeeds: a header block that ends in bare LFs fails at once as
// a protocol error, not after the timeout; bare LFs within a block that
// ends in CRLF CRLF are read.
func TestBareLineFeeds(t *testing.T) {
	for _, tc := range []struct {
		name, resp string
		pieces     bool
		protocol   bool
	}{
		{"all bare", "HTTP/1.1 200 OK\nContent-Length: 2\n\nok", false, true},
		{"all bare, in pieces", "HTTP/1.1 200 OK\nContent-Length: 2\nX-Pad: " + strings.Repeat("p", 3000) + "\n\nok", true, true},
		{"bare empty line", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\nok", false, true},
		{"bare before the empty line", "HTTP/1.1 200 OK\r\nContent-Length: 2\n\r\nok", false, true},
		{"bare within, CRLF at the end", "HTTP/1.1 200 OK\nContent-Length: 2\r\n\r\nok", false, false},
	} {
		srv := startAnswering(t, func(conn net.Conn, _ int, _ string) bool {
			if tc.pieces {
				return writeInPieces(conn, tc.resp)
			}
			_, err := io.WriteString(conn, tc.resp)
			return err == nil
		})
		cfg := loadtest.Plan(srv.url()+"/", 1, 10)
		cfg.Timeout = 30 * time.Second // a wait for more would be a timeout
		res := runWith(t, context.Background(), cfg)
		if srv.n.Load() != 10 {
			t.Fatalf("%s: server got %d requests, want 10", tc.name, srv.n.Load())
		}
		if !tc.protocol {
			if res.Codes["200"] != 10 {
				t.Errorf("%s: 200s %d, errors %v", tc.name, res.Codes["200"], res.ErrorSamples)
			}
			continue
		}
		if res.Errors["protocol"] != 10 || !strings.Contains(res.ErrorSamples["protocol"], "bare LF") {
			t.Errorf("%s: errors %v %v; want 10 protocol errors", tc.name, res.Errors, res.ErrorSamples)
		}
	}
}

// TestUnaskedBytes: a server that answers twice has its second answer
// taken for no request's: the next request is not sent but counted as a
// protocol error, and the one after goes on a new connection, paired with
// its own answer. Bytes that arrive on an idle connection are seen before
// it is used; a 408 sent as the server closes an idle connection is a
// close, not an error; empty lines after an answer are ignored.
func TestUnaskedBytes(t *testing.T) {
	answer := func(conn net.Conn, req string) bool {
		path := strings.Fields(req)[1]
		_, err := fmt.Fprintf(conn, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s", len(path), path)
		return err == nil
	}
	t.Run("two answers in one write", func(t *testing.T) {
		srv := startAnswering(t, func(conn net.Conn, _ int, req string) bool {
			path := strings.Fields(req)[1]
			_, err := fmt.Fprintf(conn, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%sHTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nextra", len(path), path)
			return err == nil
		})
		_, conn := workerConn(t, loadtest.Plan(srv.url()+"/r/{{seq}}", 1, 20))
		for i := range int64(20) {
			out := conn.Do(i)
			if i%2 == 1 {
				if out.Kind != stats.ErrProtocol || out.Err == nil || !strings.Contains(out.Err.Error(), "43 bytes arrived that no request asked for") {
					t.Fatalf("request %d: status %d, %v %v; want a protocol error for the unasked answer", i, out.Code, out.Kind, out.Err)
				}
				continue
			}
			if body := string(conn.resp.Body()); out.Code != 200 || body != fmt.Sprintf("/r/%d", i) {
				t.Fatalf("request %d: status %d body %q (%v); want 200 /r/%d", i, out.Code, body, out.Err, i)
			}
		}
		if srv.n.Load() != 10 || srv.conns.Load() != 10 {
			t.Errorf("server got %d requests over %d connections, want 10 over 10", srv.n.Load(), srv.conns.Load())
		}
	})
	for _, tc := range []struct {
		name, late string
		wantErr    bool
	}{
		{"a late answer on an idle connection", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nextra", true},
		{"a 408 on closing", "HTTP/1.1 408 request.Request Timeout\r\nConnection: close\r\nContent-Length: 0\r\n\r\n", false},
		{"empty lines", "\r\n\r\n", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := startAnswering(t, func(conn net.Conn, i int, req string) bool {
				if !answer(conn, req) {
					return false
				}
				if i == 0 {
					time.Sleep(20 * time.Millisecond)
					_, _ = io.WriteString(conn, tc.late)
					return !strings.Contains(tc.late, "408")
				}
				return true
			})
			_, conn := workerConn(t, loadtest.Plan(srv.url()+"/r/{{seq}}", 1, 3))
			if out := conn.Do(0); out.Code != 200 {
				t.Fatalf("first request: %d %v", out.Code, out.Err)
			}
			time.Sleep(idleCheck + 50*time.Millisecond) // idle long enough to be checked
			out := conn.Do(1)
			if tc.wantErr {
				if out.Kind != stats.ErrProtocol || !strings.Contains(out.Err.Error(), "no request asked for") {
					t.Fatalf("after the late answer: status %d, %v %v; want a protocol error", out.Code, out.Kind, out.Err)
				}
			} else if body := string(conn.resp.Body()); out.Code != 200 || body != "/r/1" {
				t.Fatalf("second request: status %d body %q (%v %v); want 200 /r/1", out.Code, body, out.Kind, out.Err)
			}
			if out := conn.Do(2); out.Code != 200 || string(conn.resp.Body()) != "/r/2" {
				t.Fatalf("third request: status %d body %q (%v); want 200 /r/2", out.Code, conn.resp.Body(), out.Err)
			}
			wantConns, wantReqs := int64(1), int64(3)
			switch {
			case tc.wantErr:
				wantConns, wantReqs = 2, 2
			case strings.Contains(tc.late, "408"):
				wantConns = 2
			}
			if srv.n.Load() != wantReqs || srv.conns.Load() != wantConns {
				t.Errorf("server got %d requests over %d connections, want %d over %d", srv.n.Load(), srv.conns.Load(), wantReqs, wantConns)
			}
		})
	}
}

// TestWireEscapesTheTarget: a space in a URL's path or query goes on the
// wire as %20 and UTF-8 as its %XX escapes, from the command line, a
// template or a targets file, over HTTP/1.1; escapes given stay as they
// are.
func TestWireEscapesTheTarget(t *testing.T) {
	c := startCapture(t)
	addr := c.ln.Addr().String()
	line := func(raw string) string { l, _, _ := strings.Cut(raw, "\r\n"); return l }
	sendAll(t, load.Config{Spec: request.Spec{Request: request.Request{Method: "GET", URL: c.url() + "/a b/é?q=x y&e=%20"}}}, 1)
	sendAll(t, load.Config{Spec: request.Spec{Request: request.Request{Method: "GET", URL: c.url() + "/t b/{{seq}}?q={{\" \"}}"}}}, 2)
	ts, err := request.ParseTargets(strings.NewReader("\ufeffPOST "+c.url()+"/f b?k=v w\n"), "")
	if err != nil {
		t.Fatal(err)
	}
	sendAll(t, load.Config{Spec: request.Spec{Targets: ts}}, 1)
	got := c.requests()
	want := []string{
		"GET /a%20b/%C3%A9?q=x%20y&e=%20 HTTP/1.1",
		"GET /t%20b/0?q=%20 HTTP/1.1",
		"GET /t%20b/1?q=%20 HTTP/1.1",
		"POST /f%20b?k=v%20w HTTP/1.1",
	}
	if len(got) != len(want) {
		t.Fatalf("server got %d requests, want %d", len(got), len(want))
	}
	for i := range want {
		if line(got[i]) != want[i] {
			t.Errorf("request %d: %q on the wire, want %q", i, line(got[i]), want[i])
		}
		if !strings.Contains(got[i], "\r\nHost: "+addr+"\r\n") {
			t.Errorf("request %d: Host not %s: %q", i, addr, got[i])
		}
	}
}
