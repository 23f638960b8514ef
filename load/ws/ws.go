package ws

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
	"github.com/gorilla/websocket"

	"volley/load"
	"volley/load/dial"
	"volley/load/field"
	"volley/load/message"
	"volley/load/request"
	"volley/stats"
)

// Config is the WebSocket part of a plan.
type Config struct {
	Mode  message.Mode
	Match message.Match
	// Payload is the message without its id (see WSPayload); Binary sends it
	// in binary frames instead of text frames.
	Payload []byte
	Binary  bool
	// ConnectRate paces the opening handshakes of Open (per second); 0 opens
	// the connections as fast as they complete, 64 at a time.
	ConnectRate float64
}

// openParallel bounds the handshakes Open runs at once.
const openParallel = 64

// closeWait bounds how long closing a connection waits to write its close
// frame.
const closeWait = 100 * time.Millisecond

// wsReadBuffer is the initial size of a connection's message buffer; it grows
// to the largest message received.
const wsReadBuffer = 4096

// Client opens WebSocket connections (gorilla/websocket) to one URL, each
// reopened after it fails. Echo runs go through Engine: a MuxClient whose
// connections carry many messages at once. Subscribing, each worker's Conn
// owns one connection. Methods are safe for concurrent use; a Conn is used
// by its worker only.
type Client struct {
	url    string
	header http.Header
	dialer websocket.Dialer
	// net makes the TCP, unix socket or proxied connection and its TLS
	// handshake, as for HTTP, so that wss:// honours --cacert, --insecure,
	// --servername and client certificates, and every URL --unix-socket
	// and --proxy; ep is what it dials.
	net     *dial.Dialer
	conn    dial.Options
	ep      dial.Endpoint
	cfg     Config
	tmpl    *message.Template // the message's template, when it has actions besides {{id}}
	timeout time.Duration
	maxBody int
	streams int       // echo: messages awaiting their echo per connection, at most
	epoch   time.Time // the clock of the echo connections' send times
	in, out atomic.Int64

	mu         sync.Mutex            // guards everything below
	subs       []*message.Subscriber // every Conn made (subscribing), for the counts
	muxes      []*message.Mux        // every echo connection made, for the counts
	ready      []*websocket.Conn     // opened by Open, not yet handed out; nil: the handshake failed
	hs         *hdr.Histogram
	handshakes stats.Handshakes
	closes     map[int]int64
}

var _ load.Client = (*Client)(nil)

