package h2

import (
	"bytes"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"volley/internal/nginxtest"
)

// startNginx runs nginx with h2c (prior knowledge) on a free loopback port,
// its configuration, pid file and logs in a temporary directory; /big.bin
// is a file of bigSize bytes and every other path answers 200 "hello". It
// returns the address and the access log's path (one status per line), and
// skips the test when nginx is not installed.
func startNginx(t testing.TB, bigSize int) (string, string) {
	t.Helper()
	s := nginxtest.Start(t, "http2", "$status", `    location = /big.bin { root {{dir}}; }
    location / { return 200 "hello"; }`, func(dir string) {
		if err := os.WriteFile(filepath.Join(dir, "big.bin"), bytes.Repeat([]byte("n"), bigSize), 0o644); err != nil {
			t.Fatal(err)
		}
	}, func(addr string) error {
		// Ready once an HTTP/2 handshake succeeds; that logs no request.
		nc, err := net.Dial("tcp", addr)
		if err != nil {
			return err
		}
		c, err := NewConn(nc, Options{Streams: 1, OnDone: func(uint64, Result) {}})
		if err != nil {
			return err
		}
		c.Close()
		<-c.Done()
		return nil
	})
	return s.Addr, s.AccessLog
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

	c := connect(t, addr, Options{Streams: 1000, OnDone: func(uint64, Result) {}})
	if lim, byServer := c.Limit(); lim != 128 || !byServer {
		t.Errorf("Limit() = %d, %v against nginx; want 128, true", lim, byServer)
	}
}
