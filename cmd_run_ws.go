package main

import (
	"context"
	"io"
	"os"
	"strconv"

	"github.com/spf13/cobra"

	"volley/load"
	"volley/load/dial"
	"volley/load/message"
	"volley/load/request"
	"volley/load/ws"
	"volley/report"
	"volley/stats"
)

// wsOptions are the message flags of `volley run`, for WebSocket and
// (with rtc's own) WebRTC.
type wsOptions struct {
	message     string
	messageFile string
	binary      bool
	messageSize int
	match       string
	mode        string
	connectRate float64

	cfg ws.Config // set by check
	rtc rtcOptions
}

func (w *wsOptions) addFlags(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&w.message, "message", "", "WebSocket: message TEXT to send; {{id}} marks where its id goes (default: before it)")
	f.StringVar(&w.messageFile, "message-file", "", "WebSocket: read the message from this file")
	f.BoolVar(&w.binary, "binary", false, "WebSocket: send binary frames instead of text frames")
	f.Var(sizeValue{&w.messageSize}, "message-size", "WebSocket: send messages of this size (bytes, or with a unit: 4KiB) of random payload, id included")
	f.StringVar(&w.match, "match", "id", "WebSocket: match echoes by message id, or fifo (the next message is the echo)")
	f.StringVar(&w.mode, "mode", "echo", "WebSocket: echo (send, time the echo) or subscribe (only listen; latency from the server's ts_ns)")
	f.Var(rateValue{&w.connectRate}, "connect-rate", "WebSocket, WebRTC: open the connections at N per second (N or N/s) before sending; 0 = all at once")
	w.rtc.addFlags(cmd)
}

// check validates the WebSocket flags against the URL and the plan, and
// builds the WebSocket configuration.
func (w *wsOptions) check(url string, cfg *load.Config, changed func(string) bool) error {
	if w.rtc.on {
		if request.IsWebSocketURL(url) {
			return usageErrorf("--webrtc: the URL is the signalling endpoint, http:// or https://, not %s", url)
		}
		if err := w.checkMessages(cfg, changed); err != nil {
			return err
		}
		return w.rtc.check(cfg, w, changed)
	}
	if err := w.rtc.check(cfg, w, changed); err != nil {
		return err
	}
	if !request.IsWebSocketURL(url) {
		for _, name := range []string{"message", "message-file", "binary", "message-size", "match", "mode", "connect-rate"} {
			if changed(name) {
				return usageErrorf("--%s: only for ws:// and wss:// URLs, or with --webrtc", name)
			}
		}
		return nil
	}
	if cfg.Request.Method != "GET" {
		return usageErrorf("--method %s: a WebSocket handshake is a GET", cfg.Request.Method)
	}
	if len(cfg.Request.Body) > 0 {
		return usageErrorf("--body: a WebSocket handshake has no body; give the message with --message")
	}
	if err := refuseHTTPOnly(cfg); err != nil {
		return err
	}
	return w.checkMessages(cfg, changed)
}

// checkMessages validates the message flags and builds the messages'
// configuration.
func (w *wsOptions) checkMessages(cfg *load.Config, changed func(string) bool) error {
	var err error
	if w.cfg.Mode, err = message.ParseMode(w.mode); err != nil {
		return usageErrorf("--mode: %w", err)
	}
	if w.cfg.Match, err = message.ParseMatch(w.match); err != nil {
		return usageErrorf("--match: %w", err)
	}
	if r := w.connectRate; r < 0 || r > 1e6 {
		return usageErrorf("--connect-rate %v: want handshakes per second, 0 to 1000000", r)
	}
	w.cfg.ConnectRate = w.connectRate
	if w.cfg.Mode == message.Subscribe {
		if cfg.Rate > 0 {
			return usageErrorf("--rate: --mode subscribe only listens; the server sets the rate")
		}
		for _, name := range []string{"message", "message-file", "binary", "message-size", "match"} {
			if changed(name) {
				return usageErrorf("--%s: --mode subscribe sends no messages", name)
			}
		}
		return nil
	}
	var msg []byte
	switch {
	case btoi(changed("message"))+btoi(changed("message-file"))+btoi(changed("message-size")) > 1:
		return usageErrorf("--message, --message-file and --message-size: give one")
	case changed("message-size") && w.messageSize < 1, w.messageSize > cfg.MaxBody && cfg.MaxBody > 0:
		return usageErrorf("--message-size %d: want 1 to %d bytes (--max-body)", w.messageSize, cfg.MaxBody)
	case w.messageFile != "":
		if msg, err = os.ReadFile(w.messageFile); err != nil {
			return usageErrorf("--message-file: %w", err)
		}
	case changed("message"):
		msg = []byte(w.message)
	case w.messageSize == 0:
		msg = []byte("volley")
	}
	payload, err := message.Payload(msg, w.messageSize, w.binary, w.cfg.Match)
	if err != nil {
		flag := "--message"
		switch {
		case w.messageSize != 0:
			flag = "--message-size"
		case w.messageFile != "":
			flag = "--message-file"
		}
		return usageErrorf("%s: %w", flag, err)
	}
	w.cfg.Payload, w.cfg.Binary = payload, w.binary
	return nil
}

