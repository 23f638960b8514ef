package load

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"

	"volley/stats"
)

// HTTPClient sends HTTP/1.1 requests with fasthttp's request and response
// types. Each worker owns its connection to each endpoint (see wire), its
// request and response objects; requests without templates are built once
// per worker and sent as they are. Redirects to other hosts go through
// fasthttp.HostClient.
type HTTPClient struct {
	plan    *plan
	opts    ConnOptions
	timeout time.Duration
	maxBody int
	dialer  *dialer
	in, out atomic.Int64
}

var _ Client = (*HTTPClient)(nil)

// prebuildLimit is the number of targets up to which every worker keeps a
// ready request per target without templates; beyond it requests are
// rebuilt from the compiled target each time (no allocation either, but a
// copy of the request's parts).
const prebuildLimit = 64

// NewHTTPClient prepares a client for cfg's requests. It does not connect.
func NewHTTPClient(cfg Config) (*HTTPClient, error) {
	if IsWebSocketURL(cfg.Request.URL) {
		return nil, fmt.Errorf("url %q: a WebSocket URL needs NewWSClient", cfg.Request.URL)
	}
	if cfg.Conn.Protocol != HTTP1 {
		return nil, fmt.Errorf("protocol %v: the HTTP/1.1 client speaks http1.1 only", cfg.Conn.Protocol)
	}
	if err := cfg.Conn.validate(); err != nil {
		return nil, err
	}
	p, err := compilePlan(&cfg)
	if err != nil {
		return nil, err
	}
	c := &HTTPClient{plan: p, opts: cfg.Conn, timeout: cfg.Timeout, maxBody: cfg.MaxBody}
	c.dialer = newDialer(&c.opts, cfg.Timeout, &c.in, &c.out)
	return c, nil
}

// hostClient returns a fasthttp client for ep holding at most one
// connection, dialled through the client's dialer: it sends the hops of a
// redirect to another host (a worker's own endpoints go through wire).
func (c *HTTPClient) hostClient(ep endpoint) *fasthttp.HostClient {
	return &fasthttp.HostClient{
		Addr:               ep.addr,
		Name:               "volley",
		IsTLS:              ep.scheme == "https",
		MaxConns:           1,
		MaxConnWaitTimeout: c.timeout,
		// Every attempt is a request the server may count, so volley never
		// retries behind the user's back.
		MaxIdemponentCallAttempts: 1,
		RetryIf:                   func(*fasthttp.Request) bool { return false },
		MaxResponseBodySize:       c.maxBody,
		// Headers and paths go on the wire exactly as given.
		DisableHeaderNamesNormalizing: true,
		DisablePathNormalizing:        true,
		// As wire's; fasthttp's idle-connection cleaner lives at most this
		// long after Close.
		MaxIdleConnDuration: wireIdle,
		Dial: func(string) (net.Conn, error) {
			// The connection comes back already through its TLS handshake
			// (fasthttp sees a conn with a Handshake method and leaves it).
			conn, _, _, err := c.dialer.dial(ep, []string{"http/1.1"}, nil)
			return conn, err
		},
	}
}

// NewConn returns a worker's connection handle.
func (c *HTTPClient) NewConn() (Conn, error) {
	h := &httpConn{c: c, resp: &fasthttp.Response{}, scratch: &fasthttp.Request{}}
	h.wires = make([]*wire, len(c.plan.endpoints))
	for i, ep := range c.plan.endpoints {
		h.wires[i] = &wire{c: c, ep: ep, pr: &h.pr}
	}
	if len(c.plan.targets) <= prebuildLimit {
		h.reqs = make([]*fasthttp.Request, len(c.plan.targets))
		h.encoded = make([][]byte, len(c.plan.targets))
		for k := range c.plan.targets {
			if t := &c.plan.targets[k]; t.static {
				req := &fasthttp.Request{}
				env := c.plan.env(0)
				h.fill(req, t, &env)
				h.reqs[k] = req
			}
		}
	}
	return h, nil
}

// BytesOut is the number of bytes written to the target so far.
func (c *HTTPClient) BytesOut() int64 { return c.out.Load() }

// BytesIn is the number of bytes read from the target so far.
func (c *HTTPClient) BytesIn() int64 { return c.in.Load() }

// Close releases nothing beyond what the workers' Conns release.
func (c *HTTPClient) Close() {}

// Protocol is the protocol this client speaks.
func (c *HTTPClient) Protocol() string { return "HTTP/1.1" }

var _ Conn = (*httpConn)(nil)

