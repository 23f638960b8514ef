package h2

import (
	"errors"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/h2c"
)

// serveGo starts net/http behind h2c (prior knowledge) on 127.0.0.1.
func serveGo(t *testing.T, maxStreams uint32, h http.Handler) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h2c.NewHandler(h, &http2.Server{MaxConcurrentStreams: maxStreams})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

// A closed loop of N requests through 50 streams: N answers, each once,
// with the server's status and its body counted to the byte, and the
// server's own count equal to N.
func TestGoServerClosedLoopCounts(t *testing.T) {
	var served atomic.Int64
	addr := serveGo(t, 250, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		served.Add(1)
		n, _ := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/"))
		if n%3 == 0 {
			w.WriteHeader(404)
		}
		w.Write([]byte(strings.Repeat("x", n)))
	}))
	const total = 3000
	reqs := make([]*EncodedRequest, 10)
	for i := range reqs {
		reqs[i] = get(t, addr, "/"+strconv.Itoa(i*1000+i))
	}
	rec := newRecorder(total)
	var c *Conn
	var next atomic.Uint64
	send := func() {
		tag := next.Add(1) - 1
		if tag >= total {
			return
		}
		if err := c.Send(reqs[tag%10], tag); err != nil {
			t.Errorf("send %d: %v", tag, err)
		}
	}
	c = connect(t, addr, Options{Streams: 50, OnDone: func(tag uint64, r Result) {
		rec.onDone(tag, r)
		send()
	}})
	for range 50 {
		send()
	}
	if err := c.Flush(); err != nil {
		t.Fatal(err)
	}
	got := rec.wait(t, 30*time.Second)
	var body int64
	for tag, r := range got {
		i := int(tag % 10)
		size := i*1000 + i
		want := 200
		if size%3 == 0 {
			want = 404
		}
		if r.Err != nil || r.Status != want || r.BodyBytes != int64(size) {
			t.Fatalf("tag %d: status %d, %d bytes, err %v; want %d, %d bytes", tag, r.Status, r.BodyBytes, r.Err, want, size)
		}
		if r.Sent.IsZero() || r.FirstByte.Before(r.Sent) || r.Done.Before(r.FirstByte) {
			t.Fatalf("tag %d: times out of order: sent %v, first byte %v, done %v", tag, r.Sent, r.FirstByte, r.Done)
		}
		body += r.BodyBytes
	}
	var want int64
	for i := range 10 {
		want += int64(total/10) * int64(i*1000+i)
	}
	if body != want {
		t.Errorf("body bytes %d, want %d", body, want)
	}
	if n := served.Load(); n != total {
		t.Errorf("server served %d requests, want %d", n, total)
	}
}

// With Streams 1000 and a server allowing 1000, the server sees more than
// 500 streams of one connection open at once.
func TestManyStreamsInFlightOnOneConnection(t *testing.T) {
	const n = 600
	var mu sync.Mutex
	open, peak := 0, 0
	release := make(chan struct{})
	var once sync.Once
	addr := serveGo(t, 1000, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		open++
		peak = max(peak, open)
		if open == n {
			once.Do(func() { close(release) })
		}
		mu.Unlock()
		select {
		case <-release:
		case <-time.After(10 * time.Second):
		}
		mu.Lock()
		open--
		mu.Unlock()
		w.Write([]byte("ok"))
	}))
	rec := newRecorder(n)
	c := connect(t, addr, Options{Streams: 1000, OnDone: rec.onDone})
	if lim, byServer := c.Limit(); lim != 1000 || byServer {
		t.Fatalf("Limit() = %d, %v; want 1000, false", lim, byServer)
	}
	req := get(t, addr, "/")
	for i := range n {
		if err := c.Send(req, uint64(i)); err != nil {
			t.Fatal(err)
		}
	}
	if free := c.Free(); free != 1000-n {
		t.Errorf("Free() = %d with %d streams open, want %d", free, n, 1000-n)
	}
	c.Flush()
	got := rec.wait(t, 20*time.Second)
	for tag, r := range got {
		if r.Err != nil || r.Status != 200 || r.BodyBytes != 2 {
			t.Fatalf("tag %d: %+v", tag, r)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if peak <= 500 {
		t.Errorf("server saw at most %d streams open at once, want more than 500", peak)
	}
	if c.Free() != 1000 {
		t.Errorf("Free() = %d after all completed, want 1000", c.Free())
	}
}

// The server's SETTINGS_MAX_CONCURRENT_STREAMS caps Limit and Free, and
// Limit says so; the next Send is refused, not sent to be REFUSED_STREAM.
func TestServerMaxConcurrentStreamsCaps(t *testing.T) {
	hold := make(chan struct{})
	addr := serveGo(t, 100, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-hold }))
	defer close(hold)
	c := connect(t, addr, Options{Streams: 1000, OnDone: func(uint64, Result) {}})
	if lim, byServer := c.Limit(); lim != 100 || !byServer {
		t.Fatalf("Limit() = %d, %v; want 100, true (the server's setting)", lim, byServer)
	}
	if f := c.Free(); f != 100 {
		t.Fatalf("Free() = %d, want 100", f)
	}
	req := get(t, addr, "/")
	for i := range 100 {
		if err := c.Send(req, uint64(i)); err != nil {
			t.Fatalf("send %d: %v", i, err)
		}
	}
	if f := c.Free(); f != 0 {
		t.Errorf("Free() = %d with 100 open, want 0", f)
	}
	if err := c.Send(req, 100); !errors.Is(err, ErrNoSlot) {
		t.Errorf("101st Send = %v, want ErrNoSlot", err)
	}

	c2 := connect(t, addr, Options{Streams: 10, OnDone: func(uint64, Result) {}})
	if lim, byServer := c2.Limit(); lim != 10 || byServer {
		t.Errorf("Limit() = %d, %v with Streams 10; want 10, false", lim, byServer)
	}
}
