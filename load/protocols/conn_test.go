package protocols

import (
	"compress/gzip"
	"context"
	"crypto/tls"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"volley/bench"
	"volley/bench/benchtest"
	"volley/internal/loadtest"
	"volley/load/dial"
	"volley/load/dial/dialtest"
	"volley/load/request"
)

// TestHTTP2AndTLSAgainstBuiltinTarget: every protocol against the built-in
// target, counted by the server per protocol and per connection.
func TestHTTP2AndTLSAgainstBuiltinTarget(t *testing.T) {
	cert, pool := benchtest.Certificate(t)
	tlsSrv := benchtest.Start(t, bench.Config{TLS: &cert})
	h2cSrv := benchtest.Start(t, bench.Config{H2C: true})
	for _, tc := range []struct {
		name     string
		srv      *bench.Server
		proto    dial.Protocol
		wantSeen string
	}{
		{"http1.1 over tls", tlsSrv, dial.HTTP1, "HTTP/1.1"},
		{"http2 over tls", tlsSrv, dial.HTTP2, "HTTP/2.0"},
		{"h2c", h2cSrv, dial.H2C, "HTTP/2.0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.srv.Reset()
			cfg := loadtest.Plan(tc.srv.URL()+"/p", 3, 300)
			cfg.Conn = dial.Options{Protocol: tc.proto, RootCAs: pool}
			res := runWith(t, context.Background(), cfg)
			st := tc.srv.Stats()
			if res.Requests.Total != 300 || res.Codes["200"] != 300 || st.Total != 300 || st.Protocols[tc.wantSeen] != 300 {
				t.Fatalf("volley %d (200: %d, errors %v), server %d by protocol %v; want 300 %s",
					res.Requests.Total, res.Codes["200"], res.ErrorSamples, st.Total, st.Protocols, tc.wantSeen)
			}
			if res.Protocol != tc.wantSeen {
				t.Errorf("result protocol %q, want %q", res.Protocol, tc.wantSeen)
			}
			if st.Connections != 3 {
				t.Errorf("server accepted %d connections, want 3 (one per worker)", st.Connections)
			}
			ph := res.Phases
			if ph["connect"].Count != 3 || ph["ttfb"].Count != 300 || ph["transfer"].Count != 300 {
				t.Errorf("phases: connect %d ttfb %d transfer %d, want 3, 300, 300", ph["connect"].Count, ph["ttfb"].Count, ph["transfer"].Count)
			}
			wantTLS := int64(3)
			if tc.proto == dial.H2C {
				wantTLS = 0
			}
			if ph["tls"].Count != wantTLS {
				t.Errorf("tls handshakes %d, want %d", ph["tls"].Count, wantTLS)
			}
			// Phases are whole microseconds, rounded up.
			if ph["ttfb"].P50 > res.Latency.Service.P50+0.001 {
				t.Errorf("ttfb p50 %.3f ms above service p50 %.3f ms", ph["ttfb"].P50, res.Latency.Service.P50)
			}
		})
	}
}

// TestTLSErrorsAreTLS: a certificate that cannot be verified is a tls
// error for every request and reaches no handler; --insecure and a matching
// --servername get through.
func TestTLSErrorsAreTLS(t *testing.T) {
	cert, pool := benchtest.Certificate(t)
	srv := benchtest.Start(t, bench.Config{TLS: &cert})
	for _, tc := range []struct {
		name string
		opts dial.Options
		ok   bool
	}{
		{"unknown authority", dial.Options{}, false},
		{"unknown authority h2", dial.Options{Protocol: dial.HTTP2}, false},
		{"wrong server name", dial.Options{RootCAs: pool, ServerName: "other.test"}, false},
		{"right server name", dial.Options{RootCAs: pool, ServerName: "localhost"}, true},
		{"insecure", dial.Options{Insecure: true, ServerName: "other.test"}, true},
		{"insecure h2", dial.Options{Protocol: dial.HTTP2, Insecure: true}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv.Reset()
			cfg := loadtest.Plan(srv.URL()+"/", 2, 10)
			cfg.Conn = tc.opts
			res := runWith(t, context.Background(), cfg)
			if tc.ok {
				if res.Codes["200"] != 10 || srv.Stats().Total != 10 {
					t.Errorf("200s %d, server %d, errors %v; want 10", res.Codes["200"], srv.Stats().Total, res.ErrorSamples)
				}
				return
			}
			if res.Errors["tls"] != 10 || srv.Stats().Total != 0 {
				t.Errorf("errors %v (%v), server %d; want 10 tls errors and nothing served", res.Errors, res.ErrorSamples, srv.Stats().Total)
			}
		})
	}
}