type httpConn struct {
	c       *HTTPClient
	wires   []*wire             // by endpoint
	reqs    []*fasthttp.Request // ready requests by target; nil entries are rebuilt per request
	encoded [][]byte            // reqs as encoded on the wire, filled on first use
	scratch *fasthttp.Request
	resp    *fasthttp.Response
	buf     []byte // rendered URL and header values
	body    []byte // rendered body
	pr      probe

	// For following redirects, built on first use.
	redir    *fasthttp.Request
	others   map[string]*fasthttp.HostClient
	location []byte
}

// fill builds req from the compiled target t for env.
func (h *httpConn) fill(req *fasthttp.Request, t *compiled, env *templateEnv) {
	req.Header.Reset()
	req.Header.DisableNormalizing()
	// No Content-Type the user did not ask for.
	req.Header.SetNoDefaultContentType(true)
	req.UseHostHeader = false
	if t.urlText != "" {
		req.SetRequestURI(t.urlText)
	} else {
		h.buf = t.url.appendTo(h.buf[:0], env)
		req.SetRequestURIBytes(h.buf)
	}
	req.Header.SetMethod(t.method)
	acceptEncoding := false
	for k := range t.headers {
		hd := &t.headers[k]
		var v []byte
		if hd.value.Static() {
			v = s2b(hd.text)
		} else {
			h.buf = hd.value.appendTo(h.buf[:0], env)
			v = h.buf
		}
		switch {
		case strings.EqualFold(hd.key, "Host"):
			req.UseHostHeader = true
			req.Header.SetHostBytes(v)
		case strings.EqualFold(hd.key, "User-Agent"):
			req.Header.SetUserAgentBytes(v)
		case strings.EqualFold(hd.key, "Content-Type"):
			req.Header.SetContentTypeBytes(v)
		default:
			if strings.EqualFold(hd.key, "Accept-Encoding") {
				acceptEncoding = true
			}
			req.Header.AddBytesV(hd.key, v)
		}
	}
	if h.c.opts.Compressed && !acceptEncoding {
		req.Header.Add("Accept-Encoding", "gzip, deflate, br")
	}
	if h.c.opts.NoKeepAlive {
		req.SetConnectionClose()
	}
	if len(req.Header.UserAgent()) == 0 {
		req.Header.SetUserAgent("volley")
	}
	// Paths go on the wire exactly as given.
	req.URI().DisablePathNormalizing = true
	req.ResetBody()
	switch {
	case t.bodyText != nil:
		if len(t.bodyText) > 0 {
			req.SetBodyRaw(t.bodyText)
		}
	default:
		h.body = t.body.appendTo(h.body[:0], env)
		req.SetBodyRaw(h.body)
	}
}

// Do sends request number i. It allocates nothing on success.
func (h *httpConn) Do(i int64) Outcome {
	p := h.c.plan
	k := p.pick.pick(i)
	t := &p.targets[k]
	var (
		req    *fasthttp.Request
		cached *[]byte
	)
	if h.reqs != nil {
		req = h.reqs[k]
		cached = &h.encoded[k]
	}
	if req == nil {
		cached = nil
		env := p.env(i)
		h.fill(h.scratch, t, &env)
		req = h.scratch
	}
	h.resp.Reset()
	h.pr.arm()
	err := h.wires[t.endpoint].do(req, cached, h.resp)
	end := time.Now()
	h.pr.armed = false
	out := Outcome{Target: t.group, Phases: h.phases(end)}
	if err != nil {
		out.Kind, out.Err = Classify(err), err
		if h.pr.rst != nil && (errors.Is(err, fasthttp.ErrConnectionClosed) || errors.Is(err, io.EOF)) {
			// fasthttp folds every error on a response's first byte into
			// "connection closed"; the probe saw it was a reset.
			out.Kind, out.Err = stats.ErrReset, h.pr.rst
		}
		return out
	}
	code := h.resp.StatusCode()
	if h.c.opts.FollowRedirects > 0 && isRedirect(code) {
		return h.follow(req, out)
	}
	return h.finish(code, out)
}

// finish completes out from the response in h.resp.
func (h *httpConn) finish(code int, out Outcome) Outcome {
	if code < 100 || code > 599 {
		out.Kind, out.Err = stats.ErrOther, fmt.Errorf("%w %d", ErrInvalidStatus, code)
		return out
	}
	body := h.resp.Body()
	out.Code, out.BytesIn = code, int64(len(body))
	if e := &h.c.plan.expect; e.Active() {
		if e.NeedsBody() && len(h.resp.Header.ContentEncoding()) > 0 {
			if b, err := h.resp.BodyUncompressed(); err == nil {
				body = b
			}
		}
		out.Check = e.check(code, body)
	}
	return out
}

