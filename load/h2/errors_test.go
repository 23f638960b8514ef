package h2

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
	"volley/load/dial"

	"golang.org/x/net/http2"
)

// answer responds "200" with body "hello" unless the path says otherwise.
func answer(sc *srvConn, r srvRequest) { sc.respond(r.id, "200", []byte("hello")) }

func sendAll(t *testing.T, c *Conn, reqs ...*EncodedRequest) {
	t.Helper()
	sendFrom(t, c, 0, reqs...)
}

// sendFrom sends reqs tagged first, first+1, ... and flushes.
func sendFrom(t *testing.T, c *Conn, first uint64, reqs ...*EncodedRequest) {
	t.Helper()
	for i, r := range reqs {
		if err := c.Send(r, first+uint64(i)); err != nil {
			t.Fatalf("send %d: %v", i, err)
		}
	}
	if err := c.Flush(); err != nil {
		t.Fatal(err)
	}
}

func TestServerResetFailsOnlyThatStream(t *testing.T) {
	addr := serveScript(t, script{onRequest: func(sc *srvConn, r srvRequest) {
		if r.path() == "/refuse" {
			sc.rst(r.id, http2.ErrCodeRefusedStream)
			return
		}
		answer(sc, r)
	}})
	rec := newRecorder(3)
	c := connect(t, addr, Options{Streams: 10, OnDone: rec.onDone})
	sendAll(t, c, get(t, addr, "/"), get(t, addr, "/refuse"), get(t, addr, "/"))
	got := rec.wait(t, 5*time.Second)
	var re ResetError
	if err := got[1].Err; !errors.As(err, &re) || http2.ErrCode(re) != http2.ErrCodeRefusedStream ||
		err.Error() != "h2: stream reset by server: REFUSED_STREAM" || got[1].Status != 0 {
		t.Errorf("reset stream: status %d, err %v; want a REFUSED_STREAM reset", got[1].Status, err)
	}
	for _, tag := range []uint64{0, 2} {
		if r := got[tag]; r.Err != nil || r.Status != 200 || r.BodyBytes != 5 {
			t.Errorf("tag %d: %+v, want 200 with 5 bytes", tag, r)
		}
	}
	if c.Free() != 10 {
		t.Errorf("Free() = %d after a reset, want 10", c.Free())
	}
}

// GOAWAY in the middle: streams up to its last-stream-id complete, those
// above fail with a GoAwayError that classifies as closed, no Send is taken
// afterwards, and the drained connection ends.
func TestGoAwayMidFlight(t *testing.T) {
	var mu sync.Mutex
	var held []srvRequest
	addr := serveScript(t, script{onRequest: func(sc *srvConn, r srvRequest) {
		mu.Lock()
		defer mu.Unlock()
		held = append(held, r)
		if len(held) < 10 {
			return
		}
		last := held[4].id
		sc.goAway(last, http2.ErrCodeNo)
		for _, h := range held[:5] {
			answer(sc, h)
		}
	}})
	rec := newRecorder(10)
	c := connect(t, addr, Options{Streams: 10, OnDone: rec.onDone})
	req := get(t, addr, "/")
	sendAll(t, c, req, req, req, req, req, req, req, req, req, req)
	got := rec.wait(t, 5*time.Second)
	for tag := range uint64(10) {
		r := got[tag]
		if tag < 5 {
			if r.Err != nil || r.Status != 200 {
				t.Errorf("stream %d below last-stream-id: %+v, want 200", tag, r)
			}
			continue
		}
		var ga *GoAwayError
		if !errors.As(r.Err, &ga) || !errors.Is(r.Err, net.ErrClosed) || ga.Code != http2.ErrCodeNo {
			t.Errorf("stream %d above last-stream-id: err %v, want a GoAwayError wrapping net.ErrClosed", tag, r.Err)
		}
	}
	select {
	case <-c.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("the drained connection did not end")
	}
	var ga *GoAwayError
	if err := c.Send(req, 99); !errors.As(err, &ga) {
		t.Errorf("Send after GOAWAY = %v, want the GoAwayError", err)
	}
	if c.Free() != 0 {
		t.Errorf("Free() = %d after GOAWAY, want 0", c.Free())
	}
}

