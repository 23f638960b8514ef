package http1

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"volley/internal/loadtest"
	"volley/internal/nginxtest"
	"volley/internal/race"
	"volley/load"
	"volley/load/dial"
	"volley/load/request"
	"volley/stats"
)

// runPipe runs cfg through the pipelining client, showing every
// final response to seen (when set), and returns the result.
func runPipe(t *testing.T, cfg load.Config, seen func(i int64, resp *fasthttp.Response)) *stats.Result {
	t.Helper()
	cfg = loadtest.Defaults(cfg)
	client, err := NewPipelineClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	client.seen = seen
	res := loadtest.Run(t, context.Background(), cfg, client)
	return res
}

// pipeServer is a raw HTTP/1.1 server on loopback whose every connection
// is handled by serve, given the connection and a reader of its requests.
type pipeServer struct {
	ln    net.Listener
	conns atomic.Int64
	wg    sync.WaitGroup
}

func startPipeServer(t *testing.T, serve func(c net.Conn, br *bufio.Reader)) *pipeServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &pipeServer{ln: ln}
	var open sync.Map
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.conns.Add(1)
			open.Store(c, true)
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				defer c.Close()
				serve(c, bufio.NewReader(c))
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		open.Range(func(k, _ any) bool { k.(net.Conn).Close(); return true })
		s.wg.Wait()
	})
	return s
}

func (s *pipeServer) url(path string) string { return "http://" + s.ln.Addr().String() + path }

// answer writes a 200 echoing the request's URI in a header and the body
// (no body for HEAD, whose Content-Length still says it), after an interim
// 100 for every third request.
func answer(w io.Writer, req *http.Request, n int, extra string) error {
	uri := req.RequestURI
	head := ""
	if n%3 == 0 {
		head = "HTTP/1.1 100 Continue\r\n\r\n"
	}
	body := uri
	if req.Method == http.MethodHead {
		body = ""
	}
	_, err := fmt.Fprintf(w, "%sHTTP/1.1 200 OK\r\nX-Uri: %s\r\nContent-Length: %d\r\n%s\r\n%s", head, uri, len(uri), extra, body)
	return err
}

// matcher checks every response belongs to its request (/i/{{seq}} echoed
// in X-Uri and, but for HEAD, the body) and counts them.
type matcher struct {
	mu    sync.Mutex
	seen  map[int64]bool
	wrong []string
	head  bool
}

func newMatcher(head bool) *matcher { return &matcher{seen: map[int64]bool{}, head: head} }

func (m *matcher) check(i int64, resp *fasthttp.Response) {
	want := "/i/" + strconv.FormatInt(i, 10)
	got, body := string(resp.Header.Peek("X-Uri")), string(resp.Body())
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.seen[i] {
		m.wrong = append(m.wrong, fmt.Sprintf("request %d answered twice", i))
	}
	m.seen[i] = true
	if got != want || (!m.head && body != want) || (m.head && body != "") {
		m.wrong = append(m.wrong, fmt.Sprintf("request %d (%s) got the answer X-Uri %q, body %q", i, want, got, body))
	}
}

func (m *matcher) verify(t *testing.T, n int) {
	t.Helper()
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.wrong) > 0 {
		t.Errorf("%d responses paired with the wrong request, e.g. %s", len(m.wrong), m.wrong[0])
	}
	if len(m.seen) != n {
		t.Errorf("%d requests saw their answer, want %d", len(m.seen), n)
	}
}

