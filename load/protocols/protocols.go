// Package protocols chooses the client for a plan: one row per client, the
// first whose test the plan passes. Package main reaches every HTTP client
// through it, and the tests that hold one behaviour to every HTTP version
// (TLS, redirects, proxies, limits) run through it too.
package protocols

import (
	"fmt"

	"volley/load"
	"volley/load/dial"
	"volley/load/h2"
	"volley/load/http1"
)

// A Row is one client: the plans it serves and how it is made.
type Row struct {
	Name   string // as in errors and docs
	Serves func(cfg *load.Config) bool
	New    func(cfg load.Config) (load.Client, error)
}

// Table lists the HTTP clients. A further protocol or client adds a row.
var Table = []Row{
	{"HTTP/1.1", func(c *load.Config) bool { return c.Conn.Protocol == dial.HTTP1 && c.Streams <= 1 },
		func(c load.Config) (load.Client, error) { return http1.NewClient(c) }},
	// --streams over HTTP/1.1 pipelines the requests.
	{"HTTP/1.1 pipelined", func(c *load.Config) bool { return c.Conn.Protocol == dial.HTTP1 },
		func(c load.Config) (load.Client, error) { return http1.NewPipelineClient(c) }},
	// volley's own HTTP/2 client: --streams side by side on a connection,
	// and by default for h2c (one stream per connection), at about half
	// the CPU per request of x/net's Transport (docs/BENCHMARKS.md).
	{"HTTP/2", func(c *load.Config) bool {
		return isHTTP2(c) && (c.Streams > 0 || c.Conn.Protocol == dial.H2C && ownClientServes(c))
	}, func(c load.Config) (load.Client, error) { return h2.NewMuxClient(c) }},
	// x/net/http2's Transport, one stream at a time per connection: over
	// TLS it falls back to HTTP/1.1 where the server's ALPN offers no h2,
	// and it follows redirects, decompresses and reads bodies for checks.
	{"HTTP/2 (x/net)", isHTTP2,
		func(c load.Config) (load.Client, error) { return h2.NewTransportClient(c) }},
}

func isHTTP2(c *load.Config) bool {
	return c.Conn.Protocol == dial.HTTP2 || c.Conn.Protocol == dial.H2C
}

// ownClientServes says volley's own HTTP/2 client can run cfg: it reads no
// bodies (only counts them), follows no redirects, asks for no compression
// and keeps its connections.
func ownClientServes(c *load.Config) bool {
	return !c.Expect.NeedsBody() && c.Conn.FollowRedirects == 0 && !c.Conn.Compressed && !c.Conn.NoKeepAlive
}

// NewClient returns the client of the first row that serves cfg.
func NewClient(cfg load.Config) (load.Client, error) {
	for _, r := range Table {
		if r.Serves(&cfg) {
			return r.New(cfg)
		}
	}
	return nil, fmt.Errorf("protocol %v: no client speaks it", cfg.Conn.Protocol)
}