func TestServerClosingConnectionFailsEveryStreamOnce(t *testing.T) {
	var mu sync.Mutex
	n := 0
	addr := serveScript(t, script{onRequest: func(sc *srvConn, r srvRequest) {
		mu.Lock()
		defer mu.Unlock()
		if n++; n == 5 {
			sc.nc.Close()
		}
	}})
	rec := newRecorder(5)
	c := connect(t, addr, Options{Streams: 10, OnDone: rec.onDone})
	req := get(t, addr, "/")
	sendAll(t, c, req, req, req, req, req)
	got := rec.wait(t, 5*time.Second)
	for tag, r := range got {
		if !errors.Is(r.Err, io.ErrUnexpectedEOF) || !strings.Contains(r.Err.Error(), "connection lost") {
			t.Errorf("tag %d: err %v, want a lost connection wrapping io.ErrUnexpectedEOF", tag, r.Err)
		}
	}
	<-c.Done()
	if err := c.Send(req, 9); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("Send on a lost connection = %v, want its error", err)
	}
}

// A body over MaxBody fails its stream with ErrBodyTooLarge and cancels it,
// whether the server declared its length or not; the connection goes on.
func TestMaxBody(t *testing.T) {
	cancels := make(chan uint32, 4)
	big := []byte(strings.Repeat("b", 1000))
	addr := serveScript(t, script{
		onRequest: func(sc *srvConn, r srvRequest) {
			switch r.path() {
			case "/declared":
				sc.respond(r.id, "200", big)
			case "/undeclared":
				sc.headers(r.id, false, ":status", "200")
				for range 10 {
					sc.data(r.id, false, big[:100])
				}
				sc.data(r.id, true, nil)
			default:
				answer(sc, r)
			}
		},
		onFrame: func(sc *srvConn, f http2.Frame) bool {
			if rf, ok := f.(*http2.RSTStreamFrame); ok && rf.ErrCode == http2.ErrCodeCancel {
				cancels <- rf.StreamID
			}
			return false
		},
	})
	rec := newRecorder(3)
	c := connect(t, addr, Options{Streams: 10, MaxBody: 500, OnDone: rec.onDone})
	sendAll(t, c, get(t, addr, "/declared"), get(t, addr, "/undeclared"))
	time.Sleep(50 * time.Millisecond)
	sendFrom(t, c, 2, get(t, addr, "/"))
	got := rec.wait(t, 5*time.Second)
	for _, tag := range []uint64{0, 1} {
		if r := got[tag]; !errors.Is(r.Err, ErrBodyTooLarge) || r.Status != 0 {
			t.Errorf("tag %d: %+v, want ErrBodyTooLarge", tag, r)
		}
	}
	if r := got[1]; r.BodyBytes <= 500 || r.BodyBytes > 600 {
		t.Errorf("undeclared body: %d bytes counted before failing, want 501..600", r.BodyBytes)
	}
	if r := got[2]; r.Err != nil || r.Status != 200 {
		t.Errorf("request after the oversized ones: %+v, want 200", r)
	}
	for range 2 {
		select {
		case <-cancels:
		case <-time.After(2 * time.Second):
			t.Fatal("the server did not get RST_STREAM CANCEL for both oversized bodies")
		}
	}
}

// A header block over MaxHeaderBytes fails that stream; the HPACK state
// stays in step, so responses after it (which refer to the table) decode.
func TestMaxHeaderBytes(t *testing.T) {
	huge := strings.Repeat("h", 2000)
	addr := serveScript(t, script{onRequest: func(sc *srvConn, r srvRequest) {
		if r.path() == "/huge" {
			sc.headers(r.id, true, ":status", "200", "x-huge", huge)
			return
		}
		sc.headers(r.id, true, ":status", "201", "x-huge", huge[:100], "x-small", "v")
	}})
	rec := newRecorder(4)
	c := connect(t, addr, Options{Streams: 10, MaxHeaderBytes: 1024, OnDone: rec.onDone})
	sendAll(t, c, get(t, addr, "/huge"))
	time.Sleep(20 * time.Millisecond)
	sendFrom(t, c, 1, get(t, addr, "/"), get(t, addr, "/"), get(t, addr, "/"))
	got := rec.wait(t, 5*time.Second)
	if r := got[0]; !errors.Is(r.Err, ErrHeaderTooLarge) {
		t.Errorf("huge header: %+v, want ErrHeaderTooLarge", r)
	}
	for tag := uint64(1); tag < 4; tag++ {
		if r := got[tag]; r.Err != nil || r.Status != 201 {
			t.Errorf("tag %d after the huge header: %+v, want 201", tag, r)
		}
	}
}

