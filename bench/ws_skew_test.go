package bench

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

func TestParseClockSkew(t *testing.T) {
	for s, want := range map[string]time.Duration{"1.5s": 1500 * time.Millisecond, "-200ms": -200 * time.Millisecond, "0": 0, "24h": 24 * time.Hour} {
		if d, err := ParseClockSkew(s); err != nil || d != want {
			t.Errorf("ParseClockSkew(%q) = %v, %v; want %v", s, d, err, want)
		}
	}
	for _, s := range []string{"", "x", "1.5", "25h", "-25h"} {
		if _, err := ParseClockSkew(s); err == nil {
			t.Errorf("ParseClockSkew(%q): no error", s)
		}
	}
}

// TestWSBroadcastSkew: ?skew=D stamps every message D later than its
// intended time, as a server whose clock is D ahead would; a bad skew is
// refused with 400.
func TestWSBroadcastSkew(t *testing.T) {
	s := startServer(t, Config{})
	c := dialWS(t, s, BroadcastPath+"?rate=100&skew=2s")
	for i := range 5 {
		_, data, err := c.ReadMessage()
		if err != nil {
			t.Fatal(err)
		}
		m := string(data)
		j := strings.Index(m, `"ts_ns":`)
		if j < 0 {
			t.Fatalf("message %q has no ts_ns", m)
		}
		var ts int64
		for _, ch := range strings.TrimSuffix(m[j+len(`"ts_ns":`):], "}") {
			ts = ts*10 + int64(ch-'0')
		}
		// Stamped 2 s ahead of the intended time, which has just passed.
		if ahead := time.Until(time.Unix(0, ts)); ahead < 1500*time.Millisecond || ahead > 2*time.Second {
			t.Errorf("message %d stamped %v ahead of its receipt, want just under 2s", i, ahead)
		}
	}
	_, resp, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(s.URL(), "http")+BroadcastPath+"?skew=soon", nil)
	if err == nil || resp == nil || resp.StatusCode != http.StatusBadRequest {
		t.Errorf("?skew=soon: error %v, response %v; want 400", err, resp)
	}
}