// TestPipelineWritesAhead: a server that reads requests until none comes
// for 30 ms, then answers them in order after 10 ms, sees --streams
// requests on a connection before it answers the first: the requests are
// pipelined, never more than --streams at once, and each answer is paired
// with its request, HEAD (no body) and interim 100s included.
func TestPipelineWritesAhead(t *testing.T) {
	for _, method := range []string{"GET", "HEAD"} {
		t.Run(method, func(t *testing.T) {
			const streams, conns, total = 8, 2, 320
			var mu sync.Mutex
			batches := map[int]int{} // batch size -> how many
			firsts := []int{}        // each connection's first batch
			srv := startPipeServer(t, func(c net.Conn, br *bufio.Reader) {
				n := 0
				for first := true; ; first = false {
					var reqs []*http.Request
					for {
						if len(reqs) > 0 {
							_ = c.SetReadDeadline(time.Now().Add(30 * time.Millisecond))
						}
						req, err := http.ReadRequest(br)
						_ = c.SetReadDeadline(time.Time{})
						if err != nil {
							if len(reqs) == 0 {
								return
							}
							break
						}
						reqs = append(reqs, req)
					}
					mu.Lock()
					batches[len(reqs)]++
					if first {
						firsts = append(firsts, len(reqs))
					}
					mu.Unlock()
					time.Sleep(10 * time.Millisecond)
					bw := bufio.NewWriter(c)
					for _, req := range reqs {
						n++
						_ = answer(bw, req, n, "")
					}
					if bw.Flush() != nil {
						return
					}
				}
			})
			m := newMatcher(method == "HEAD")
			res := runPipe(t, load.Config{Spec: request.Spec{Request: request.Request{Method: method, URL: srv.url("/i/{{seq}}")}},
				Connections: conns, Streams: streams, Requests: total}, m.check)
			if res.Requests.Total != total || res.Codes["200"] != total {
				t.Fatalf("total %d, 200 × %d, errors %v; want %d answered", res.Requests.Total, res.Codes["200"], res.Errors, total)
			}
			m.verify(t, total)
			mu.Lock()
			defer mu.Unlock()
			if len(firsts) != conns {
				t.Fatalf("%d connections, want %d", len(firsts), conns)
			}
			for _, f := range firsts {
				if f != streams {
					t.Errorf("the server read %d requests before it answered the first, want %d (the batches: %v)", f, streams, batches)
				}
			}
			for size := range batches {
				if size > streams {
					t.Errorf("a batch of %d requests, more than --streams %d", size, streams)
				}
			}
		})
	}
}

// TestPipelineServerCloses: a server that answers two requests on each
// connection and then closes it, with Connection: close on the second
// answer or without a word. Every request behind the second fails once,
// as closed, and the run goes on on a new connection: what the server
// answered is what volley counts as answered, and the rest is closed.
func TestPipelineServerCloses(t *testing.T) {
	for _, say := range []bool{true, false} {
		t.Run(fmt.Sprintf("connection-close=%v", say), func(t *testing.T) {
			const k, total = 2, 60
			var answered atomic.Int64
			srv := startPipeServer(t, func(c net.Conn, br *bufio.Reader) {
				for n := 1; n <= k; n++ {
					req, err := http.ReadRequest(br)
					if err != nil {
						return
					}
					extra := ""
					if n == k && say {
						extra = "Connection: close\r\n"
					}
					answered.Add(1) // before volley can see it
					if answer(c, req, n, extra) != nil {
						answered.Add(-1)
						return
					}
				}
				if say {
					// Said it: volley must not wait for more. Read on
					// (answering nothing) until volley closes.
					_, _ = io.Copy(io.Discard, br)
				}
			})
			m := newMatcher(false)
			res := runPipe(t, load.Config{Spec: request.Spec{Request: request.Request{URL: srv.url("/i/{{seq}}")}},
				Connections: 1, Streams: 4, Requests: total}, m.check)
			got := answered.Load()
			// A server that closes with requests unread in its socket makes
			// the kernel reset the connection: those behind count as reset.
			if res.Requests.Total != total || res.Codes["200"] != got || res.Errors["closed"]+res.Errors["reset"] != total-got ||
				res.Requests.Errors != total-got {
				t.Fatalf("total %d, 200 × %d, errors %v; want %d, %d answered (as the server counts), %d closed or reset",
					res.Requests.Total, res.Codes["200"], res.Errors, total, got, total-got)
			}
			if c := srv.conns.Load(); c < 5 || got != k*c && got != k*c-1 && got != k*c-2 {
				t.Errorf("%d connections answered %d: want the run to go on over new connections, %d answers on each", c, got, k)
			}
			if res.Errors["closed"]+res.Errors["reset"] == 0 {
				t.Errorf("nothing failed behind the close: the requests were not pipelined")
			}
			m.verify(t, int(got))
		})
	}
}