// TestClientCertificate: a server that requires a client certificate
// accepts volley's --cert/--key and refuses a client without one.
func TestClientCertificate(t *testing.T) {
	serverCert, pool := benchtest.Certificate(t)
	clientCert, clientPool := benchtest.Certificate(t)
	var served atomic.Int64
	hs := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		served.Add(1)
		_, _ = io.WriteString(w, "ok")
	}))
	hs.TLS = &tls.Config{Certificates: []tls.Certificate{serverCert.TLS}, ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: clientPool}
	hs.Config.ErrorLog = log.New(io.Discard, "", 0)
	hs.StartTLS()
	defer hs.Close()
	cfg := loadtest.Plan(hs.URL+"/", 1, 5)
	cfg.Conn = dial.Options{RootCAs: pool, Certificates: []tls.Certificate{clientCert.TLS}}
	res := runWith(t, context.Background(), cfg)
	if res.Codes["200"] != 5 || served.Load() != 5 {
		t.Errorf("with a client certificate: 200s %d, served %d, errors %v", res.Codes["200"], served.Load(), res.ErrorSamples)
	}
	cfg.Conn.Certificates = nil
	res = runWith(t, context.Background(), cfg)
	if res.Codes["200"] != 0 || res.Requests.Errors != 5 {
		t.Errorf("without a client certificate: %v %v, want 5 errors", res.Codes, res.Errors)
	}
}

// TestHTTP2FallsBackToHTTP1: a TLS server that offers only http/1.1 is
// spoken to in HTTP/1.1, and the result says so.
func TestHTTP2FallsBackToHTTP1(t *testing.T) {
	cert, pool := benchtest.Certificate(t)
	var protos sync.Map
	hs := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		protos.Store(r.Proto, true)
		_, _ = io.WriteString(w, "hello")
	}))
	hs.TLS = &tls.Config{Certificates: []tls.Certificate{cert.TLS}, NextProtos: []string{"http/1.1"}}
	hs.StartTLS()
	defer hs.Close()
	cfg := loadtest.Plan(hs.URL+"/", 2, 20)
	cfg.Conn = dial.Options{Protocol: dial.HTTP2, RootCAs: pool}
	cfg.Expect.Body = []byte("hello")
	res := runWith(t, context.Background(), cfg)
	if res.Codes["200"] != 20 || res.Protocol != "HTTP/1.1" || res.Checks.Failed != 0 {
		t.Errorf("200s %d protocol %q checks %+v errors %v", res.Codes["200"], res.Protocol, res.Checks, res.ErrorSamples)
	}
	if _, h2 := protos.Load("HTTP/2.0"); h2 {
		t.Error("server saw HTTP/2")
	}
}

// seenRequest is what an HTTP/2 test server saw of one request.
type seenRequest struct {
	method, uri, host, proto, body string
	header                         http.Header
}

// TestWireHTTP2: method, path, query, :authority (Host), headers and body
// arrive as given over HTTP/2, templates included.
func TestWireHTTP2(t *testing.T) {
	cert, pool := benchtest.Certificate(t)
	var mu sync.Mutex
	var seen []seenRequest
	hs := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		seen = append(seen, seenRequest{r.Method, r.URL.RequestURI(), r.Host, r.Proto, string(b), r.Header.Clone()})
		mu.Unlock()
	}))
	hs.EnableHTTP2 = true
	hs.TLS = &tls.Config{Certificates: []tls.Certificate{cert.TLS}}
	hs.StartTLS()
	defer hs.Close()
	cfg := loadtest.Plan(hs.URL+"/a/b?x=1&n={{seq}}", 1, 3)
	cfg.Request.Method = "PUT"
	cfg.Request.Headers = []request.Header{{Key: "Host", Value: "api.example.test"}, {Key: "X-Seq", Value: "{{seq}}"}, {Key: "X-Multi", Value: "a"}, {Key: "X-Multi", Value: "b"}, {Key: "Content-Type", Value: "text/plain"}}
	cfg.Request.Body = []byte("body {{seq}}")
	cfg.Conn = dial.Options{Protocol: dial.HTTP2, RootCAs: pool}
	res := runWith(t, context.Background(), cfg)
	if res.Codes["200"] != 3 {
		t.Fatalf("200s %d, errors %v", res.Codes["200"], res.ErrorSamples)
	}
	// The handlers wrote seen under mu; the race detector does not see the
	// responses on the wire as ordering those writes before these reads.
	mu.Lock()
	defer mu.Unlock()
	for i, s := range seen {
		n := string(rune('0' + i))
		want := http.Header{"X-Seq": {n}, "X-Multi": {"a", "b"}, "Content-Type": {"text/plain"},
			"User-Agent": {"volley"}, "Content-Length": {"6"}}
		if s.method != "PUT" || s.uri != "/a/b?x=1&n="+n || s.host != "api.example.test" || s.proto != "HTTP/2.0" ||
			s.body != "body "+n || !reflect.DeepEqual(s.header, want) {
			t.Errorf("request %d: %+v\nwant PUT /a/b?x=1&n=%s host api.example.test HTTP/2.0 body %q headers %v", i, s, n, "body "+n, want)
		}
	}
}