// A stream with no answer fails with a timeout after Timeout, is reset, and
// does not disturb the others.
func TestTimeout(t *testing.T) {
	resets := make(chan uint32, 4)
	addr := serveScript(t, script{
		onRequest: func(sc *srvConn, r srvRequest) {
			if r.path() != "/hang" {
				answer(sc, r)
			}
		},
		onFrame: func(sc *srvConn, f http2.Frame) bool {
			if rf, ok := f.(*http2.RSTStreamFrame); ok {
				resets <- rf.StreamID
			}
			return false
		},
	})
	const timeout = 200 * time.Millisecond
	rec := newRecorder(4)
	c := connect(t, addr, Options{Streams: 10, Timeout: timeout, OnDone: rec.onDone})
	start := time.Now()
	sendAll(t, c, get(t, addr, "/hang"), get(t, addr, "/"))
	time.Sleep(100 * time.Millisecond)
	if err := c.Send(get(t, addr, "/hang"), 2); err != nil {
		t.Fatal(err)
	}
	if err := c.Send(get(t, addr, "/"), 3); err != nil {
		t.Fatal(err)
	}
	c.Flush()
	got := rec.wait(t, 5*time.Second)
	for _, tag := range []uint64{0, 2} {
		r := got[tag]
		took := r.Done.Sub(r.Sent)
		if !errors.Is(r.Err, os.ErrDeadlineExceeded) {
			t.Errorf("hanging stream %d: err %v, want a timeout", tag, r.Err)
		}
		if took < timeout || took > timeout+time.Second {
			t.Errorf("hanging stream %d failed %v after it was sent, want about %v", tag, took, timeout)
		}
	}
	if d := got[2].Done.Sub(got[0].Done); d < 50*time.Millisecond {
		t.Errorf("the later stream timed out %v after the first; each should keep its own deadline", d)
	}
	for _, tag := range []uint64{1, 3} {
		if r := got[tag]; r.Err != nil || r.Status != 200 {
			t.Errorf("answered stream %d: %+v", tag, r)
		}
	}
	for range 2 {
		select {
		case <-resets:
		case <-time.After(2 * time.Second):
			t.Fatal("the server did not get RST_STREAM for both timed-out streams")
		}
	}
	if time.Since(start) > 3*time.Second {
		t.Error("took too long")
	}
}

// Interim 1xx responses are skipped; trailers end the stream.
func TestInterimResponsesAndTrailers(t *testing.T) {
	addr := serveScript(t, script{onRequest: func(sc *srvConn, r srvRequest) {
		sc.headers(r.id, false, ":status", "100")
		sc.headers(r.id, false, ":status", "103", "link", "</a.css>")
		sc.headers(r.id, false, ":status", "202")
		sc.data(r.id, false, []byte("abc"))
		sc.data(r.id, false, []byte("defg"))
		sc.headers(r.id, true, "grpc-status", "0")
	}})
	rec := newRecorder(1)
	c := connect(t, addr, Options{Streams: 1, OnDone: rec.onDone})
	sendAll(t, c, get(t, addr, "/"))
	if r := rec.wait(t, 5*time.Second)[0]; r.Err != nil || r.Status != 202 || r.BodyBytes != 7 {
		t.Errorf("got %+v, want 202 with 7 bytes", r)
	}
}

func TestContentLengthMismatchIsAnError(t *testing.T) {
	addr := serveScript(t, script{onRequest: func(sc *srvConn, r srvRequest) {
		sc.headers(r.id, false, ":status", "200", "content-length", "10")
		sc.data(r.id, true, []byte("short"))
	}})
	rec := newRecorder(1)
	c := connect(t, addr, Options{Streams: 1, OnDone: rec.onDone})
	sendAll(t, c, get(t, addr, "/"))
	if r := rec.wait(t, 5*time.Second)[0]; r.Err == nil || !strings.Contains(r.Err.Error(), "content-length said 10") {
		t.Errorf("got %+v, want a content-length mismatch", r)
	}
}