// TestPipelineTimeouts: against a server that reads every request and
// answers none, every request times out exactly once: the oldest at its
// deadline, the ones behind it with it, and the next go out on a new
// connection.
func TestPipelineTimeouts(t *testing.T) {
	const streams, total = 4, 12
	var got atomic.Int64
	srv := startPipeServer(t, func(c net.Conn, br *bufio.Reader) {
		for {
			if _, err := http.ReadRequest(br); err != nil {
				return
			}
			got.Add(1)
		}
	})
	res := runPipe(t, load.Config{Spec: request.Spec{Request: request.Request{URL: srv.url("/")}}, Connections: 1, Streams: streams,
		Requests: total, Timeout: 150 * time.Millisecond}, nil)
	if res.Requests.Total != total || res.Errors["timeout"] != total || res.Requests.Errors != total {
		t.Fatalf("total %d, errors %v; want %d timeouts", res.Requests.Total, res.Errors, total)
	}
	if got.Load() != total {
		t.Errorf("the server received %d requests, want %d", got.Load(), total)
	}
	if c := srv.conns.Load(); c != total/streams {
		t.Errorf("%d connections, want %d (a new one after each pipeline timed out)", c, total/streams)
	}
	if d := res.DurationS; d < 3*0.15 {
		t.Errorf("the run took %.2f s, want at least 3 timeouts of 150 ms one after the other", d)
	}
}

// TestPipelineClosedLoop: in a closed loop, connections x streams
// requests are at the server at once.
func TestPipelineClosedLoop(t *testing.T) {
	const conns, streams, total = 3, 4, 360
	var inflight, most atomic.Int64
	srv := startPipeServer(t, func(c net.Conn, br *bufio.Reader) {
		q := make(chan *http.Request, 1024)
		go func() {
			n := 0
			for req := range q {
				time.Sleep(2 * time.Millisecond)
				n++
				inflight.Add(-1)
				if answer(c, req, n, "") != nil {
					return
				}
			}
		}()
		defer close(q)
		for {
			req, err := http.ReadRequest(br)
			if err != nil {
				return
			}
			if v := inflight.Add(1); v > most.Load() {
				most.Store(v)
			}
			q <- req
		}
	})
	m := newMatcher(false)
	res := runPipe(t, load.Config{Spec: request.Spec{Request: request.Request{URL: srv.url("/i/{{seq}}")}}, Connections: conns, Streams: streams, Requests: total}, m.check)
	if res.Requests.Total != total || res.Codes["200"] != total {
		t.Fatalf("total %d, 200 × %d, errors %v; want %d answered", res.Requests.Total, res.Codes["200"], res.Errors, total)
	}
	m.verify(t, total)
	if got := most.Load(); got != conns*streams {
		t.Errorf("at most %d requests at the server at once, want connections x streams = %d", got, conns*streams)
	}
}

// TestPipelineRefused: what cannot be pipelined is refused before any
// request, naming the method or the flag.
func TestPipelineRefused(t *testing.T) {
	for _, tc := range []struct {
		cfg  load.Config
		want string
	}{
		{load.Config{Spec: request.Spec{Request: request.Request{Method: "POST", URL: "http://127.0.0.1:1/"}}}, "POST is not idempotent"},
		{load.Config{Spec: request.Spec{Request: request.Request{Method: "PATCH", URL: "http://127.0.0.1:1/"}}}, "PATCH is not idempotent"},
		{load.Config{Spec: request.Spec{Request: request.Request{Method: "GET", URL: "http://127.0.0.1:1/"}, Expect: request.Expect{Body: []byte("x")}}}, "--expect-body"},
		{load.Config{Spec: request.Spec{Request: request.Request{Method: "GET", URL: "http://127.0.0.1:1/"}}, Conn: dial.Options{FollowRedirects: 2}}, "--follow-redirects"},
	} {
		tc.cfg.Streams, tc.cfg.Requests, tc.cfg.Timeout = 4, 1, time.Second
		_, err := NewPipelineClient(tc.cfg)
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "streams 4: ") {
			t.Errorf("%s: error %v, want one starting \"streams 4: \" naming %q", tc.cfg.Request.Method, err, tc.want)
		}
	}
}

