//go:build linux

package dial

import (
	"bytes"
	"io"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"

	"volley/stats"
)

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
	r.SendWithRead(payload)
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
	r.SendWithRead([]byte("GET / HTTP/1.1\r\n\r\n"))
	start := time.Now()
	_, err = r.read(make([]byte, 16))
	if err == nil {
		t.Fatal("read after a reset succeeded")
	}
	if time.Since(start) > time.Second {
		t.Errorf("the error took %v: the read waited instead of failing", time.Since(start))
	}
	if r.SendError() == nil || !strings.HasPrefix(err.Error(), "write ") {
		t.Errorf("error %q (send error %v), want the send's write error", err, r.SendError())
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
