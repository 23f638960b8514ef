package h2

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"
	"golang.org/x/net/http2"

	"volley/load"
	"volley/load/dial"
	"volley/load/field"
	"volley/load/request"
	"volley/stats"
)

// TransportClient sends requests over HTTP/2 with golang.org/x/net/http2: with
// --http2 through TLS, offering h2 and http/1.1 by ALPN (a server that picks
// http/1.1 is spoken to in HTTP/1.1 through net/http's wire format); with
// --h2c in cleartext with prior knowledge. Each worker owns one connection
// per host and sends one request at a time on it, so --connections counts
// TCP connections as it does for HTTP/1.1.
//
// It observes every phase: connect and TLS handshake when a request opens a
// connection, time to the response headers (TTFB), and the body's transfer.
type TransportClient struct {
	plan      *request.Plan
	opts      dial.Options
	timeout   time.Duration
	maxBody   int // 0: no limit
	maxHeader int
	dialer    *dial.Dialer
	t         *http2.Transport
	in, out   atomic.Int64
	sawH2     atomic.Bool
	sawH1     atomic.Bool
}

var _ load.Client = (*TransportClient)(nil)

// checkEndpoints refuses endpoints that protocol (dial.HTTP2 or dial.H2C) cannot
// speak to: HTTP/2 is negotiated through TLS, h2c is cleartext.
func checkEndpoints(protocol dial.Protocol, eps []dial.Endpoint) error {
	for _, ep := range eps {
		switch {
		case protocol == dial.HTTP2 && ep.Scheme != "https":
			return field.Errorf("Conn.Protocol.http2", "protocol http2: %s://%s: HTTP/2 is negotiated through TLS and needs an https:// URL; use --h2c for cleartext", ep.Scheme, ep.Addr)
		case protocol == dial.H2C && ep.Scheme != "http":
			return field.Errorf("Conn.Protocol.h2c", "protocol h2c: %s://%s: h2c is cleartext and needs an http:// URL; use --http2 for https", ep.Scheme, ep.Addr)
		case protocol != dial.HTTP2 && protocol != dial.H2C:
			return fmt.Errorf("protocol %v: the HTTP/2 client speaks http2 and h2c only", protocol)
		}
	}
	return nil
}

// prepare checks what both HTTP/2 clients need of cfg (connection options,
// the requests, endpoints an HTTP/2 client can reach, the header bound) and
// compiles the plan; it returns the plan and the header bound.
func prepare(cfg *load.Config) (*request.Plan, int, error) {
	if err := cfg.Conn.Validate(); err != nil {
		return nil, 0, err
	}
	p, err := request.Compile(&cfg.Spec, cfg.Seed)
	if err != nil {
		return nil, 0, err
	}
	if err := checkEndpoints(cfg.Conn.Protocol, p.Endpoints); err != nil {
		return nil, 0, err
	}
	limit, err := cfg.HeaderLimit()
	if err != nil {
		return nil, 0, err
	}
	return p, limit, nil
}

// NewTransportClient prepares an HTTP/2 client for cfg (protocol dial.HTTP2 or dial.H2C). It
// does not connect.
func NewTransportClient(cfg load.Config) (*TransportClient, error) {
	p, limit, err := prepare(&cfg)
	if err != nil {
		return nil, err
	}
	c := &TransportClient{plan: p, opts: cfg.Conn, timeout: cfg.Timeout, maxBody: cfg.MaxBody, maxHeader: limit}
	c.dialer = dial.NewDialer(&c.opts, cfg.Timeout, &c.in, &c.out)
	c.t = &http2.Transport{
		AllowHTTP:          true,
		DisableCompression: !cfg.Conn.Compressed,
		// The header bound, as HTTP/2 counts a header list: names and
		// values plus 32 bytes per field.
		MaxHeaderListSize: uint32(c.maxHeader),
	}
	return c, nil
}

// NewConn returns a worker's handle; it connects on its first request.
func (c *TransportClient) NewConn() (load.Conn, error) {
	return &transportConn{c: c, links: map[dial.Endpoint]*link{}}, nil
}

// BytesOut is the number of bytes written so far, TLS records included.
func (c *TransportClient) BytesOut() int64 { return c.out.Load() }

// BytesIn is the number of bytes read so far, TLS records included.
func (c *TransportClient) BytesIn() int64 { return c.in.Load() }

