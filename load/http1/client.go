package http1

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"

	"volley/load"
	"volley/load/dial"
	"volley/load/request"
	"volley/stats"
)

// Client sends HTTP/1.1 requests with fasthttp's request and response
// types. Each worker owns its connection to each endpoint (see wire), its
// request and response objects; requests without templates are built once
// per worker and sent as they are. Redirects to other hosts go through
// fasthttp.HostClient.
type Client struct {
	plan      *request.Plan
	opts      dial.Options
	timeout   time.Duration
	maxBody   int
	maxHeader int
	dialer    *dial.Dialer
	in, out   atomic.Int64
}

var _ load.Client = (*Client)(nil)

// prebuildLimit is the number of targets up to which every worker keeps a
// ready request per target without templates; beyond it requests are
// rebuilt from the compiled target each time (no allocation either, but a
// copy of the request's parts).
const prebuildLimit = 64

// NewClient prepares a client for cfg's requests. It does not connect.
func NewClient(cfg load.Config) (*Client, error) {
	if request.IsWebSocketURL(cfg.Request.URL) {
		return nil, fmt.Errorf("url %q: a WebSocket URL, which the HTTP/1.1 client does not speak", cfg.Request.URL)
	}
	if cfg.Conn.Protocol != dial.HTTP1 {
		return nil, fmt.Errorf("protocol %v: the HTTP/1.1 client speaks http1.1 only", cfg.Conn.Protocol)
	}
	if err := cfg.Conn.Validate(); err != nil {
		return nil, err
	}
	p, err := request.Compile(&cfg.Spec, cfg.Seed)
	if err != nil {
		return nil, err
	}
	limit, err := cfg.HeaderLimit()
	if err != nil {
		return nil, err
	}
	c := &Client{plan: p, opts: cfg.Conn, timeout: cfg.Timeout, maxBody: cfg.MaxBody, maxHeader: limit}
	c.dialer = dial.NewDialer(&c.opts, cfg.Timeout, &c.in, &c.out)
	return c, nil
}

// hostClient returns a fasthttp client for ep holding at most one
// connection, dialled through the client's dialer: it sends the hops of a
// redirect to another host (a worker's own endpoints go through wire).
func (c *Client) hostClient(ep dial.Endpoint) *fasthttp.HostClient {
	return &fasthttp.HostClient{
		Addr:               ep.Addr,
		Name:               "volley",
		IsTLS:              ep.Scheme == "https",
		MaxConns:           1,
		MaxConnWaitTimeout: c.timeout,
		// Every attempt is a request the server may count, so volley never
		// retries behind the user's back.
		MaxIdemponentCallAttempts: 1,
		RetryIf:                   func(*fasthttp.Request) bool { return false },
		MaxResponseBodySize:       c.maxBody,
		// The whole header block must fit in the read buffer.
		ReadBufferSize: c.maxHeader,
		// Headers and paths go on the wire exactly as given.
		DisableHeaderNamesNormalizing: true,
		DisablePathNormalizing:        true,
		// As wire's; fasthttp's idle-connection cleaner lives at most this
		// long after Close.
		MaxIdleConnDuration: wireIdle,
		Dial: func(string) (net.Conn, error) {
			// The connection comes back already through its TLS handshake
			// (fasthttp sees a conn with a Handshake method and leaves it).
			conn, _, _, err := c.dialer.Dial(ep, []string{"http/1.1"}, nil)
			return conn, err
		},
	}
}

// NewConn returns a worker's connection handle.
func (c *Client) NewConn() (load.Conn, error) {
	h := &clientConn{c: c, resp: &fasthttp.Response{}, scratch: &fasthttp.Request{}}
	h.wires = make([]*wire, len(c.plan.Endpoints))
	for i, ep := range c.plan.Endpoints {
		h.wires[i] = &wire{c: c, ep: ep, pr: &h.pr}
	}
	if len(c.plan.Targets) <= prebuildLimit {
		h.reqs = make([]*fasthttp.Request, len(c.plan.Targets))
		h.encoded = make([][]byte, len(c.plan.Targets))
		for k := range c.plan.Targets {
			if t := &c.plan.Targets[k]; t.Static {
				req := &fasthttp.Request{}
				env := c.plan.Env(0)
				h.fill(req, t, &env)
				h.reqs[k] = req
			}
		}
	}
	return h, nil
}

