package ws

import (
	"testing"
	"time"
	"volley/bench"
	"volley/bench/benchtest"
	"volley/load"
	"volley/load/request"
)

// TestWSTemplateEndToEnd: templated messages against the echo server are
// all answered and matched.
func TestWSTemplateEndToEnd(t *testing.T) {
	srv := benchtest.Start(t, bench.Config{})
	res := runWS(t, load.Config{Spec: request.Spec{Request: request.Request{URL: wsURL(srv, bench.WSPath)}}, Rate: 500, Connections: 5, Duration: 400 * time.Millisecond},
		Config{Payload: []byte(`{"id":"{{id}}","seq":{{seq}},"at":{{now_unix_ms}}}`)})
	st := srv.Stats().WS
	if m := res.Messages; m.Sent != 200 || m.Received != 200 || st.Echoed != 200 || m.Unanswered != 0 {
		t.Errorf("sent %d received %d unanswered %d, server echoed %d; want 200 answered", m.Sent, m.Received, m.Unanswered, st.Echoed)
	}
}