// Close releases nothing beyond what the workers' Conns release.
func (c *TransportClient) Close() {}

// Protocol is the protocol negotiated on the run's connections:
// "HTTP/2.0", "HTTP/1.1", both, or "" when none was made.
func (c *TransportClient) Protocol() string {
	var ps []string
	if c.sawH2.Load() {
		ps = append(ps, "HTTP/2.0")
	}
	if c.sawH1.Load() {
		ps = append(ps, "HTTP/1.1")
	}
	return strings.Join(ps, ", ")
}

// link is one connection: HTTP/2 (cc) or HTTP/1.1 (conn, br, reading
// through head).
type link struct {
	cc   *http2.ClientConn
	conn net.Conn
	br   *bufio.Reader
	head headLimit
}

// headError names the header bound in the errors of a response whose
// headers went past it: x/net/http2 reports a header list past the limit
// it advertised, or fails the connection when a header block (COMPRESSION
// for one field longer than the bound, PROTOCOL for a block far beyond
// it) is too large to decode. A server that sends a broken block gets the
// same connection errors, so they say both.
func headError(err error, bound int) error {
	var ce http2.ConnectionError
	switch {
	case strings.Contains(err.Error(), "header list larger than"):
		return headersTooLarge(bound)
	case errors.As(err, &ce) && (http2.ErrCode(ce) == http2.ErrCodeCompression || http2.ErrCode(ce) == http2.ErrCodeProtocol):
		return dial.ProtocolError{Err: fmt.Errorf("%w: response headers larger than %s (--max-header), or a broken header block", err, load.SizeText(bound))}
	}
	return err
}

// headLimit reads r, at most n bytes while on: an HTTP/1.1 response's
// header block must fit in the header bound (with whatever of the body
// comes in the same reads).
type headLimit struct {
	r   io.Reader
	n   int
	on  bool
	hit bool
}

func (h *headLimit) Read(p []byte) (int, error) {
	if !h.on {
		return h.r.Read(p)
	}
	if h.n <= 0 {
		h.hit = true
		return 0, errHeadLimit
	}
	if len(p) > h.n {
		p = p[:h.n]
	}
	n, err := h.r.Read(p)
	h.n -= n
	return n, err
}

var _ io.Reader = (*headLimit)(nil)

var errHeadLimit = errors.New("response headers beyond the header bound")

func (l *link) close() {
	if l.cc != nil {
		l.cc.Close()
	}
	if l.conn != nil {
		l.conn.Close()
	}
}

// roundTrip sends req and reads the response's headers, within req's
// deadline (the whole request's: redirects included), its header block
// within bound bytes.
func (l *link) roundTrip(req *http.Request, bound int) (*http.Response, error) {
	if l.cc != nil {
		resp, err := l.cc.RoundTrip(req)
		if err != nil {
			err = headError(err, bound)
		}
		return resp, err
	}
	if d, ok := req.Context().Deadline(); ok {
		// net/http's wire format on a bare connection knows no context.
		if err := l.conn.SetDeadline(d); err != nil {
			return nil, err
		}
	}
	if err := req.Write(l.conn); err != nil {
		return nil, err
	}
	l.head.n, l.head.on, l.head.hit = bound, true, false
	resp, err := http.ReadResponse(l.br, req)
	l.head.on = false
	if err != nil && l.head.hit {
		return nil, headersTooLarge(bound)
	}
	return resp, err
}

var _ load.Conn = (*transportConn)(nil)

type transportConn struct {
	c     *TransportClient
	links map[dial.Endpoint]*link
	body  bytes.Buffer // the response body, when checks need it
	buf   []byte       // rendered request parts
}

// connect dials ep and sets up the protocol the server agreed to.
func (h *transportConn) connect(ep dial.Endpoint) (*link, time.Duration, time.Duration, error) {
	var alpn []string
	if ep.Scheme == "https" {
		alpn = []string{"h2", "http/1.1"}
	}
	conn, connect, hands, err := h.c.dialer.Dial(ep, alpn, nil)
	if err != nil {
		return nil, 0, 0, err
	}
	h2 := h.c.opts.Protocol == dial.H2C
	if tc, ok := conn.(*tls.Conn); ok {
		h2 = tc.ConnectionState().NegotiatedProtocol == "h2"
	}
	if !h2 {
		h.c.sawH1.Store(true)
		l := &link{conn: conn, head: headLimit{r: conn}}
		l.br = bufio.NewReader(&l.head)
		return l, connect, hands, nil
	}
	cc, err := h.c.t.NewClientConn(conn)
	if err != nil {
		conn.Close()
		return nil, 0, 0, err
	}
	h.c.sawH2.Store(true)
	return &link{cc: cc}, connect, hands, nil
}

