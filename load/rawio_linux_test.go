//go:build linux

package load

import (
	"bytes"
	"crypto/tls"
	"io"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"

	"volley/stats"
)

// TestOneSendOneReadPerRequest: on a kept-alive plain connection a request
// costs a send and a read. The read that carries the send waits for the
// answer without first trying the socket, so no read ever finds it empty.
func TestOneSendOneReadPerRequest(t *testing.T) {
	srv := startCapture(t)
	srv.delay.Store(int64(2 * time.Millisecond))
	client, conn := workerConn(t, baseConfig(srv.url()+"/", 1, 1))
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
	if got := w.fast.raw.waits; got != 0 {
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

// TestSendWithReadFinishesAStalledSend: a request larger than the socket
// will take at once is finished as a plain write before the read waits; the
// server gets every byte, in order, and the answer is read.
func TestSendWithReadFinishesAStalledSend(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	payload := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB: more than both buffers hold
	got := make(chan []byte, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			got <- nil
			return
		}
		defer c.Close()
		time.Sleep(100 * time.Millisecond) // let the client's send stall
		buf := make([]byte, len(payload))
		if _, err := io.ReadFull(c, buf); err != nil {
			got <- nil
			return
		}
		got <- buf
		_, _ = c.Write([]byte("done"))
	}()
	nc, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	_ = nc.(*net.TCPConn).SetWriteBuffer(4096)
	_ = nc.SetDeadline(time.Now().Add(10 * time.Second))
	r := newRawIO(nc)
	if r == nil {
		t.Fatal("no raw path for a TCP connection")
	}
	r.sendWithRead(payload)
	buf := make([]byte, 16)
	n, err := r.read(buf)
	if err != nil || string(buf[:n]) != "done" {
		t.Fatalf("read %q, %v; want the answer", buf[:n], err)
	}
	if sent := r.takeSent(); sent != len(payload) {
		t.Errorf("counted %d bytes sent, want %d", sent, len(payload))
	}
	if b := <-got; !bytes.Equal(b, payload) {
		t.Errorf("server got %d bytes, not the %d sent in order", len(b), len(payload))
	}
}

// TestSendWithReadErrors: a send the peer refuses surfaces as the write
// error it is, classified as a reset, not as a read timeout.
func TestSendWithReadErrors(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted, dialled := make(chan struct{}), make(chan struct{})
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		<-dialled
		// Close with a reset, so that the client's next send fails.
		_ = c.(*net.TCPConn).SetLinger(0)
		c.Close()
		close(accepted)
	}()
	nc, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	close(dialled)
	<-accepted
	time.Sleep(50 * time.Millisecond) // the reset has arrived
	_ = nc.SetDeadline(time.Now().Add(5 * time.Second))
	r := newRawIO(nc)
	r.sendWithRead([]byte("GET / HTTP/1.1\r\n\r\n"))
	start := time.Now()
	_, err = r.read(make([]byte, 16))
	if err == nil {
		t.Fatal("read after a reset succeeded")
	}
	if time.Since(start) > time.Second {
		t.Errorf("the error took %v: the read waited instead of failing", time.Since(start))
	}
	if r.sendError() == nil || !strings.HasPrefix(err.Error(), "write ") {
		t.Errorf("error %q (send error %v), want the send's write error", err, r.sendError())
	}
	if !isConnErrno(err) {
		t.Errorf("error %q is not a reset or broken pipe", err)
	}
	if k := Classify(err); k != stats.ErrReset {
		t.Errorf("classified as %v, want reset", k)
	}
}

func isConnErrno(err error) bool {
	for _, e := range []syscall.Errno{syscall.ECONNRESET, syscall.EPIPE} {
		if strings.Contains(err.Error(), e.Error()) {
			return true
		}
	}
	return false
}

// TestIdleCloseRedials: a server that closes a connection while it sits idle
// (its keep-alive timeout) costs no request. Before reusing a connection
// idle for longer than idleCheck, the worker sees the close and dials
// afresh, over TLS too, and the request is sent once, on the new connection.
// A connection idle as long but still open is reused, and its request still
// goes with the read that waits for the answer.
func TestIdleCloseRedials(t *testing.T) {
	cert, _ := newCert(t)
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
			cfg := baseConfig(scheme+"://"+ln.Addr().String()+"/", 1, 1)
			cfg.Conn.Insecure = true
			_, conn := workerConn(t, cfg)
			if out := conn.Do(0); out.Code != 200 {
				t.Fatalf("first request: %d %v", out.Code, out.Err)
			}
			time.Sleep(100 * time.Millisecond) // past the server's timeout
			w := conn.wires[0]
			w.lastUse = w.lastUse.Add(-2 * idleCheck)
			waits := w.sock.raw.waits
			if out := conn.Do(1); out.Code != 200 || out.Err != nil {
				t.Fatalf("request after an idle spell: status %d, err %v; want 200", out.Code, out.Err)
			}
			if !tc.tls && tc.serverIdle == 0 && w.sock.raw.waits != waits {
				t.Errorf("the idle, still open connection's request was written before its read (%d empty reads)", w.sock.raw.waits-waits)
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
