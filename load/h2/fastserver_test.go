package h2

import (
	"bufio"
	"encoding/binary"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"volley/internal/race"

	"golang.org/x/net/http2"
)

// serveFast starts an HTTP/2 server that answers every request with a
// pre-encoded 200 "hello" (with the fields nginx sends), allocating nothing
// per request, so an allocation count of the process is our client's own.
// It counts the requests it answered.
func serveFast(t testing.TB, maxStreams uint32) (string, *atomic.Int64) {
	t.Helper()
	var served atomic.Int64
	block, resp := fastResponse()
	addr := serveConns(t, func(nc net.Conn) { fastConn(nc, maxStreams, resp, len(block)+9, &served, nil) })
	return addr, &served
}

// fastResponse is the fast server's answer: a 200 "hello" with nginx's
// fields, as one HEADERS and one DATA frame (stream id 0, patched in by
// appendAnswer), and its header block.
func fastResponse() (block, resp []byte) {
	block = appendField(block, ":status", "200")
	block = appendField(block, "server", "nginx/1.22.1")
	block = appendField(block, "date", "Tue, 01 Dec 2026 10:00:00 GMT")
	block = appendField(block, "content-type", "text/plain")
	block = appendField(block, "content-length", "5")
	resp = appendFrameHeader(resp, len(block), http2.FrameHeaders, http2.FlagHeadersEndHeaders, 0)
	resp = append(resp, block...)
	resp = appendFrameHeader(resp, 5, http2.FrameData, http2.FlagDataEndStream, 0)
	resp = append(resp, "hello"...)
	return block, resp
}

// appendAnswer appends resp for stream id.
func appendAnswer(out, resp []byte, dataAt int, id uint32) []byte {
	base := len(out)
	out = append(out, resp...)
	binary.BigEndian.PutUint32(out[base+5:], id)
	binary.BigEndian.PutUint32(out[base+dataAt+5:], id)
	return out
}

// stall freezes a fast server as the built-in target's --stall does, but
// comes back at once: the answers to requests that arrive from at to at+for
// after the first request are held, then written in one burst per
// connection, so the release takes well under a millisecond.
type stall struct {
	at, length time.Duration
	first      sync.Once
	start      time.Time
	inFlight   atomic.Int64 // requests held now
	maxHeld    atomic.Int64
}

// hold reports whether a request arriving now falls in the freeze, and
// when the freeze ends.
func (s *stall) hold() (bool, time.Time) {
	now := time.Now()
	s.first.Do(func() { s.start = now })
	from := s.start.Add(s.at)
	to := from.Add(s.length)
	return !now.Before(from) && now.Before(to), to
}

// noteHeld keeps the most requests held at once.
func (s *stall) noteHeld(n int64) {
	for {
		m := s.maxHeld.Load()
		if n <= m || s.maxHeld.CompareAndSwap(m, n) {
			return
		}
	}
}

// serveStalling is serveFast frozen by st.
func serveStalling(t testing.TB, maxStreams uint32, st *stall) (string, *atomic.Int64) {
	t.Helper()
	var served atomic.Int64
	block, resp := fastResponse()
	addr := serveConns(t, func(nc net.Conn) { fastConn(nc, maxStreams, resp, len(block)+9, &served, st) })
	return addr, &served
}

func fastConn(nc net.Conn, maxStreams uint32, resp []byte, dataAt int, served *atomic.Int64, st *stall) {
	var mu sync.Mutex // orders writes: the loop's and the release's
	var held []uint32
	release := func() {
		mu.Lock()
		defer mu.Unlock()
		buf := make([]byte, 0, len(held)*len(resp))
		for _, id := range held {
			buf = appendAnswer(buf, resp, dataAt, id)
		}
		_, _ = nc.Write(buf)
		served.Add(int64(len(held)))
		st.inFlight.Add(-int64(len(held)))
		held = nil
	}
	br := bufio.NewReaderSize(nc, 64<<10)
	if _, err := br.Discard(len(http2.ClientPreface)); err != nil {
		return
	}
	out := make([]byte, 0, 64<<10)
	out = appendFrameHeader(out, 6, http2.FrameSettings, 0, 0)
	out = append(out, 0, byte(http2.SettingMaxConcurrentStreams), byte(maxStreams>>24), byte(maxStreams>>16), byte(maxStreams>>8), byte(maxStreams))
	var hdr [9]byte
	for {
		if br.Buffered() < 9 && len(out) > 0 {
			mu.Lock()
			_, err := nc.Write(out)
			mu.Unlock()
			if err != nil {
				return
			}
			out = out[:0]
		}
		if _, err := io.ReadFull(br, hdr[:]); err != nil {
			return
		}
		n := int(hdr[0])<<16 | int(hdr[1])<<8 | int(hdr[2])
		typ, flags := http2.FrameType(hdr[3]), http2.Flags(hdr[4])
		id := binary.BigEndian.Uint32(hdr[5:]) & 0x7fffffff
		if _, err := br.Discard(n); err != nil {
			return
		}
		switch {
		case typ == http2.FrameSettings && !flags.Has(http2.FlagSettingsAck):
			out = appendFrameHeader(out, 0, http2.FrameSettings, http2.FlagSettingsAck, 0)
		case (typ == http2.FrameHeaders || typ == http2.FrameData) && flags.Has(http2.FlagHeadersEndStream):
			if st != nil {
				if frozen, until := st.hold(); frozen {
					mu.Lock()
					held = append(held, id)
					if len(held) == 1 {
						time.AfterFunc(time.Until(until), release)
					}
					mu.Unlock()
					st.noteHeld(st.inFlight.Add(1))
					continue
				}
			}
			out = appendAnswer(out, resp, dataAt, id)
			served.Add(1)
		}
	}
}

