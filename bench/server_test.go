package bench

import (
	"bytes"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// verifyNoLeaks checks, after every other cleanup of t (servers closed, idle
// client connections dropped), that no goroutine outlives the test.
func verifyNoLeaks(t *testing.T) {
	t.Helper()
	t.Cleanup(func() { goleak.VerifyNone(t) })
}

// startServer starts a server on a free 127.0.0.1 port, closed at cleanup.
func startServer(t *testing.T, cfg Config) *Server {
	t.Helper()
	cfg.Addr = "127.0.0.1:0"
	s, err := Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

// newClient returns a client with its own transport, whose idle connections
// are closed at cleanup.
func newClient(t *testing.T) *http.Client {
	t.Helper()
	tr := &http.Transport{MaxIdleConnsPerHost: 32}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 10 * time.Second}
}

type result struct {
	code   int
	body   string
	header http.Header
	took   time.Duration
	done   time.Time
	err    error
}

// do sends one request and reads the whole response.
func do(c *http.Client, method, url, host string) result {
	start := time.Now()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		return result{err: err}
	}
	if host != "" {
		req.Host = host
	}
	resp, err := c.Do(req)
	if err != nil {
		return result{err: err, took: time.Since(start), done: time.Now()}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	now := time.Now()
	return result{code: resp.StatusCode, body: string(body), header: resp.Header, took: now.Sub(start), done: now, err: err}
}

func get(t *testing.T, c *http.Client, url string) result {
	t.Helper()
	r := do(c, http.MethodGet, url, "")
	if r.err != nil {
		t.Fatalf("GET %s: %v", url, r.err)
	}
	return r
}

func mustLatency(t *testing.T, spec string) Latency {
	t.Helper()
	l, err := ParseLatency(spec)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func mustMix(t *testing.T, spec string) StatusMix {
	t.Helper()
	m, err := ParseStatusMix(spec)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func sum(xs []int64) int64 {
	var n int64
	for _, x := range xs {
		n += x
	}
	return n
}

func TestServerCountsCodes(t *testing.T) {
	verifyNoLeaks(t)
	s := startServer(t, Config{
		Status:   mustMix(t, "200:3,404:1,503:1"),
		Latency:  mustLatency(t, "uniform:0s-2ms"),
		BodySize: 12,
		Seed:     7,
	})
	c := newClient(t)

	const workers, perWorker = 5, 20 // 100 requests: 20 full cycles of the mix
	var mu sync.Mutex
	got := map[int]int{}
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range perWorker {
				r := do(c, http.MethodGet, s.URL()+"/any/path/"+strconv.Itoa(w)+"?i="+strconv.Itoa(i), "")
				if r.err != nil {
					t.Error(r.err)
					return
				}
				if r.body != "hellohellohe" {
					t.Errorf("body %q, want %q", r.body, "hellohellohe")
				}
				if ct := r.header.Get("Content-Type"); ct != "text/plain" {
					t.Errorf("Content-Type %q, want text/plain", ct)
				}
				mu.Lock()
				got[r.code]++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	want := map[int]int{200: 60, 404: 20, 503: 20}
	if len(got) != len(want) || got[200] != 60 || got[404] != 20 || got[503] != 20 {
		t.Fatalf("client received codes %v, want %v", got, want)
	}

	st := s.Stats()
	if st.Total != 100 || len(st.Codes) != 3 || st.Codes["200"] != 60 || st.Codes["404"] != 20 || st.Codes["503"] != 20 {
		t.Errorf("Stats() total %d codes %v, want 100 and %v", st.Total, st.Codes, want)
	}
	if n := sum(st.Arrivals); n != 100 {
		t.Errorf("Stats() arrivals sum to %d, want 100", n)
	}
	if st.ArrivalBucketMS != 100 {
		t.Errorf("Stats() arrival bucket %d ms, want 100", st.ArrivalBucketMS)
	}

	// The same counts over HTTP; control requests are not counted.
	for range 2 {
		r := get(t, c, s.URL()+StatsPath)
		if r.code != http.StatusOK || r.header.Get("Content-Type") != "application/json" {
			t.Fatalf("GET %s: %d %q", StatsPath, r.code, r.header.Get("Content-Type"))
		}
		var js Stats
		if err := json.Unmarshal([]byte(r.body), &js); err != nil {
			t.Fatalf("decode %s: %v in %q", StatsPath, err, r.body)
		}
		if js.Total != 100 || js.Codes["200"] != 60 || js.Codes["404"] != 20 || js.Codes["503"] != 20 ||
			sum(js.Arrivals) != 100 || js.ArrivalBucketMS != 100 {
			t.Errorf("GET %s = %s, want total 100 with codes %v", StatsPath, r.body, want)
		}
	}
	if st := s.Stats(); st.Total != 100 || sum(st.Arrivals) != 100 {
		t.Errorf("after control requests: total %d, arrivals %d, want 100 and 100", st.Total, sum(st.Arrivals))
	}
}

func TestServerResponses(t *testing.T) {
	verifyNoLeaks(t)
	tests := []struct {
		name     string
		cfg      Config
		method   string
		wantCode int
		wantBody string
		wantLen  string // Content-Length header; "" for none
	}{
		{"default", Config{}, http.MethodGet, 200, "hello", "5"},
		{"no body", Config{BodySize: NoBody}, http.MethodGet, 200, "", "0"},
		{"large", Config{BodySize: 4096}, http.MethodGet, 200, strings.Repeat("hello", 820)[:4096], "4096"},
		{"head", Config{}, http.MethodHead, 200, "", "5"},
		{"post", Config{Status: mustMix(t, "201")}, http.MethodPost, 201, "hello", "5"},
		{"204 has no body", Config{Status: mustMix(t, "204")}, http.MethodGet, 204, "", ""},
		{"304 has no body", Config{Status: mustMix(t, "304")}, http.MethodGet, 304, "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := startServer(t, tc.cfg)
			r := do(newClient(t), tc.method, s.URL()+"/", "")
			if r.err != nil {
				t.Fatal(r.err)
			}
			if r.code != tc.wantCode || r.body != tc.wantBody {
				t.Errorf("%s / = %d %q, want %d %q", tc.method, r.code, r.body, tc.wantCode, tc.wantBody)
			}
			if got := r.header.Get("Content-Length"); got != tc.wantLen {
				t.Errorf("Content-Length %q, want %q", got, tc.wantLen)
			}
			// net/http drops representation headers from 304 responses.
			wantCT := "text/plain"
			if tc.wantCode == http.StatusNotModified {
				wantCT = ""
			}
			if ct := r.header.Get("Content-Type"); ct != wantCT {
				t.Errorf("Content-Type %q, want %q", ct, wantCT)
			}
			if st := s.Stats(); st.Total != 1 || st.Codes[strconv.Itoa(tc.wantCode)] != 1 {
				t.Errorf("Stats() = %+v, want one %d", st, tc.wantCode)
			}
		})
	}
}

func TestServerDrainsRequestBody(t *testing.T) {
	verifyNoLeaks(t)
	s := startServer(t, Config{})
	c := newClient(t)
	payload := bytes.Repeat([]byte("x"), 1<<20)
	for range 3 {
		resp, err := c.Post(s.URL()+"/upload", "application/octet-stream", bytes.NewReader(payload))
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != 200 || string(body) != "hello" {
			t.Fatalf("POST 1 MiB: %d %q %v", resp.StatusCode, body, err)
		}
	}
	if st := s.Stats(); st.Total != 3 {
		t.Errorf("Stats().Total = %d, want 3", st.Total)
	}
}

func TestServerReset(t *testing.T) {
	verifyNoLeaks(t)
	// With weights 1:1 the cycle starts with 500, so a restarted cycle shows.
	s := startServer(t, Config{Status: mustMix(t, "500:1,200:1")})
	c := newClient(t)
	var codes []int
	for range 7 {
		codes = append(codes, get(t, c, s.URL()+"/").code)
	}
	if want := []int{500, 200, 500, 200, 500, 200, 500}; !equalInts(codes, want) {
		t.Fatalf("codes %v, want %v", codes, want)
	}

	// Wrong methods are refused and change nothing.
	if r := get(t, c, s.URL()+ResetPath); r.code != http.StatusMethodNotAllowed || r.header.Get("Allow") != "POST" {
		t.Errorf("GET %s = %d Allow %q, want 405 Allow POST", ResetPath, r.code, r.header.Get("Allow"))
	}
	if r := do(c, http.MethodPost, s.URL()+StatsPath, ""); r.err != nil || r.code != http.StatusMethodNotAllowed {
		t.Errorf("POST %s = %d %v, want 405", StatsPath, r.code, r.err)
	}
	if st := s.Stats(); st.Total != 7 {
		t.Fatalf("Stats().Total = %d before reset, want 7", st.Total)
	}

	r := do(c, http.MethodPost, s.URL()+ResetPath, "")
	if r.err != nil || r.code != http.StatusNoContent {
		t.Fatalf("POST %s = %d %v, want 204", ResetPath, r.code, r.err)
	}
	st := s.Stats()
	if st.Total != 0 || len(st.Codes) != 0 || len(st.Arrivals) != 0 || st.ArrivalsOverflow != 0 {
		t.Errorf("Stats() after reset = %+v, want all zero", st)
	}
	js := get(t, c, s.URL()+StatsPath).body
	for _, want := range []string{`"total":0`, `"codes":{}`, `"arrivals":[]`, `"arrival_bucket_ms":100`} {
		if !strings.Contains(js, want) {
			t.Errorf("GET %s after reset = %s, want it to contain %s", StatsPath, js, want)
		}
	}
	// The mix restarts from the beginning of its cycle.
	if code := get(t, c, s.URL()+"/").code; code != 500 {
		t.Errorf("first code after reset %d, want 500", code)
	}
	if st := s.Stats(); st.Total != 1 || st.Codes["500"] != 1 {
		t.Errorf("Stats() = %+v, want one 500", st)
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestServerStall checks that requests arriving in the stall window wait for
// its end while the others do not, and that Reset re-arms the stall measured
// from the first request after it.
func TestServerStall(t *testing.T) {
	verifyNoLeaks(t)
	const (
		at    = 200 * time.Millisecond
		dur   = 500 * time.Millisecond
		quick = 150 * time.Millisecond // far below any held time
		slack = time.Second            // generous bound on late releases
	)
	s := startServer(t, Config{Stall: Stall{At: at, For: dur}})
	c := newClient(t)

	t0 := time.Now()
	if r := get(t, c, s.URL()+"/first"); r.took > quick {
		t.Errorf("first request took %v, want < %v (before the window)", r.took, quick)
	}
	// Arrive in the middle of [t0+200ms, t0+700ms).
	time.Sleep(time.Until(t0.Add(300 * time.Millisecond)))
	held := make([]result, 3)
	var wg sync.WaitGroup
	for i := range held {
		wg.Go(func() { held[i] = do(c, http.MethodGet, s.URL()+"/held", "") })
	}
	wg.Wait()
	for i, r := range held {
		if r.err != nil || r.code != 200 {
			t.Fatalf("held request %d: %d %v", i, r.code, r.err)
		}
		// The server's window started no earlier than t0, so it ends no
		// earlier than t0+700ms.
		if end := r.done.Sub(t0); end < at+dur || end > at+dur+slack {
			t.Errorf("held request %d answered %v after the first, want in [%v, %v]", i, end, at+dur, at+dur+slack)
		}
	}
	time.Sleep(time.Until(t0.Add(800 * time.Millisecond)))
	if r := get(t, c, s.URL()+"/after"); r.took > quick {
		t.Errorf("request after the window took %v, want < %v", r.took, quick)
	}
	st := s.Stats()
	if st.Total != 5 || sum(st.Arrivals) != 5 || len(st.Arrivals) < 8 || st.Arrivals[0] != 1 {
		t.Errorf("Stats() = %+v, want 5 responses and arrivals 1 at 0 ms, 3 near 300 ms, 1 near 800 ms", st)
	}

	// After Reset the window counts from the next request, not from Reset:
	// a request 300 ms after Reset is the first and is not held.
	s.Reset()
	time.Sleep(300 * time.Millisecond)
	t1 := time.Now()
	if r := get(t, c, s.URL()+"/first"); r.took > quick {
		t.Errorf("first request after reset took %v, want < %v", r.took, quick)
	}
	time.Sleep(time.Until(t1.Add(300 * time.Millisecond)))
	r := get(t, c, s.URL()+"/held")
	if end := r.done.Sub(t1); end < at+dur || end > at+dur+slack {
		t.Errorf("held request after reset answered %v after the first, want in [%v, %v]", end, at+dur, at+dur+slack)
	}
	if st := s.Stats(); st.Total != 2 {
		t.Errorf("Stats().Total after reset = %d, want 2", st.Total)
	}
}

// TestServerCloseReleases checks that Close returns promptly while requests
// are held by a stall or a long latency, that their clients get no response,
// and that nothing leaks.
func TestServerCloseReleases(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
	}{
		{"stall", Config{Stall: Stall{At: 0, For: time.Hour}}},
		{"latency", Config{Latency: mustLatency(t, "1h")}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			verifyNoLeaks(t)
			s := startServer(t, tc.cfg)
			c := newClient(t)
			const n = 3
			results := make(chan result, n)
			for range n {
				go func() { results <- do(c, http.MethodGet, s.URL()+"/", "") }()
			}
			deadline := time.Now().Add(5 * time.Second)
			for sum(s.Stats().Arrivals) < n {
				if time.Now().After(deadline) {
					t.Fatalf("only %d of %d requests arrived", sum(s.Stats().Arrivals), n)
				}
				time.Sleep(5 * time.Millisecond)
			}
			start := time.Now()
			if err := s.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
			if took := time.Since(start); took > 2*time.Second {
				t.Errorf("Close took %v with held requests, want < 2s", took)
			}
			for range n {
				select {
				case r := <-results:
					if r.err == nil {
						t.Errorf("held request got %d %q after Close, want a transport error", r.code, r.body)
					}
				case <-time.After(5 * time.Second):
					t.Fatal("held request still blocked 5s after Close")
				}
			}
			if st := s.Stats(); st.Total != 0 {
				t.Errorf("Stats().Total = %d, want 0: no held request was answered", st.Total)
			}
			if err := s.Close(); err != nil {
				t.Errorf("second Close: %v", err)
			}
		})
	}
}

func TestServerLatency(t *testing.T) {
	verifyNoLeaks(t)
	const lat = 50 * time.Millisecond
	s := startServer(t, Config{Latency: mustLatency(t, "50ms")})
	c := newClient(t)
	for range 3 {
		if r := get(t, c, s.URL()+"/"); r.took < lat || r.took > lat+time.Second {
			t.Errorf("request took %v, want in [%v, %v]", r.took, lat, lat+time.Second)
		}
	}
	// Latency is per request, not serialized: 20 concurrent requests finish
	// in about one latency, far from 20.
	start := time.Now()
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			if r := do(c, http.MethodGet, s.URL()+"/", ""); r.err != nil || r.code != 200 {
				t.Errorf("concurrent request: %d %v", r.code, r.err)
			}
		})
	}
	wg.Wait()
	if took := time.Since(start); took < lat || took > 10*lat {
		t.Errorf("20 concurrent requests took %v, want in [%v, %v]", took, lat, 10*lat)
	}
	// Control endpoints are never delayed.
	if r := get(t, c, s.URL()+StatsPath); r.took >= lat {
		t.Errorf("GET %s took %v, want < %v", StatsPath, r.took, lat)
	}
}

