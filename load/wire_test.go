package load

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
}

func startCapture(t *testing.T) *capture {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return captureOn(t, ln)
}

// captureOn serves capture on ln (say, a TLS listener).
func captureOn(t *testing.T, ln net.Listener) *capture {
	c := &capture{ln: ln}
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
		time.Sleep(time.Duration(c.delay.Load()))
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
func sendAll(t *testing.T, cfg Config, n int64) {
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
	res, _ := runWith(t, context.Background(), cfg)
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
		req  Request
		want string
	}{
		{"get", Request{Method: "GET", URL: c.url() + "/a/b?x=1&y=%20z"},
			"GET /a/b?x=1&y=%20z HTTP/1.1\r\nUser-Agent: volley\r\nHost: " + addr + "\r\n\r\n"},
		{"post with host and headers", Request{Method: "POST", URL: c.url() + "/api/v1/items?dry=true",
			Headers: []Header{{"Host", "api.example.test"}, {"Content-Type", "application/json"}, {"X-Trace", "abc"}, {"x-lower", "Mixed Case"}, {"X-Trace", "def"}},
			Body:    []byte(`{"id":1,"name":"a b"}`)},
			"POST /api/v1/items?dry=true HTTP/1.1\r\nUser-Agent: volley\r\nHost: api.example.test\r\nContent-Type: application/json\r\nContent-Length: 21\r\nX-Trace: abc\r\nx-lower: Mixed Case\r\nX-Trace: def\r\n\r\n" + `{"id":1,"name":"a b"}`},
		{"custom user agent, odd path", Request{Method: "PATCH", URL: c.url() + "/a//b/../c%2Fd",
			Headers: []Header{{"User-Agent", "bench/1"}}, Body: []byte("x")},
			"PATCH /a//b/../c%2Fd HTTP/1.1\r\nUser-Agent: bench/1\r\nHost: " + addr + "\r\nContent-Length: 1\r\n\r\nx"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := len(c.requests())
			sendAll(t, Config{Request: tc.req}, 2)
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
	cfg := Config{Request: Request{Method: "POST", URL: c.url() + "/start",
		Headers: []Header{{"Content-Type", "application/json"}, {"X-A", "1"}}, Body: []byte(`{"a":1}`)}}
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
	data, err := ReadData(strings.NewReader("user,token\nann,t1\nbob,t2\ncid,t3\n"))
	if err != nil {
		t.Fatal(err)
	}
	const n = 7
	start := time.Now()
	sendAll(t, Config{
		Request: Request{Method: "POST", URL: c.url() + "/u/{{csv.user}}?seq={{seq}}&r={{rand 5 7}}",
			Headers: []Header{{"X-Id", "{{uuid}}"}, {"X-Token", "{{csv.token}}"}, {"X-Now", "{{now_unix}}"}, {"X-Ms", "{{now_unix_ms}}"}},
			Body:    []byte(`{"seq":{{seq}},"at":"{{now}}","id":"{{uuid}}","lit":"{{"{{"}}"}`)},
		Data: data, Seed: 42,
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
	sendAll(t, Config{Request: Request{Method: "GET", URL: c2.url() + "/{{rand 1 1000000}}/{{uuid}}"}, Seed: 42}, 3)
	c3 := startCapture(t)
	sendAll(t, Config{Request: Request{Method: "GET", URL: c3.url() + "/{{rand 1 1000000}}/{{uuid}}"}, Seed: 42}, 3)
	a, b := c2.requests(), c3.requests()
	for i := range a {
		la, _, _ := strings.Cut(a[i], "\r\n")
		lb, _, _ := strings.Cut(b[i], "\r\n")
		if la != lb {
			t.Errorf("seed 42, request %d: %q then %q; want the same", i, la, lb)
		}
	}
}

func TestTemplateCompileErrors(t *testing.T) {
	data, _ := ReadData(strings.NewReader("a\n1\n"))
	for _, tc := range []struct{ in, want string }{
		{"{{seq", "not closed"},
		{"{{}}", "empty action"},
		{"{{nope}}", `unknown action "nope"`},
		{"{{rand 1}}", "want rand MIN MAX"},
		{"{{rand 5 1}}", "greater than MAX"},
		{"{{rand a b}}", "integers"},
		{"{{seq 1}}", "no arguments"},
		{"{{csv.b}}", `column "b": not in the data file`},
		{`{{"unterminated}}`, "not closed"},
	} {
		var salt uint64
		_, err := compileTemplate(tc.in, data, &salt)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("compileTemplate(%q) = %v, want an error containing %q", tc.in, err, tc.want)
		}
	}
	var salt uint64
	if _, err := compileTemplate("{{csv.a}}", nil, &salt); err == nil || !strings.Contains(err.Error(), "--data") {
		t.Errorf("csv without data: %v", err)
	}
	// Scheme and host must be literal.
	for _, u := range []string{"http://h{{seq}}/", "http://h:8{{seq}}/", "{{\"http\"}}x://h/"} {
		cfg := Config{Request: Request{Method: "GET", URL: u}, Connections: 1, Requests: 1, Timeout: time.Second}
		if err := cfg.Validate(); err == nil {
			t.Errorf("url %q: want an error", u)
		}
	}
}

// BenchmarkTemplateRender renders a URL, header and body with every kind of
// action; allocation must stay at zero per request.
func BenchmarkTemplateRender(b *testing.B) {
	data, _ := ReadData(strings.NewReader("user\nann\nbob\n"))
	var salt uint64
	tmpl, err := compileTemplate(`/u/{{csv.user}}?seq={{seq}}&r={{rand 1 100}}&id={{uuid}}&t={{now_unix_ms}}&at={{now}}`, data, &salt)
	if err != nil {
		b.Fatal(err)
	}
	p := &plan{seed: 1, data: data}
	buf := make([]byte, 0, 256)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		env := p.env(int64(i))
		buf = tmpl.appendTo(buf[:0], &env)
	}
}

func TestTemplateRenderAllocatesNothing(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under the race detector")
	}
	res := testing.Benchmark(BenchmarkTemplateRender)
	if a := res.AllocsPerOp(); a != 0 {
		t.Errorf("rendering allocates %d times per request, want 0", a)
	}
}

// FuzzTemplate: compiling never panics; text without actions renders as
// itself; what compiles renders without panicking, the same way twice.
func FuzzTemplate(f *testing.F) {
	f.Add("/a/{{seq}}?r={{rand -5 5}}&id={{uuid}}")
	f.Add(`{{"{{"}} {{now}} {{now_unix}} {{now_unix_ms}} {{csv.a}}`)
	f.Add("plain text")
	data, _ := ReadData(strings.NewReader("a,b\n1,2\n3,4\n"))
	f.Fuzz(func(t *testing.T, in string) {
		var salt uint64
		tmpl, err := compileTemplate(in, data, &salt)
		if err != nil {
			return
		}
		p := &plan{seed: 9, data: data}
		env := p.env(12345)
		out := tmpl.appendTo(nil, &env)
		if !strings.Contains(in, "{{") && string(out) != in {
			t.Fatalf("%q rendered as %q", in, out)
		}
		if !strings.Contains(in, "now") {
			env2 := p.env(12345)
			if again := tmpl.appendTo(nil, &env2); string(again) != string(out) {
				t.Fatalf("%q rendered %q then %q", in, out, again)
			}
		}
	})
}