// TestNoKeepAlive: a new connection per request, counted by the server and
// in the connect phase.
func TestNoKeepAlive(t *testing.T) {
	srv := benchtest.Start(t, bench.Config{H2C: true})
	for _, proto := range []dial.Protocol{dial.HTTP1, dial.H2C} {
		srv.Reset()
		cfg := loadtest.Plan(srv.URL()+"/", 2, 40)
		cfg.Conn = dial.Options{Protocol: proto, NoKeepAlive: true}
		res := runWith(t, context.Background(), cfg)
		st := srv.Stats()
		if res.Codes["200"] != 40 || st.Connections != 40 || res.Phases["connect"].Count != 40 {
			t.Errorf("%v: 200s %d, server connections %d, connects %d; want 40 each (errors %v)",
				proto, res.Codes["200"], st.Connections, res.Phases["connect"].Count, res.ErrorSamples)
		}
	}
}

// TestHeadRequests: a HEAD response carries a Content-Length but no body;
// reading one must not wait for the body (it would time out) and the
// connection stays usable.
func TestHeadRequests(t *testing.T) {
	srv := benchtest.Start(t, bench.Config{})
	cfg := loadtest.Plan(srv.URL()+"/", 1, 20)
	cfg.Request.Method = "HEAD"
	cfg.Timeout = time.Second
	res := runWith(t, context.Background(), cfg)
	st := srv.Stats()
	if res.Codes["200"] != 20 || res.Requests.Errors != 0 || st.Total != 20 || st.Connections != 1 {
		t.Errorf("200s %d, errors %d %v, server requests %d over %d connections; want 20, 0, 20 over 1",
			res.Codes["200"], res.Requests.Errors, res.ErrorSamples, st.Total, st.Connections)
	}
}

// TestUnixSocket: requests go to the socket; the URL still gives the Host.
func TestUnixSocket(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.sock")
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Skipf("unix sockets unavailable: %v", err)
	}
	var n atomic.Int64
	var host atomic.Value
	hs := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		host.Store(r.Host)
	})}
	go hs.Serve(ln)
	defer hs.Close()
	cfg := loadtest.Plan("http://sock.example/x", 2, 25)
	cfg.Conn.UnixSocket = path
	res := runWith(t, context.Background(), cfg)
	if res.Codes["200"] != 25 || n.Load() != 25 || host.Load() != "sock.example" {
		t.Errorf("200s %d, served %d, host %v; want 25, 25, sock.example (errors %v)", res.Codes["200"], n.Load(), host.Load(), res.ErrorSamples)
	}
}

