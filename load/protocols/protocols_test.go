package protocols

import (
	"fmt"
	"strings"
	"testing"

	"volley/internal/loadtest"
	"volley/load/dial"
	"volley/load/h2"
	"volley/load/http1"
)

// TestTableChoosesClient: the HTTP version and --streams choose the client
// a user gets.
func TestTableChoosesClient(t *testing.T) {
	for _, tc := range []struct {
		url     string
		proto   dial.Protocol
		streams int
		want    string
	}{
		{"http://127.0.0.1:1/", dial.HTTP1, 0, fmt.Sprintf("%T", &http1.Client{})},
		{"http://127.0.0.1:1/", dial.HTTP1, 1, fmt.Sprintf("%T", &http1.Client{})},
		{"http://127.0.0.1:1/", dial.HTTP1, 8, fmt.Sprintf("%T", &http1.PipelineClient{})},
		{"https://127.0.0.1:1/", dial.HTTP2, 0, fmt.Sprintf("%T", &h2.TransportClient{})},
		{"https://127.0.0.1:1/", dial.HTTP2, 4, fmt.Sprintf("%T", &h2.MuxClient{})},
		{"http://127.0.0.1:1/", dial.H2C, 0, fmt.Sprintf("%T", &h2.MuxClient{})},
		{"http://127.0.0.1:1/", dial.H2C, 100, fmt.Sprintf("%T", &h2.MuxClient{})},
		// What only the Transport does: redirects, compression, body checks.
		{"http://127.0.0.1:1/ redirects", dial.H2C, 0, fmt.Sprintf("%T", &h2.TransportClient{})},
		{"http://127.0.0.1:1/ compressed", dial.H2C, 0, fmt.Sprintf("%T", &h2.TransportClient{})},
		{"http://127.0.0.1:1/ body", dial.H2C, 0, fmt.Sprintf("%T", &h2.TransportClient{})},
		{"http://127.0.0.1:1/ no-keepalive", dial.H2C, 0, fmt.Sprintf("%T", &h2.TransportClient{})},
	} {
		url, need, _ := strings.Cut(tc.url, " ")
		cfg := loadtest.Plan(url, 1, 1)
		cfg.Conn.Protocol, cfg.Streams = tc.proto, tc.streams
		switch need {
		case "redirects":
			cfg.Conn.FollowRedirects = 2
		case "compressed":
			cfg.Conn.Compressed = true
		case "body":
			cfg.Expect.Body = []byte("hello")
		case "no-keepalive":
			cfg.Conn.NoKeepAlive = true
		}
		c, err := NewClient(cfg)
		if err != nil {
			t.Errorf("%s %v --streams %d: %v", tc.url, tc.proto, tc.streams, err)
			continue
		}
		if got := fmt.Sprintf("%T", c); got != tc.want {
			t.Errorf("%s %v --streams %d: %s, want %s", tc.url, tc.proto, tc.streams, got, tc.want)
		}
		c.Close()
	}
}
