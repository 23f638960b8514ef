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
	Serves func(cfg *load.Config) bool
	New    func(cfg load.Config) (load.Client, error)
}

// Table lists the HTTP clients. A further protocol or client adds a row.
var Table = []Row{
	// HTTP/1.1, one request at a time per connection.
	{func(c *load.Config) bool { return c.Conn.Protocol == dial.HTTP1 && c.Streams <= 1 },
		func(c load.Config) (load.Client, error) { return http1.NewClient(c) }},
	// --streams over HTTP/1.1 pipelines the requests.
	{func(c *load.Config) bool { return c.Conn.Protocol == dial.HTTP1 },
		func(c load.Config) (load.Client, error) { return http1.NewPipelineClient(c) }},
	// volley's own HTTP/2 client: --streams side by side on a connection,
	// and by default for h2c (one stream per connection), at about 0.6 of
	// the CPU per request of x/net's Transport (docs/BENCHMARKS.md).
	{func(c *load.Config) bool {
		return isHTTP2(c) && (c.Streams > 0 || c.Conn.Protocol == dial.H2C && h2.Unsupported(c) == nil)
	}, func(c load.Config) (load.Client, error) { return h2.NewMuxClient(c) }},
	// x/net/http2's Transport, one stream at a time per connection: over
	// TLS it falls back to HTTP/1.1 where the server's ALPN offers no h2,
	// and it follows redirects, decompresses and reads bodies for checks.
	{isHTTP2,
		func(c load.Config) (load.Client, error) { return h2.NewTransportClient(c) }},
}

func isHTTP2(c *load.Config) bool {
	return c.Conn.Protocol == dial.HTTP2 || c.Conn.Protocol == dial.H2C
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
