package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"volley/bench"
	"volley/bench/benchtest"
	"volley/stats"
)

func runCLIStdin(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), args, strings.NewReader(stdin), &out, &errb)
	return code, out.String(), errb.String()
}

// TestRunTargetsFromStdin: a targets file on stdin, with a template, a
// weight and checks, end to end through the command; the JSON result's
// per-target counts equal the server's.
func TestRunTargetsFromStdin(t *testing.T) {
	mix, _ := bench.ParseStatusMix("200:4,503:1")
	srv := benchtest.Start(t, bench.Config{Status: mix})
	dir := t.TempDir()
	out := filepath.Join(dir, "r.json")
	targets := `{"name":"a","url":"` + srv.URL() + `/a/{{seq}}","weight":3}` + "\n" +
		`{"name":"b","method":"POST","url":"` + srv.URL() + `/b","body":"x={{rand 1 5}}"}` + "\n"
	code, stdout, stderr := runCLIStdin(t, targets, "run", "--targets", "-", "-n", "400", "-c", "4",
		"--expect-status", "200", "--out", "json="+out)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{"2 targets from (stdin)", "HTTP/1.1", "Checks     80 failed (20.00%)", "Target", "a  ", "b  "} {
		if !strings.Contains(stdout, want) {
			t.Errorf("report lacks %q:\n%s", want, stdout)
		}
	}
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	res, err := stats.ReadResult(f)
	if err != nil {
		t.Fatal(err)
	}
	st := srv.Stats()
	if res.Targets["a"].Requests.Total != 300 || res.Targets["b"].Requests.Total != 100 || st.Total != 400 {
		t.Errorf("targets a %d b %d, server %d; want 300, 100, 400", res.Targets["a"].Requests.Total, res.Targets["b"].Requests.Total, st.Total)
	}
	if res.Requests.CheckFailed != st.Codes["503"] || res.CheckRate() != 0.2 || res.Target.Count != 2 {
		t.Errorf("check_failed %d (rate %v), server 503s %d, target %+v", res.Requests.CheckFailed, res.CheckRate(), st.Codes["503"], res.Target)
	}
}

func TestRunRequestUsageErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.txt")
	if err := os.WriteFile(bad, []byte("GET http://127.0.0.1:1/\nno colon here\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	badMethod := filepath.Join(dir, "method.txt")
	if err := os.WriteFile(badMethod, []byte("GET http://127.0.0.1:1/\n\nG\u00c9T http://127.0.0.1:1/\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	csvPath := filepath.Join(dir, "d.csv")
	if err := os.WriteFile(csvPath, []byte("id\n1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	u := "http://127.0.0.1:1/"
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"run", "--targets", bad}, "--targets: " + bad + ": line 2: header"},
		{[]string{"run", "--targets", filepath.Join(dir, "none")}, "--targets: open"},
		{[]string{"run", "--targets", bad, u}, "give a URL argument or --targets, not both"},
		{[]string{"run", "--targets", bad, "-X", "POST"}, "set them in the targets file"},
		{[]string{"run", "--expect-status", "abc", u}, "--expect-status: \"abc\""},
		{[]string{"run", "--expect-body", "/(/", u}, "--expect-body: regexp"},
		{[]string{"run", "--http2", "--h2c", u}, "--http2 and --h2c"},
		{[]string{"run", "--http2", u}, "--http2"},
		{[]string{"run", "--cacert", filepath.Join(dir, "none.pem"), u}, "--cacert: open"},
		{[]string{"run", "--cert", "x.pem", u}, "--cert and --key"},
		{[]string{"run", "--proxy", "socks5://h:1", u}, "--proxy"},
		{[]string{"run", "--follow-redirects", "-1", u}, "--follow-redirects"},
		{[]string{"run", "--unix-socket", filepath.Join(dir, "nosock"), u}, "--unix-socket"},
		{[]string{"run", "--data", csvPath, u + "{{csv.nope}}"}, `column "nope": not in the data file`},
		{[]string{"run", u + "{{seq"}, "not closed by }}"},
		{[]string{"run", "-H", "X-A: {{bad}}", u}, `--header: header "X-A"`},
		{[]string{"run", "-b", "{{rand 2 1}}", u}, "--body: body: template"},
		{[]string{"run", "--data-order", "sideways", u}, "--data-order"},
		{[]string{"serve", "--cacert-out", "x.pem"}, "--cacert-out: needs --tls"},
		{[]string{"run", "--max-body", "12XB", u}, "want a byte count"},
		{[]string{"run", "--max-body", "3GiB", u}, "at most 2 GiB"},
		{[]string{"run", "-X", "G\u00c9T", u}, `--method: method "GÉT": want a token such as GET or POST`},
		{[]string{"run", "-X", "\ufeffGET", u}, `--method: method "\ufeffGET": want a token`},
		{[]string{"run", "--targets", badMethod}, "--targets: " + badMethod + `: line 3: method "GÉT": want a token`},
		{[]string{"run", "--max-header", "512", u}, "--max-header: 512 bytes: want 4KiB to 16MiB"},
		{[]string{"run", "--max-header", "0", u}, "--max-header: 0 bytes: want 4KiB to 16MiB"},
		{[]string{"run", "--max-header", "17MiB", u}, "--max-header: 17825792 bytes: want 4KiB to 16MiB"},
		{[]string{"run", "--max-header", "64XB", u}, "want a byte count"},
	} {
		code, _, stderr := runCLIStdin(t, "", tc.args...)
		if code != 2 || !strings.Contains(stderr, tc.want) {
			t.Errorf("volley %s: exit %d, stderr %q; want exit 2 and %q", strings.Join(tc.args, " "), code, stderr, tc.want)
		}
	}
}

func TestSizeValue(t *testing.T) {
	for in, want := range map[string]int{"0": 0, "1024": 1024, "64KiB": 64 << 10, "10MB": 10_000_000, "1G": 1 << 30, "2 K": 2048, "5B": 5} {
		var n int
		if err := (sizeValue{&n}).Set(in); err != nil || n != want {
			t.Errorf("size %q = %d, %v; want %d", in, n, err, want)
		}
	}
}

// syncBuffer is a bytes.Buffer safe for one writer and one reader.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestServeTLSAndRunHTTP2: `volley serve --tls --cacert-out` and `volley run
// --http2 --cacert` agree end to end through the command line.
func TestServeTLSAndRunHTTP2(t *testing.T) {
	ca := filepath.Join(t.TempDir(), "ca.pem")
	ctx, cancel := context.WithCancel(context.Background())
	var serveErr syncBuffer
	done := make(chan int)
	go func() {
		done <- run(ctx, []string{"serve", "--addr", "127.0.0.1:0", "--tls", "--cacert-out", ca}, strings.NewReader(""), io.Discard, &serveErr)
	}()
	defer func() {
		cancel()
		if code := <-done; code != 0 {
			t.Errorf("serve exited %d: %s", code, serveErr.String())
		}
	}()
	var url string
	for deadline := time.Now().Add(5 * time.Second); url == "" && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if _, u, ok := strings.Cut(serveErr.String(), "listening on "); ok {
			url = strings.TrimSpace(u)
		}
	}
	if !strings.HasPrefix(url, "https://") {
		t.Fatalf("serve did not report an https URL: %q", serveErr.String())
	}
	code, stdout, stderr := runCLIStdin(t, "", "run", "--http2", "--cacert", ca, "-n", "50", "-c", "2", url+"/x")
	if code != 0 || !strings.Contains(stdout, "HTTP/2.0, 2 connections") || !strings.Contains(stdout, "200×50") {
		t.Errorf("run exit %d, stderr %q, report:\n%s", code, stderr, stdout)
	}
	// Without the CA, every request is a tls error (and the run still exits 0).
	code, stdout, _ = runCLIStdin(t, "", "run", "--http2", "-n", "5", "-c", "1", url+"/x")
	if code != 0 || !regexp.MustCompile(`tls\s+5\s+100.00%`).MatchString(stdout) {
		t.Errorf("run without --cacert: exit %d, report:\n%s", code, stdout)
	}
}

// TestRunURLsAreEscapedAndBOMsStripped: a space in the URL argument or a
// targets file goes on the wire as %20, a targets file may start with a
// byte-order mark, and --max-header takes a size with a unit; the server
// counts every request.
func TestRunURLsAreEscapedAndBOMsStripped(t *testing.T) {
	var mu sync.Mutex
	seen := map[string]int{}
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen[r.Method+" "+r.RequestURI]++
		mu.Unlock()
	}))
	defer hs.Close()
	dir := t.TempDir()
	targets := filepath.Join(dir, "t.txt")
	if err := os.WriteFile(targets, []byte("\ufeffPOST "+hs.URL+"/from file?q=a b\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"run", "-n", "4", "-c", "2", "--max-header", "128KiB", hs.URL + "/a b"},
		{"run", "-n", "3", "-c", "1", "--targets", targets},
	} {
		if code, _, stderr := runCLIStdin(t, "", append(args, "-q")...); code != 0 {
			t.Fatalf("volley %s: exit %d: %s", strings.Join(args, " "), code, stderr)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	want := map[string]int{"GET /a%20b": 4, "POST /from%20file?q=a%20b": 3}
	if !reflect.DeepEqual(seen, want) {
		t.Errorf("server saw %v, want %v", seen, want)
	}
}