// TestPipelineAgainstNginx: --streams 8 over 2 connections, 2000 requests
// to nginx, which echoes each request's URI: every answer is paired with
// its request, and nginx's access log holds each request exactly once.
func TestPipelineAgainstNginx(t *testing.T) {
	n := nginxtest.Start(t, "", "$request_uri", `    location /i/ { add_header X-Uri $request_uri; return 200 "$request_uri"; }
    location / { return 200 "ready"; }`, nil, nginxtest.GetProbe(http.DefaultClient, "http"))
	const total = 2000
	m := newMatcher(false)
	res := runPipe(t, load.Config{Spec: request.Spec{Request: request.Request{URL: "http://" + n.Addr + "/i/{{seq}}"}},
		Connections: 2, Streams: 8, Requests: total}, m.check)
	if res.Requests.Total != total || res.Codes["200"] != total {
		t.Fatalf("total %d, 200 × %d, errors %v; want %d answered", res.Requests.Total, res.Codes["200"], res.Errors, total)
	}
	m.verify(t, total)
	logged := nginxtest.Counts(t, n.AccessLog, 0)
	var pipelined int64
	for i := range int64(total) {
		if c := logged["/i/"+strconv.FormatInt(i, 10)]; c != 1 {
			t.Errorf("nginx logged /i/%d %d times, want once", i, c)
		}
	}
	for uri, c := range logged {
		if strings.HasPrefix(uri, "/i/") {
			pipelined += c
		}
	}
	if pipelined != total {
		t.Errorf("nginx logged %d requests to /i/, volley counted %d", pipelined, res.Requests.Total)
	}
}

// TestPipelineUnasked: bytes that arrive while nothing is outstanding
// answer no request: the next request is not sent and counts as a protocol
// error, as on the one-at-a-time path, and the run goes on over a new
// connection, every answer still paired with its request. Empty lines
// alone are dropped.
func TestPipelineUnasked(t *testing.T) {
	const total = 20
	var first atomic.Bool
	srv := startPipeServer(t, func(c net.Conn, br *bufio.Reader) {
		junk := first.CompareAndSwap(false, true) // the first connection only
		for n := 1; ; n++ {
			req, err := http.ReadRequest(br)
			if err != nil {
				return
			}
			if answer(c, req, n, "") != nil {
				return
			}
			switch {
			case !junk:
			case n == 2:
				time.Sleep(5 * time.Millisecond)
				_, _ = io.WriteString(c, "\r\n\r\n") // dropped
			case n == 4:
				time.Sleep(5 * time.Millisecond)
				_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
			}
		}
	})
	m := newMatcher(false)
	res := runPipe(t, load.Config{Spec: request.Spec{Request: request.Request{URL: srv.url("/i/{{seq}}")}}, Connections: 1, Streams: 4,
		Rate: 50, Requests: total}, m.check)
	if res.Requests.Total != total || res.Codes["200"] != total-1 || res.Errors["protocol"] != 1 {
		t.Fatalf("total %d, 200 × %d, errors %v; want %d, one protocol error", res.Requests.Total, res.Codes["200"], res.Errors, total)
	}
	if c := srv.conns.Load(); c != 2 {
		t.Errorf("%d connections, want 2 (a new one after the unasked answer)", c)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.wrong) > 0 {
		t.Errorf("%d responses paired with the wrong request, e.g. %s", len(m.wrong), m.wrong[0])
	}
}