func TestProxyConnect(t *testing.T) {
	cert, pool := benchtest.Certificate(t)
	plain := benchtest.Start(t, bench.Config{})
	secure := benchtest.Start(t, bench.Config{TLS: &cert})
	px, tunnels := dialtest.ConnectProxy(t)
	for _, tc := range []struct {
		srv   *bench.Server
		proto dial.Protocol
	}{{plain, dial.HTTP1}, {secure, dial.HTTP1}, {secure, dial.HTTP2}} {
		tunnels.Store(0)
		tc.srv.Reset()
		cfg := loadtest.Plan(tc.srv.URL()+"/", 2, 30)
		cfg.Conn = dial.Options{Protocol: tc.proto, Proxy: px, RootCAs: pool}
		res := runWith(t, context.Background(), cfg)
		if res.Codes["200"] != 30 || tc.srv.Stats().Total != 30 || tunnels.Load() != 2 {
			t.Errorf("%s %v: 200s %d, server %d, tunnels %d; want 30, 30, 2 (errors %v)",
				tc.srv.URL(), tc.proto, res.Codes["200"], tc.srv.Stats().Total, tunnels.Load(), res.ErrorSamples)
		}
	}
	// A proxy that refuses is an error, not a hang.
	bad := *px
	bad.User = nil
	cfg := loadtest.Plan(plain.URL()+"/", 1, 3)
	cfg.Conn.Proxy = &bad
	res := runWith(t, context.Background(), cfg)
	if res.Requests.Errors != 3 || !strings.Contains(res.ErrorSamples["other"], "407") {
		t.Errorf("refused by the proxy: %v %v", res.Errors, res.ErrorSamples)
	}
}

// TestFollowRedirects: off by default (a 302 is a 302); when on, the final
// status is counted and the first one reported beside it.
func TestFollowRedirects(t *testing.T) {
	pc := startPathCounter(t)
	mux := http.NewServeMux()
	mux.HandleFunc("/r1", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/r2", http.StatusFound) })
	mux.HandleFunc("/r2", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, pc.srv.URL+"/final", http.StatusMovedPermanently)
	})
	mux.HandleFunc("/r307", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, pc.srv.URL+"/final", http.StatusTemporaryRedirect)
	})
	hs := httptest.NewUnstartedServer(mux)
	hs.Config.Protocols = h1AndH2C()
	hs.Start()
	defer hs.Close()
	for _, proto := range []dial.Protocol{dial.HTTP1, dial.H2C} {
		for _, tc := range []struct {
			follow int
			codes  map[string]int64
			first  map[string]int64
			final  int64
		}{
			{0, map[string]int64{"302": 10}, nil, 0},
			{1, map[string]int64{"301": 10}, map[string]int64{"302": 10}, 0},
			{2, map[string]int64{"200": 10}, map[string]int64{"302": 10}, 10},
			{5, map[string]int64{"200": 10}, map[string]int64{"302": 10}, 10},
		} {
			before := pc.count("GET /final")
			cfg := loadtest.Plan(hs.URL+"/r1", 2, 10)
			cfg.Conn.FollowRedirects, cfg.Conn.Protocol = tc.follow, proto
			res := runWith(t, context.Background(), cfg)
			if !reflect.DeepEqual(res.Codes, tc.codes) {
				t.Errorf("%v, follow %d: codes %v, want %v (errors %v)", proto, tc.follow, res.Codes, tc.codes, res.ErrorSamples)
			}
			if tc.follow > 0 && (res.Redirects == nil || !reflect.DeepEqual(res.Redirects.FirstCodes, tc.first) || res.Redirects.Followed != 10) {
				t.Errorf("%v, follow %d: redirects %+v, want first codes %v", proto, tc.follow, res.Redirects, tc.first)
			}
			if tc.follow == 0 && res.Redirects != nil {
				t.Errorf("%v, follow 0: redirects reported: %+v", proto, res.Redirects)
			}
			if got := pc.count("GET /final") - before; got != tc.final {
				t.Errorf("%v, follow %d: final host served %d, want %d", proto, tc.follow, got, tc.final)
			}
		}
		// A POST stays a POST through a 307 and becomes a GET through a 302.
		for _, path := range []string{"/r307", "/r1"} {
			post, get := pc.count("POST /final"), pc.count("GET /final")
			cfg := loadtest.Plan(hs.URL+path, 1, 4)
			cfg.Request.Method, cfg.Request.Body = "POST", []byte("x=1")
			cfg.Conn.FollowRedirects, cfg.Conn.Protocol = 3, proto
			res := runWith(t, context.Background(), cfg)
			post, get = pc.count("POST /final")-post, pc.count("GET /final")-get
			if res.Codes["200"] != 4 || (path == "/r307") != (post == 4) || (path == "/r1") != (get == 4) {
				t.Errorf("%v POST %s: codes %v, final host saw %d POST and %d GET", proto, path, res.Codes, post, get)
			}
		}
	}
}