func TestServerLastHost(t *testing.T) {
	verifyNoLeaks(t)
	s := startServer(t, Config{})
	c := newClient(t)
	if h := s.LastHost(); h != "" {
		t.Errorf("LastHost() before any request = %q, want empty", h)
	}
	if r := do(c, http.MethodGet, s.URL()+"/", "api.example.test:8443"); r.err != nil || r.code != 200 {
		t.Fatalf("GET with Host override: %d %v", r.code, r.err)
	}
	if h := s.LastHost(); h != "api.example.test:8443" {
		t.Errorf("LastHost() = %q, want api.example.test:8443", h)
	}
	get(t, c, s.URL()+StatsPath)
	if h := s.LastHost(); h != "api.example.test:8443" {
		t.Errorf("LastHost() after a control request = %q, want it unchanged", h)
	}
	get(t, c, s.URL()+"/")
	if h, want := s.LastHost(), strings.TrimPrefix(s.URL(), "http://"); h != want {
		t.Errorf("LastHost() = %q, want %q", h, want)
	}
}

func TestStartErrors(t *testing.T) {
	verifyNoLeaks(t)
	busy := startServer(t, Config{})
	if _, err := Start(Config{Addr: busy.Addr()}); err == nil || !strings.Contains(err.Error(), `listen on "`+busy.Addr()+`"`) {
		t.Errorf("Start on a busy address: error %v, want it to name %s", err, busy.Addr())
	}
	if _, err := Start(Config{Addr: "127.0.0.1:0", BodySize: MaxBodySize + 1}); err == nil ||
		!strings.Contains(err.Error(), "body size 67108865: exceeds 67108864") {
		t.Errorf("Start with a huge body: error %v", err)
	}
	if _, err := Start(Config{Addr: "127.0.0.1:0", Stall: Stall{At: -time.Second, For: time.Second}}); err == nil ||
		!strings.Contains(err.Error(), "must not be negative") {
		t.Errorf("Start with a negative stall: error %v", err)
	}
}

