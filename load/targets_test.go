package load

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"volley/bench"
)

func TestParseTargets(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "body.json"), []byte(`{"a":1}`), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		in   string
		want []Target
	}{
		{"plain, one", "GET http://h/a\n",
			[]Target{{Name: "GET http://h/a", Request: Request{Method: "GET", URL: "http://h/a"}, Weight: 1}}},
		{"plain, headers, body, comments, blank lines",
			"# a comment\n\nPOST http://h:8080/x?y=1\nContent-Type: application/json\nX-A:  b c \n@body.json\n\n\nGET http://h/z\nHost: other\n",
			[]Target{
				{Name: "POST http://h:8080/x?y=1", Request: Request{Method: "POST", URL: "http://h:8080/x?y=1",
					Headers: []Header{{"Content-Type", "application/json"}, {"X-A", "b c"}}, Body: []byte(`{"a":1}`)}, Weight: 1},
				{Name: "GET http://h/z", Request: Request{Method: "GET", URL: "http://h/z", Headers: []Header{{"Host", "other"}}}, Weight: 1},
			}},
		{"plain, name and weight directives, no blank line between",
			"# name: login\n# weight: 3\nPOST http://h/login\nGET http://h/home\n# weight: 2\n",
			[]Target{
				{Name: "login", Request: Request{Method: "POST", URL: "http://h/login"}, Weight: 3},
				{Name: "GET http://h/home", Request: Request{Method: "GET", URL: "http://h/home"}, Weight: 2},
			}},
		{"json lines",
			`{"name":"a","method":"PUT","url":"https://h/a","headers":{"X-B":"1","X-A":["2","3"]},"body":"hi","weight":5}` + "\n" +
				"# comment\n\n" + `{"url":"http://h/b","body_file":"body.json"}` + "\n",
			[]Target{
				{Name: "a", Request: Request{Method: "PUT", URL: "https://h/a", Headers: []Header{{"X-B", "1"}, {"X-A", "2"}, {"X-A", "3"}}, Body: []byte("hi")}, Weight: 5},
				{Name: "GET http://h/b", Request: Request{Method: "GET", URL: "http://h/b", Body: []byte(`{"a":1}`)}, Weight: 1},
			}},
		{"templates kept for compiling", "GET http://h/{{seq}}?r={{rand 1 9}}\n",
			[]Target{{Name: "GET http://h/{{seq}}?r={{rand 1 9}}", Request: Request{Method: "GET", URL: "http://h/{{seq}}?r={{rand 1 9}}"}, Weight: 1}}},
		{"plain after a byte-order mark", "\ufeffGET http://h/a\n",
			[]Target{{Name: "GET http://h/a", Request: Request{Method: "GET", URL: "http://h/a"}, Weight: 1}}},
		{"json lines after a byte-order mark", "\ufeff" + `{"method":"PUT","url":"http://h/a"}` + "\n",
			[]Target{{Name: "PUT http://h/a", Request: Request{Method: "PUT", URL: "http://h/a"}, Weight: 1}}},
		{"a space in the URL, kept for escaping on the wire", "GET http://h/a b?c=d e\n",
			[]Target{{Name: "GET http://h/a b?c=d e", Request: Request{Method: "GET", URL: "http://h/a b?c=d e"}, Weight: 1}}},
		{"token methods", "M-SEARCH http://h/\n\nPROPFIND http://h/\n",
			[]Target{
				{Name: "M-SEARCH http://h/", Request: Request{Method: "M-SEARCH", URL: "http://h/"}, Weight: 1},
				{Name: "PROPFIND http://h/", Request: Request{Method: "PROPFIND", URL: "http://h/"}, Weight: 1},
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseTargets(strings.NewReader(tc.in), dir)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got  %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func TestParseTargetsErrors(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", "no targets"},
		{"# only a comment\n", "no targets"},
		{"GET\n", "line 1: \"GET\": want METHOD URL"},
		{"GET ftp://h/\n", "line 1: url"},
		{"GET http://h/\nBad Header: x\n", "line 2: header"},
		{"GET http://h/\nnocolon\n", "line 2: header"},
		{"GET http://h/\n@missing.bin\n", "line 2: body file"},
		{"GET http://h/\n# weight: 0\n", "line 2: # weight"},
		{"# name: x\n", "belongs to no target"},
		{`{"url":"http://h/","weight":0}`, "line 1: weight 0"},
		{`{"url":"http://h/","bogus":1}`, `line 1: json: unknown field "bogus"`},
		{`{"url":"http://h/","headers":{"X":1}}`, "want a string or a list of strings"},
		{`{"url":"http://h/","body":"a","body_file":"b"}`, "give one, not both"},
		{"{\"url\":\"http://h/\"}\n{\"url\":", "line 2"},
		{`{"url":"http://h/","method":"G T"}`, "method"},
		{"G\u00c9T http://h/\n", `line 1: method "GÉT": want a token`},
		{"GET http://h/\n\n\ufeffPOST http://h/\n", `line 3: method "\ufeffPOST": want a token`},
		{`{"url":"http://h/","method":"G\u00e9T"}`, `line 1: method "GéT": want a token`},
		{`{"url":"http://h/","method":"GET\u0000"}`, `line 1: method "GET\x00": want a token`},
		{`{"url":"http://h/","method":"GE(T"}`, `line 1: method "GE(T": want a token`},
	} {
		_, err := ParseTargets(strings.NewReader(tc.in), t.TempDir())
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseTargets(%q) = %v, want an error containing %q", tc.in, err, tc.want)
		}
	}
}

// FuzzParseTargets: parsing never panics, and what it accepts is valid:
// every target has a method, a checkable URL and a weight in range.
func FuzzParseTargets(f *testing.F) {
	f.Add("GET http://h/a\nX: y\n\nPOST http://h/b\n")
	f.Add(`{"name":"a","url":"http://h/","headers":{"A":["1","2"]},"weight":3}`)
	f.Add("# name: n\n# weight: 2\nGET https://h:1/{{seq}}\n")
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, in string) {
		ts, err := ParseTargets(strings.NewReader(in), dir)
		if err != nil {
			return
		}
		for _, tg := range ts {
			if tg.Method == "" || tg.Name == "" || tg.Weight < 1 || tg.Weight > MaxWeight {
				t.Fatalf("accepted an invalid target %+v from %q", tg, in)
			}
			for _, h := range tg.Headers {
				if checkHeader(h) != nil {
					t.Fatalf("accepted an invalid header %+v from %q", h, in)
				}
			}
		}
	})
}