// refuseHTTPOnly refuses the flags that mean something for HTTP only, so
// that a WebSocket run never silently ignores one. (--proxy, --unix-socket
// and the TLS flags apply: the handshake dials as HTTP does.)
func refuseHTTPOnly(cfg *load.Config) error {
	c := &cfg.Conn
	switch {
	case cfg.Expect.Status != nil:
		return usageErrorf("--expect-status: applies to HTTP responses, not WebSocket messages")
	case cfg.Expect.Active():
		return usageErrorf("--expect-body: applies to HTTP response bodies, not WebSocket messages")
	case c.Protocol == dial.HTTP2:
		return usageErrorf("--http2: a WebSocket handshake is HTTP/1.1 (WebSocket over HTTP/2 is not supported)")
	case c.Protocol == dial.H2C:
		return usageErrorf("--h2c: a WebSocket handshake is HTTP/1.1 (WebSocket over HTTP/2 is not supported)")
	case c.FollowRedirects > 0:
		return usageErrorf("--follow-redirects: a WebSocket handshake is not redirected; a 3xx answer is a handshake error")
	case c.Compressed:
		return usageErrorf("--compressed: applies to HTTP responses; WebSocket messages are sent and read uncompressed")
	case c.NoKeepAlive:
		return usageErrorf("--no-keepalive: a WebSocket connection carries every message; it is reopened only after it fails")
	}
	return nil
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// client opens the WebSocket connections (paced by --connect-rate) for a
// plan; the client adds the WebSocket counts to the result.
func (w *wsOptions) client(ctx context.Context, cfg load.Config, progress bool, stderr io.Writer) (load.Client, error) {
	opts := w.cfg
	client, err := ws.NewClient(cfg, opts)
	if err != nil {
		return nil, usageError{flagName(err)}
	}
	n := cfg.Connections
	if cfg.Requests > 0 && int64(n) > cfg.Requests {
		n = int(cfg.Requests)
	}
	if progress && opts.ConnectRate > 0 {
		notice(stderr, "opening %s at %s/s", report.Plural(int64(n), "connection"), strconv.FormatFloat(opts.ConnectRate, 'g', -1, 64))
	}
	client.Open(ctx, n)
	// Echoing, the engine's multiplexed path: every message goes out at its
	// intended time whatever echoes its connection awaits.
	return client.Engine(), nil
}

// warnClockSkew says once, on stderr, that subscribed messages carried
// timestamps in the future: their latency could not be measured, and the
// percentiles describe only the others.
func warnClockSkew(m *stats.Messages, stderr io.Writer) {
	if m.ClockSkew == 0 {
		return
	}
	notice(stderr, "warning: %d messages carried timestamps up to %s in the future: "+
		"the server's clock is ahead; their latency is not recorded (each counts as an error, clock_skew)",
		m.ClockSkew, report.Duration(m.ClockSkewMaxMs))
}

// runWSHelp is appended to `volley run --help`.
const runWSHelp = `

WebSocket (ws:// and wss:// URLs): -c connections are opened first (paced by
--connect-rate), then messages go out on the same schedule: --rate is
messages per second across all connections, -n counts messages and
--timeout bounds each round trip. Connections are full duplex: each message
is sent at its intended time whatever echoes its connection awaits (at most
--streams, default 100000; with --rate 0 each connection sends its next
message when the previous echo arrives, or keeps --streams in flight).
Each message carries its id, 16 hex digits, before the payload
("00000000000004d2 volley") or where {{id}} stands in it; its echo is the
message received that holds the same id. --match fifo sends the payload as
it is and takes echoes in send order. A message unanswered within --timeout
is counted as unanswered; its connection stays open. A connection that ends
fails the messages awaiting their echo on it, and the next message reopens
it. --mode subscribe only listens: each message must hold "ts_ns":
UNIX_NANOSECONDS, and its latency is the receipt time minus that; a message
stamped after it arrived (the server's clock is ahead) counts as clock_skew
and as an error, with no latency. --max-body bounds a received message; 0
means no limit. The handshake dials as HTTP does: --cacert, --insecure,
--servername, --cert/--key, --proxy and --unix-socket apply; the HTTP-only
flags (--expect-status, --expect-body, --http2, --h2c, --follow-redirects,
--compressed, --no-keepalive) are refused.`
