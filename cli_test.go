package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"volley/bench"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current output")

// TestRunUsageErrors checks that every kind of bad input exits 2 before any
// load is sent, with a message on stderr naming the input at fault. The full
// messages are kept in testdata/usage_errors.golden so that a change to them
// is seen in review; regenerate with -update.
func TestRunUsageErrors(t *testing.T) {
	srv := startBench(t, benchOpts{})
	url := srv.URL() + "/"
	cases := []struct {
		name string
		args []string
		want string // fragment stderr must contain
	}{
		{"no-url", []string{"run", "-n", "1"}, "URL argument, got 0"},
		{"two-urls", []string{"run", "-n", "1", url, url}, "URL argument, got 2"},
		{"unsupported-scheme", []string{"run", "-n", "1", "ftp://x"}, `unsupported scheme "ftp"`},
		{"not-a-url", []string{"run", "-n", "1", "not a url"}, `"not a url": missing scheme`},
		{"no-host", []string{"run", "-n", "1", "http:///path"}, "missing host"},
		{"port-out-of-range", []string{"run", "-n", "1", "http://127.0.0.1:99999/"}, `port "99999" out of range`},
		{"negative-rate", []string{"run", "-n", "1", "-r", "-5", url}, "--rate"},
		{"zero-connections", []string{"run", "-n", "1", "-c", "0", url}, "--connections"},
		{"negative-duration", []string{"run", "-n", "1", "-d", "-1s", url}, "--duration"},
		{"negative-requests", []string{"run", "-n", "-3", url}, "--requests"},
		{"zero-timeout", []string{"run", "-n", "1", "-t", "0", url}, "--timeout"},
		{"bad-method", []string{"run", "-n", "1", "-X", "GE T", url}, "--method"},
		{"header-no-colon", []string{"run", "-n", "1", "-H", "NoColon", url}, `--header: header "NoColon"`},
		{"header-bad-name", []string{"run", "-n", "1", "-H", "Bad Name: x", url}, `"Bad Name"`},
		{"body-and-body-file", []string{"run", "-n", "1", "--body", "x", "--body-file", "f", url}, "--body and --body-file"},
		{"body-file-missing", []string{"run", "-n", "1", "--body-file", "/nonexistent", url}, "--body-file: open /nonexistent"},
		{"out-no-path", []string{"run", "-n", "1", "--out", "json", url}, `--out: output "json": want FORMAT=PATH`},
		{"out-unknown-format", []string{"run", "-n", "1", "--out", "xml=a.xml", url}, `unknown format "xml"`},
		{"out-dir-missing", []string{"run", "-n", "1", "--out", "json=/nonexistent-dir/r.json", url}, "directory /nonexistent-dir does not exist"},
		{"unknown-flag", []string{"run", "-n", "1", "--bogus", url}, "--bogus"},
		{"never-stops", []string{"run", "-d", "0", url}, "would never stop"},
		// Huge, tiny and non-numbers.
		{"connections-float", []string{"run", "-n", "1", "-c", "1e12", url}, `"1e12" for "-c, --connections"`},
		{"connections-too-many", []string{"run", "-n", "1", "-c", "1000000", url}, "--connections: connections 1000000"},
		{"rate-huge", []string{"run", "-n", "1", "-r", "1e99", url}, "--rate: rate 1e+99"},
		{"rate-tiny", []string{"run", "-n", "1", "-r", "1e-300", url}, "--rate: rate 1e-300: below one request per day"},
		{"rate-nan", []string{"run", "-n", "1", "-r", "NaN", url}, `"NaN" for "-r, --rate" flag: want a number per second`},
		{"rate-inf", []string{"run", "-n", "1", "-r", "Inf", url}, "--rate: rate +Inf"},
		{"rate-word", []string{"run", "-n", "1", "-r", "fast", url}, `"fast" for "-r, --rate"`},
		{"rate-missing-value", []string{"run", "-n", "1", url, "-r"}, "-r"},
		{"requests-overflow", []string{"run", "-n", "99999999999999999999", url}, `"99999999999999999999" for "-n, --requests"`},
		{"duration-overflow", []string{"run", "-d", "9999999999h", url}, `"9999999999h" for "-d, --duration"`},
		{"duration-no-unit", []string{"run", "-d", "10", url}, `"10" for "-d, --duration"`},
		{"timeout-negative", []string{"run", "-n", "1", "-t", "-1s", url}, "--timeout: timeout -1s"},
		{"timeout-overflow", []string{"run", "-n", "1", "-t", "99999999999h", url}, `"99999999999h" for "-t, --timeout"`},
		{"max-body-negative", []string{"run", "-n", "1", "--max-body", "-1", url}, `"-1" for "--max-body" flag`},
		{"max-body-overflow", []string{"run", "-n", "1", "--max-body", "99999999999999999999", url}, `for "--max-body"`},
		{"empty-method", []string{"run", "-n", "1", "-X", "", url}, `--method: method ""`},
		// Malformed headers; a secret header's value is not echoed.
		{"header-empty-name", []string{"run", "-n", "1", "-H", ": v", url}, "empty name"},
		{"header-value-newline", []string{"run", "-n", "1", "-H", "X-A: 1\nX-B: 2", url}, "--header"},
		{"header-value-crlf", []string{"run", "-n", "1", "-H", "X-A: 1\r\nInjected: 2", url}, "line break"},
		{"header-secret-no-colon", []string{"run", "-n", "1", "-H", "Authorization Bearer s3cret-token", url}, `header "Authorization REDACTED"`},
		// Malformed URLs; userinfo is not echoed.
		{"url-empty", []string{"run", "-n", "1", ""}, `url "": missing scheme`},
		{"url-bad-ipv6", []string{"run", "-n", "1", "http://[::1/"}, `url "http://[::1/": missing ']' in host`},
		{"url-bad-port", []string{"run", "-n", "1", "http://127.0.0.1:abc/"}, `invalid port ":abc"`},
		{"url-port-zero", []string{"run", "-n", "1", "http://127.0.0.1:0/"}, `port "0" out of range`},
		{"url-space-in-host", []string{"run", "-n", "1", "http://exa mple.test/"}, "invalid character"},
		{"url-userinfo-bad-port", []string{"run", "-n", "1", "http://user:s3cret-pw@127.0.0.1:99999/"}, `"http://REDACTED@127.0.0.1:99999/"`},
		{"url-userinfo-no-scheme", []string{"run", "-n", "1", "user:s3cret-pw@127.0.0.1:80/"}, `"REDACTED@127.0.0.1:80/": missing scheme`},
		// Files and outputs.
		{"body-file-is-dir", []string{"run", "-n", "1", "--body-file", os.TempDir(), url}, "--body-file: read " + os.TempDir()},
		{"out-empty-format", []string{"run", "-n", "1", "--out", "=r.json", url}, `--out: output "=r.json"`},
		{"out-same-path-twice", []string{"run", "-n", "1", "--out", "json=" + filepath.Join(os.TempDir(), "same"), "--out", "text=" + filepath.Join(os.TempDir(), ".", "same"), url}, "write the same file"},
		// volley serve.
		{"serve-fault-unknown", []string{"serve", "--addr", "127.0.0.1:0", "--fault", "explode"}, `--fault: fault "explode": unknown kind "explode"`},
		{"serve-fault-rate-range", []string{"serve", "--addr", "127.0.0.1:0", "--fault", "reset:2"}, `--fault: fault "reset:2": rate "2": out of range`},
		{"serve-fault-rate-word", []string{"serve", "--addr", "127.0.0.1:0", "--fault", "reset:often"}, `rate "often"`},
		{"serve-fault-rate-fine", []string{"serve", "--addr", "127.0.0.1:0", "--fault", "slow:0.00001"}, "finer than the resolution"},
		{"serve-fault-twice", []string{"serve", "--addr", "127.0.0.1:0", "--fault", "reset:0.1", "--fault", "reset:0.2"}, "fault reset given more than once"},
		{"serve-fault-over-one", []string{"serve", "--addr", "127.0.0.1:0", "--fault", "reset:0.7", "--fault", "hang:40%"}, "add up to 1.1"},
		{"serve-status-1xx", []string{"serve", "--addr", "127.0.0.1:0", "--status", "103"}, "--status"},
		{"serve-body-size", []string{"serve", "--addr", "127.0.0.1:0", "--body-size", "-1"}, `"-1" for "--body-size" flag`},
		{"serve-latency", []string{"serve", "--addr", "127.0.0.1:0", "--latency", "soon"}, "--latency"},
		{"serve-stall", []string{"serve", "--addr", "127.0.0.1:0", "--stall", "at=1s"}, "--stall"},
	}
	checkName := regexp.MustCompile(`\.volley-check-[0-9]+`)
	var golden strings.Builder
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := runCLI(t, c.args...)
			if r.code != exitUsage {
				t.Errorf("volley %q: exit %d, want %d (usage error)\nstderr: %s", c.args, r.code, exitUsage, r.stderr)
			}
			if !strings.Contains(r.stderr, c.want) {
				t.Errorf("volley %q: stderr %q does not name the input at fault (want %q)", c.args, r.stderr, c.want)
			}
			if !strings.HasPrefix(r.stderr, "volley: ") || strings.Count(r.stderr, "\n") != 1 {
				t.Errorf("volley %q: stderr %q, want one line starting with \"volley: \"", c.args, r.stderr)
			}
			if r.stdout != "" {
				t.Errorf("volley %q: stdout %q, want nothing (diagnostics belong on stderr)", c.args, r.stdout)
			}
			// Bad input is reported before the run: no request reaches the target.
			if n := srv.Stats().Total; n != 0 {
				t.Fatalf("volley %q: the target has seen %d requests, want 0: bad input must be rejected before any load is sent", c.args, n)
			}
			msg := strings.ReplaceAll(strings.TrimSuffix(r.stderr, "\n"), srv.URL(), "URL")
			msg = strings.ReplaceAll(msg, "\n", `\n`)
			msg = checkName.ReplaceAllString(msg, ".volley-check-*")
			msg = strings.ReplaceAll(msg, os.TempDir(), "TMPDIR")
			if strings.Contains(msg, "s3cret") {
				t.Errorf("volley %q: stderr %q shows a secret", c.args, r.stderr)
			}
			fmt.Fprintf(&golden, "%s\t%d\t%s\n", c.name, r.code, msg)
		})
	}
	if n := strings.Count(golden.String(), "\n"); n != len(cases) {
		t.Logf("ran %d of %d cases: golden file not compared", n, len(cases))
		return
	}
	checkGolden(t, filepath.Join("testdata", "usage_errors.golden"), golden.String())
}