// TestCompressed: --compressed asks for gzip; body checks see the
// decompressed body.
func TestCompressed(t *testing.T) {
	var asked atomic.Int64
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
			_, _ = io.WriteString(w, "plain text")
			return
		}
		asked.Add(1)
		w.Header().Set("Content-Encoding", "gzip")
		zw := gzip.NewWriter(w)
		_, _ = io.WriteString(zw, "compressed text")
		zw.Close()
	}))
	defer hs.Close()
	for _, compressed := range []bool{false, true} {
		asked.Store(0)
		cfg := loadtest.Plan(hs.URL+"/", 1, 5)
		cfg.Conn.Compressed = compressed
		cfg.Expect.Body = []byte("compressed text")
		res := runWith(t, context.Background(), cfg)
		want := int64(0)
		if compressed {
			want = 5
		}
		if asked.Load() != want || res.Checks.Failed != 5-want {
			t.Errorf("compressed %v: server asked for gzip %d times, checks failed %d; want %d and %d", compressed, asked.Load(), res.Checks.Failed, want, 5-want)
		}
	}
}

// TestMaxBody: a body over --max-body is a body_too_large error, for both
// clients, and the connection recovers for the next request.
func TestMaxBody(t *testing.T) {
	srv := benchtest.Start(t, bench.Config{H2C: true, BodySize: 4096})
	for _, proto := range []dial.Protocol{dial.HTTP1, dial.H2C} {
		cfg := loadtest.Plan(srv.URL()+"/", 1, 4)
		cfg.Conn.Protocol = proto
		cfg.MaxBody = 1000
		res := runWith(t, context.Background(), cfg)
		if res.Errors["body_too_large"] != 4 {
			t.Errorf("%v: errors %v, want 4 body_too_large", proto, res.Errors)
		}
		cfg.MaxBody = 4096
		res = runWith(t, context.Background(), cfg)
		if res.Codes["200"] != 4 || res.Bytes.In == 0 {
			t.Errorf("%v: codes %v errors %v", proto, res.Codes, res.ErrorSamples)
		}
	}
}

func TestProtocolURLMismatch(t *testing.T) {
	for _, tc := range []struct {
		url   string
		proto dial.Protocol
		want  string
	}{
		{"http://127.0.0.1:1/", dial.HTTP2, "needs an https:// URL"},
		{"https://127.0.0.1:1/", dial.H2C, "needs an http:// URL"},
	} {
		cfg := loadtest.Plan(tc.url, 1, 1)
		cfg.Conn.Protocol = tc.proto
		if _, err := NewClient(cfg); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s with %v: %v, want %q", tc.url, tc.proto, err, tc.want)
		}
	}
}

// TestPhasesMeasureTheServer: with a server that takes 20 ms, every
// request's TTFB is at least 20 ms, also the first on a new TLS 1.3
// connection (whose session tickets must not pass for the response).
func TestPhasesMeasureTheServer(t *testing.T) {
	lat, err := bench.ParseLatency("20ms")
	if err != nil {
		t.Fatal(err)
	}
	cert, pool := benchtest.Certificate(t)
	srv := benchtest.Start(t, bench.Config{TLS: &cert, Latency: lat})
	for _, proto := range []dial.Protocol{dial.HTTP1, dial.HTTP2} {
		cfg := loadtest.Plan(srv.URL()+"/", 2, 10)
		cfg.Conn = dial.Options{Protocol: proto, RootCAs: pool}
		res := runWith(t, context.Background(), cfg)
		ttfb, tr := res.Phases["ttfb"], res.Phases["transfer"]
		if res.Codes["200"] != 10 || ttfb.Count != 10 || ttfb.Min < 19.9 {
			t.Errorf("%v: 200s %d, ttfb count %d min %.3f ms; want 10 and at least 20 ms (errors %v)", proto, res.Codes["200"], ttfb.Count, ttfb.Min, res.ErrorSamples)
		}
		if tr.Max > 15 {
			t.Errorf("%v: transfer max %.3f ms for a 5-byte body: the server's time leaked into transfer", proto, tr.Max)
		}
	}
}

