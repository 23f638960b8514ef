package http1

import (
	"strings"
	"testing"
	"time"
	"volley/bench"
	"volley/bench/benchtest"
	"volley/internal/loadtest"
	"volley/load"
)

// TestIdleConnectionRedialled: a worker's connection unused for longer than
// wireIdle is closed, and the next request dials afresh instead of meeting a
// connection the server may have dropped.
func TestIdleConnectionRedialled(t *testing.T) {
	defer func(d time.Duration) { wireIdle = d }(wireIdle)
	wireIdle = 50 * time.Millisecond
	srv := benchtest.Start(t, bench.Config{})
	_, conn := workerConn(t, loadtest.Plan(srv.URL()+"/", 1, 1))
	for i, pause := range []time.Duration{0, 10 * time.Millisecond, 150 * time.Millisecond} {
		time.Sleep(pause)
		if out := conn.Do(int64(i)); out.Code != 200 {
			t.Fatalf("request %d: status %d, err %v", i, out.Code, out.Err)
		}
	}
	// The short pause reuses the connection; the long one dials again.
	if st := srv.Stats(); st.Connections != 2 {
		t.Errorf("server saw %d connections for 3 requests, want 2", st.Connections)
	}
}

// workerConn returns an HTTP/1.1 client for cfg and one worker's
// connection handle, both closed when the test ends.
func workerConn(t testing.TB, cfg load.Config) (*Client, *clientConn) {
	t.Helper()
	client, err := NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(client.Close)
	conn, err := client.NewConn()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(conn.Close)
	return client, conn.(*clientConn)
}

// TestRefusesWebSocketURL: a ws:// URL is WebSocket's; the HTTP client
// refuses it rather than sending HTTP requests to it.
func TestRefusesWebSocketURL(t *testing.T) {
	_, err := NewClient(loadtest.Plan("ws://127.0.0.1:1/ws", 1, 1))
	if err == nil || !strings.Contains(err.Error(), "WebSocket URL") {
		t.Errorf("NewClient(ws://...) error %v, want a refusal naming the WebSocket URL", err)
	}
}