// BytesOut is the number of bytes written to the target so far.
func (c *Client) BytesOut() int64 { return c.out.Load() }

// BytesIn is the number of bytes read from the target so far.
func (c *Client) BytesIn() int64 { return c.in.Load() }

// Close releases nothing beyond what the workers' Conns release.
func (c *Client) Close() {}

// Protocol is the protocol this client speaks.
func (c *Client) Protocol() string { return "HTTP/1.1" }

var _ load.Conn = (*clientConn)(nil)

type clientConn struct {
	c       *Client
	wires   []*wire             // by endpoint
	reqs    []*fasthttp.Request // ready requests by target; nil entries are rebuilt per request
	encoded [][]byte            // reqs as encoded on the wire, filled on first use
	scratch *fasthttp.Request
	resp    *fasthttp.Response
	buf     []byte // rendered URL and header values
	body    []byte // rendered body
	pr      dial.Probe

	// For following redirects, built on first use.
	redir    *fasthttp.Request
	others   map[string]*fasthttp.HostClient
	location []byte
}

// fill builds req from the compiled target t for env.
func (h *clientConn) fill(req *fasthttp.Request, t *request.Compiled, env *request.Env) {
	req.Header.Reset()
	req.Header.DisableNormalizing()
	// No Content-Type the user did not ask for.
	req.Header.SetNoDefaultContentType(true)
	req.UseHostHeader = false
	if t.URLText != "" {
		req.SetRequestURI(t.URLText)
	} else {
		h.buf = t.URL.AppendTo(h.buf[:0], env)
		req.SetRequestURIBytes(h.buf)
	}
	req.Header.SetMethod(t.Method)
	acceptEncoding := false
	for k := range t.Headers {
		hd := &t.Headers[k]
		var v []byte
		if hd.Value.Static() {
			v = request.StringBytes(hd.Text)
		} else {
			h.buf = hd.Value.AppendTo(h.buf[:0], env)
			v = h.buf
		}
		switch {
		case strings.EqualFold(hd.Key, "Host"):
			req.UseHostHeader = true
			req.Header.SetHostBytes(v)
		case strings.EqualFold(hd.Key, "User-Agent"):
			req.Header.SetUserAgentBytes(v)
		case strings.EqualFold(hd.Key, "Content-Type"):
			req.Header.SetContentTypeBytes(v)
		default:
			if strings.EqualFold(hd.Key, "Accept-Encoding") {
				acceptEncoding = true
			}
			req.Header.AddBytesV(hd.Key, v)
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
	case t.BodyText != nil:
		if len(t.BodyText) > 0 {
			req.SetBodyRaw(t.BodyText)
		}
	default:
		h.body = t.Body.AppendTo(h.body[:0], env)
		req.SetBodyRaw(h.body)
	}
}

// request picks request i's target and returns it with the request to
// send: a prebuilt one with its cache of encoded bytes, or the scratch
// request rendered for i (cached nil). It allocates nothing.
func (h *clientConn) request(i int64) (t *request.Compiled, req *fasthttp.Request, cached *[]byte) {
	p := h.c.plan
	k := p.Pick(i)
	t = &p.Targets[k]
	if h.reqs != nil {
		req = h.reqs[k]
		cached = &h.encoded[k]
	}
	if req == nil {
		cached = nil
		env := p.Env(i)
		h.fill(h.scratch, t, &env)
		req = h.scratch
	}
	return t, req, cached
}

// Do sends request number i. It allocates nothing on success.
func (h *clientConn) Do(i int64) load.Outcome {
	t, req, cached := h.request(i)
	h.resp.Reset()
	h.pr.Arm()
	err := h.wires[t.Endpoint].do(req, cached, h.resp)
	end := time.Now()
	h.pr.Armed = false
	out := load.Outcome{Target: t.Group, Phases: h.phases(end)}
	if err != nil {
		out.Kind, out.Err = classify(err), err
		if h.pr.Rst != nil && (errors.Is(err, fasthttp.ErrConnectionClosed) || errors.Is(err, io.EOF)) {
			// fasthttp folds every error on a response's first byte into
			// "connection closed"; the probe saw it was a reset.
			out.Kind, out.Err = stats.ErrReset, h.pr.Rst
		}
		return out
	}
	code := h.resp.StatusCode()
	if h.c.opts.FollowRedirects > 0 && request.IsRedirect(code) {
		// The timeout bounds the request, all its hops together.
		return h.follow(req, out, h.wires[t.Endpoint].deadline)
	}
	return h.finish(code, out)
}

// finish completes out from the response in h.resp.
func (h *clientConn) finish(code int, out load.Outcome) load.Outcome {
	if code < 100 || code > 599 {
		out.Kind, out.Err = stats.ErrOther, fmt.Errorf("%w %d", request.ErrInvalidStatus, code)
		return out
	}
	body := h.resp.Body()
	out.Code, out.BytesIn = code, int64(len(body))
	if e := &h.c.plan.Expect; e.Active() {
		if e.NeedsBody() && len(h.resp.Header.ContentEncoding()) > 0 {
			if b, err := h.resp.BodyUncompressed(); err == nil {
				body = b
			}
		}
		out.Check = e.Check(code, body)
	}
	return out
}

func (h *clientConn) phases(end time.Time) stats.Phases {
	ph := stats.Phases{Connect: dial.Micros(h.pr.Connect), TLS: dial.Micros(h.pr.Hands)}
	if !h.pr.Read.IsZero() {
		if !h.pr.Wrote.IsZero() {
			ph.TTFB = dial.Micros(h.pr.Read.Sub(h.pr.Wrote))
		}
		ph.Transfer = dial.Micros(end.Sub(h.pr.Read))
	}
	return ph
}

// follow follows the redirect in h.resp, up to the configured number of
// hops, all of them done by deadline (the request's own: the timeout bounds
// the request, not each hop). The outcome carries the first status in First
// and the final response's status, body and checks.
func (h *clientConn) follow(req *fasthttp.Request, out load.Outcome, deadline time.Time) load.Outcome {
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
		if hop == h.c.opts.FollowRedirects || !request.IsRedirect(code) || len(loc) == 0 {
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
		if err := hc.DoDeadline(next, h.resp, deadline); err != nil {
			if isSmallBuffer(err) {
				err = headTooLarge("headers", h.c.maxHeader)
			}
			out.Kind, out.Err = classify(err), err
			return out
		}
	}
}

// clientFor returns the worker's fasthttp client for a redirect's host.
func (h *clientConn) clientFor(scheme, host string) (*fasthttp.HostClient, error) {
	key := scheme + "://" + host
	if hc, ok := h.others[key]; ok {
		return hc, nil
	}
	u, err := request.ParseTargetURL(key + "/")
	if err != nil {
		return nil, fmt.Errorf("redirect: %w", err)
	}
	hc := h.c.hostClient(dial.EndpointOf(u))
	h.others[key] = hc
	return hc, nil
}

// Close closes the worker's connections.
func (h *clientConn) Close() {
	for _, w := range h.wires {
		w.close()
	}
	for _, hc := range h.others {
		hc.CloseIdleConnections()
	}
}

// classify is dial.Classify with fasthttp's own errors, which carry no category.
func classify(err error) stats.ErrorKind {
	switch {
	case errors.Is(err, fasthttp.ErrBodyTooLarge):
		return stats.ErrBodyTooLarge
	case errors.Is(err, fasthttp.ErrTimeout), errors.Is(err, fasthttp.ErrDialTimeout), errors.Is(err, fasthttp.ErrNoFreeConns):
		return stats.ErrTimeout
	case errors.Is(err, fasthttp.ErrConnectionClosed):
		return stats.ErrClosed
	}
	return dial.Classify(err)
}

// headTooLarge is the error of a header block (or trailers) beyond the
// bound.
func headTooLarge(what string, bound int) error {
	return dial.ProtocolError{Err: fmt.Errorf("response %s larger than %s (--max-header)", what, load.SizeText(bound))}
}

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
	c        *Client
	ep       dial.Endpoint
	pr       *dial.Probe
	conn     net.Conn
	sock     *dial.WireConn // conn's socket, under TLS too, when it has a raw path
	fast     *dial.WireConn // sock, when requests may go by sendWithRead (not TLS)
	br       *bufio.Reader
	bw       *bufio.Writer
	lastUse  time.Time // when the connection's last request started
	deadline time.Time // the current request's: lastUse plus the timeout
	enc      encoder
	src      source   // what br reads
	peek     [16]byte // what an idle connection holds (see idlePeek)
}

