package dial

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
	"volley/load/field"
)

// Protocol is the HTTP version a client speaks.
type Protocol uint8

// Protocols. HTTP1 goes through fasthttp; HTTP2 (TLS with ALPN) and H2C
// (cleartext, prior knowledge) through golang.org/x/net/http2.
const (
	HTTP1 Protocol = iota
	HTTP2
	H2C
)

// String names the protocol as the flags do.
func (p Protocol) String() string {
	switch p {
	case HTTP2:
		return "http2"
	case H2C:
		return "h2c"
	}
	return "http1.1"
}

// Endpoint is where requests go: scheme and dial address.
type Endpoint struct {
	Scheme string // "http" or "https"
	Addr   string // host:port to dial (or to CONNECT through a proxy)
	Host   string // host name, for TLS server name verification
}

// EndpointOf is where requests to u go: its scheme, and its host:port with
// the scheme's default port.
func EndpointOf(u *url.URL) Endpoint {
	return Endpoint{Scheme: u.Scheme, Addr: dialAddress(u), Host: u.Hostname()}
}

// dialAddress is the URL's host:port, with the scheme's default port.
func dialAddress(u *url.URL) string {
	if u.Port() != "" {
		return u.Host
	}
	if u.Scheme == "https" {
		return net.JoinHostPort(u.Hostname(), "443")
	}
	return net.JoinHostPort(u.Hostname(), "80")
}

// Options are the protocol, TLS and connection settings of a run. The
// zero value is HTTP/1.1 with keep-alive, verified TLS, direct connections.
type Options struct {
	Protocol Protocol
	// Insecure skips verifying the server's certificate.
	Insecure bool
	// RootCAs, when set, replaces the system's certificate authorities.
	RootCAs *x509.CertPool
	// Certificates are client certificates offered to the server.
	Certificates []tls.Certificate
	// ServerName, when set, is sent in SNI and verified instead of the
	// URL's host.
	ServerName string
	// NoKeepAlive opens a new connection for every request.
	NoKeepAlive bool
	// UnixSocket, when set, is the path every connection dials instead of
	// the URL's host; the URL still gives the Host header and TLS name.
	UnixSocket string
	// Proxy, when set, is an http:// proxy every connection tunnels
	// through with CONNECT.
	Proxy *url.URL
	// FollowRedirects is how many redirects a request follows; 0 follows
	// none, so a 3xx is counted as such.
	FollowRedirects int
	// Compressed asks for compressed responses (Accept-Encoding) and
	// decompresses them for body checks.
	Compressed bool
}

// MaxRedirects bounds Options.FollowRedirects.
const MaxRedirects = 100

func (o *Options) Validate() error {
	switch {
	case o.Protocol > H2C:
		return field.Errorf("Conn.Protocol", "protocol %d: unknown", o.Protocol)
	case o.FollowRedirects < 0 || o.FollowRedirects > MaxRedirects:
		return field.Errorf("Conn.FollowRedirects", "follow redirects %d: want 0 to %d", o.FollowRedirects, MaxRedirects)
	case o.Proxy != nil && (o.Proxy.Scheme != "http" || o.Proxy.Host == ""):
		return field.Errorf("Conn.Proxy", "proxy %q: want http://HOST:PORT", o.Proxy.Redacted())
	case o.Proxy != nil && o.UnixSocket != "":
		return field.Errorf("Conn.Proxy", "proxy and unix socket: give one, not both")
	}
	return nil
}

// LoadCertPool reads PEM certificates (a CA bundle) from path.
func LoadCertPool(path string) (*x509.CertPool, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		return nil, fmt.Errorf("%s: no PEM certificate found", path)
	}
	return pool, nil
}

// TLSConfig returns the TLS configuration for ep offering alpn.
func (o *Options) TLSConfig(ep Endpoint, alpn []string) *tls.Config {
	name := o.ServerName
	if name == "" {
		name = ep.Host
	}
	return &tls.Config{
		ServerName:         name,
		InsecureSkipVerify: o.Insecure, //nolint:gosec // asked for with --insecure
		RootCAs:            o.RootCAs,
		Certificates:       o.Certificates,
		NextProtos:         alpn,
		MinVersion:         tls.VersionTLS12,
	}
}

// Probe observes one worker's requests on the HTTP/1.1 path: the phases of a
// connection dialled during the current request, and the first write and
// read after it was armed. It belongs to one worker goroutine.
type Probe struct {
	Armed          bool
	Wrote, Read    time.Time
	Connect, Hands time.Duration
	// Rst is a connection reset seen before the response's first byte.
	Rst error
}

func (p *Probe) Arm() {
	p.Armed = true
	p.Wrote, p.Read = time.Time{}, time.Time{}
	p.Connect, p.Hands = 0, 0
	p.Rst = nil
}

// WireConn counts the bytes that cross a connection.
type WireConn struct {
	net.Conn
	in, out *atomic.Int64
	Raw     *RawIO // the socket's raw path, where there is one
}

func newWireConn(c net.Conn, in, out *atomic.Int64) *WireConn {
	return &WireConn{Conn: c, in: in, out: out, Raw: newRawIO(c)}
}

func (c *WireConn) Read(b []byte) (n int, err error) {
	if c.Raw != nil {
		n, err = c.Raw.read(b)
		if s := c.Raw.takeSent(); s > 0 {
			c.out.Add(int64(s))
		}
	} else {
		n, err = c.Conn.Read(b)
	}
	c.in.Add(int64(n))
	return n, err
}