// TestRunURLWithoutScheme checks the most common slip, a host:port typed
// without http://: the message must say the scheme is missing rather than
// blame a "scheme" that is really the host name, or the URL syntax.
func TestRunURLWithoutScheme(t *testing.T) {
	for _, url := range []string{"localhost:8080", "127.0.0.1:8080/", "example.test:80/x"} {
		r := runCLI(t, "run", "-n", "1", url)
		if r.code != exitUsage {
			t.Errorf("volley run %s: exit %d, want %d", url, r.code, exitUsage)
		}
		if !strings.Contains(r.stderr, "missing scheme") || !strings.Contains(r.stderr, url) {
			t.Errorf("volley run %s: stderr %q, want it to name the URL and say the scheme (http://) is missing", url, r.stderr)
		}
	}
}

// TestUsageErrorsOfCommands checks that a mistyped command or a stray
// argument is a usage error (exit 2), like every other bad input.
func TestUsageErrorsOfCommands(t *testing.T) {
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"bogus"}, `unknown command "bogus"`},
		{[]string{"demo", "extra"}, `"extra"`},
	}
	for _, c := range cases {
		r := runCLI(t, c.args...)
		if r.code != exitUsage {
			t.Errorf("volley %q: exit %d, want %d (usage error); stderr: %s", c.args, r.code, exitUsage, r.stderr)
		}
		if !strings.Contains(r.stderr, c.want) {
			t.Errorf("volley %q: stderr %q, want it to contain %q", c.args, r.stderr, c.want)
		}
	}
}