// TestPipelineAllocs: a pipelined request allocates nothing in steady
// state: ten times the requests to nginx cost no more allocations per
// request than a fraction of one (the run's own setup aside).
func TestPipelineAllocs(t *testing.T) {
	if race.Enabled {
		t.Skip("the race detector allocates")
	}
	n := nginxtest.Start(t, "", "$status", `    location / { return 200 "hello"; }`, nil, nginxtest.GetProbe(http.DefaultClient, "http"))
	mallocs := func(total int64) uint64 {
		var a, b runtime.MemStats
		runtime.ReadMemStats(&a)
		res := runPipe(t, load.Config{Spec: request.Spec{Request: request.Request{URL: "http://" + n.Addr + "/"}}, Connections: 2, Streams: 8, Requests: total}, nil)
		runtime.ReadMemStats(&b)
		if res.Codes["200"] != total {
			t.Fatalf("200 × %d, errors %v; want %d", res.Codes["200"], res.Errors, total)
		}
		return b.Mallocs - a.Mallocs
	}
	small, large := mallocs(2000), mallocs(22000)
	per := float64(int64(large)-int64(small)) / 20000
	t.Logf("%d allocations for 2000 requests, %d for 22000: %.3f per request", small, large, per)
	if per > 0.05 {
		t.Errorf("%.3f allocations per pipelined request, want none in steady state", per)
	}
}

// TestPipelineBadAnswers: an answer the connection cannot go on from (a
// body past --max-body, headers past --max-header) counts in its own
// category; the requests behind it were not answered and count as closed,
// once each; every connection fails so, and the run goes on over new ones.
func TestPipelineBadAnswers(t *testing.T) {
	for _, tc := range []struct {
		name  string
		extra string // added to the answer's headers
		body  int    // body bytes
		kind  string
	}{
		{"body", "", 100, "body_too_large"},
		{"headers", "X-Big: " + strings.Repeat("x", 6000) + "\r\n", 0, "protocol"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			const streams, total = 4, 12
			srv := startPipeServer(t, func(c net.Conn, br *bufio.Reader) {
				var reqs int
				for reqs < streams {
					if _, err := http.ReadRequest(br); err != nil {
						return
					}
					reqs++
				}
				for range reqs {
					fmt.Fprintf(c, "HTTP/1.1 200 OK\r\n%sContent-Length: %d\r\n\r\n%s", tc.extra, tc.body, strings.Repeat("b", tc.body))
				}
				_, _ = io.Copy(io.Discard, br)
			})
			res := runPipe(t, load.Config{Spec: request.Spec{Request: request.Request{URL: srv.url("/")}}, Connections: 1, Streams: streams,
				Requests: total, MaxBody: 10, MaxHeader: 4096}, nil)
			conns := srv.conns.Load()
			if res.Requests.Total != total || res.Errors[tc.kind] != conns || res.Errors["closed"] != total-conns || conns != total/streams {
				t.Errorf("total %d, errors %v over %d connections; want %d, one %s per connection of %d requests and the rest closed",
					res.Requests.Total, res.Errors, conns, total, tc.kind, streams)
			}
		})
	}
}

// TestPipelineExpectStatus: --expect-status checks every pipelined answer.
func TestPipelineExpectStatus(t *testing.T) {
	srv := startPipeServer(t, func(c net.Conn, br *bufio.Reader) {
		for n := 1; ; n++ {
			req, err := http.ReadRequest(br)
			if err != nil || answer(c, req, n, "") != nil {
				return
			}
		}
	})
	for _, tc := range []struct {
		code   int
		failed int64
	}{{200, 0}, {404, 100}} {
		var ok [600]bool
		ok[tc.code] = true
		res := runPipe(t, load.Config{Spec: request.Spec{Request: request.Request{URL: srv.url("/i/{{seq}}")}, Expect: request.Expect{Status: &ok}}, Connections: 2, Streams: 4,
			Requests: 100}, nil)
		if res.Codes["200"] != 100 || res.Requests.CheckFailed != tc.failed {
			t.Errorf("expecting %d: 200 × %d, %d failed the check; want 100 and %d", tc.code, res.Codes["200"], res.Requests.CheckFailed, tc.failed)
		}
	}
}
