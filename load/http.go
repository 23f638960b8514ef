package load

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/valyala/fasthttp"

	"volley/stats"
)

// HTTPClient sends HTTP/1.1 requests through one fasthttp.HostClient shared
// by all workers, each worker reusing its own request and response objects.
type HTTPClient struct {
	hc      *fasthttp.HostClient
	tmpl    *fasthttp.Request
	timeout time.Duration
	in, out atomic.Int64
}

var _ Client = (*HTTPClient)(nil)

// NewHTTPClient prepares a client for cfg's request. It does not connect.
func NewHTTPClient(cfg Config) (*HTTPClient, error) {
	u, err := ParseTargetURL(cfg.Request.URL)
	if err != nil {
		return nil, err
	}
	c := &HTTPClient{timeout: cfg.Timeout}
	addr := u.Host
	if u.Port() == "" {
		if u.Scheme == "https" {
			addr = net.JoinHostPort(u.Hostname(), "443")
		} else {
			addr = net.JoinHostPort(u.Hostname(), "80")
		}
	}
	dialer := &net.Dialer{Timeout: cfg.Timeout, KeepAlive: -1}
	c.hc = &fasthttp.HostClient{
		Addr:  addr,
		Name:  "volley",
		IsTLS: u.Scheme == "https",
		TLSConfig: &tls.Config{
			ServerName: u.Hostname(),
			MinVersion: tls.VersionTLS12,
		},
		MaxConns:           cfg.Connections,
		MaxConnWaitTimeout: cfg.Timeout,
		// Every attempt is a request the server may count, so volley never
		// retries behind the user's back.
		MaxIdemponentCallAttempts: 1,
		RetryIf:                   func(*fasthttp.Request) bool { return false },
		MaxResponseBodySize:       cfg.MaxBody,
		// Headers and paths go on the wire exactly as given.
		DisableHeaderNamesNormalizing: true,
		DisablePathNormalizing:        true,
		// Long enough that a slow open-loop schedule keeps its connections;
		// fasthttp's idle-connection cleaner lives at most this long after
		// Close.
		MaxIdleConnDuration: 30 * time.Second,
		Dial: func(a string) (net.Conn, error) {
			if err := refuseInvalidName(a); err != nil {
				return nil, err
			}
			nc, err := dialer.Dial("tcp", a)
			if err != nil {
				return nil, err
			}
			cc := &countingConn{Conn: nc, in: &c.in, out: &c.out}
			cc.laddr = connAddr{Addr: nc.LocalAddr(), c: cc}
			return cc, nil
		},
	}
	req := &fasthttp.Request{}
	req.Header.DisableNormalizing()
	req.URI().DisablePathNormalizing = true
	req.SetRequestURI(cfg.Request.URL)
	req.Header.SetMethod(cfg.Request.Method)
	for _, h := range cfg.Request.Headers {
		switch {
		case strings.EqualFold(h.Key, "Host"):
			req.UseHostHeader = true
			req.Header.SetHost(h.Value)
		case strings.EqualFold(h.Key, "User-Agent"):
			req.Header.SetUserAgent(h.Value)
		case strings.EqualFold(h.Key, "Content-Type"):
			req.Header.SetContentType(h.Value)
		default:
			req.Header.Add(h.Key, h.Value)
		}
	}
	if len(cfg.Request.Body) > 0 {
		req.SetBody(cfg.Request.Body)
	}
	c.tmpl = req
	return c, nil
}

// NewConn returns a worker's connection handle with its own request copy.
func (c *HTTPClient) NewConn() (Conn, error) {
	req := &fasthttp.Request{}
	c.tmpl.CopyTo(req)
	return &httpConn{c: c, req: req, resp: &fasthttp.Response{}}, nil
}

// BytesOut is the number of bytes written to the target so far.
func (c *HTTPClient) BytesOut() int64 { return c.out.Load() }

