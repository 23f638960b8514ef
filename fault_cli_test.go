package main

import (
	"bufio"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"volley/bench"
	"volley/bench/benchtest"
)

// verifyNoLeaks checks, after every other cleanup of t, that the test left
// no goroutine behind. Ignored: fasthttp's idle-connection cleaner, which
// sleeps up to MaxIdleConnDuration before it notices the client is idle and
// returns, and the signal package's delivery loop, which lives as long as
// the process once any command has asked for signals.
func verifyNoLeaks(t *testing.T) {
	t.Helper()
	opts := []goleak.Option{
		goleak.IgnoreCurrent(),
		goleak.IgnoreAnyFunction("github.com/valyala/fasthttp.(*HostClient).connsCleaner"),
		goleak.IgnoreAnyFunction("os/signal.loop"),
	}
	t.Cleanup(func() { goleak.VerifyNone(t, opts...) })
}

// TestRunFaultMatrix runs volley against a target that misbehaves in every
// way bench knows, interleaved (90% of requests faulted), and checks the
// exact count of every category, the server's own count of what it did,
// that the run ends on time, that the report lists every category with
// its share, that the outputs are whole, and that nothing leaks.
func TestRunFaultMatrix(t *testing.T) {
	verifyNoLeaks(t)
	faults := []string{
		"reset:0.1", "close:0.1", "close-mid-body:0.1", "garbage:0.1", "huge:0.1",
		"bad-chunked:0.1", "bad-status-line:0.1", "1xx:0.1", "hang:0.05", "slow:0.05",
	}
	mix, err := bench.ParseFaults(faults)
	if err != nil {
		t.Fatal(err)
	}
	srv := benchtest.Start(t, bench.Config{Faults: mix})
	dir := t.TempDir()
	out, txt := filepath.Join(dir, "r.json"), filepath.Join(dir, "r.txt")
	const n, timeout = 200, 500 * time.Millisecond
	start := time.Now()
	r := runCLI(t, "run", "-n", strconv.Itoa(n), "-c", "8", "-t", timeout.String(), "--max-body", "1048576",
		"--out", "json="+out, "--out", "text="+txt, srv.URL()+"/")
	took := time.Since(start)
	if r.code != exitOK {
		t.Fatalf("exit %d, want 0 (a misbehaving target is data); stderr: %s", r.code, r.stderr)
	}
	// 200 requests are 10 whole cycles of the mix (period 20): exact counts.
	want := map[string]int64{
		"reset": 20, "closed": 40, "other": 60, "body_too_large": 20, "timeout": 20,
		"refused": 0, "dns": 0, "tls": 0,
	}
	res := readResult(t, out)
	for k, w := range want {
		if res.Errors[k] != w {
			t.Errorf("errors[%s] = %d, want %d", k, res.Errors[k], w)
		}
	}
	if res.Requests.Total != n || res.Status["2xx"] != 40 || res.Requests.Errors != 160 {
		t.Errorf("total %d 2xx %d errors %d, want %d, 40 (20 normal, 20 after 1xx) and 160", res.Requests.Total, res.Status["2xx"], res.Requests.Errors, n)
	}
	st := srv.Stats()
	for _, f := range mix.Faults() {
		if w := int64(f.Rate * n); st.Faults[f.Kind.String()] != w {
			t.Errorf("server injected %s ×%d, want %d", f.Kind, st.Faults[f.Kind.String()], w)
		}
	}
	if st.Codes["200"] != res.Codes["200"] {
		t.Errorf("server answered 200 ×%d, volley counted %d", st.Codes["200"], res.Codes["200"])
	}
	if len(res.ErrorSamples) != 5 {
		t.Errorf("error samples %q, want one per category seen (5)", res.ErrorSamples)
	}
	// 20 requests that never finish, over 8 connections, each bounded by the timeout.
	if limit := 20*timeout/8 + 3*time.Second; took > limit {
		t.Errorf("run took %v, want under %v", took, limit)
	}
	for k, w := range want {
		if w == 0 {
			continue
		}
		line := regexp.MustCompile(`(?m)^  ` + k + ` +` + strconv.FormatInt(w, 10) + ` +[0-9.]+% `)
		if !line.MatchString(r.stdout) {
			t.Errorf("report lacks a line for %s ×%d:\n%s", k, w, r.stdout)
		}
	}
	checkTextOut(t, txt, r.stdout)
	if left := leftoverTemps(t, dir); len(left) > 0 {
		t.Errorf("temporary files left behind: %v", left)
	}
}

