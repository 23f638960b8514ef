package h2

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"volley/load"
	"volley/load/dial"
	"volley/load/request"
	"volley/stats"
)

// MuxClient speaks HTTP/2 on volley's own client (load/h2): each worker's
// connection carries up to Streams requests at once, each sent when it is
// due whatever is outstanding, with a request encoded once per target and
// no allocation per request. It measures what the one-stream client does
// (status, body bytes, connect and TLS, TTFB and transfer) but reads no body
// into memory, so body checks, redirects and decompression stay with
// H2Client (NewH2MuxClient refuses them).
type MuxClient struct {
	plan      *request.Plan
	opts      dial.Options
	timeout   time.Duration
	maxBody   int
	maxHeader int
	streams   int
	dialer    *dial.Dialer
	encoded   []*EncodedRequest // per target, when it has no template
	in, out   atomic.Int64
	capped    atomic.Int64 // the lowest SETTINGS_MAX_CONCURRENT_STREAMS below streams, 0 if none
}

var _ load.MuxClient = (*MuxClient)(nil)

// Unsupported says why the multiplexing client cannot run cfg, or nil: it
// counts bodies without reading them (so no body checks and no
// decompression), follows no redirects and keeps its connections.
func Unsupported(cfg *load.Config) error {
	switch {
	case cfg.Expect.NeedsBody():
		return errors.New("streams: --expect-body reads whole bodies, which only one stream per connection does; drop --streams or the body check")
	case cfg.Conn.FollowRedirects > 0:
		return errors.New("streams: --follow-redirects is followed on one stream per connection only; drop --streams or the redirects")
	case cfg.Conn.Compressed:
		return errors.New("streams: --compressed decodes bodies, which only one stream per connection does; drop --streams or --compressed")
	case cfg.Conn.NoKeepAlive:
		return errors.New("streams: --no-keepalive opens a connection per request, which carries one stream; drop --streams or --no-keepalive")
	}
	return nil
}

// NewMuxClient prepares an HTTP/2 client for cfg (protocol dial.HTTP2 or dial.H2C)
// with cfg.Streams streams per connection. It does not connect.
func NewMuxClient(cfg load.Config) (*MuxClient, error) {
	if err := Unsupported(&cfg); err != nil {
		return nil, err
	}
	p, limit, err := prepare(&cfg)
	if err != nil {
		return nil, err
	}
	c := &MuxClient{plan: p, opts: cfg.Conn, timeout: cfg.Timeout, maxBody: cfg.MaxBody,
		maxHeader: limit, streams: max(cfg.Streams, 1)}
	c.dialer = dial.NewDialer(&c.opts, cfg.Timeout, &c.in, &c.out)
	c.encoded = make([]*EncodedRequest, len(p.Targets))
	for k := range p.Targets {
		if t := &p.Targets[k]; t.Static {
			env := p.Env(0)
			enc, err := c.encode(t, &env)
			if err != nil {
				return nil, cfg.TargetError(k, err)
			}
			c.encoded[k] = enc
		}
	}
	return c, nil
}

// encode renders target t for env as HTTP/2 frames.
func (c *MuxClient) encode(t *request.Compiled, env *request.Env) (*EncodedRequest, error) {
	raw := t.URLText
	if raw == "" {
		raw = string(t.URL.AppendTo(nil, env))
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, err
	}
	r := Request{Method: t.Method, Scheme: u.Scheme, Authority: u.Host, Path: u.RequestURI()}
	if r.Scheme == "" {
		r.Scheme = "http"
	}
	hasUA := false
	for k := range t.Headers {
		hd := &t.Headers[k]
		v := hd.Text
		if !hd.Value.Static() {
			v = string(hd.Value.AppendTo(nil, env))
		}
		name := strings.ToLower(hd.Key)
		switch name {
		case "host":
			r.Authority = v
			continue
		case "connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade":
			continue // HTTP/2 has no connection-specific fields
		case "user-agent":
			hasUA = true
		}
		r.Header = append(r.Header, [2]string{name, v})
	}
	if !hasUA {
		r.Header = append(r.Header, [2]string{"user-agent", "volley"})
	}
	if t.BodyText != nil {
		r.Body = t.BodyText
	} else {
		r.Body = t.Body.AppendTo(nil, env)
	}
	return r.Encode()
}