func TestServerURL(t *testing.T) {
	verifyNoLeaks(t)
	s := startServer(t, Config{})
	if want := "http://" + s.Addr(); s.URL() != want {
		t.Errorf("URL() = %q, want %q", s.URL(), want)
	}
	tests := []struct {
		addr net.Addr
		want string
	}{
		{&net.TCPAddr{IP: net.IPv4zero, Port: 8080}, "127.0.0.1:8080"},
		{&net.TCPAddr{IP: net.IPv6unspecified, Port: 8080}, "127.0.0.1:8080"},
		{&net.TCPAddr{IP: net.IPv6loopback, Port: 8080}, "[::1]:8080"},
		{&net.TCPAddr{IP: net.IPv4(127, 0, 0, 2), Port: 1}, "127.0.0.2:1"},
	}
	for _, tc := range tests {
		if got := dialAddr(tc.addr); got != tc.want {
			t.Errorf("dialAddr(%v) = %q, want %q", tc.addr, got, tc.want)
		}
	}
}

func TestArrivalBuckets(t *testing.T) {
	ep := newEpoch()
	ms := int64(time.Millisecond)
	for _, off := range []int64{0, 50 * ms, 99 * ms, 100 * ms, 950 * ms} {
		ep.arrive(off)
	}
	st := ep.stats()
	want := []int64{3, 1, 0, 0, 0, 0, 0, 0, 0, 1}
	if len(st.Arrivals) != len(want) {
		t.Fatalf("Arrivals = %v, want %v", st.Arrivals, want)
	}
	for i := range want {
		if st.Arrivals[i] != want[i] {
			t.Fatalf("Arrivals = %v, want %v", st.Arrivals, want)
		}
	}
	// Ten minutes of buckets at most; later arrivals overflow.
	ep.arrive(int64(10*time.Minute) - 1)
	ep.arrive(int64(10 * time.Minute))
	ep.arrive(int64(time.Hour))
	st = ep.stats()
	if len(st.Arrivals) != MaxArrivalBuckets || st.Arrivals[MaxArrivalBuckets-1] != 1 || st.ArrivalsOverflow != 2 {
		t.Errorf("after late arrivals: %d buckets, last %d, overflow %d; want %d, 1, 2",
			len(st.Arrivals), st.Arrivals[len(st.Arrivals)-1], st.ArrivalsOverflow, MaxArrivalBuckets)
	}
	js, err := json.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(js), `"arrivals_overflow":2`) {
		t.Errorf("JSON %s lacks arrivals_overflow", js[len(js)-60:])
	}
}