// source is what a wire's reader reads: the connection, after the bytes of
// a reader that a response's headers outgrew (see grow). While fasthttp
// parses a header block on the fast path (gated), a read after one that
// brought bytes fails with errMoreHeader instead of waiting, so that the
// slow path reads on, watching the block's end and size (see readHeader).
type source struct {
	conn  io.Reader // the connection
	rest  []byte
	gated bool
	got   bool
}

var _ io.Reader = (*source)(nil)

// errMoreHeader stops fasthttp's wait for more of a header block.
var errMoreHeader = errors.New("header block not whole in the first read")

func (s *source) Read(p []byte) (int, error) {
	if len(s.rest) > 0 {
		n := copy(p, s.rest)
		s.rest = s.rest[n:]
		return n, nil
	}
	if !s.gated {
		return s.conn.Read(p)
	}
	if s.got {
		return 0, errMoreHeader
	}
	n, err := s.conn.Read(p)
	s.got = n > 0
	return n, err
}

// wireBuffer is the size a wire's reader starts with; it grows, up to the
// header bound, when a response's headers need more.
const wireBuffer = 4096

// encodeLimit is the largest request body that goes by sendWithRead, encoded
// in memory first; a larger body streams through the connection's writer.
const encodeLimit = 16 << 10

// idleCheck is how long a connection may sit idle before its next request
// first peeks at it (rawIO.idlePeek): a server may close a connection idle
// for longer than its keep-alive timeout, and a request sent into it would
// fail as "closed" though the server never saw it. The worker dials afresh
// instead. The peek also sees bytes that arrived unasked meanwhile. A busy
// connection is not checked: the peek is a system call, and no server
// closes a connection within 100 ms of an answer without saying so
// (Connection: close).
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
//
// A connection that holds bytes from before (a server that answered twice,
// or before it was asked) would pair every later answer with the wrong
// request: the request is not sent, it counts as a protocol error, and the
// next one dials afresh. Bytes already read are seen for free; bytes still
// in the socket are seen by the peek at a connection idle for idleCheck,
// and otherwise with the next answer, which then leaves them unread.
func (w *wire) do(req *fasthttp.Request, cached *[]byte, resp *fasthttp.Response) error {
	start := time.Now()
	prev := w.lastUse
	w.lastUse, w.deadline = start, start.Add(w.c.timeout)
	if w.conn != nil {
		if err := w.unasked(); err != nil {
			w.close()
			return err
		}
	}
	switch idle := start.Sub(prev); {
	case w.conn == nil:
	case idle > wireIdle:
		w.close()
	case idle >= idleCheck && w.sock != nil:
		n, waiting, closed := w.sock.Raw.IdlePeek(w.peek[:])
		switch {
		case closed, waiting > 0 && (w.fast == nil || closeNotice(w.peek[:n])):
			// The server closed the connection while it sat idle (its
			// keep-alive timeout), maybe saying so with a 408 first;
			// over TLS bytes are its close_notify alert. Dial afresh
			// rather than send into it and count the request as failed.
			w.close()
		case waiting == n && len(bytes.Trim(w.peek[:n], "\r\n")) == 0:
			// Nothing, or empty lines alone: they are skipped before the
			// answer.
		default:
			w.close()
			return unaskedError(waiting, w.peek[:n])
		}
	}
	dialled := false
	if w.conn == nil {
		conn, _, _, err := w.c.dialer.Dial(w.ep, []string{"http/1.1"}, w.pr)
		if err != nil {
			return err
		}
		w.conn, w.sock, w.fast, dialled = conn, nil, nil, true
		switch pc := conn.(type) {
		case *dial.ProbeConn:
			if wc, ok := pc.Conn.(*dial.WireConn); ok && wc.Raw != nil {
				w.sock, w.fast = wc, wc
			}
		case *dial.TLSProbeConn:
			if wc, ok := pc.TLS.NetConn().(*dial.WireConn); ok && wc.Raw != nil {
				w.sock = wc
			}
		}
		w.src = source{conn: conn}
		if w.br == nil {
			w.br, w.bw = bufio.NewReaderSize(&w.src, wireBuffer), bufio.NewWriterSize(conn, 4096)
		} else {
			// A reader grown for large headers stays grown: the server
			// that needed it is likely to again.
			w.br.Reset(&w.src)
			w.bw.Reset(conn)
		}
	}
	if err := w.conn.SetDeadline(w.deadline); err != nil {
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
		w.fast.Raw.SendWithRead(b)
		if w.pr.Armed && w.pr.Wrote.IsZero() {
			w.pr.Wrote = sent
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
	if err := w.readResponse(resp); err != nil {
		if b != nil {
			if serr := w.fast.Raw.SendError(); serr != nil {
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

// unasked fails when the connection holds bytes read after the last
// answer: no request asked for them. Empty lines alone are dropped (RFC
// 9112 section 2.2 has servers ignore them before a request; some send
// them after a body).
func (w *wire) unasked() error {
	n := w.br.Buffered()
	if n == 0 && len(w.src.rest) == 0 {
		return nil
	}
	b, _ := w.br.Peek(n)
	if len(w.src.rest) == 0 && len(bytes.Trim(b, "\r\n")) == 0 {
		_, _ = w.br.Discard(n)
		return nil
	}
	return unaskedError(n+len(w.src.rest), b)
}

func unaskedError(n int, b []byte) error {
	const show = 16
	more := ""
	if len(b) > show {
		b, more = b[:show], "..."
	}
	return dial.ProtocolError{Err: fmt.Errorf("%d bytes arrived that no request asked for (%q%s): the connection is dropped so that the next answer is paired with its request", n, b, more)}
}

// closeNotice reports whether b, waiting on an idle connection, starts a
// 408 (Request Timeout) response: a server's notice that it is closing the
// connection, not an answer to anything.
func closeNotice(b []byte) bool {
	return len(b) >= 12 && bytes.HasPrefix(b, []byte("HTTP/1.")) && string(b[8:12]) == " 408"
}

// maxInterim bounds the interim (1xx) responses before a final one.
const maxInterim = 100

// readResponse reads the answer to the request just sent into resp, as
// fasthttp's Response.ReadLimitBody does (interim 1xx responses dropped, no
// body where the method or status forbids one, chunked trailers), with
// readHeader's reading of header blocks.
func (w *wire) readResponse(resp *fasthttp.Response) error {
	resp.ResetBody()
	for interim := 0; ; interim++ {
		if err := w.readHeader(resp); err != nil {
			return err
		}
		if code := resp.Header.StatusCode(); code < 100 || code >= 200 || code == 101 {
			break
		}
		if interim == maxInterim {
			return dial.ProtocolError{Err: fmt.Errorf("more than %d interim (1xx) responses", maxInterim)}
		}
	}
	code := resp.Header.StatusCode()
	if resp.SkipBody || (code >= 100 && code < 200) || code == 204 || code == 304 {
		return nil
	}
	if err := resp.ReadBody(w.br, w.c.maxBody); err != nil {
		return err
	}
	if resp.Header.ContentLength() != -1 {
		return nil
	}
	return w.readTrailer(resp)
}

// readHeader reads a response's header block into resp. On the fast path
// the first read brings the whole block and fasthttp parses it; there is
// nothing to scan. Otherwise (a block cut over several reads, or larger
// than the reader) the slow path reads on until the block is whole,
// growing the reader up to the header bound: fasthttp alone would fail a
// block larger than its reader ("small read buffer") and wait until the
// timeout for one that ends in bare LFs, which here are protocol errors at
// once. Either way a status of 000, which fasthttp takes for 200, is an
// invalid status.
func (w *wire) readHeader(resp *fasthttp.Response) error {
	w.src.gated, w.src.got = true, false
	b, err := w.br.Peek(1)
	if err != nil {
		w.src.gated = false
		return headReadError(err, 1)
	}
	b, _ = w.br.Peek(w.br.Buffered())
	if code, known := leadStatus(b); known {
		if code == 0 {
			w.src.gated = false
			return zeroStatus()
		}
		err = resp.Header.Read(w.br)
		w.src.gated = false
		if err == nil || !errors.Is(err, errMoreHeader) && !isSmallBuffer(err) {
			return err
		}
	}
	w.src.gated = false
	head, err := w.peekBlock(false)
	if err != nil {
		return err
	}
	if code, _ := leadStatus(head); code == 0 {
		return zeroStatus()
	}
	return resp.Header.Read(w.br)
}

// readTrailer reads a chunked body's trailers into resp as readHeader
// reads a header block: fasthttp parses them if the first read brings them
// whole, the slow path reads on within the header bound otherwise.
func (w *wire) readTrailer(resp *fasthttp.Response) error {
	w.src.gated, w.src.got = true, false
	err := resp.Header.ReadTrailer(w.br)
	w.src.gated = false
	if err != nil && (errors.Is(err, errMoreHeader) || isSmallBuffer(err)) {
		if _, err = w.peekBlock(true); err == nil {
			err = resp.Header.ReadTrailer(w.br)
		}
	}
	if err == io.EOF {
		return errTrailerEOF
	}
	return err
}

// errTrailerEOF: the connection closed within a chunked body's trailers.
var errTrailerEOF = fmt.Errorf("chunked body cut short in its trailers: %w", io.ErrUnexpectedEOF)

// isSmallBuffer reports whether err is fasthttp's "small read buffer".
func isSmallBuffer(err error) bool {
	var sb *fasthttp.ErrSmallBuffer
	return errors.As(err, &sb)
}

// zeroStatus is the error of a status of 000, which fasthttp reads as 0
// and reports as 200: an invalid status, as one outside 100..599 is in
// finish.
func zeroStatus() error { return fmt.Errorf("%w 0 (000)", request.ErrInvalidStatus) }

// skipEmptyLines returns the length of the empty lines at the start of b,
// which fasthttp skips before a status line.
func skipEmptyLines(b []byte) int {
	start := 0
	for {
		switch {
		case start < len(b) && b[start] == '\n':
			start++
		case start+1 < len(b) && b[start] == '\r' && b[start+1] == '\n':
			start += 2
		default:
			return start
		}
	}
}

var (
	crlf     = []byte("\r\n")
	crlfcrlf = []byte("\r\n\r\n")
	lfcrlf   = []byte("\n\r\n")
	lflf     = []byte("\n\n")
)

// peekBlock returns the next header block (from its status line to the
// empty line that ends it), or with trailers set a chunked body's trailers
// (up to the same empty line, which alone ends a body without trailers),
// whole in w.br and not consumed. Each read's bytes are searched once.
func (w *wire) peekBlock(trailers bool) ([]byte, error) {
	what, bound := "headers", w.c.maxHeader
	if trailers {
		what = "trailers"
	}
	want, start, searched := 1, 0, 0
	for {
		if _, err := w.br.Peek(want); err != nil {
			return nil, headReadError(err, want)
		}
		b, _ := w.br.Peek(w.br.Buffered())
		end, bare := -1, false
		switch {
		case !trailers:
			// fasthttp skips empty lines before a status line.
			start += skipEmptyLines(b[start:])
			end, bare = headEnd(b[start:], max(searched-start, 0))
		case bytes.HasPrefix(b, crlf):
			end = 2
		case b[0] == '\n':
			end, bare = 1, true
		default:
			end, bare = headEnd(b, searched)
		}
		switch {
		case end > 0 && bare:
			return nil, dial.ProtocolError{Err: fmt.Errorf("response %s end in bare LFs (\\n\\n): want CRLF line endings", what)}
		case end > 0 && start+end > bound, end < 0 && len(b) >= bound:
			return nil, headTooLarge(what, bound)
		case end > 0:
			return b[start : start+end], nil
		case len(b) == w.br.Size():
			w.grow()
		}
		want, searched = len(b)+1, len(b)
	}
}

// headReadError is the error of a header read that failed with want bytes
// asked for, as fasthttp words it: a timeout is fasthttp.ErrTimeout, and
// any other failure before the first byte is io.EOF (the connection
// closed; the probe tells a reset).
func headReadError(err error, want int) error {
	if x, ok := err.(interface{ Timeout() bool }); ok && x.Timeout() {
		return fasthttp.ErrTimeout
	}
	if want == 1 {
		return io.EOF
	}
	return fmt.Errorf("error when reading response headers (%d bytes read): %w", want-1, err)
}

// headEnd returns the length of the header block at the start of b, up to
// and including the empty line that ends it, or -1 when b does not hold its
// end yet; bare is set when that end is made of bare LFs, which fasthttp
// does not read. The first searched bytes of b, searched before, hold no
// end.
func headEnd(b []byte, searched int) (end int, bare bool) {
	from := max(searched-len(crlfcrlf)+1, 0) // an end may straddle
	i := bytes.Index(b[from:], crlfcrlf)
	scan := b[from:]
	if i >= 0 {
		scan = scan[:i+2]
	}
	// An earlier line end followed by an empty line, either ending in a
	// bare LF.
	j := bytes.Index(scan, lflf)
	if k := bytes.Index(scan, lfcrlf); k >= 0 && (j < 0 || k < j) {
		j = k
	}
	switch {
	case j >= 0:
		if j += from; b[j+1] == '\n' {
			return j + 2, true
		}
		return j + 3, true
	case i >= 0:
		return from + i + 4, false
	}
	return -1, false
}

// leadStatus reads the status code of the status line at the start of b
// (after any empty lines) as fasthttp does: the three digits after the
// first space (and any more spaces). known is false while b does not hold
// them whole; code is -1 when they are no three digits, which fasthttp
// refuses.
func leadStatus(b []byte) (code int, known bool) {
	i := skipEmptyLines(b)
	for ; i < len(b) && b[i] != ' '; i++ {
		if b[i] == '\n' {
			return -1, true // no space in the line
		}
	}
	for i < len(b) && b[i] == ' ' {
		i++
	}
	if len(b)-i < 4 {
		return 0, false
	}
	for _, c := range b[i : i+3] {
		if c < '0' || c > '9' {
			return -1, true
		}
		code = 10*code + int(c-'0')
	}
	if c := b[i+3]; c != ' ' && c != '\r' && c != '\n' {
		return -1, true
	}
	return code, true
}

// grow replaces w.br, full with a header block's start, by a reader twice
// as large (at most the header bound), which reads the old one's bytes
// first. A response needs this once; the common path keeps a small reader.
func (w *wire) grow() {
	size := min(2*w.br.Size(), max(w.c.maxHeader, w.br.Size()))
	pending, _ := w.br.Peek(w.br.Buffered())
	w.src.rest = pending
	w.br = bufio.NewReaderSize(&w.src, size)
}

func (w *wire) close() {
	if w.conn != nil {
		w.conn.Close()
		w.conn = nil
	}
}