// TestLargeHeadersFromNetHTTP: a stock net/http server sending one
// 5000-byte header, or 25 Set-Cookie headers of 200 bytes, is read over
// HTTP/1.1 and h2c alike; 70 KiB of headers is past the default bound on
// both, a protocol error naming it and the flag.
func TestLargeHeadersFromNetHTTP(t *testing.T) {
	var served atomic.Int64
	mux := http.NewServeMux()
	mux.HandleFunc("/big", func(w http.ResponseWriter, r *http.Request) {
		served.Add(1)
		w.Header().Set("X-Big", strings.Repeat("b", 5000))
		_, _ = io.WriteString(w, "ok")
	})
	mux.HandleFunc("/cookies", func(w http.ResponseWriter, r *http.Request) {
		served.Add(1)
		for i := range 25 {
			http.SetCookie(w, &http.Cookie{Name: "c" + strconv.Itoa(i), Value: strings.Repeat("c", 200)})
		}
		_, _ = io.WriteString(w, "ok")
	})
	mux.HandleFunc("/huge", func(w http.ResponseWriter, r *http.Request) {
		served.Add(1)
		w.Header().Set("X-Huge", strings.Repeat("h", 70<<10))
		_, _ = io.WriteString(w, "ok")
	})
	hs := httptest.NewUnstartedServer(mux)
	hs.Config.Protocols = h1AndH2C()
	hs.Config.ErrorLog = log.New(io.Discard, "", 0)
	hs.Start()
	defer hs.Close()
	for _, proto := range []dial.Protocol{dial.HTTP1, dial.H2C} {
		for _, path := range []string{"/big", "/cookies", "/huge"} {
			served.Store(0)
			cfg := loadtest.Plan(hs.URL+path, 2, 20)
			cfg.Conn.Protocol = proto
			res := runWith(t, context.Background(), cfg)
			if path != "/huge" {
				if res.Codes["200"] != 20 || res.Requests.Errors != 0 || served.Load() != 20 {
					t.Errorf("%v %s: 200s %d, errors %v %v, served %d; want 20 200s", proto, path, res.Codes["200"], res.Errors, res.ErrorSamples, served.Load())
				}
				continue
			}
			msg := res.ErrorSamples["protocol"]
			if res.Errors["protocol"] != 20 || res.Requests.Total != 20 || !strings.Contains(msg, "64 KiB (--max-header)") {
				t.Errorf("%v %s: errors %v, sample %q; want 20 protocol errors naming 64 KiB and --max-header", proto, path, res.Errors, res.ErrorSamples)
			}
			// A bound that holds them reads them.
			cfg.MaxHeader = 128 << 10
			res = runWith(t, context.Background(), cfg)
			if res.Codes["200"] != 20 {
				t.Errorf("%v %s with a bound of 128 KiB: 200s %d, errors %v", proto, path, res.Codes["200"], res.ErrorSamples)
			}
		}
	}
}

// TestTimeoutBoundsRedirectChains: --timeout bounds a request with all
// its hops: five hops of 300 ms each under a 1 s timeout are a timeout,
// not a success after 1.5 s; under 5 s they succeed.
func TestTimeoutBoundsRedirectChains(t *testing.T) {
	const hops, perHop = 5, 300 * time.Millisecond
	var served atomic.Int64
	hs := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		served.Add(1)
		n, _ := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/hop/"))
		select {
		case <-time.After(perHop):
		case <-r.Context().Done():
			return
		}
		if n < hops {
			http.Redirect(w, r, "/hop/"+strconv.Itoa(n+1), http.StatusFound)
			return
		}
		_, _ = io.WriteString(w, "done")
	}))
	hs.Config.Protocols = h1AndH2C()
	hs.Start()
	defer hs.Close()
	for _, proto := range []dial.Protocol{dial.HTTP1, dial.H2C} {
		for _, tc := range []struct {
			timeout time.Duration
			ok      bool
		}{{time.Second, false}, {5 * time.Second, true}} {
			served.Store(0)
			cfg := loadtest.Plan(hs.URL+"/hop/1", 3, 3)
			cfg.Timeout = tc.timeout
			cfg.Conn.Protocol, cfg.Conn.FollowRedirects = proto, 10
			start := time.Now()
			res := runWith(t, context.Background(), cfg)
			took := time.Since(start)
			if tc.ok {
				if res.Codes["200"] != 3 || served.Load() != 3*hops {
					t.Errorf("%v, timeout %v: codes %v errors %v, served %d; want 3 200s after %d hops each", proto, tc.timeout, res.Codes, res.ErrorSamples, served.Load(), hops)
				}
				continue
			}
			if res.Errors["timeout"] != 3 || len(res.Codes) != 0 {
				t.Errorf("%v, timeout %v: codes %v errors %v; want 3 timeouts", proto, tc.timeout, res.Codes, res.Errors)
			}
			// Each request stops at its timeout: the third or fourth hop,
			// never the fifth.
			if got := served.Load(); got < 3*3 || got > 3*4 {
				t.Errorf("%v, timeout %v: server saw %d hops, want 9 to 12 (3 requests cut within their fourth hop)", proto, tc.timeout, got)
			}
			if took > hops*perHop {
				t.Errorf("%v, timeout %v: the run took %v, as long as whole chains", proto, tc.timeout, took)
			}
		}
	}
}