// TestRunOutIsDirectory checks that an --out path naming an existing
// directory is rejected before the run, like a path in a missing directory,
// rather than after the load has been sent.
func TestRunOutIsDirectory(t *testing.T) {
	srv := startBench(t, benchOpts{})
	dir := t.TempDir()
	r := runCLI(t, "run", "-n", "5", "-q", "--out", "json="+dir, srv.URL()+"/")
	if r.code != exitUsage {
		t.Errorf("exit %d, want %d (usage error); stderr: %s", r.code, exitUsage, r.stderr)
	}
	if !strings.Contains(r.stderr, "--out") || !strings.Contains(r.stderr, dir) {
		t.Errorf("stderr %q does not name --out and the path", r.stderr)
	}
	if n := srv.Stats().Total; n != 0 {
		t.Errorf("the target has seen %d requests, want 0: a bad output path must be reported before any load is sent", n)
	}
	if left := leftoverTemps(t, filepath.Dir(dir)); len(left) > 0 {
		t.Errorf("temporary files left behind: %v", left)
	}
}

// checkGolden compares got with the golden file, or rewrites it with -update.
func checkGolden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -run %s -update to create it)", err, t.Name())
	}
	if got == string(want) {
		return
	}
	gl, wl := strings.Split(got, "\n"), strings.Split(string(want), "\n")
	for i := 0; i < max(len(gl), len(wl)); i++ {
		var g, w string
		if i < len(gl) {
			g = gl[i]
		}
		if i < len(wl) {
			w = wl[i]
		}
		if g != w {
			t.Errorf("%s:%d:\n got: %s\nwant: %s", path, i+1, g, w)
		}
	}
	t.Errorf("output differs from %s; if the new messages are better, run go test -run %s -update", path, t.Name())
}