// TestRunUnresolvableName runs against a .invalid name (RFC 6761): the
// failures are data (exit 0) counted as dns errors, and volley answers them
// itself, so no lookup leaves the machine.
func TestRunUnresolvableName(t *testing.T) {
	out := filepath.Join(t.TempDir(), "r.json")
	r := runCLI(t, "run", "-n", "10", "-c", "2", "-q", "--out", "json="+out, "http://volley-test.invalid:8080/")
	if r.code != exitOK {
		t.Fatalf("exit %d, want 0; stderr: %s", r.code, r.stderr)
	}
	res := readResult(t, out)
	if res.Errors["dns"] != 10 || res.Requests.Total != 10 {
		t.Errorf("total %d errors %v, want 10 dns errors", res.Requests.Total, res.Errors)
	}
	if s := res.ErrorSamples["dns"]; !strings.Contains(s, "volley-test.invalid") || !strings.Contains(s, "RFC 6761") {
		t.Errorf("dns sample %q, want it to name the host and say why no lookup was made", s)
	}
}

// leakyServer answers every request with a malformed response that sets a
// cookie, so that the error message volley keeps quotes the Set-Cookie line.
func leakyServer(t *testing.T, cookie string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_ = c.SetDeadline(time.Now().Add(5 * time.Second))
				br := bufio.NewReader(c)
				for {
					line, err := br.ReadString('\n')
					if err != nil {
						return
					}
					if line == "\r\n" {
						break
					}
				}
				_, _ = c.Write([]byte("HTTP/1.1 2x0 OK\r\nSet-Cookie: " + cookie + "\r\nContent-Length: 0\r\n\r\n"))
			}()
		}
	}()
	return ln.Addr().String()
}

// TestRunRedactsSecrets checks that secret header values, URL userinfo, a
// secret query parameter and a Set-Cookie sent by the server appear nowhere
// in stdout, stderr or the output files, and that --show-secrets shows them.
func TestRunRedactsSecrets(t *testing.T) {
	secrets := []string{"tok-AAAA1111", "cook-BBBB2222", "prox-CCCC3333", "user-DDDD", "pw-EEEE5555", "srv-FFFF6666", "key-GGGG7777"}
	addr := leakyServer(t, "sid=srv-FFFF6666; HttpOnly")
	url := "http://user-DDDD:pw-EEEE5555@" + addr + "/?page=1&api_key=key-GGGG7777"
	args := func(dir string, extra ...string) []string {
		return append([]string{"run", "-n", "3", "-c", "1",
			"-H", "Authorization: Bearer tok-AAAA1111",
			"-H", "cookie: a=1; session=cook-BBBB2222",
			"-H", "Proxy-Authorization: Basic prox-CCCC3333",
			"--out", "json=" + filepath.Join(dir, "r.json"), "--out", "text=" + filepath.Join(dir, "r.txt"),
			url}, extra...)
	}
	everything := func(dir string, r cliResult) string {
		all := r.stdout + r.stderr
		for _, f := range []string{"r.json", "r.txt"} {
			b, err := os.ReadFile(filepath.Join(dir, f))
			if err != nil {
				t.Fatal(err)
			}
			all += string(b)
		}
		return all
	}

	dir := t.TempDir()
	r := runCLI(t, args(dir)...)
	if r.code != exitOK {
		t.Fatalf("exit %d; stderr: %s", r.code, r.stderr)
	}
	all := everything(dir, r)
	for _, s := range secrets {
		if strings.Contains(all, s) {
			t.Errorf("secret %q appears in the report or outputs", s)
		}
	}
	res := readResult(t, filepath.Join(dir, "r.json"))
	if res.Target.URL != "http://REDACTED@"+addr+"/?page=1&api_key=REDACTED" || res.Errors["other"] != 3 ||
		!strings.Contains(res.ErrorSamples["other"], "Set-Cookie: REDACTED") {
		t.Errorf("target %q errors %v sample %q, want the URL and the Set-Cookie redacted", res.Target.URL, res.Errors, res.ErrorSamples["other"])
	}

	dir = t.TempDir()
	r = runCLI(t, args(dir, "--show-secrets")...)
	if r.code != exitOK {
		t.Fatalf("--show-secrets: exit %d; stderr: %s", r.code, r.stderr)
	}
	all = everything(dir, r)
	for _, s := range []string{"user-DDDD", "pw-EEEE5555", "srv-FFFF6666", "key-GGGG7777"} {
		if !strings.Contains(all, s) {
			t.Errorf("--show-secrets: %q does not appear", s)
		}
	}
}