func (h *httpConn) phases(end time.Time) stats.Phases {
	ph := stats.Phases{Connect: micros(h.pr.connect), TLS: micros(h.pr.hands)}
	if !h.pr.read.IsZero() {
		if !h.pr.wrote.IsZero() {
			ph.TTFB = micros(h.pr.read.Sub(h.pr.wrote))
		}
		ph.Transfer = micros(end.Sub(h.pr.read))
	}
	return ph
}

func isRedirect(code int) bool {
	switch code {
	case 301, 302, 303, 307, 308:
		return true
	}
	return false
}

// follow follows the redirect in h.resp, up to the configured number of
// hops. The outcome carries the first status in First and the final
// response's status, body and checks.
func (h *httpConn) follow(req *fasthttp.Request, out Outcome) Outcome {
	out.First = uint16(h.resp.StatusCode())
	if h.redir == nil {
		h.redir = &fasthttp.Request{}
		h.others = map[string]*fasthttp.HostClient{}
	}
	if req != h.redir {
		req.CopyTo(h.redir)
	}
	next := h.redir
	origHost := string(req.URI().Host())
	for hop := 0; ; hop++ {
		code := h.resp.StatusCode()
		loc := h.resp.Header.Peek("Location")
		if hop == h.c.opts.FollowRedirects || !isRedirect(code) || len(loc) == 0 {
			return h.finish(code, out)
		}
		h.location = append(h.location[:0], loc...)
		if err := next.URI().UpdateBytesErr(h.location); err != nil {
			out.Kind, out.Err = stats.ErrOther, fmt.Errorf("redirect to %q: %w", h.location, err)
			return out
		}
		if code == 303 || ((code == 301 || code == 302) && !next.Header.IsGet() && !next.Header.IsHead()) {
			next.Header.SetMethod(fasthttp.MethodGet)
			next.ResetBody()
			// fasthttp would keep the copied length for a bodiless GET.
			next.Header.Del("Content-Length")
			next.Header.Del("Content-Type")
		}
		u := next.URI()
		scheme := string(u.Scheme())
		if scheme != "http" && scheme != "https" {
			out.Kind, out.Err = stats.ErrOther, fmt.Errorf("redirect to %q: unsupported scheme", h.location)
			return out
		}
		if string(u.Host()) != origHost {
			next.UseHostHeader = false
		}
		hc, err := h.clientFor(scheme, string(u.Host()))
		if err != nil {
			out.Kind, out.Err = stats.ErrOther, err
			return out
		}
		h.resp.Reset()
		if err := hc.DoTimeout(next, h.resp, h.c.timeout); err != nil {
			out.Kind, out.Err = Classify(err), err
			return out
		}
	}
}

// clientFor returns the worker's fasthttp client for a redirect's host.
func (h *httpConn) clientFor(scheme, host string) (*fasthttp.HostClient, error) {
	key := scheme + "://" + host
	if hc, ok := h.others[key]; ok {
		return hc, nil
	}
	u, err := ParseTargetURL(key + "/")
	if err != nil {
		return nil, fmt.Errorf("redirect: %w", err)
	}
	hc := h.c.hostClient(endpoint{scheme: scheme, addr: dialAddress(u), host: u.Hostname()})
	h.others[key] = hc
	return hc, nil
}

// Close closes the worker's connections.
func (h *httpConn) Close() {
	for _, w := range h.wires {
		w.close()
	}
	for _, hc := range h.others {
		hc.CloseIdleConnections()
	}
}

// ErrInvalidStatus reports a status code outside 100..599.
var ErrInvalidStatus = errors.New("invalid status code")

// wireIdle is how long a worker's connection may sit unused before it is
// closed and the next request dials afresh, so that a slow schedule does not
// meet connections the server dropped meanwhile. A variable for tests.
var wireIdle = 30 * time.Second

// wire is a worker's own keep-alive connection to one endpoint. Requests are
// written and responses read on it directly, without fasthttp.HostClient's
// connection pool, pooled buffers and two deadlines per request (7% of the
// CPU per request in a closed loop, docs/BENCHMARKS.md). It dials on first
// use, after the connection closes, and when the server closed it while it
// sat idle (idleCheck); it never retries.
//
// On a plain socket a request whose body is at most encodeLimit bytes is
// encoded into memory and sent by the read that waits for its answer
// (rawIO.sendWithRead): a send and a read per request, as an event loop in C
// would make.
type wire struct {
	c       *HTTPClient
	ep      endpoint
	pr      *probe
	conn    net.Conn
	sock    *wireConn // conn's socket, under TLS too, when it has a raw path
	fast    *wireConn // sock, when requests may go by sendWithRead (not TLS)
	br      *bufio.Reader
	bw      *bufio.Writer
	lastUse time.Time // when the connection's last request started
	enc     encoder
}