// NewMuxConn returns a worker's connection; it dials on its first Send.
func (c *MuxClient) NewMuxConn(a load.Answers) (load.MuxConn, error) {
	return &muxConn{c: c, ans: a, conns: make([]*Conn, len(c.plan.Endpoints)),
		tickets: make([]muxTicket, c.streams)}, nil
}

// NewConn is not used: the engine runs a MuxClient through NewMuxConn.
func (c *MuxClient) NewConn() (load.Conn, error) {
	return nil, errors.New("the multiplexing HTTP/2 client runs through NewMuxConn")
}

// Streams is the streams wanted per connection (--streams).
func (c *MuxClient) Streams() int { return c.streams }

// ServerCap is the lowest SETTINGS_MAX_CONCURRENT_STREAMS that held a
// connection below --streams, 0 if none did.
func (c *MuxClient) ServerCap() int { return int(c.capped.Load()) }

// BytesOut is the number of bytes written so far, TLS records included.
func (c *MuxClient) BytesOut() int64 { return c.out.Load() }

// BytesIn is the number of bytes read so far, TLS records included.
func (c *MuxClient) BytesIn() int64 { return c.in.Load() }

// Close releases nothing beyond what the connections release.
func (c *MuxClient) Close() {}

// Protocol is what the run spoke.
func (c *MuxClient) Protocol() string { return "HTTP/2.0" }

// muxConn is one worker's HTTP/2 connection per endpoint.
type muxConn struct {
	c   *MuxClient
	ans load.Answers
	mu  sync.Mutex // guards conns: Close may come from another goroutine
	// conns are by endpoint; nil until dialled, replaced when dead.
	conns []*Conn
	cap   atomic.Int64 // the first endpoint connection's stream limit
	// tickets holds what a stream answers to, by the engine's slot (the
	// stream's tag). The sender writes an entry before the Send that
	// publishes it; the read loop reads it after the answer.
	tickets []muxTicket
}

type muxTicket struct {
	t       *load.Ticket
	group   uint8
	connect time.Duration // the dial this request waited for
	tls     time.Duration
}

var _ load.MuxConn = (*muxConn)(nil)

// Send writes t's request on its endpoint's connection, dialling it first
// when there is none (or it died).
func (m *muxConn) Send(t *load.Ticket) error {
	p := m.c.plan
	k := p.Pick(t.I)
	tg := &p.Targets[k]
	enc := m.c.encoded[k]
	if enc == nil {
		env := p.Env(t.I)
		var err error
		if enc, err = m.c.encode(tg, &env); err != nil {
			return err
		}
	}
	slot := &m.tickets[t.Slot]
	slot.t, slot.group, slot.connect, slot.tls = t, tg.Group, 0, 0
	for attempt := 0; ; attempt++ {
		m.mu.Lock()
		conn := m.conns[tg.Endpoint]
		m.mu.Unlock()
		if conn == nil || conn.Err() != nil {
			var err error
			if conn, slot.connect, slot.tls, err = m.dial(tg.Endpoint); err != nil {
				return err
			}
		}
		err := conn.Send(enc, uint64(t.Slot))
		if err == nil {
			// Accepted: from here its end comes through OnDone, a failed
			// write's included. The engine calls Flush.
			return nil
		}
		// A connection that went away (GOAWAY, ids used up, lost) between
		// the check and the send: one redial.
		conn.Close()
		m.mu.Lock()
		if m.conns[tg.Endpoint] == conn {
			m.conns[tg.Endpoint] = nil
		}
		m.mu.Unlock()
		if attempt > 0 {
			return err
		}
	}
}

