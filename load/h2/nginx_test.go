package h2

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// startNginx runs nginx with h2c (prior knowledge) on a free loopback port,
// its configuration, pid file and logs in a temporary directory; /big.bin
// is a file of bigSize bytes and every other path answers 200 "hello". It
// returns the address and the access log's path (one status per line), and
// skips the test when nginx is not installed.
func startNginx(t testing.TB, bigSize int) (string, string) {
	t.Helper()
	bin := "/usr/sbin/nginx"
	if _, err := os.Stat(bin); err != nil {
		if bin, err = exec.LookPath("nginx"); err != nil {
			t.Skip("nginx is not installed (apt-get install nginx-light); skipping the real-server test")
		}
	}
	dir := t.TempDir()
	// nginx's workers run as another user when we are root: let them in.
	for _, d := range []string{dir, filepath.Dir(dir)} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "big.bin"), bytes.Repeat([]byte("n"), bigSize), 0o644); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	logPath := filepath.Join(dir, "access.log")
	conf := fmt.Sprintf(`worker_processes 1;
daemon off;
pid %[1]s/nginx.pid;
error_log %[1]s/error.log warn;
events { worker_connections 1024; }
http {
  client_body_temp_path %[1]s/body;
  proxy_temp_path %[1]s/proxy;
  fastcgi_temp_path %[1]s/fastcgi;
  uwsgi_temp_path %[1]s/uwsgi;
  scgi_temp_path %[1]s/scgi;
  keepalive_requests 1000000;
  log_format st '$status';
  access_log %[2]s st;
  server {
    listen %[3]s http2;
    location = /big.bin { root %[1]s; }
    location / { return 200 "hello"; }
  }
}
`, dir, logPath, addr)
	confPath := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	errLog := filepath.Join(dir, "error.log")
	if out, err := exec.Command(bin, "-t", "-c", confPath, "-e", errLog).CombinedOutput(); err != nil {
		t.Skipf("nginx cannot run here with this configuration: %v: %s", err, out)
	}
	cmd := exec.Command(bin, "-c", confPath, "-e", errLog)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
		}
	})
	// Ready once an HTTP/2 handshake succeeds; that logs no request.
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		nc, err := net.Dial("tcp", addr)
		if err == nil {
			c, err := NewConn(nc, Options{Streams: 1, OnDone: func(uint64, Result) {}})
			if err == nil {
				c.Close()
				<-c.Done()
				return addr, logPath
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("nginx did not start on %s: %v", addr, err)
		}
	}
}

// countLines waits until the access log has want lines (nginx writes a line
// as each request finishes) and returns how many it has.
func countLines(path string, want int) int {
	n := 0
	for deadline := time.Now().Add(3 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		b, _ := os.ReadFile(path)
		if n = strings.Count(string(b), "200\n"); n >= want {
			break
		}
	}
	return n
}

// Against nginx: two connections of 10 streams each, small and large
// bodies: every request answered once with 200, bodies counted to the
// byte, nginx's access log counting the same number; nginx's default
// http2_max_concurrent_streams (128) caps a wish for 1000.
func TestNginx(t *testing.T) {
	const big = 100_000
	addr, logPath := startNginx(t, big)
	const perConn = 1000
	var loops []*loop
	for range 2 {
		l := newLoop(t, addr, 10)
		loops = append(loops, l)
	}
	loops[1].req = get(t, addr, "/big.bin")
	done := make(chan struct{})
	for _, l := range loops {
		go func() { l.run(perConn, 10); done <- struct{}{} }()
	}
	for range loops {
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			t.Fatal("closed loop against nginx did not finish in 30 s")
		}
	}
	for i, l := range loops {
		if l.bad.Load() != 0 {
			t.Errorf("connection %d: %d requests failed", i, l.bad.Load())
		}
	}
	if got, want := loops[0].body.Load(), int64(perConn*5); got != want {
		t.Errorf("small bodies: %d bytes, want %d", got, want)
	}
	if got, want := loops[1].body.Load(), int64(perConn*big); got != want {
		t.Errorf("large bodies: %d bytes, want %d", got, want)
	}
	if n := countLines(logPath, 2*perConn); n != 2*perConn {
		t.Errorf("nginx logged %d requests, we completed %d", n, 2*perConn)
	}

	c := dial(t, addr, Options{Streams: 1000, OnDone: func(uint64, Result) {}})
	if lim, byServer := c.Limit(); lim != 128 || !byServer {
		t.Errorf("Limit() = %d, %v against nginx; want 128, true", lim, byServer)
	}
}