// TestRunExactCounts checks that volley's per-code tallies equal the target's
// own counts exactly, and that a 301 is counted as 3xx rather than followed.
func TestRunExactCounts(t *testing.T) {
	srv := startBench(t, benchOpts{status: "200:7,301:1,404:1,500:1"})
	out := filepath.Join(t.TempDir(), "r.json")
	r := runCLI(t, "run", "-n", "1000", "-c", "10", "--out", "json="+out, "-q", srv.URL()+"/")
	if r.code != exitOK {
		t.Fatalf("exit %d, want 0; stderr: %s", r.code, r.stderr)
	}
	if r.stdout != "" {
		t.Errorf("stdout with -q = %q, want empty", r.stdout)
	}
	res := readResult(t, out)
	st := srv.Stats()
	if res.Requests.Total != 1000 || st.Total != 1000 {
		t.Errorf("requests: volley %d, server %d, want both 1000", res.Requests.Total, st.Total)
	}
	if len(res.Codes) != len(st.Codes) {
		t.Errorf("codes: volley %v, server %v", res.Codes, st.Codes)
	}
	for code, n := range st.Codes {
		if res.Codes[code] != n {
			t.Errorf("code %s: volley counted %d, server answered %d", code, res.Codes[code], n)
		}
	}
	want := map[string]int64{"1xx": 0, "2xx": 700, "3xx": 100, "4xx": 100, "5xx": 100, "error": 0}
	for class, n := range want {
		if res.Status[class] != n {
			t.Errorf("status[%s] = %d, want %d (all: %v)", class, res.Status[class], n, res.Status)
		}
	}
	if res.Requests.Errors != 200 {
		t.Errorf("requests.errors = %d, want 200 (the 404s and 500s)", res.Requests.Errors)
	}
	for kind, n := range res.Errors {
		if n != 0 {
			t.Errorf("transport errors[%s] = %d, want 0", kind, n)
		}
	}
}

// TestRunFixedRate checks that an open-loop run sends rate × duration
// requests and reports the achieved rate.
func TestRunFixedRate(t *testing.T) {
	srv := startBench(t, benchOpts{})
	out := filepath.Join(t.TempDir(), "r.json")
	r := runCLI(t, "run", "-r", "200", "-d", "2s", "-c", "10", "--out", "json="+out, "-q", srv.URL()+"/")
	if r.code != exitOK {
		t.Fatalf("exit %d, want 0; stderr: %s", r.code, r.stderr)
	}
	st := srv.Stats()
	if st.Total < 400 || st.Total > 401 {
		t.Errorf("server counted %d requests, want 400 (200 req/s × 2 s)", st.Total)
	}
	res := readResult(t, out)
	if res.Requests.Total != st.Total {
		t.Errorf("volley counted %d requests, server %d", res.Requests.Total, st.Total)
	}
	if res.Mode != "open" || res.Rate.Target != 200 {
		t.Errorf("mode %q target %v, want open at 200", res.Mode, res.Rate.Target)
	}
	if a := res.Rate.Achieved; a < 198 || a > 202 {
		t.Errorf("rate.achieved = %.2f, want within 1%% of 200", a)
	}
}

