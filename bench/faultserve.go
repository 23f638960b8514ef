package bench

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strconv"
	"time"
)

// garbageResponse is what FaultGarbage sends: a first line that is no HTTP
// status line, control bytes, and a blank line so a parser sees a complete
// (if meaningless) header block.
const garbageResponse = "SSH-2.0-volley-garbage\r\n\x00\x01\x02\xfe\xff this is not HTTP\r\n\r\n"

// serveFault answers a load request with fault k (any kind but FaultNone and
// Fault1xx). It returns when the fault has been served: the connection is
// closed (or, for FaultHuge, the body written or the client gone).
func (s *Server) serveFault(w http.ResponseWriter, k FaultKind) {
	if k == FaultHuge {
		s.serveHuge(w)
		return
	}
	conn, buf, err := http.NewResponseController(w).Hijack()
	if err != nil {
		// HTTP/2 or a wrapped writer cannot hand over its connection: the
		// nearest fault the server can still produce is an aborted stream.
		panic(http.ErrAbortHandler)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Time{})
	switch k {
	case FaultReset:
		// SO_LINGER 0 makes close send RST instead of FIN.
		if tc, ok := conn.(*net.TCPConn); ok {
			_ = tc.SetLinger(0)
		}
	case FaultClose:
		// Close without a byte.
	case FaultCloseMidBody:
		half := max(len(s.body), 10)
		head := "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: " + strconv.Itoa(2*half) + "\r\n\r\n"
		_, _ = buf.WriteString(head)
		_, _ = buf.Write(makeBody(half))
		_ = buf.Flush()
	case FaultGarbage:
		_, _ = buf.WriteString(garbageResponse)
		_ = buf.Flush()
	case FaultBadChunked:
		_, _ = buf.WriteString("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n" +
			"zz\r\nhello\r\n0\r\n\r\n")
		_ = buf.Flush()
	case FaultBadStatusLine:
		_, _ = buf.WriteString("HTTP/1.1 2x0 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello")
		_ = buf.Flush()
	case FaultSlow:
		s.drip(conn, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: "+
			strconv.Itoa(len(s.body))+"\r\nConnection: close\r\n\r\n"+string(s.body))
	case FaultHang:
		s.hang(conn, buf.Reader)
	}
}

// drip writes msg one byte every SlowByteInterval. It stops early when a
// write fails (the client gave up) or the server is closed.
func (s *Server) drip(conn net.Conn, msg string) {
	t := time.NewTicker(SlowByteInterval)
	defer t.Stop()
	for i := range len(msg) {
		if i > 0 {
			select {
			case <-t.C:
			case <-s.done:
				return
			}
		}
		if _, err := conn.Write([]byte{msg[i]}); err != nil {
			return
		}
	}
}

// hang holds the connection without answering until the client closes it
// or the server is closed.
func (s *Server) hang(conn net.Conn, r *bufio.Reader) {
	gone := make(chan struct{})
	go func() {
		defer close(gone)
		_, _ = io.Copy(io.Discard, r)
	}()
	select {
	case <-gone:
	case <-s.done:
		conn.Close()
		<-gone
	}
}

// serveHuge declares a body of HugeBodySize bytes and streams it until it is
// written, the client goes away or the server is closed.
func (s *Server) serveHuge(w http.ResponseWriter) {
	h := w.Header()
	h["Content-Type"] = s.contentType
	h.Set("Content-Length", strconv.Itoa(HugeBodySize))
	w.WriteHeader(http.StatusOK)
	chunk := makeBody(64 << 10)
	for left := HugeBodySize; left > 0; left -= len(chunk) {
		select {
		case <-s.done:
			panic(http.ErrAbortHandler)
		default:
		}
		if _, err := w.Write(chunk[:min(len(chunk), left)]); err != nil {
			return
		}
	}
}

// writeInterim sends the interim responses of Fault1xx: 100 Continue and
// 103 Early Hints (with a Link header that is not repeated in the final
// response).
func writeInterim(w http.ResponseWriter) {
	w.WriteHeader(http.StatusContinue)
	h := w.Header()
	h.Set("Link", "</volley.css>; rel=preload; as=style")
	w.WriteHeader(http.StatusEarlyHints)
	h.Del("Link")
}