// A request body larger than the server's stream window waits for its
// WINDOW_UPDATE: the server receives exactly the window first, then the rest.
func TestRequestBodyHonoursServerWindow(t *testing.T) {
	var mu sync.Mutex
	received := 0
	firstBatch := make(chan int, 1)
	addr := serveScript(t, script{
		settings:  []http2.Setting{{ID: http2.SettingInitialWindowSize, Val: 100}},
		onRequest: func(sc *srvConn, r srvRequest) { sc.respond(r.id, "200", []byte(itoa(r.body))) },
		onFrame: func(sc *srvConn, f http2.Frame) bool {
			df, ok := f.(*http2.DataFrame)
			if !ok {
				return false
			}
			mu.Lock()
			received += len(df.Data())
			n := received
			mu.Unlock()
			if n == 100 {
				go func() {
					time.Sleep(100 * time.Millisecond) // anything sent beyond the window would arrive now
					mu.Lock()
					firstBatch <- received
					mu.Unlock()
					sc.mu.Lock()
					sc.fr.WriteWindowUpdate(df.StreamID, 900)
					sc.mu.Unlock()
				}()
			}
			return false
		},
	})
	rec := newRecorder(1)
	c := connect(t, addr, Options{Streams: 1, OnDone: rec.onDone})
	body := []byte(strings.Repeat("p", 1000))
	sendAll(t, c, mustEncode(t, Request{Method: "POST", Scheme: "http", Authority: addr, Path: "/", Body: body}))
	r := rec.wait(t, 5*time.Second)[0]
	if n := <-firstBatch; n != 100 {
		t.Errorf("server received %d body bytes before its WINDOW_UPDATE, want its window of 100", n)
	}
	if r.Err != nil || r.Status != 200 || r.BodyBytes != 4 { // "1000"
		t.Errorf("got %+v, want 200 echoing 1000", r)
	}
	mu.Lock()
	defer mu.Unlock()
	if received != 1000 {
		t.Errorf("server received %d body bytes, want 1000", received)
	}
}

// When stream ids would pass 2^31-1 the connection refuses new streams so
// that the caller redials.
func TestStreamIDsExhausted(t *testing.T) {
	addr := serveScript(t, script{onRequest: answer})
	rec := newRecorder(1)
	c := connect(t, addr, Options{Streams: 4, OnDone: rec.onDone})
	c.mu.Lock()
	c.nextID = maxStreamID
	c.mu.Unlock()
	req := get(t, addr, "/")
	sendAll(t, c, req)
	if err := c.Send(req, 1); !errors.Is(err, ErrExhausted) {
		t.Errorf("Send past the last stream id = %v, want ErrExhausted", err)
	}
	if c.Free() != 0 {
		t.Errorf("Free() = %d when exhausted, want 0", c.Free())
	}
	if r := rec.wait(t, 5*time.Second)[0]; r.Err != nil || r.Status != 200 {
		t.Errorf("last stream (id 2^31-1): %+v, want 200", r)
	}
}

func TestPingIsAcknowledged(t *testing.T) {
	acks := make(chan [8]byte, 1)
	addr := serveScript(t, script{
		onRequest: func(sc *srvConn, r srvRequest) {
			sc.mu.Lock()
			sc.fr.WritePing(false, [8]byte{1, 2, 3, 4, 5, 6, 7, 8})
			sc.mu.Unlock()
			answer(sc, r)
		},
		onFrame: func(sc *srvConn, f http2.Frame) bool {
			if pf, ok := f.(*http2.PingFrame); ok && pf.IsAck() {
				acks <- pf.Data
			}
			return false
		},
	})
	rec := newRecorder(1)
	c := connect(t, addr, Options{Streams: 1, OnDone: rec.onDone})
	sendAll(t, c, get(t, addr, "/"))
	rec.wait(t, 5*time.Second)
	select {
	case d := <-acks:
		if d != [8]byte{1, 2, 3, 4, 5, 6, 7, 8} {
			t.Errorf("PING ack carries %v", d)
		}
	case <-time.After(2 * time.Second):
		t.Error("no PING ack")
	}
}

func TestCloseFailsOutstandingStreams(t *testing.T) {
	addr := serveScript(t, script{onRequest: func(*srvConn, srvRequest) {}})
	rec := newRecorder(3)
	c := connect(t, addr, Options{Streams: 3, OnDone: rec.onDone})
	req := get(t, addr, "/")
	sendAll(t, c, req, req, req)
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	for tag, r := range rec.wait(t, 5*time.Second) {
		if !errors.Is(r.Err, ErrClosed) || !errors.Is(r.Err, net.ErrClosed) {
			t.Errorf("tag %d: err %v, want ErrClosed", tag, r.Err)
		}
	}
	<-c.Done()
	if err := c.Send(req, 5); !errors.Is(err, ErrClosed) {
		t.Errorf("Send after Close = %v", err)
	}
}

// TestClassifyH2: this package's errors land in the
// categories a user expects, not in "other".
func TestClassifyH2(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want string
	}{
		{fmt.Errorf("stream 3: %w", ErrBodyTooLarge), "body_too_large"},
		{ErrHeaderTooLarge, "protocol"},
		{ResetError(http2.ErrCodeRefusedStream), "reset"},
		{&ProtocolError{}, "protocol"},
		{ErrClosed, "closed"},
	} {
		if got := dial.Classify(tc.err); got.String() != tc.want {
			t.Errorf("dial.Classify(%v) = %q, want %q", tc.err, got, tc.want)
		}
	}
}
