package ws

import (
	"bufio"
	"crypto/sha1"
	"encoding/base64"
	"io"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"volley/internal/race"
	"volley/load"
	"volley/load/message"
	"volley/load/request"
	"volley/stats"
)

// cannedWSEcho is a minimal RFC 6455 echo that allocates nothing per
// message once a connection is up (unmasked frames up to 64 KiB), so that
// process-wide allocation counts measure the client alone.
func cannedWSEcho(tb testing.TB) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go cannedWSConn(c)
		}
	}()
	return "ws://" + ln.Addr().String() + "/alloc"
}

func cannedWSConn(c net.Conn) {
	defer c.Close()
	br := bufio.NewReader(c)
	key := ""
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			return
		}
		if k, v, ok := strings.Cut(line, ":"); ok && strings.EqualFold(k, "Sec-WebSocket-Key") {
			key = strings.TrimSpace(v)
		}
		if line == "\r\n" {
			break
		}
	}
	sum := sha1.Sum([]byte(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
	if _, err := io.WriteString(c, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Accept: "+base64.StdEncoding.EncodeToString(sum[:])+"\r\n\r\n"); err != nil {
		return
	}
	var hdr [8]byte
	in := make([]byte, 1<<16)
	out := make([]byte, 4+1<<16)
	for {
		if _, err := io.ReadFull(br, hdr[:2]); err != nil {
			return
		}
		op, n := hdr[0], int(hdr[1]&0x7f)
		if n == 127 {
			return
		}
		if n == 126 {
			if _, err := io.ReadFull(br, hdr[:2]); err != nil {
				return
			}
			n = int(hdr[0])<<8 | int(hdr[1])
		}
		if _, err := io.ReadFull(br, hdr[4:8]); err != nil {
			return
		}
		if _, err := io.ReadFull(br, in[:n]); err != nil {
			return
		}
		if op&0x0f == 8 { // close
			return
		}
		out[0] = op
		k := 2
		if n < 126 {
			out[1] = byte(n)
		} else {
			out[1], out[2], out[3] = 126, byte(n>>8), byte(n)
			k = 4
		}
		for i := range n {
			out[k+i] = in[i] ^ hdr[4+i&3]
		}
		if _, err := c.Write(out[:k+n]); err != nil {
			return
		}
	}
}

// chanAnswers hands each answer to the test through a channel.
type chanAnswers struct{ ch chan load.Outcome }

func (a *chanAnswers) Done(_ *load.Ticket, out load.Outcome) { a.ch <- out }

// newWSTestMux opens an echo connection to url on the engine's multiplexed
// path; its answers arrive on the returned channel.
func newWSTestMux(tb testing.TB, url string, payload []byte) (load.MuxConn, chan load.Outcome) {
	tb.Helper()
	client, err := NewClient(load.Config{Spec: request.Spec{Request: request.Request{URL: url}}, Connections: 1, Rate: 1, Requests: 1, Timeout: 5 * time.Second, MaxBody: 1 << 20},
		Config{Payload: payload})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(client.Close)
	a := &chanAnswers{ch: make(chan load.Outcome, 1024)}
	conn, err := client.Engine().(load.MuxClient).NewMuxConn(a)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(conn.Close)
	return conn, a.ch
}

// maxWSAllocs is what gorilla/websocket allocates per message on a client
// connection: the message writer of NextWriter and the message reader of
// NextReader (8 bytes each, or so). volley's own code adds nothing.
const maxWSAllocs = 2

// TestWSMessagePathAllocs: sending messages, matching their echoes (16
// outstanding at once, through the id index) and recording the samples
// allocate no more than the library does, once the outstanding table has
// grown to the window.
func TestWSMessagePathAllocs(t *testing.T) {
	if race.Enabled {
		t.Skip("allocation counts are not meaningful under the race detector")
	}
	conn, answers := newWSTestMux(t, cannedWSEcho(t), make([]byte, 64))
	rec := stats.NewRecorder(4096)
	const window = 16
	tickets := make([]load.Ticket, window)
	var i int64
	round := func() {
		for k := range tickets {
			tickets[k] = load.Ticket{I: i}
			i++
			if err := conn.Send(&tickets[k]); err != nil {
				t.Fatal(err)
			}
		}
		for range tickets {
			out := <-answers
			if out.Code != stats.Answered {
				t.Fatalf("code %d, err %v", out.Code, out.Err)
			}
			rec.Record(stats.Sample{Done: i, Corrected: 1000, Service: 1000, Code: uint16(out.Code)})
		}
	}
	round() // connect, and grow the table to the window
	allocs := testing.AllocsPerRun(200, round)
	if perMsg := allocs / window; perMsg > maxWSAllocs {
		t.Errorf("message path allocates %.2f times per message, want at most %d (gorilla/websocket's own)", perMsg, maxWSAllocs)
	}
}

// BenchmarkWSMessagePath measures one message round trip's client cost over
// loopback: build the id, write the frame, read and match the echo, answer.
// Most of the time is the loopback round trip and the echo goroutine.
func BenchmarkWSMessagePath(b *testing.B) {
	for _, size := range []int{64, 1024} {
		b.Run(strconv.Itoa(size)+"B", func(b *testing.B) {
			conn, answers := newWSTestMux(b, cannedWSEcho(b), make([]byte, size-message.IDHeaderLen))
			var tk load.Ticket
			b.ReportAllocs()
			b.SetBytes(int64(size))
			for i := 0; b.Loop(); i++ {
				tk = load.Ticket{I: int64(i)}
				if err := conn.Send(&tk); err != nil {
					b.Fatal(err)
				}
				if out := <-answers; out.Code != stats.Answered {
					b.Fatalf("code %d, err %v", out.Code, out.Err)
				}
			}
		})
	}
}