// loop is a closed loop on one Conn: it keeps its streams busy by sending
// the next request from OnDone until total have completed.
type loop struct {
	c         *Conn
	req       *EncodedRequest
	total     int64
	sent      atomic.Int64
	completed atomic.Int64
	bad       atomic.Int64
	body      atomic.Int64
	done      chan struct{}
}

func (l *loop) onDone(tag uint64, r Result) {
	if r.Err != nil || r.Status != 200 {
		l.bad.Add(1)
	}
	l.body.Add(r.BodyBytes)
	if l.sent.Add(1) <= l.total {
		if err := l.c.Send(l.req, tag); err != nil {
			l.bad.Add(1)
			l.sent.Add(-1)
		}
	}
	if l.completed.Add(1) == l.total {
		l.done <- struct{}{}
	}
}

// run sends total requests through streams streams and waits for them.
func (l *loop) run(total int64, streams int) {
	l.total = total
	l.sent.Store(0)
	l.completed.Store(0)
	for range min(int64(streams), total) {
		l.sent.Add(1)
		l.c.Send(l.req, 0)
	}
	l.c.Flush()
	<-l.done
}

func newLoop(t testing.TB, addr string, streams int) *loop {
	l := &loop{done: make(chan struct{}, 1), req: get(t, addr, "/")}
	l.c = connect(t, addr, Options{Streams: streams, OnDone: l.onDone, Timeout: 10e9})
	return l
}

// A closed loop of sends and completions allocates nothing per request
// once warm: not the Send, the frames, the response headers nor OnDone.
func TestSteadyStateAllocatesNothing(t *testing.T) {
	if race.Enabled {
		t.Skip("the race detector allocates; allocation counts are meaningless under -race")
	}
	addr, served := serveFast(t, 100)
	l := newLoop(t, addr, 10)
	const perRun = 5000
	l.run(perRun, 10) // warm: buffers grow to size
	allocs := testing.AllocsPerRun(5, func() { l.run(perRun, 10) })
	if l.bad.Load() != 0 {
		t.Fatalf("%d requests failed", l.bad.Load())
	}
	if want := int64(7 * perRun); served.Load() != want {
		t.Errorf("server answered %d, want %d", served.Load(), want)
	}
	// A single allocation per request would show as perRun per run; allow
	// a stray runtime allocation or two per run.
	if per := allocs / perRun; allocs > 2 {
		t.Errorf("%.0f allocations per run of %d requests (%.4f per request), want 0", allocs, perRun, per)
	}
}

// BenchmarkClosedLoop measures closed loops, each stream sending its next
// request from OnDone: "inproc" is one connection of 10 streams against the
// in-process server (which shares the CPU); "nginx" is 10 connections of 10
// streams against nginx h2c, the set-up of h2load -c 10 -m 10.
func BenchmarkClosedLoop(b *testing.B) {
	b.Run("inproc", func(b *testing.B) {
		addr, _ := serveFast(b, 100)
		benchLoops(b, addr, 1, 10)
	})
	b.Run("nginx", func(b *testing.B) {
		addr, _ := startNginx(b, 1)
		benchLoops(b, addr, 10, 10)
	})
}

func benchLoops(b *testing.B, addr string, conns, streams int) {
	loops := make([]*loop, conns)
	for i := range loops {
		loops[i] = newLoop(b, addr, streams)
		loops[i].run(1000, streams)
	}
	done := make(chan struct{})
	b.ReportAllocs()
	b.ResetTimer()
	for i, l := range loops {
		n := int64(b.N / conns)
		if i < b.N%conns {
			n++
		}
		go func() {
			if n > 0 {
				l.run(n, streams)
			}
			done <- struct{}{}
		}()
	}
	for range loops {
		<-done
	}
	b.StopTimer()
	for _, l := range loops {
		if l.bad.Load() != 0 {
			b.Fatalf("%d requests failed", l.bad.Load())
		}
	}
}
