package h2

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// recorder collects OnDone calls and notices a tag reported twice.
type recorder struct {
	mu      sync.Mutex
	results map[uint64]Result
	dup     []uint64
	order   []uint64
	want    int
	all     chan struct{}
}

func newRecorder(want int) *recorder {
	return &recorder{results: make(map[uint64]Result), want: want, all: make(chan struct{})}
}

func (r *recorder) onDone(tag uint64, res Result) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, seen := r.results[tag]; seen {
		r.dup = append(r.dup, tag)
	}
	r.results[tag] = res
	r.order = append(r.order, tag)
	if len(r.results) == r.want {
		close(r.all)
	}
}

// wait fails the test unless every wanted tag got exactly one OnDone in d.
func (r *recorder) wait(t *testing.T, d time.Duration) map[uint64]Result {
	t.Helper()
	select {
	case <-r.all:
	case <-time.After(d):
		r.mu.Lock()
		n := len(r.results)
		r.mu.Unlock()
		t.Fatalf("only %d of %d streams completed within %v", n, r.want, d)
	}
	time.Sleep(20 * time.Millisecond) // let a duplicate show up if there is one
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.dup) > 0 {
		t.Fatalf("OnDone called more than once for tags %v", r.dup)
	}
	out := make(map[uint64]Result, len(r.results))
	for k, v := range r.results {
		out[k] = v
	}
	return out
}

func mustEncode(t testing.TB, r Request) *EncodedRequest {
	t.Helper()
	e, err := r.Encode()
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func get(t testing.TB, addr, path string) *EncodedRequest {
	return mustEncode(t, Request{Method: "GET", Scheme: "http", Authority: addr, Path: path})
}

func connect(t testing.TB, addr string, o Options) *Conn {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	c, err := NewConn(nc, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c.Close()
		select {
		case <-c.Done():
		case <-time.After(5 * time.Second):
			t.Errorf("read loop did not end within 5 s of Close")
		}
	})
	return c
}

// srvConn is one connection of a scripted HTTP/2 server built on the
// Framer: tests decide frame by frame what the server answers.
type srvConn struct {
	mu  sync.Mutex
	nc  net.Conn
	fr  *http2.Framer
	enc *hpack.Encoder
	buf bytes.Buffer
}

type srvRequest struct {
	id     uint32
	fields []hpack.HeaderField
	body   int
}

func (r srvRequest) path() string {
	for _, f := range r.fields {
		if f.Name == ":path" {
			return f.Value
		}
	}
	return ""
}

// script is what a scripted server does. onRequest runs for every complete
// request; onFrame, when set, sees every frame first and may return true to
// say it handled it.
type script struct {
	settings  []http2.Setting
	onRequest func(sc *srvConn, r srvRequest)
	onFrame   func(sc *srvConn, f http2.Frame) bool
}

func (sc *srvConn) headers(id uint32, end bool, kv ...string) {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	sc.buf.Reset()
	for i := 0; i < len(kv); i += 2 {
		sc.enc.WriteField(hpack.HeaderField{Name: kv[i], Value: kv[i+1]})
	}
	sc.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: sc.buf.Bytes(), EndStream: end, EndHeaders: true})
}

func (sc *srvConn) data(id uint32, end bool, p []byte) {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	sc.fr.WriteData(id, end, p)
}

func (sc *srvConn) respond(id uint32, status string, body []byte) {
	sc.headers(id, false, ":status", status, "content-length", itoa(len(body)))
	sc.data(id, true, body)
}

func (sc *srvConn) rst(id uint32, code http2.ErrCode) {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	sc.fr.WriteRSTStream(id, code)
}

func (sc *srvConn) goAway(last uint32, code http2.ErrCode) {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	sc.fr.WriteGoAway(last, code, nil)
}

func (sc *srvConn) raw(p []byte) {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	sc.nc.Write(p)
}

func itoa(n int) string { return strconv.Itoa(n) }

// serveScript starts a scripted server on 127.0.0.1 and returns its address.
func serveScript(t *testing.T, s script) string {
	t.Helper()
	return serveConns(t, s.serve)
}

// serveConns listens on 127.0.0.1, hands every connection to serve (closing
// it after), and returns the address; the test waits for the handlers.
func serveConns(t testing.TB, serve func(net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer nc.Close()
				serve(nc)
			}()
		}
	}()
	return ln.Addr().String()
}

func (s script) serve(nc net.Conn) {
	preface := make([]byte, len(http2.ClientPreface))
	if _, err := io.ReadFull(nc, preface); err != nil || string(preface) != http2.ClientPreface {
		return
	}
	sc := &srvConn{nc: nc, fr: http2.NewFramer(nc, bufio.NewReader(nc))}
	sc.enc = hpack.NewEncoder(&sc.buf)
	sc.fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
	sc.fr.MaxHeaderListSize = 1 << 20
	sc.mu.Lock()
	sc.fr.WriteSettings(s.settings...)
	sc.mu.Unlock()
	bodies := map[uint32]*srvRequest{}
	for {
		f, err := sc.fr.ReadFrame()
		if err != nil {
			return
		}
		if s.onFrame != nil && s.onFrame(sc, f) {
			continue
		}
		switch f := f.(type) {
		case *http2.SettingsFrame:
			if !f.IsAck() {
				sc.mu.Lock()
				sc.fr.WriteSettingsAck()
				sc.mu.Unlock()
			}
		case *http2.MetaHeadersFrame:
			r := &srvRequest{id: f.StreamID, fields: f.Fields}
			if f.StreamEnded() {
				s.onRequest(sc, *r)
			} else {
				bodies[f.StreamID] = r
			}
		case *http2.DataFrame:
			r := bodies[f.StreamID]
			if r == nil {
				continue
			}
			r.body += len(f.Data())
			if f.StreamEnded() {
				delete(bodies, f.StreamID)
				s.onRequest(sc, *r)
			}
		}
	}
}