func TestPickerInterleavesExactly(t *testing.T) {
	p, err := newPicker([]int{5, 3, 2}, false, 0)
	if err != nil {
		t.Fatal(err)
	}
	got := ""
	for i := range int64(10) {
		got += strconv.Itoa(p.pick(i))
	}
	// Smooth weighted round robin: each exactly its weight per period,
	// spread out rather than in runs.
	if got != "0120010210" {
		t.Errorf("one period of weights 5,3,2 = %s, want 0120010210", got)
	}
	for i := range int64(10) {
		if p.pick(i+10*1234567) != p.pick(i) {
			t.Fatal("the pick is not periodic in the request index")
		}
	}
	// Weights are reduced by their common divisor.
	q, _ := newPicker([]int{200, 100}, false, 0)
	if len(q.table) != 3 {
		t.Errorf("weights 200,100: table of %d, want 3", len(q.table))
	}
	// Random picks honour the weights in expectation and are reproducible.
	r, _ := newPicker([]int{3, 1}, true, 7)
	r2, _ := newPicker([]int{3, 1}, true, 7)
	n := [2]int{}
	for i := range int64(100000) {
		k := r.pick(i)
		if k != r2.pick(i) {
			t.Fatal("random picks differ for the same seed")
		}
		n[k]++
	}
	if n[0] < 74000 || n[0] > 76000 {
		t.Errorf("random picks with weights 3,1: %v, want about 75000/25000", n)
	}
	if _, err := newPicker([]int{MaxWeight, MaxWeight - 1, MaxWeight - 2, MaxWeight - 3, MaxWeight - 4}, false, 0); err == nil {
		t.Error("a sum of weights beyond the table limit must be refused")
	}
}

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
	targets := []Target{
		{Name: "home", Request: Request{Method: "GET", URL: u + "/home"}, Weight: 5},
		{Name: "login", Request: Request{Method: "POST", URL: u + "/login", Body: []byte("u=1")}, Weight: 3},
		{Name: "missing", Request: Request{Method: "GET", URL: u + "/status/404"}, Weight: 1},
		{Name: "missing", Request: Request{Method: "GET", URL: u + "/status/503"}, Weight: 1},
	}
	res, _ := runWith(t, context.Background(), Config{Spec: Spec{Targets: targets},
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
	srv := startTarget(t, bench.Config{Status: mix})
	st, _ := ParseExpectStatus("2xx")
	res, _ := runWith(t, context.Background(), Config{Spec: Spec{Request: Request{Method: "GET", URL: srv.URL() + "/c"}, Expect: Expect{Status: st, Body: []byte("hello")}},
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
	_, re, err := ParseExpectBody("/^h.l+o$/")
	if err != nil {
		t.Fatal(err)
	}
	res, _ = runWith(t, context.Background(), Config{Spec: Spec{Request: Request{Method: "GET", URL: srv.URL() + "/c"}, Expect: Expect{BodyRegexp: re}},
		Connections: 2, Requests: 100,
		Timeout: 5 * time.Second, MaxBody: 1 << 20,
	})
	if res.Checks.Body != srv.Stats().Codes["204"] || res.Checks.Status != 0 {
		t.Errorf("regexp check: %+v, want body failures = the server's 204s (%d)", *res.Checks, srv.Stats().Codes["204"])
	}
}

func TestParseExpect(t *testing.T) {
	st, err := ParseExpectStatus("200, 3xx,404")
	if err != nil || !st[200] || !st[301] || !st[399] || !st[404] || st[201] || st[400] {
		t.Errorf("ParseExpectStatus: %v", err)
	}
	for _, bad := range []string{"", "99", "600", "6xx", "2x", "ok"} {
		if _, err := ParseExpectStatus(bad); err == nil {
			t.Errorf("ParseExpectStatus(%q): want an error", bad)
		}
	}
	if sub, re, err := ParseExpectBody("/a(b/"); err == nil || sub != nil || re != nil {
		t.Errorf("bad regexp accepted")
	}
	if sub, re, _ := ParseExpectBody("/x"); string(sub) != "/x" || re != nil {
		t.Errorf("\"/x\" is a substring, got %q %v", sub, re)
	}
}

// TestTooManyNamesGiveTotalsOnly: beyond stats.MaxTargets distinct names
// there is no breakdown (and every sample goes to group 0), not an error.
func TestTooManyNamesGiveTotalsOnly(t *testing.T) {
	var ts []Target
	for i := range 300 {
		ts = append(ts, Target{Request: Request{Method: "GET", URL: "http://h/" + strconv.Itoa(i)}, Weight: 1})
	}
	cfg := Config{Spec: Spec{Targets: ts}, Connections: 1, Requests: 1, Timeout: time.Second}
	groups, names, err := Groups(&cfg.Spec)
	if err != nil || groups != nil || names != 300 {
		t.Errorf("Groups = %d groups, %d names, %v; want none, 300, nil", len(groups), names, err)
	}
	for i := range ts {
		ts[i].Name = "all"
	}
	ts[0].Name = "first"
	groups, names, _ = Groups(&cfg.Spec)
	if len(groups) != 2 || names != 2 || groups[1].Weight != 299 {
		t.Errorf("two names over 300 targets: %+v", groups)
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
		cfg := Config{Spec: Spec{Request: Request{Method: tc.method, URL: "http://127.0.0.1:1/"}}, Connections: 1, Requests: 1,
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