// NewClient prepares a client for cfg.Request.URL (ws:// or wss://) with
// cfg's headers, timeout (handshake, and each message's round trip),
// largest message (MaxBody, 0 for no limit) and connection options (TLS,
// proxy, unix socket). It does not connect.
func NewClient(cfg load.Config, ws Config) (*Client, error) {
	u, err := request.ParseTargetURL(cfg.Request.URL)
	if err != nil {
		return nil, err
	}
	if u.Scheme != "ws" && u.Scheme != "wss" {
		return nil, fmt.Errorf("url %q: want a ws:// or wss:// URL", cfg.Request.URL)
	}
	if cfg.Request.Method != "" && cfg.Request.Method != http.MethodGet {
		return nil, fmt.Errorf("method %q: a WebSocket handshake is a GET", cfg.Request.Method)
	}
	if len(cfg.Request.Body) > 0 {
		return nil, errors.New("body: a WebSocket handshake has no body; give the message instead")
	}
	for _, h := range cfg.Request.Headers {
		switch http.CanonicalHeaderKey(h.Key) {
		case "Upgrade", "Connection", "Sec-Websocket-Key", "Sec-Websocket-Version", "Sec-Websocket-Extensions":
			return nil, field.Errorf("Request.Headers", "header %q: set by the WebSocket handshake itself", h.Key)
		}
	}
	if ws.ConnectRate < 0 || ws.ConnectRate != ws.ConnectRate {
		return nil, fmt.Errorf("connect rate %v: must be 0 or positive", ws.ConnectRate)
	}
	if ws.Mode == message.Subscribe && cfg.Rate > 0 {
		return nil, fmt.Errorf("rate %v: subscribing connections only listen; leave the rate at 0", cfg.Rate)
	}
	if err := wsConnOptions(&cfg); err != nil {
		return nil, err
	}
	c := &Client{
		url: cfg.Request.URL, header: http.Header{}, cfg: ws, conn: cfg.Conn,
		timeout: cfg.Timeout, maxBody: cfg.MaxBody, streams: message.Streams(&cfg), epoch: time.Now(),
		hs: stats.NewHistogram(), closes: map[int]int64{},
	}
	for _, h := range cfg.Request.Headers {
		c.header.Add(h.Key, h.Value)
	}
	// The shared dialler takes an http or https endpoint: the handshake is
	// HTTP/1.1, over TLS for wss.
	hu := *u
	hu.Scheme = "http"
	if u.Scheme == "wss" {
		hu.Scheme = "https"
	}
	c.ep = dial.EndpointOf(&hu)
	c.net = dial.NewDialer(&c.conn, cfg.Timeout, &c.in, &c.out)
	dial := func(ctx context.Context, _, _ string) (net.Conn, error) { return c.dial(ctx) }
	c.dialer = websocket.Dialer{
		// Both hooks dial c.ep; for wss the TLS handshake is done there,
		// so gorilla/websocket's own TLS configuration is not used.
		NetDialContext:    dial,
		NetDialTLSContext: dial,
		HandshakeTimeout:  cfg.Timeout,
		ReadBufferSize:    wsReadBuffer,
		WriteBufferSize:   wsReadBuffer,
	}
	if !ws.Binary && ws.Mode != message.Subscribe {
		if c.tmpl, err = message.CompileTemplate(ws.Payload, cfg.Data, cfg.Seed, cfg.DataRandom, ws.Match); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// wsConnOptions refuses the settings of cfg that have no meaning for a
// WebSocket run, rather than ignore them, and checks the rest.
func wsConnOptions(cfg *load.Config) error {
	o := &cfg.Conn
	switch {
	case cfg.Expect.Status != nil:
		return errors.New("expect status: applies to HTTP responses, not WebSocket messages")
	case cfg.Expect.Active():
		return errors.New("expect body: applies to HTTP response bodies, not WebSocket messages")
	case o.Protocol != dial.HTTP1:
		return fmt.Errorf("protocol %s: a WebSocket handshake is HTTP/1.1", o.Protocol)
	case o.FollowRedirects > 0:
		return fmt.Errorf("follow redirects %d: a WebSocket handshake is not redirected; a 3xx answer is a handshake error", o.FollowRedirects)
	case o.Compressed:
		return errors.New("compressed: applies to HTTP responses; WebSocket messages are sent and read uncompressed")
	case o.NoKeepAlive:
		return errors.New("no keepalive: a WebSocket connection carries every message; it is reopened only after it fails")
	}
	return o.Validate()
}

// dial connects to the URL's host through the shared dialler (unix socket,
// proxy and TLS as ConnOptions say). It returns when ctx ends even if the
// dial has not: the dialler bounds its own connect and TLS handshake by the
// timeout, and a connection it completes after that is closed.
func (c *Client) dial(ctx context.Context) (net.Conn, error) {
	type dialed struct {
		conn net.Conn
		err  error
	}
	ch := make(chan dialed, 1)
	go func() {
		conn, _, _, err := c.net.Dial(c.ep, nil, nil)
		ch <- dialed{conn, err}
	}()
	select {
	case d := <-ch:
		if d.err != nil {
			return nil, d.err
		}
		return &wsNetConn{Conn: d.conn}, nil
	case <-ctx.Done():
		go func() {
			if d := <-ch; d.conn != nil {
				d.conn.Close()
			}
		}()
		return nil, &net.OpError{Op: "dial", Net: "tcp", Err: ctx.Err()}
	}
}

// Open opens n connections before the run, so that the schedule starts on
// open connections: paced at ConnectRate per second if set, else as fast as
// they complete. Handshakes that fail are counted; their Conns retry on
// their first message. Open returns early when ctx ends.
func (c *Client) Open(ctx context.Context, n int) {
	ready := make([]*websocket.Conn, n)
	done := make([]bool, n)
	load.Paced(ctx, n, c.cfg.ConnectRate, openParallel, func(j int, _ time.Time) {
		if ws, err := c.handshake(ctx); err == nil {
			ready[j] = ws
		}
		done[j] = true
	})
	c.mu.Lock()
	for j, ws := range ready {
		if done[j] {
			c.ready = append(c.ready, ws)
		}
	}
	c.mu.Unlock()
}

// Engine returns what runs c's plan: echoing, a MuxClient view of c whose
// connections each carry up to Config.Streams messages awaiting their echo
// (every message goes out at its intended time); subscribing, c itself, a
// Conn per connection.
func (c *Client) Engine() load.Client {
	if c.cfg.Mode == message.Echo {
		return wsMuxClient{c}
	}
	return c
}

// errEchoNeedsEngine refuses NewConn in echo mode.
var errEchoNeedsEngine = errors.New("websocket echo runs full duplex on the multiplexed path: run WSClient.Engine()")

// NewConn hands out a subscribing connection opened by Open, or a new one
// that connects on its first message. Echo connections are made by
// Engine's NewMuxConn.
func (c *Client) NewConn() (load.Conn, error) {
	if c.cfg.Mode == message.Echo {
		return nil, errEchoNeedsEngine
	}
	d := &wsDialer{c: c, typ: websocket.TextMessage}
	sub := message.NewSubscriber(d, c.timeout)
	c.mu.Lock()
	c.subs = append(c.subs, sub)
	ws := c.takeLocked()
	c.mu.Unlock()
	if ws != nil {
		l, err := d.link(ws, nil)
		if err != nil {
			return nil, err
		}
		sub.Attach(l)
	}
	return sub, nil
}

// takeLocked takes a connection that Open opened (nil for one whose
// handshake failed), or returns nil when none is left. c.mu is held.
func (c *Client) takeLocked() *websocket.Conn {
	if len(c.ready) == 0 {
		return nil
	}
	ws := c.ready[0]
	c.ready = c.ready[1:]
	return ws
}

// since is the time on the echo connections' clock, ns.
func (c *Client) since() int64 { return int64(time.Since(c.epoch)) }

// frame returns a new connection's message frame.
func (c *Client) frame() *message.Frame { return message.FrameFor(c.tmpl, c.cfg.Payload, c.cfg.Match) }

// handshake opens one connection and records its handshake.
func (c *Client) handshake(ctx context.Context) (*websocket.Conn, error) {
	start := time.Now()
	ws, resp, err := c.dialer.DialContext(ctx, c.url, c.header)
	d := time.Since(start)
	c.mu.Lock()
	c.handshakes.Attempted++
	if err != nil {
		c.handshakes.Failed++
	} else {
		c.handshakes.OK++
		stats.RecordHandshake(c.hs, int64(d))
	}
	c.mu.Unlock()
	if err != nil {
		he := &HandshakeError{Err: err}
		if resp != nil {
			he.Status, he.StatusText = resp.StatusCode, resp.Status
		}
		return nil, he
	}
	// MaxBody 0 means no limit, as for HTTP/1.1; gorilla/websocket's read
	// limit means the same when left at 0.
	if c.maxBody > 0 {
		ws.SetReadLimit(int64(c.maxBody))
	}
	return ws, nil
}

func (c *Client) noteClose(code int) {
	c.mu.Lock()
	c.closes[code]++
	c.mu.Unlock()
}

// BytesOut is the number of bytes written to the target so far, handshakes
// and framing included.
func (c *Client) BytesOut() int64 { return c.out.Load() }

// BytesIn is the number of bytes read from the target so far.
func (c *Client) BytesIn() int64 { return c.in.Load() }

// Close closes the connections opened by Open that no worker took.
func (c *Client) Close() {
	c.mu.Lock()
	ready := c.ready
	c.ready = nil
	c.mu.Unlock()
	for _, ws := range ready {
		if ws != nil {
			closeWS(ws)
		}
	}
}

// Stats returns the message counts, the WebSocket counts and the handshake
// latency histogram. Call it after the run: the workers must have stopped.
func (c *Client) Stats() (stats.Messages, stats.WS, *hdr.Histogram) {
	c.mu.Lock()
	muxes, subs := c.muxes, c.subs
	c.mu.Unlock()
	// Outside c.mu: an echo connection notes close codes under its own lock.
	m := message.Tally(c.cfg.Mode, c.cfg.Match, muxes, subs)
	c.mu.Lock()
	defer c.mu.Unlock()
	ws := stats.WS{Handshakes: c.handshakes, CloseCodes: stats.CloseCodeMap(c.closes)}
	return m, ws, hdr.Import(c.hs.Export())
}

// Attach adds the run's messages and WebSocket counts to res (see Stats).
func (c *Client) Attach(res *stats.Result) {
	m, ws, handshakes := c.Stats()
	message.Attach(res, m)
	res.AttachWS(ws, handshakes)
}

// HandshakeError is a failed opening handshake. Status is the HTTP status of
// the answer, 0 when there was none (connect failed, or the answer was not
// HTTP).
type HandshakeError struct {
	Status     int
	StatusText string
	Err        error
}

func (e *HandshakeError) Error() string {
	switch {
	case e.Status == http.StatusSwitchingProtocols:
		return "handshake: " + e.StatusText + " with a bad upgrade: " + e.Err.Error()
	case e.Status >= 200 && e.Status < 300:
		return "handshake: HTTP " + e.StatusText + ": not a WebSocket endpoint"
	case e.Status != 0:
		return "handshake: HTTP " + e.StatusText
	}
	return "handshake: " + e.Err.Error()
}

func (e *HandshakeError) Unwrap() error { return e.Err }

// closeWS sends a normal close frame (waiting at most closeWait) and closes
// the connection.
func closeWS(ws *websocket.Conn) {
	msg := websocket.FormatCloseMessage(websocket.CloseNormalClosure, "")
	_ = ws.WriteControl(websocket.CloseMessage, msg, time.Now().Add(closeWait))
	_ = ws.Close()
}

// Classify maps a WebSocket error to its category: network errors as
// dial.Classify does, a refused or non-WebSocket upgrade as handshake, a close
// frame or a dropped connection as closed, an invalid frame as protocol.
func Classify(err error) stats.ErrorKind {
	if err == nil {
		return stats.ErrNone
	}
	var he *HandshakeError
	if errors.As(err, &he) {
		if he.Status == 0 {
			if k := dial.Classify(he.Err); k != stats.ErrOther && k != stats.ErrClosed {
				return k
			}
		}
		return stats.ErrHandshake
	}
	if errors.Is(err, websocket.ErrReadLimit) {
		return stats.ErrBodyTooLarge
	}
	var ce *websocket.CloseError
	if errors.As(err, &ce) {
		return stats.ErrClosed
	}
	k := dial.Classify(err)
	if k == stats.ErrOther && strings.HasPrefix(err.Error(), "websocket: ") {
		// gorilla/websocket reports frames that break RFC 6455 as plain
		// errors prefixed "websocket: ", after closing with 1002.
		return stats.ErrProtocol
	}
	return k
}