// encodeLimit is the largest request body that goes by sendWithRead, encoded
// in memory first; a larger body streams through the connection's writer.
const encodeLimit = 16 << 10

// idleCheck is how long a connection may sit idle before its next request
// first peeks at it (rawIO.idleUnusable): a server may close a connection
// idle for longer than its keep-alive timeout, and a request sent into it
// would fail as "closed" though the server never saw it. The worker dials
// afresh instead. A busy connection is not checked: the peek is a system
// call, and no server closes a connection within 100 ms of an answer
// without saying so (Connection: close).
const idleCheck = 100 * time.Millisecond

// encoder renders requests into memory.
type encoder struct {
	buf []byte
	bw  *bufio.Writer
}

func (e *encoder) Write(p []byte) (int, error) {
	e.buf = append(e.buf, p...)
	return len(p), nil
}

// encode returns req as it goes on the wire, valid until the next call, or
// nil when its body is too large to render into memory.
func (e *encoder) encode(req *fasthttp.Request) []byte {
	if len(req.Body()) > encodeLimit {
		return nil
	}
	if e.bw == nil {
		e.bw = bufio.NewWriterSize(e, 4096)
	}
	e.buf = e.buf[:0]
	if req.Write(e.bw) != nil || e.bw.Flush() != nil {
		e.bw.Reset(e)
		return nil
	}
	return e.buf
}

// do sends req and reads its response into resp, within the client's
// timeout (connecting included). cached, when set, holds req as encoded
// (it never changes); do fills it on first use.
func (w *wire) do(req *fasthttp.Request, cached *[]byte, resp *fasthttp.Response) error {
	start := time.Now()
	prev := w.lastUse
	switch idle := start.Sub(prev); {
	case w.conn == nil:
	case idle > wireIdle:
		w.close()
	case idle >= idleCheck && w.sock != nil && w.sock.raw.idleUnusable():
		// The server closed the connection while it sat idle (its
		// keep-alive timeout): dial afresh rather than send into it and
		// count the request as failed.
		w.close()
	}
	w.lastUse = start
	dialled := false
	if w.conn == nil {
		conn, _, _, err := w.c.dialer.dial(w.ep, []string{"http/1.1"}, w.pr)
		if err != nil {
			return err
		}
		w.conn, w.sock, w.fast, dialled = conn, nil, nil, true
		switch pc := conn.(type) {
		case *probeConn:
			if wc, ok := pc.Conn.(*wireConn); ok && wc.raw != nil {
				w.sock, w.fast = wc, wc
			}
		case *tlsProbeConn:
			if wc, ok := pc.tc.NetConn().(*wireConn); ok && wc.raw != nil {
				w.sock = wc
			}
		}
		if w.br == nil {
			w.br, w.bw = bufio.NewReaderSize(conn, 4096), bufio.NewWriterSize(conn, 4096)
		} else {
			w.br.Reset(conn)
			w.bw.Reset(conn)
		}
	}
	if err := w.conn.SetDeadline(start.Add(w.c.timeout)); err != nil {
		w.close()
		return err
	}
	var b []byte
	sent := start // when the request leaves, for the probe
	if w.fast != nil && w.br.Buffered() == 0 {
		if cached != nil && *cached != nil {
			b = *cached
		} else if b = w.enc.encode(req); b != nil && cached != nil {
			*cached = append([]byte(nil), b...)
		}
		if dialled || cached == nil {
			sent = time.Now() // after the dial or the encoding
		}
	}
	if b != nil {
		w.fast.raw.sendWithRead(b)
		if w.pr.armed && w.pr.wrote.IsZero() {
			w.pr.wrote = sent
		}
	} else {
		err := req.Write(w.bw)
		if err == nil {
			err = w.bw.Flush()
		}
		if err != nil {
			w.close()
			return err
		}
	}
	resp.SkipBody = req.Header.IsHead()
	resp.Header.DisableNormalizing()
	if err := resp.ReadLimitBody(w.br, w.c.maxBody); err != nil {
		if b != nil {
			if serr := w.fast.raw.sendError(); serr != nil {
				err = serr // the request never went whole
			}
		}
		w.close()
		if errors.Is(err, io.EOF) {
			// The server closed the connection instead of answering.
			return fasthttp.ErrConnectionClosed
		}
		return err
	}
	if req.ConnectionClose() || resp.ConnectionClose() {
		w.close()
	}
	return nil
}

func (w *wire) close() {
	if w.conn != nil {
		w.conn.Close()
		w.conn = nil
	}
}
