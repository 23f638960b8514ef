//go:build linux

package http1

import (
	"crypto/tls"
	"net"
	"testing"
	"time"
	"volley/bench/benchtest"
	"volley/internal/loadtest"
)

// TestOneSendOneReadPerRequest: on a kept-alive plain connection a request
// costs a send and a read. The read that carries the send waits for the
// answer without first trying the socket, so no read ever finds it empty.
func TestOneSendOneReadPerRequest(t *testing.T) {
	srv := startCapture(t)
	srv.delay.Store(int64(2 * time.Millisecond))
	client, conn := workerConn(t, loadtest.Plan(srv.url()+"/", 1, 1))
	const n = 50
	for i := range n {
		if out := conn.Do(int64(i)); out.Code != 200 || out.Err != nil {
			t.Fatalf("request %d: status %d, err %v", i, out.Code, out.Err)
		}
	}
	w := conn.wires[0]
	if w.fast == nil {
		t.Fatal("a plain TCP connection did not take the send-with-read path")
	}
	if got := w.fast.Raw.Waits(); got != 0 {
		t.Errorf("%d of %d reads found the socket empty and waited; want 0", got, n)
	}
	// Every request arrives whole, and its bytes are counted once, as sent.
	reqs := srv.requests()
	if len(reqs) != n {
		t.Fatalf("server got %d requests, want %d", len(reqs), n)
	}
	if got, want := client.BytesOut(), int64(n*len(reqs[0])); got != want || reqs[n-1] != reqs[0] {
		t.Errorf("bytes out %d, want %d; last request %q, first %q", got, want, reqs[n-1], reqs[0])
	}
	if got, want := client.BytesIn(), int64(n*len(captureOK)); got != want {
		t.Errorf("bytes in %d, want %d", got, want)
	}
}

// TestIdleCloseRedials: a server that closes a connection while it sits idle
// (its keep-alive timeout) costs no request. Before reusing a connection
// idle for longer than idleCheck, the worker sees the close and dials
// afresh, over TLS too, and the request is sent once, on the new connection.
// A connection idle as long but still open is reused, and its request still
// goes with the read that waits for the answer.
func TestIdleCloseRedials(t *testing.T) {
	cert, _ := benchtest.Certificate(t)
	for _, tc := range []struct {
		name       string
		tls        bool
		serverIdle time.Duration // the server's keep-alive timeout; 0: none
		wantConns  int64
	}{
		{"http closed", false, 20 * time.Millisecond, 2},
		{"https closed", true, 20 * time.Millisecond, 2},
		{"http open", false, 0, 1},
		{"https open", true, 0, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			scheme := "http"
			if tc.tls {
				ln, scheme = tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{cert.TLS}}), "https"
			}
			srv := captureOn(t, ln)
			srv.closeAfter.Store(int64(tc.serverIdle))
			// A late answer: a plain write-then-read would find nothing and wait.
			srv.delay.Store(int64(2 * time.Millisecond))
			cfg := loadtest.Plan(scheme+"://"+ln.Addr().String()+"/", 1, 1)
			cfg.Conn.Insecure = true
			_, conn := workerConn(t, cfg)
			if out := conn.Do(0); out.Code != 200 {
				t.Fatalf("first request: %d %v", out.Code, out.Err)
			}
			time.Sleep(100 * time.Millisecond) // past the server's timeout
			w := conn.wires[0]
			w.lastUse = w.lastUse.Add(-2 * idleCheck)
			waits := w.sock.Raw.Waits()
			if out := conn.Do(1); out.Code != 200 || out.Err != nil {
				t.Fatalf("request after an idle spell: status %d, err %v; want 200", out.Code, out.Err)
			}
			if !tc.tls && tc.serverIdle == 0 && w.sock.Raw.Waits() != waits {
				t.Errorf("the idle, still open connection's request was written before its read (%d empty reads)", w.sock.Raw.Waits()-waits)
			}
			if out := conn.Do(2); out.Code != 200 {
				t.Fatalf("third request: %d %v", out.Code, out.Err)
			}
			if got := len(srv.requests()); got != 3 {
				t.Errorf("server got %d requests, want 3", got)
			}
			if got := srv.conns.Load(); got != tc.wantConns {
				t.Errorf("server saw %d connections, want %d", got, tc.wantConns)
			}
		})
	}
}
