package http1

import (
	"bufio"
	"io"
	"strings"
	"testing"
	"time"
	"volley/load"
	"volley/load/request"
	"volley/stats"
)

// FuzzResponse: reading any bytes as the answer to a request, as a worker's
// connection does, never panics, and ends in a success with a status in
// 100..599 or in a classified error; a status of 000 is never a success.
// The bytes arrive chunk bytes per read, so that header blocks are cut
// over reads; small sets the smallest header bound, 4 KiB (the first
// reader's size), instead of the default 64 KiB.
func FuzzResponse(f *testing.F) {
	big := strings.Repeat("b", 5000)
	for _, s := range []string{
		"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
		"HTTP/1.1 200 OK\r\nX-Big: " + big + "\r\nContent-Length: 2\r\n\r\nok",
		"HTTP/1.1 200 OK\r\nX-Huge: " + big + big + big + big + "\r\n\r\n",
		"HTTP/1.1 200 OK\nContent-Length: 2\n\nok",
		"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\nok",
		"HTTP/1.1 200 OK\nContent-Length: 2\r\n\r\nok",
		"HTTP/1.1 000 Zero\r\nContent-Length: 2\r\n\r\nok",
		"HTTP/1.1 99 Low\r\nContent-Length: 0\r\n\r\n",
		"HTTP/1.1 099 Low\r\nContent-Length: 0\r\n\r\n",
		"HTTP/1.1 600 High\r\nContent-Length: 0\r\n\r\n",
		"HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n",
		"HTTP/1.1  204  \r\n\r\n",
		"HTTP/1.1 2x0 OK\r\n\r\n",
		"SSH-2.0-garbage\r\n\x00\x01\xfe\xff not HTTP\r\n\r\n",
		"\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
		"HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 000 After\r\n\r\n",
		"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\nX-Sum: " + big + "\r\n\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\nok\n0\n\n",
		"HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n",
		"HTTP/1.0 200 OK\r\n\r\nuntil the end",
		"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nok",
		"",
		"H",
	} {
		f.Add([]byte(s), uint16(0), false)
		f.Add([]byte(s), uint16(7), true)
	}
	clients := map[bool]*clientConn{}
	for _, small := range []bool{false, true} {
		cfg := load.Config{Spec: request.Spec{Request: request.Request{Method: "GET", URL: "http://127.0.0.1:1/"}}, Connections: 1, Requests: 1,
			Timeout: time.Second, MaxBody: 1 << 20}
		if small {
			cfg.MaxHeader = load.MinMaxHeader
		}
		client, err := NewClient(cfg)
		if err != nil {
			f.Fatal(err)
		}
		conn, err := client.NewConn()
		if err != nil {
			f.Fatal(err)
		}
		clients[small] = conn.(*clientConn)
	}
	f.Fuzz(func(t *testing.T, data []byte, chunk uint16, small bool) {
		h := clients[small]
		w := &wire{c: h.c, pr: &h.pr}
		w.src = source{conn: &chunkReader{b: data, n: int(chunk)}}
		w.br = bufio.NewReaderSize(&w.src, wireBuffer)
		h.resp.Reset()
		h.resp.Header.DisableNormalizing()
		err := w.readResponse(h.resp)
		var out load.Outcome
		if err != nil {
			out.Kind, out.Err = classify(err), err
			if out.Kind == stats.ErrNone {
				t.Fatalf("%q: error %v left unclassified", data, err)
			}
		} else {
			out = h.finish(h.resp.StatusCode(), load.Outcome{})
			_ = w.unasked()
		}
		switch {
		case out.Kind == stats.ErrNone && (out.Code < 100 || out.Code > 599):
			t.Fatalf("%q: a success with status %d", data, out.Code)
		case out.Kind != stats.ErrNone && out.Err == nil:
			t.Fatalf("%q: error category %v without an error", data, out.Kind)
		}
		if code, known := leadStatus(data); known && code == 0 && out.Kind == stats.ErrNone {
			t.Fatalf("%q: status 000 counted as %d", data, out.Code)
		}
	})
}

// chunkReader returns b at most n bytes per read (all of it when n is 0),
// then io.EOF.
type chunkReader struct {
	b []byte
	n int
}

func (r *chunkReader) Read(p []byte) (int, error) {
	if len(r.b) == 0 {
		return 0, io.EOF
	}
	if r.n > 0 && len(p) > r.n {
		p = p[:r.n]
	}
	n := copy(p, r.b)
	r.b = r.b[n:]
	return n, nil
}