// BytesIn is the number of bytes read from the target so far.
func (c *HTTPClient) BytesIn() int64 { return c.in.Load() }

// Close closes idle connections.
func (c *HTTPClient) Close() { c.hc.CloseIdleConnections() }

type httpConn struct {
	c    *HTTPClient
	req  *fasthttp.Request
	resp *fasthttp.Response
}

// Do sends the worker's request. It allocates nothing on success.
func (h *httpConn) Do(int64) Outcome {
	h.resp.Reset()
	err := h.c.hc.DoTimeout(h.req, h.resp, h.c.timeout)
	if err != nil {
		if rerr := firstByteReset(h.resp, err); rerr != nil {
			return Outcome{Kind: stats.ErrReset, Err: rerr}
		}
		return Outcome{Kind: Classify(err), Err: err}
	}
	code := h.resp.StatusCode()
	if code < 100 || code > 599 {
		return Outcome{Kind: stats.ErrOther, Err: fmt.Errorf("invalid status code %d", code)}
	}
	return Outcome{Code: code, BytesIn: int64(len(h.resp.Body()))}
}

func (h *httpConn) Close() {}

// countingConn counts the bytes that cross a connection. It also remembers
// whether the current response failed with a reset before its first byte;
// see firstByteReset.
type countingConn struct {
	net.Conn
	in, out *atomic.Int64
	laddr   connAddr
	// started is set by the first byte read after a request was written;
	// rstErr holds a reset seen before it.
	started atomic.Bool
	rstErr  atomic.Pointer[error]
}

func (c *countingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.in.Add(int64(n))
	if n > 0 {
		c.started.Store(true)
	} else if err != nil && !c.started.Load() && errors.Is(err, syscall.ECONNRESET) {
		c.noteReset(err)
	}
	return n, err
}

// noteReset keeps err; it is a function of its own so that only a reset,
// not every Read, moves an error to the heap.
func (c *countingConn) noteReset(err error) { c.rstErr.Store(&err) }

func (c *countingConn) Write(p []byte) (int, error) {
	if c.started.Load() {
		c.started.Store(false)
	}
	if c.rstErr.Load() != nil {
		c.rstErr.Store(nil)
	}
	n, err := c.Conn.Write(p)
	c.out.Add(int64(n))
	return n, err
}

// LocalAddr returns the local address wrapped with the connection, so that
// a response read on it leads back here (fasthttp records the connection's
// LocalAddr in every Response before reading it).
func (c *countingConn) LocalAddr() net.Addr { return &c.laddr }

// connAddr is a connection's local address that knows its connection.
type connAddr struct {
	net.Addr
	c *countingConn
}

// firstByteReset returns the reset behind err when fasthttp reported a
// connection reset before the first response byte as a closed connection
// (it folds every error on the first byte into io.EOF), and nil otherwise.
func firstByteReset(resp *fasthttp.Response, err error) error {
	if !errors.Is(err, fasthttp.ErrConnectionClosed) && !errors.Is(err, io.EOF) {
		return nil
	}
	a, ok := resp.LocalAddr().(*connAddr)
	if !ok {
		return nil
	}
	if p := a.c.rstErr.Load(); p != nil {
		return *p
	}
	return nil
}

// refuseInvalidName fails, without any lookup, the names RFC 6761 reserves
// as never resolving (".invalid"), so that no query for them leaves the
// machine.
func refuseInvalidName(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil
	}
	h := strings.ToLower(strings.TrimSuffix(host, "."))
	if h == "invalid" || strings.HasSuffix(h, ".invalid") {
		return &net.OpError{Op: "dial", Net: "tcp", Err: &net.DNSError{
			Err: "no such host (the .invalid domain never resolves, RFC 6761)", Name: host, IsNotFound: true,
		}}
	}
	return nil
}

// ErrInvalidStatus reports a status code outside 100..599.
var ErrInvalidStatus = errors.New("invalid status code")
