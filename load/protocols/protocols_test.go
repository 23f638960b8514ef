package protocols

import (
	"fmt"
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
		{"http://127.0.0.1:1/", dial.H2C, 0, fmt.Sprintf("%T", &h2.TransportClient{})},
		{"http://127.0.0.1:1/", dial.H2C, 100, fmt.Sprintf("%T", &h2.MuxClient{})},
	} {
		cfg := loadtest.Plan(tc.url, 1, 1)
		cfg.Conn.Protocol, cfg.Streams = tc.proto, tc.streams
		c, err := NewClient(cfg)
		if err != nil {
			t.Errorf("%v --streams %d: %v", tc.proto, tc.streams, err)
			continue
		}
		if got := fmt.Sprintf("%T", c); got != tc.want {
			t.Errorf("%v --streams %d: %s, want %s", tc.proto, tc.streams, got, tc.want)
		}
		c.Close()
	}
}