// TestRunClosedLoop checks that a closed-loop run warns about coordinated
// omission and points at --rate.
func TestRunClosedLoop(t *testing.T) {
	srv := startBench(t, benchOpts{})
	out := filepath.Join(t.TempDir(), "r.json")
	r := runCLI(t, "run", "-d", "1s", "-c", "4", "--out", "json="+out, srv.URL()+"/")
	if r.code != exitOK {
		t.Fatalf("exit %d, want 0; stderr: %s", r.code, r.stderr)
	}
	for _, want := range []string{"closed loop", "coordinated", "--rate"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("report lacks %q:\n%s", want, r.stdout)
		}
	}
	res := readResult(t, out)
	if res.Mode != "closed" {
		t.Errorf("mode %q, want closed", res.Mode)
	}
	if st := srv.Stats(); res.Requests.Total == 0 || res.Requests.Total != st.Total {
		t.Errorf("volley counted %d requests, server %d; want equal and > 0", res.Requests.Total, st.Total)
	}
}

// TestRunRequestsOnly checks that -n alone is not cut short by the default
// duration.
func TestRunRequestsOnly(t *testing.T) {
	srv := startBench(t, benchOpts{})
	out := filepath.Join(t.TempDir(), "r.json")
	r := runCLI(t, "run", "-n", "50", "-q", "--out", "json="+out, srv.URL()+"/")
	if r.code != exitOK {
		t.Fatalf("exit %d, want 0; stderr: %s", r.code, r.stderr)
	}
	res := readResult(t, out)
	if st := srv.Stats(); st.Total != 50 || res.Requests.Total != 50 || res.Status["2xx"] != 50 {
		t.Errorf("server %d, volley %d (2xx %d), want exactly 50", st.Total, res.Requests.Total, res.Status["2xx"])
	}
}

// TestRunMaxBody checks that a response body larger than --max-body is
// counted as a body_too_large error, and one of exactly that size is not.
func TestRunMaxBody(t *testing.T) {
	srv := startBench(t, benchOpts{}) // bodies are "hello", 5 bytes
	dir := t.TempDir()
	for _, c := range []struct {
		maxBody      string
		ok, tooLarge int64
	}{{"4", 0, 4}, {"5", 4, 0}} {
		out := filepath.Join(dir, "r"+c.maxBody+".json")
		r := runCLI(t, "run", "-n", "4", "-c", "1", "-q", "--max-body", c.maxBody, "--out", "json="+out, srv.URL()+"/")
		if r.code != exitOK {
			t.Fatalf("--max-body %s: exit %d, want 0; stderr: %s", c.maxBody, r.code, r.stderr)
		}
		res := readResult(t, out)
		if res.Status["2xx"] != c.ok || res.Errors["body_too_large"] != c.tooLarge {
			t.Errorf("--max-body %s with 5-byte bodies: 2xx %d, body_too_large %d; want %d and %d",
				c.maxBody, res.Status["2xx"], res.Errors["body_too_large"], c.ok, c.tooLarge)
		}
	}
}

// TestRunTextOut checks that --out text=PATH holds the report printed on
// stdout.
func TestRunTextOut(t *testing.T) {
	srv := startBench(t, benchOpts{})
	out := filepath.Join(t.TempDir(), "report.txt")
	r := runCLI(t, "run", "-n", "20", "-c", "2", "--out", "text="+out, srv.URL()+"/")
	if r.code != exitOK {
		t.Fatalf("exit %d, want 0; stderr: %s", r.code, r.stderr)
	}
	got, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != r.stdout || !strings.Contains(r.stdout, "Requests   20 in") {
		t.Errorf("text output differs from the report on stdout\nfile:\n%s\nstdout:\n%s", got, r.stdout)
	}
}

// closedPort returns a loopback port nothing listens on.
func closedPort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	if err := ln.Close(); err != nil {
		t.Fatal(err)
	}
	return port
}