// TestMaxBodyZeroIsUnlimited: --max-body 0 reads bodies of any size over
// HTTP/1.1 and HTTP/2 alike.
func TestMaxBodyZeroIsUnlimited(t *testing.T) {
	srv := benchtest.Start(t, bench.Config{H2C: true, BodySize: 256 << 10})
	for _, proto := range []dial.Protocol{dial.HTTP1, dial.H2C} {
		cfg := loadtest.Plan(srv.URL()+"/", 1, 4)
		cfg.Conn.Protocol, cfg.MaxBody = proto, 0
		cfg.Expect.Body = []byte("x") // keep the bodies: checks read them whole
		res := runWith(t, context.Background(), cfg)
		if res.Codes["200"] != 4 || res.Requests.Errors != 0 {
			t.Errorf("%v, max body 0: codes %v errors %v %v; want 4 200s", proto, res.Codes, res.Errors, res.ErrorSamples)
		}
	}
}

// TestH2CEscapesTheTarget: over HTTP/2 as over HTTP/1.1, a space in the
// path or query is sent as %20 and UTF-8 as its escapes.
func TestH2CEscapesTheTarget(t *testing.T) {
	var mu sync.Mutex
	var uris []string
	hs := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		uris = append(uris, r.Proto+" "+r.RequestURI)
		mu.Unlock()
	}))
	hs.Config.Protocols = h1AndH2C()
	hs.Start()
	defer hs.Close()
	cfg := loadtest.Plan(hs.URL+"/a b/é?q=x y", 1, 2)
	cfg.Conn.Protocol = dial.H2C
	res := runWith(t, context.Background(), cfg)
	mu.Lock()
	defer mu.Unlock()
	want := []string{"HTTP/2.0 /a%20b/%C3%A9?q=x%20y", "HTTP/2.0 /a%20b/%C3%A9?q=x%20y"}
	if res.Codes["200"] != 2 || !reflect.DeepEqual(uris, want) {
		t.Errorf("200s %d (errors %v), server saw %q; want %q", res.Codes["200"], res.ErrorSamples, uris, want)
	}
}

// TestLargeHeadersOverHTTP2Fallback: the HTTP/2 client speaking HTTP/1.1
// to a server that declined h2 bounds header blocks the same way.
func TestLargeHeadersOverHTTP2Fallback(t *testing.T) {
	cert, pool := benchtest.Certificate(t)
	hs := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(r.URL.Query().Get("n"))
		w.Header().Set("X-Big", strings.Repeat("b", n))
		_, _ = io.WriteString(w, "ok")
	}))
	hs.TLS = &tls.Config{Certificates: []tls.Certificate{cert.TLS}, NextProtos: []string{"http/1.1"}}
	hs.StartTLS()
	defer hs.Close()
	for _, tc := range []struct {
		n        int
		protocol bool
	}{{5000, false}, {60 << 10, false}, {70 << 10, true}} {
		cfg := loadtest.Plan(hs.URL+"/?n="+strconv.Itoa(tc.n), 2, 10)
		cfg.Conn = dial.Options{Protocol: dial.HTTP2, RootCAs: pool}
		res := runWith(t, context.Background(), cfg)
		if res.Protocol != "HTTP/1.1" {
			t.Fatalf("protocol %q, want the HTTP/1.1 fallback", res.Protocol)
		}
		if !tc.protocol {
			if res.Codes["200"] != 10 {
				t.Errorf("%d-byte header: 200s %d, errors %v", tc.n, res.Codes["200"], res.ErrorSamples)
			}
			continue
		}
		if res.Errors["protocol"] != 10 || !strings.Contains(res.ErrorSamples["protocol"], "64 KiB (--max-header)") {
			t.Errorf("%d-byte header: errors %v %v; want 10 protocol errors naming the bound", tc.n, res.Errors, res.ErrorSamples)
		}
	}
}
