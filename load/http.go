package load

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync/atomic"
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
	if u.Scheme == "ws" || u.Scheme == "wss" {
		return nil, fmt.Errorf("url %q: a WebSocket URL needs NewWSClient", cfg.Request.URL)
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
			nc, err := dialer.Dial("tcp", a)
			if err != nil {
				return nil, err
			}
			return &countingConn{Conn: nc, in: &c.in, out: &c.out}, nil
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
		return Outcome{Kind: Classify(err), Err: err}
	}
	code := h.resp.StatusCode()
	if code < 100 || code > 599 {
		return Outcome{Kind: stats.ErrOther, Err: fmt.Errorf("invalid status code %d", code)}
	}
	return Outcome{Code: code, BytesIn: int64(len(h.resp.Body()))}
}

func (h *httpConn) Close() {}

// countingConn counts the bytes that cross a connection.
type countingConn struct {
	net.Conn
	in, out *atomic.Int64
}

func (c *countingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.in.Add(int64(n))
	return n, err
}

func (c *countingConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	c.out.Add(int64(n))
	return n, err
}

// ErrInvalidStatus reports a status code outside 100..599.
var ErrInvalidStatus = errors.New("invalid status code")