func (c *WireConn) Write(b []byte) (n int, err error) {
	if c.Raw != nil {
		n, err = c.Raw.write(b)
	} else {
		n, err = c.Conn.Write(b)
	}
	c.out.Add(int64(n))
	return n, err
}

// ProbeConn notes the first write and read of each request in its probe.
// Over TLS it wraps the TLS connection, so that only application data
// counts (not, say, session tickets arriving after the handshake).
type ProbeConn struct {
	net.Conn
	p *Probe
}

func (c *ProbeConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	if n > 0 && c.p.Armed && c.p.Read.IsZero() {
		c.p.Read = time.Now()
	} else if n == 0 && err != nil && c.p.Armed && c.p.Read.IsZero() && errors.Is(err, syscall.ECONNRESET) {
		c.p.Rst = err
	}
	return n, err
}

func (c *ProbeConn) Write(b []byte) (int, error) {
	if c.p.Armed && c.p.Wrote.IsZero() {
		c.p.Wrote = time.Now()
	}
	return c.Conn.Write(b)
}

// TLSProbeConn is a probeConn over TLS. Its Handshake method tells fasthttp
// that the connection is TLS already.
type TLSProbeConn struct {
	ProbeConn
	TLS *tls.Conn
}

func (c *TLSProbeConn) Handshake() error { return c.TLS.Handshake() }

// Dialer makes connections the way the options say: TCP or a unix socket,
// optionally through a CONNECT proxy, then TLS for https endpoints.
type Dialer struct {
	opts    *Options
	timeout time.Duration
	in, out *atomic.Int64
	net     net.Dialer
}

func NewDialer(opts *Options, timeout time.Duration, in, out *atomic.Int64) *Dialer {
	return &Dialer{opts: opts, timeout: timeout, in: in, out: out,
		net: net.Dialer{Timeout: timeout, KeepAlive: -1}}
}

// Dial connects to ep. With alpn set and an https endpoint it completes a
// TLS handshake offering those protocols. p, when set, observes the
// connection and receives the connect and handshake times; they are also
// returned.
func (d *Dialer) Dial(ep Endpoint, alpn []string, p *Probe) (net.Conn, time.Duration, time.Duration, error) {
	if err := refuseInvalidName(ep.Addr); err != nil {
		return nil, 0, 0, err
	}
	start := time.Now()
	var (
		raw net.Conn
		err error
	)
	switch {
	case d.opts.UnixSocket != "":
		raw, err = d.net.Dial("unix", d.opts.UnixSocket)
	case d.opts.Proxy != nil:
		raw, err = d.tunnel(ep.Addr)
	default:
		raw, err = d.net.Dial("tcp", ep.Addr)
	}
	if err != nil {
		return nil, 0, 0, err
	}
	connected := time.Now()
	wc, tunnelled := raw.(*WireConn) // a tunnel counts its CONNECT exchange too
	if !tunnelled {
		wc = newWireConn(raw, d.in, d.out)
	}
	connect := connected.Sub(start)
	var (
		conn  net.Conn = wc
		tc    *tls.Conn
		hands time.Duration
	)
	if ep.Scheme == "https" {
		tc = tls.Client(wc, d.opts.TLSConfig(ep, alpn))
		_ = raw.SetDeadline(connected.Add(d.timeout))
		if err := tc.Handshake(); err != nil {
			raw.Close()
			return nil, 0, 0, err
		}
		_ = raw.SetDeadline(time.Time{})
		hands = time.Since(connected)
		conn = tc
	}
	if p != nil {
		p.Connect, p.Hands = connect, hands
		if tc != nil {
			conn = &TLSProbeConn{ProbeConn{tc, p}, tc}
		} else {
			conn = &ProbeConn{wc, p}
		}
	}
	return conn, connect, hands, nil
}

// tunnel connects to addr through the proxy with CONNECT.
func (d *Dialer) tunnel(addr string) (net.Conn, error) {
	px := d.opts.Proxy
	proxyAddr := px.Host
	if px.Port() == "" {
		proxyAddr = net.JoinHostPort(px.Hostname(), "80")
	}
	nc, err := d.net.Dial("tcp", proxyAddr)
	if err != nil {
		return nil, fmt.Errorf("proxy %s: %w", px.Host, err)
	}
	c := newWireConn(nc, d.in, d.out)
	_ = c.SetDeadline(time.Now().Add(d.timeout))
	req := "CONNECT " + addr + " HTTP/1.1\r\nHost: " + addr + "\r\n"
	if u := px.User; u != nil {
		pw, _ := u.Password()
		req += "Proxy-Authorization: Basic " + base64.StdEncoding.EncodeToString([]byte(u.Username()+":"+pw)) + "\r\n"
	}
	req += "\r\n"
	if _, err := c.Write([]byte(req)); err != nil {
		c.Close()
		return nil, fmt.Errorf("proxy %s: %w", px.Host, err)
	}
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, &http.Request{Method: http.MethodConnect})
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("proxy %s: %w", px.Host, err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		c.Close()
		return nil, fmt.Errorf("proxy %s: CONNECT %s: %s", px.Host, addr, resp.Status)
	}
	if br.Buffered() > 0 {
		c.Close()
		return nil, fmt.Errorf("proxy %s: data before the tunnel was used", px.Host)
	}
	_ = c.SetDeadline(time.Time{})
	return c, nil
}

// Micros converts a duration to whole microseconds rounded up, at least 1
// for any positive duration, saturating at the largest uint32.
func Micros(d time.Duration) uint32 {
	if d <= 0 {
		return 0
	}
	us := (d + time.Microsecond - 1) / time.Microsecond
	if us > 1<<32-1 {
		return 1<<32 - 1
	}
	return uint32(us)
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