// TestRunRefused checks that a target that refuses connections is reported
// as data (exit 0) with every request counted as refused.
func TestRunRefused(t *testing.T) {
	url := fmt.Sprintf("http://127.0.0.1:%d/", closedPort(t))
	out := filepath.Join(t.TempDir(), "r.json")
	r := runCLI(t, "run", "-n", "20", "-c", "2", "--out", "json="+out, url)
	if r.code != exitOK {
		t.Fatalf("exit %d, want 0 (transport errors are results, not failures); stderr: %s", r.code, r.stderr)
	}
	res := readResult(t, out)
	if res.Requests.Total != 20 || res.Errors["refused"] != res.Requests.Total {
		t.Errorf("requests.total %d, errors.refused %d (errors %v), want both 20", res.Requests.Total, res.Errors["refused"], res.Errors)
	}
	if res.Requests.Completed != 0 || res.Requests.Errors != 20 {
		t.Errorf("completed %d errors %d, want 0 and 20", res.Requests.Completed, res.Requests.Errors)
	}
	if s := res.ErrorSamples["refused"]; !strings.Contains(s, "refused") {
		t.Errorf("error_samples[refused] = %q, want a connection-refused message", s)
	}
	for _, want := range []string{"Errors", "refused", "(no responses)"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("report lacks %q:\n%s", want, r.stdout)
		}
	}
}

// TestRunHostHeader checks that -H 'Host: ...' sets the Host header on the
// wire while the connection still goes to the URL's address.
func TestRunHostHeader(t *testing.T) {
	srv := startBench(t, benchOpts{})
	r := runCLI(t, "run", "-n", "3", "-c", "1", "-q", "-H", "Host: example.test", srv.URL()+"/")
	if r.code != exitOK {
		t.Fatalf("exit %d, want 0; stderr: %s", r.code, r.stderr)
	}
	if got := srv.LastHost(); got != "example.test" {
		t.Errorf("target saw Host %q, want %q", got, "example.test")
	}
	if n := srv.Stats().Total; n != 3 {
		t.Errorf("target counted %d requests, want 3", n)
	}
}

// proc is a volley process started by startVolley.
type proc struct {
	cmd            *exec.Cmd
	stdout, stderr *bytes.Buffer
	// exited is closed when the process has exited; err is then Wait's error.
	exited chan struct{}
	err    error
}

// startVolley starts the volley binary with args, its output captured. The
// process is killed when the test ends if it is still running.
func startVolley(t *testing.T, args ...string) *proc {
	t.Helper()
	p := &proc{
		cmd:    exec.Command(needBinary(t), args...),
		stdout: &bytes.Buffer{}, stderr: &bytes.Buffer{},
		exited: make(chan struct{}),
	}
	p.cmd.Stdout, p.cmd.Stderr = p.stdout, p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-p.exited:
		default:
			_ = p.cmd.Process.Kill()
			<-p.exited
		}
	})
	return p
}

// signal sends sig to the process.
func (p *proc) signal(t *testing.T, sig os.Signal) {
	t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		t.Fatalf("send %v: %v", sig, err)
	}
}

// wait waits up to d for the process to exit and returns its exit code; it
// fails the test if the process is still running then.
func (p *proc) wait(t *testing.T, d time.Duration, what string) int {
	t.Helper()
	select {
	case <-p.exited:
	case <-time.After(d):
		// Stop it before reading what it wrote: its stderr is still
		// being written until it has exited.
		_ = p.cmd.Process.Kill()
		<-p.exited
		t.Fatalf("volley still running %v after %s\nstderr: %s", d, what, p.stderr)
	}
	if p.err == nil {
		return 0
	}
	var ee *exec.ExitError
	if !errors.As(p.err, &ee) {
		t.Fatalf("wait: %v", p.err)
	}
	return ee.ExitCode()
}

