package protocols

import (
	"context"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"volley/bench"
	"volley/bench/benchtest"
	"volley/load"
	"volley/load/request"
)

// h1AndH2C serves HTTP/1.1 and cleartext HTTP/2.
func h1AndH2C() *http.Protocols {
	p := new(http.Protocols)
	p.SetHTTP1(true)
	p.SetUnencryptedHTTP2(true)
	return p
}

// pathCounter is a target server that counts requests per method and path
// and answers with the status in a "/status/NNN" path, else 200. It
// speaks HTTP/1.1 and h2c.
type pathCounter struct {
	mu     sync.Mutex
	counts map[string]int64
	srv    *httptest.Server
}

func startPathCounter(t *testing.T) *pathCounter {
	t.Helper()
	pc := &pathCounter{counts: map[string]int64{}}
	pc.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		pc.mu.Lock()
		pc.counts[r.Method+" "+r.URL.Path]++
		pc.mu.Unlock()
		code := 200
		if s, ok := strings.CutPrefix(r.URL.Path, "/status/"); ok {
			code, _ = strconv.Atoi(s)
		}
		w.WriteHeader(code)
		_, _ = w.Write([]byte("body of " + r.URL.Path))
	}))
	pc.srv.Config.Protocols = h1AndH2C()
	pc.srv.Start()
	t.Cleanup(pc.srv.Close)
	return pc
}

func (pc *pathCounter) count(key string) int64 {
	pc.mu.Lock()
	defer pc.mu.Unlock()
	return pc.counts[key]
}

// TestTargetsWeightsAndBreakdown: over a run whose length is a multiple of
// the weights' period, each target gets exactly its share, and the
// per-target tallies match the server's own counts.
func TestTargetsWeightsAndBreakdown(t *testing.T) {
	pc := startPathCounter(t)
	u := pc.srv.URL
	targets := []request.Target{
		{Name: "home", Request: request.Request{Method: "GET", URL: u + "/home"}, Weight: 5},
		{Name: "login", Request: request.Request{Method: "POST", URL: u + "/login", Body: []byte("u=1")}, Weight: 3},
		{Name: "missing", Request: request.Request{Method: "GET", URL: u + "/status/404"}, Weight: 1},
		{Name: "missing", Request: request.Request{Method: "GET", URL: u + "/status/503"}, Weight: 1},
	}
	res := runWith(t, context.Background(), load.Config{Spec: request.Spec{Targets: targets},
		Connections: 4, Rate: 2000, Requests: 1000,
		Timeout: 5 * time.Second, MaxBody: 1 << 20,
	})
	if res.Requests.Total != 1000 {
		t.Fatalf("sent %d, want 1000 (errors %v)", res.Requests.Total, res.ErrorSamples)
	}
	want := map[string]int64{"GET /home": 500, "POST /login": 300, "GET /status/404": 100, "GET /status/503": 100}
	for k, n := range want {
		if got := pc.count(k); got != n {
			t.Errorf("server counted %d × %s, want %d", got, k, n)
		}
	}
	if len(res.Targets) != 3 {
		t.Fatalf("breakdown has %d targets, want 3 (same name shares a tally): %v", len(res.Targets), res.Targets)
	}
	check := func(name string, total int64, codes map[string]int64, errs int64) {
		t.Helper()
		tr := res.Targets[name]
		if tr == nil {
			t.Fatalf("no breakdown for %q", name)
		}
		if tr.Requests.Total != total || tr.Requests.Completed != total || tr.Requests.Errors != errs || !reflect.DeepEqual(tr.Codes, codes) {
			t.Errorf("%s: total %d completed %d errors %d codes %v; want %d, %d, %d, %v",
				name, tr.Requests.Total, tr.Requests.Completed, tr.Requests.Errors, tr.Codes, total, total, errs, codes)
		}
		if tr.Latency.Corrected.Count != total || tr.Latency.Service.Count != total {
			t.Errorf("%s: latency counts %d/%d, want %d", name, tr.Latency.Corrected.Count, tr.Latency.Service.Count, total)
		}
	}
	check("home", pc.count("GET /home"), map[string]int64{"200": 500}, 0)
	check("login", pc.count("POST /login"), map[string]int64{"200": 300}, 0)
	check("missing", pc.count("GET /status/404")+pc.count("GET /status/503"), map[string]int64{"404": 100, "503": 100}, 200)
	if res.Targets["missing"].Weight != 2 || res.Targets["home"].Method != "GET" {
		t.Errorf("breakdown descriptions: %+v", res.Targets["missing"])
	}
}