// build renders the compiled target t as a net/http request.
func (h *transportConn) build(ctx context.Context, t *request.Compiled, env *request.Env) (*http.Request, error) {
	rawURL := t.URLText
	if rawURL == "" {
		h.buf = t.URL.AppendTo(h.buf[:0], env)
		rawURL = string(h.buf)
	}
	var body []byte
	if t.BodyText != nil {
		body = t.BodyText
	} else {
		body = t.Body.AppendTo(nil, env)
	}
	req, err := http.NewRequestWithContext(ctx, t.Method, rawURL, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	if len(body) == 0 {
		req.Body, req.ContentLength = http.NoBody, 0
	}
	for k := range t.Headers {
		hd := &t.Headers[k]
		v := hd.Text
		if !hd.Value.Static() {
			v = string(hd.Value.AppendTo(nil, env))
		}
		if strings.EqualFold(hd.Key, "Host") {
			req.Host = v
			continue
		}
		req.Header[hd.Key] = append(req.Header[hd.Key], v)
	}
	if req.Header.Get("User-Agent") == "" {
		req.Header.Set("User-Agent", "volley")
	}
	if h.c.opts.NoKeepAlive {
		req.Close = true
	}
	return req, nil
}

// Do sends request number i.
func (h *transportConn) Do(i int64) load.Outcome {
	p := h.c.plan
	t := &p.Targets[p.Pick(i)]
	env := p.Env(i)
	out := load.Outcome{Target: t.Group}
	ctx, cancel := context.WithTimeout(context.Background(), h.c.timeout)
	defer cancel()
	req, err := h.build(ctx, t, &env)
	if err != nil {
		out.Kind, out.Err = stats.ErrOther, err
		return out
	}
	ep := p.Endpoints[t.Endpoint]
	for hop := 0; ; hop++ {
		resp, err := h.send(ep, req, &out, hop == 0)
		if err != nil {
			out.Kind, out.Err = dial.Classify(err), err
			return out
		}
		code := resp.StatusCode
		if hop < h.c.opts.FollowRedirects && request.IsRedirect(code) && resp.Header.Get("Location") != "" {
			if hop == 0 {
				out.First = uint16(code)
			}
			h.body.Reset()
			if _, err := h.readBody(ep, resp, &out, false); err != nil {
				return out
			}
			next, nep, err := h.redirect(ctx, req, resp)
			if err != nil {
				out.Kind, out.Err = stats.ErrOther, err
				return out
			}
			req, ep = next, nep
			continue
		}
		h.body.Reset()
		headersAt := time.Now()
		n, err := h.readBody(ep, resp, &out, p.Expect.NeedsBody())
		if err != nil {
			return out
		}
		if hop == 0 {
			out.Phases.Transfer = dial.Micros(time.Since(headersAt))
		}
		if code < 100 || code > 599 {
			out.Kind, out.Err = stats.ErrOther, fmt.Errorf("%w %d", request.ErrInvalidStatus, code)
			return out
		}
		out.Code, out.BytesIn = code, n
		if p.Expect.Active() {
			body := h.body.Bytes()
			if p.Expect.NeedsBody() && resp.Header.Get("Content-Encoding") == "gzip" && !resp.Uncompressed {
				if zr, err := gzip.NewReader(bytes.NewReader(body)); err == nil {
					var r io.Reader = zr
					if h.c.maxBody > 0 {
						r = io.LimitReader(zr, int64(h.c.maxBody)+1)
					}
					if b, err := io.ReadAll(r); err == nil {
						body = b
					}
				}
			}
			out.Check = p.Expect.Check(code, body)
		}
		return out
	}
}

// send writes req on ep's connection, opening one if needed, and returns
// the response with its headers read. The first hop records the phases.
func (h *transportConn) send(ep dial.Endpoint, req *http.Request, out *load.Outcome, first bool) (*http.Response, error) {
	l := h.links[ep]
	if l == nil {
		nl, connect, hands, err := h.connect(ep)
		if err != nil {
			return nil, err
		}
		l = nl
		h.links[ep] = l
		if first {
			out.Phases.Connect, out.Phases.TLS = dial.Micros(connect), dial.Micros(hands)
		}
	}
	if h.c.opts.Compressed && l.cc == nil && req.Header.Get("Accept-Encoding") == "" {
		req.Header.Set("Accept-Encoding", "gzip")
	}
	start := time.Now()
	resp, err := l.roundTrip(req, h.c.maxHeader)
	if err != nil {
		h.drop(ep)
		return nil, err
	}
	if first {
		out.Phases.TTFB = dial.Micros(time.Since(start))
	}
	return resp, nil
}

// readBody reads resp's body (into h.body when keep is set) up to the
// body limit (none when it is 0, as over HTTP/1.1), closes it, and drops
// the connection when it cannot be reused. On error it sets out's error
// and returns it.
func (h *transportConn) readBody(ep dial.Endpoint, resp *http.Response, out *load.Outcome, keep bool) (int64, error) {
	var dst io.Writer = io.Discard
	if keep {
		dst = &h.body
	}
	limit := int64(h.c.maxBody)
	var src io.Reader = resp.Body
	if limit > 0 {
		src = io.LimitReader(resp.Body, limit+1)
	}
	n, err := io.Copy(dst, src)
	resp.Body.Close()
	switch {
	case err != nil:
		h.drop(ep)
		out.Kind, out.Err = dial.Classify(err), err
		return n, err
	case limit > 0 && n > limit:
		h.drop(ep)
		err = fmt.Errorf("response body larger than %d bytes: %w", limit, fasthttp.ErrBodyTooLarge)
		out.Kind, out.Err = stats.ErrBodyTooLarge, err
		return n, err
	}
	if l := h.links[ep]; l != nil && (h.c.opts.NoKeepAlive || (l.cc == nil && resp.Close)) {
		h.drop(ep)
	}
	return n, nil
}

// redirect builds the request that follows resp's Location.
func (h *transportConn) redirect(ctx context.Context, req *http.Request, resp *http.Response) (*http.Request, dial.Endpoint, error) {
	loc, err := req.URL.Parse(resp.Header.Get("Location"))
	if err != nil {
		return nil, dial.Endpoint{}, fmt.Errorf("redirect: %w", err)
	}
	if loc.Scheme != "http" && loc.Scheme != "https" {
		return nil, dial.Endpoint{}, fmt.Errorf("redirect to %q: unsupported scheme", loc)
	}
	if (loc.Scheme == "https") != (h.c.opts.Protocol == dial.HTTP2) {
		return nil, dial.Endpoint{}, fmt.Errorf("redirect to %q: leaves the protocol of the run", loc)
	}
	method, code := req.Method, resp.StatusCode
	keepBody := true
	if code == 303 || ((code == 301 || code == 302) && method != http.MethodGet && method != http.MethodHead) {
		method, keepBody = http.MethodGet, false
	}
	var body io.Reader
	if keepBody && req.GetBody != nil {
		b, err := req.GetBody()
		if err != nil {
			return nil, dial.Endpoint{}, err
		}
		body = b
	}
	next, err := http.NewRequestWithContext(ctx, method, loc.String(), body)
	if err != nil {
		return nil, dial.Endpoint{}, err
	}
	next.Header = req.Header.Clone()
	if !keepBody {
		next.Header.Del("Content-Type")
		next.Body, next.ContentLength = http.NoBody, 0
	}
	if loc.Host == req.URL.Host {
		next.Host = req.Host
	}
	return next, dial.EndpointOf(loc), nil
}

func (h *transportConn) drop(ep dial.Endpoint) {
	if l := h.links[ep]; l != nil {
		l.close()
		delete(h.links, ep)
	}
}

// Close closes the worker's connections.
func (h *transportConn) Close() {
	for ep := range h.links {
		h.drop(ep)
	}
}

// headersTooLarge is the error of response headers beyond the bound.
func headersTooLarge(bound int) error {
	return dial.ProtocolError{Err: fmt.Errorf("response headers larger than %s (--max-header)", load.SizeText(bound))}
}