// waitRequests waits until the target has counted at least n requests.
func waitRequests(t *testing.T, count func() int64, n int64, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for count() < n {
		if time.Now().After(deadline) {
			t.Fatalf("target counted %d requests after %v, want at least %d", count(), within, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestRunInterrupt checks that SIGINT or SIGTERM stops the run, prints and
// writes the partial result (every output whole), and exits 130.
func TestRunInterrupt(t *testing.T) {
	for _, sig := range []os.Signal{os.Interrupt, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			srv := startBench(t, benchOpts{})
			dir := t.TempDir()
			out, txt := filepath.Join(dir, "r.json"), filepath.Join(dir, "r.txt")
			p := startVolley(t, "run", "-r", "100", "-d", "30s", "--out", "json="+out, "--out", "text="+txt, srv.URL()+"/")
			// Signal once the run is well under way (about 1 s of load).
			waitRequests(t, func() int64 { return srv.Stats().Total }, 100, 10*time.Second)
			p.signal(t, sig)
			if code := p.wait(t, 5*time.Second, sig.String()); code != exitInterrupted {
				t.Errorf("exit %d, want %d; stderr: %s", code, exitInterrupted, p.stderr)
			}
			if !strings.Contains(p.stdout.String(), "INTERRUPTED") {
				t.Errorf("report not marked INTERRUPTED:\n%s", p.stdout)
			}
			if !strings.Contains(p.stderr.String(), "interrupted") {
				t.Errorf("stderr %q does not say the run was interrupted", p.stderr)
			}
			res := readResult(t, out)
			if !res.Interrupted {
				t.Error("JSON result: interrupted = false, want true")
			}
			st := srv.Stats()
			if res.Requests.Total == 0 || res.Requests.Total != st.Total {
				t.Errorf("JSON result: requests.total = %d, server counted %d; want equal and > 0", res.Requests.Total, st.Total)
			}
			if res.Requests.Total >= 3000 {
				t.Errorf("requests.total = %d: the run was not cut short", res.Requests.Total)
			}
			checkTextOut(t, txt, p.stdout.String())
			if left := leftoverTemps(t, dir); len(left) > 0 {
				t.Errorf("temporary files left behind: %v", left)
			}
		})
	}
}

// TestRunInterruptTwice: a second signal during a slow drain stops the wait
// for the requests in flight, but not the writing: volley exits 130 at once
// with whole outputs, every request in flight counted as abandoned. Further
// signals change nothing.
func TestRunInterruptTwice(t *testing.T) {
	for _, sigs := range [][]syscall.Signal{
		{syscall.SIGINT, syscall.SIGINT}, {syscall.SIGTERM, syscall.SIGTERM},
		{syscall.SIGTERM, syscall.SIGINT}, {syscall.SIGHUP, syscall.SIGTERM, syscall.SIGINT, syscall.SIGTERM},
	} {
		var names []string
		for _, s := range sigs {
			names = append(names, s.String())
		}
		t.Run(strings.Join(names, ","), func(t *testing.T) {
			srv := startBench(t, benchOpts{latency: "5s"})
			dir := t.TempDir()
			out, txt := filepath.Join(dir, "r.json"), filepath.Join(dir, "r.txt")
			p := startVolley(t, "run", "-r", "100", "-d", "30s", "-t", "10s", "-c", "20",
				"--out", "json="+out, "--out", "text="+txt, srv.URL()+"/")
			// Arrivals are counted before the latency is served: wait until
			// requests are in flight.
			waitRequests(t, func() int64 { return arrivals(srv) }, 10, 10*time.Second)
			p.signal(t, sigs[0])
			// The first signal starts a drain that takes up to 5 s.
			select {
			case <-p.exited:
				t.Fatalf("volley exited (%v) right after the first signal, want it to wait for in-flight requests\nstderr: %s", p.err, p.stderr)
			case <-time.After(500 * time.Millisecond):
			}
			for _, s := range sigs[1:] {
				p.signal(t, s)
			}
			if code := p.wait(t, 2*time.Second, "the second signal"); code != 130 {
				t.Errorf("exit %d, want 130; stderr: %s", code, p.stderr)
			}
			if !strings.Contains(strings.Join(strings.Fields(p.stderr.String()), " "), "not waiting for in-flight requests") {
				t.Errorf("stderr %q does not report the second signal", p.stderr)
			}
			res := readResult(t, out)
			if got := arrivals(srv); !res.Interrupted || res.Requests.Total != got || res.Errors["abandoned"] != got || got < 10 {
				t.Errorf("interrupted %v, total %d, abandoned %d, errors %v; the server saw %d (at least 10): want all of them sent and abandoned",
					res.Interrupted, res.Requests.Total, res.Errors["abandoned"], res.Errors, got)
			}
			if !strings.Contains(p.stdout.String(), "abandoned") {
				t.Errorf("the report does not name the abandoned requests:\n%s", p.stdout)
			}
			checkTextOut(t, txt, p.stdout.String())
			if left := leftoverTemps(t, dir); len(left) > 0 {
				t.Errorf("temporary files left behind: %v", left)
			}
		})
	}
}

// arrivals counts the requests that reached srv, answered or not.
func arrivals(srv interface{ Stats() bench.Stats }) int64 {
	var n int64
	for _, a := range srv.Stats().Arrivals {
		n += a
	}
	return n
}

// checkTextOut checks that the text output file holds the report printed on
// stdout.
func checkTextOut(t *testing.T, path, stdout string) {
	t.Helper()
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != stdout || !strings.Contains(stdout, "Requests ") {
		t.Errorf("text output differs from the report on stdout\nfile:\n%s\nstdout:\n%s", got, stdout)
	}
}

// TestDemo runs the demo and checks its report.
func TestDemo(t *testing.T) {
	if testing.Short() {
		t.Skip("demo runs for 5 s")
	}
	r := runCLI(t, "demo")
	if r.code != exitOK {
		t.Fatalf("exit %d, want 0; stderr: %s", r.code, r.stderr)
	}
	if !strings.Contains(r.stdout, "corrected") {
		t.Errorf("demo report lacks the corrected latency column:\n%s", r.stdout)
	}
	m := regexp.MustCompile(`The target counted (\d+) requests; volley counted (\d+)\.`).FindStringSubmatch(r.stdout)
	if m == nil {
		t.Fatalf("demo report lacks the server/volley count line:\n%s", r.stdout)
	}
	server, _ := strconv.Atoi(m[1])
	volley, _ := strconv.Atoi(m[2])
	if server != volley || server < 2000 || server > 2001 {
		t.Errorf("target counted %d, volley %d; want equal and 2000 (400 req/s × 5 s)", server, volley)
	}
	if !strings.Contains(r.stderr, "volley demo: target http://127.0.0.1:") {
		t.Errorf("demo stderr %q does not name its loopback target", r.stderr)
	}
}

// TestHelp checks that help exits 0 and lists the commands and flags.
func TestHelp(t *testing.T) {
	cases := []struct {
		args []string
		want []string
	}{
		{[]string{"--help"}, []string{"run", "demo", "serve"}},
		{[]string{"run", "--help"}, []string{
			"--rate", "--connections", "--duration", "--requests", "--method", "--header",
			"--body", "--body-file", "--timeout", "--max-body", "--out", "--no-progress", "--quiet", "--show-secrets",
		}},
		{[]string{"run", "-h"}, []string{"--rate", "-r,", "-c,", "-d,", "-n,"}},
		{[]string{"serve", "--help"}, []string{"--fault", "close-mid-body", "bad-status-line", "1xx"}},
	}
	for _, c := range cases {
		r := runCLI(t, c.args...)
		if r.code != exitOK {
			t.Errorf("volley %q: exit %d, want 0; stderr: %s", c.args, r.code, r.stderr)
		}
		for _, w := range c.want {
			if !strings.Contains(r.stdout, w) {
				t.Errorf("volley %q: help lacks %q:\n%s", c.args, w, r.stdout)
			}
		}
	}
}

// TestCompletionOffersValues: shell completion offers the values of the
// flags that take one of a fixed set.
func TestCompletionOffersValues(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"run", "--arrival", ""}, []string{"uniform", "poisson"}},
		{[]string{"run", "--mode", ""}, []string{"echo", "subscribe"}},
		{[]string{"run", "--match", ""}, []string{"id", "fifo"}},
		{[]string{"find-max", "--out", ""}, []string{"json=", "html=", "junit="}},
		{[]string{"report", "--format", ""}, []string{"text", "md", "html", "json"}},
		{[]string{"compare", "--format", ""}, []string{"text", "md"}},
		{[]string{"demo", "--out", ""}, []string{"json="}},
	} {
		r := runCLI(t, append([]string{"__complete"}, tc.args...)...)
		got := strings.Split(r.stdout, "\n")
		for _, w := range tc.want {
			if !slices.Contains(got, w) {
				t.Errorf("completing %v: %q lacks %q", tc.args, r.stdout, w)
			}
		}
	}
}