// TestChecksAgainstServerCounts: --expect-status failures equal the
// server's count of other statuses; --expect-body runs on every response.
func TestChecksAgainstServerCounts(t *testing.T) {
	mix, err := bench.ParseStatusMix("200:90,500:7,204:3")
	if err != nil {
		t.Fatal(err)
	}
	srv := benchtest.Start(t, bench.Config{Status: mix})
	st, _ := request.ParseExpectStatus("2xx")
	res := runWith(t, context.Background(), load.Config{Spec: request.Spec{Request: request.Request{Method: "GET", URL: srv.URL() + "/c"}, Expect: request.Expect{Status: st, Body: []byte("hello")}},
		Connections: 4, Requests: 1000,
		Timeout: 5 * time.Second, MaxBody: 1 << 20,
	})
	codes := srv.Stats().Codes
	if res.Requests.Total != 1000 || codes["500"] != 70 || codes["204"] != 30 {
		t.Fatalf("total %d, server codes %v", res.Requests.Total, codes)
	}
	c := res.Checks
	if c == nil {
		t.Fatal("no checks in the result")
	}
	// 500s fail the status check (and carry "hello", so pass the body
	// check); 204s pass the status check but have no body.
	if c.Status != codes["500"] || c.Body != codes["204"] || c.Failed != codes["500"]+codes["204"] || res.Requests.CheckFailed != c.Failed {
		t.Errorf("checks %+v, check_failed %d; want status %d, body %d, failed %d", *c, res.Requests.CheckFailed, codes["500"], codes["204"], codes["500"]+codes["204"])
	}
	if c.Rate != 0.1 || res.CheckRate() != 0.1 {
		t.Errorf("check rate %v / %v, want 0.1", c.Rate, res.CheckRate())
	}

	// A regular expression, and a body check alone.
	srv.Reset()
	_, re, err := request.ParseExpectBody("/^h.l+o$/")
	if err != nil {
		t.Fatal(err)
	}
	res = runWith(t, context.Background(), load.Config{Spec: request.Spec{Request: request.Request{Method: "GET", URL: srv.URL() + "/c"}, Expect: request.Expect{BodyRegexp: re}},
		Connections: 2, Requests: 100,
		Timeout: 5 * time.Second, MaxBody: 1 << 20,
	})
	if res.Checks.Body != srv.Stats().Codes["204"] || res.Checks.Status != 0 {
		t.Errorf("regexp check: %+v, want body failures = the server's 204s (%d)", *res.Checks, srv.Stats().Codes["204"])
	}
}

// TestValidateMethodsAndHeaderBound: a method given directly (-X) must be
// an RFC 9110 token too, and the header bound is 4 KiB to 16 MiB (0 for
// the default); the errors name the value at fault.
func TestValidateMethodsAndHeaderBound(t *testing.T) {
	for _, tc := range []struct {
		method    string
		maxHeader int
		want      string // "" for valid
	}{
		{"GET", 0, ""},
		{"M-SEARCH", 64 << 10, ""},
		{"!#$%&'*+-.^_`|~09azAZ", 4 << 10, ""},
		{"GET", 16 << 20, ""},
		{"GÉT", 0, `method "GÉT": want a token`},
		{"\ufeffGET", 0, `method "\ufeffGET": want a token`},
		{"GE T", 0, `method "GE T": want a token`},
		{"GET/", 0, `method "GET/": want a token`},
		{"", 0, `method ""`},
		{"GET", 4095, "max header 4095: want 4 KiB to 16 MiB"},
		{"GET", 16<<20 + 1, "max header 16777217: want 4 KiB to 16 MiB"},
	} {
		cfg := load.Config{Spec: request.Spec{Request: request.Request{Method: tc.method, URL: "http://127.0.0.1:1/"}}, Connections: 1, Requests: 1,
			Timeout: time.Second, MaxHeader: tc.maxHeader}
		err := cfg.Validate()
		if tc.want == "" {
			if err != nil {
				t.Errorf("method %q, max header %d: %v", tc.method, tc.maxHeader, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("method %q, max header %d: %v, want an error containing %q", tc.method, tc.maxHeader, err, tc.want)
		}
		if _, err := NewClient(cfg); err == nil {
			t.Errorf("method %q, max header %d: the client accepts what Validate refuses", tc.method, tc.maxHeader)
		}
	}
}