// dial opens the connection to endpoint e and starts HTTP/2 on it.
func (m *muxConn) dial(e int) (*Conn, time.Duration, time.Duration, error) {
	ep := m.c.plan.Endpoints[e]
	var alpn []string
	if ep.Scheme == "https" {
		alpn = []string{"h2"}
	}
	nc, connect, hands, err := m.c.dialer.Dial(ep, alpn, nil)
	if err != nil {
		return nil, 0, 0, err
	}
	if tc, ok := nc.(*tls.Conn); ok && tc.ConnectionState().NegotiatedProtocol != "h2" {
		nc.Close()
		return nil, 0, 0, fmt.Errorf("%s: the server did not agree to HTTP/2 (ALPN %q)", ep.Addr, tc.ConnectionState().NegotiatedProtocol)
	}
	conn, err := NewConn(nc, Options{Streams: m.c.streams, MaxBody: int64(m.c.maxBody),
		MaxHeaderBytes: m.c.maxHeader, Timeout: m.c.timeout, OnDone: m.done})
	if err != nil {
		nc.Close()
		return nil, 0, 0, err
	}
	if n, byServer := conn.Limit(); byServer && n < m.c.streams {
		for {
			old := m.c.capped.Load()
			if (old != 0 && old <= int64(n)) || m.c.capped.CompareAndSwap(old, int64(n)) {
				break
			}
		}
	}
	if e == 0 {
		n, _ := conn.Limit()
		m.cap.Store(int64(n))
	}
	m.mu.Lock()
	old := m.conns[e]
	m.conns[e] = conn
	m.mu.Unlock()
	if old != nil {
		old.Close()
	}
	return conn, connect, hands, nil
}

// done turns a stream's end into the engine's Outcome.
func (m *muxConn) done(tag uint64, r Result) {
	slot := &m.tickets[tag]
	out := load.Outcome{Code: r.Status, BytesIn: r.BodyBytes, Target: slot.group}
	out.Phases.Connect, out.Phases.TLS = dial.Micros(slot.connect), dial.Micros(slot.tls)
	if !r.Sent.IsZero() && !r.FirstByte.IsZero() {
		out.Phases.TTFB = dial.Micros(r.FirstByte.Sub(r.Sent))
		// A response that arrived in one read took under a microsecond to
		// transfer, which Micros rounds up to 1 as it does every duration.
		out.Phases.Transfer = dial.Micros(max(r.Done.Sub(r.FirstByte), 1))
	}
	switch {
	case errors.Is(r.Err, ErrHeaderTooLarge):
		out.Code, out.Kind, out.Err = 0, stats.ErrProtocol, headersTooLarge(m.c.maxHeader)
	case r.Err != nil:
		out.Code, out.Kind, out.Err = 0, dial.Classify(r.Err), r.Err
	case r.Status < 100 || r.Status > 599:
		out.Code, out.Kind, out.Err = 0, stats.ErrProtocol, fmt.Errorf("%w %d", request.ErrInvalidStatus, r.Status)
	case m.c.plan.Expect.Active():
		out.Check = m.c.plan.Expect.Check(r.Status, nil)
	}
	m.ans.Done(slot.t, out)
}

// Cap is the stream limit on the first endpoint's connection, 0 before it
// is known. It takes no lock: the engine calls it under its own.
func (m *muxConn) Cap() int { return int(m.cap.Load()) }

// Flush writes what Send queued on every connection; a failed write ends
// its streams through OnDone.
func (m *muxConn) Flush() {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, c := range m.conns {
		if c != nil {
			_ = c.Flush()
		}
	}
}

var _ load.Flusher = (*muxConn)(nil)

// Close closes every connection; outstanding streams end through OnDone.
func (m *muxConn) Close() {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, c := range m.conns {
		if c != nil {
			c.Close()
		}
	}
}
