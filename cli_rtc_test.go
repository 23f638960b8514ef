package main

import (
	"path/filepath"
	"strings"
	"testing"

	"volley/bench"
	"volley/bench/benchtest"
)

// TestRunWebRTC: volley run --webrtc against the built-in peer sends every
// message over data channels, its counts equal to the peer's, with the
// setup phases in the report and the JSON, and every session deleted.
func TestRunWebRTC(t *testing.T) {
	srv := benchtest.Start(t, bench.Config{})
	out := filepath.Join(t.TempDir(), "r.json")
	r := runCLI(t, "run", "--webrtc", "-r", "400", "-c", "4", "--channels", "2", "-d", "1s",
		"--message", `{"op":"ping"}`, "--threshold", "unanswered<1%", "--out", "json="+out, srv.URL()+bench.RTCPath)
	if r.code != 0 {
		t.Fatalf("exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	for _, want := range []string{"POST " + srv.URL() + bench.RTCPath, "4 peer connections × 2 channels",
		"Peers      4 set up of 4, 0 failed", "signal", "total"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("report lacks %q:\n%s", want, r.stdout)
		}
	}
	res := readResult(t, out)
	st := srv.Stats().RTC
	if m := res.Messages; m == nil || m.Sent != 400 || m.Received != 400 || st.Echoed != 400 {
		t.Fatalf("messages %+v, the peer echoed %d; want 400", res.Messages, st.Echoed)
	}
	if x := res.RTC; x == nil || x.Peers.OK != 4 || x.Channels != 2 || x.Deleted != 4 || st.Deleted != 4 || res.Connections != 8 {
		t.Errorf("rtc %+v, connections %d, the peer deleted %d; want 4 peers of 2 channels (8 connections), all deleted", res.RTC, res.Connections, st.Deleted)
	}
	if res.Protocol != "WebRTC data channels" {
		t.Errorf("protocol %q", res.Protocol)
	}
}

// TestRunWebRTCUsageErrors: WebRTC flags are refused without --webrtc, and
// bad values with it, before anything is set up; a TURN password never
// shows.
func TestRunWebRTCUsageErrors(t *testing.T) {
	url := "http://127.0.0.1:1/rtc"
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--channels", "2", url}, "--channels: only with --webrtc"},
		{[]string{"--webrtc", "ws://127.0.0.1:1/ws"}, "--webrtc: the URL is the signalling endpoint"},
		{[]string{"--webrtc", "--channels", "0", url}, "--channels 0: want 1 to 1024"},
		{[]string{"--webrtc", "--max-retransmits", "2", "--max-packet-life", "1s", url}, "give one"},
		{[]string{"--webrtc", "--ice-ports", "9-1", url}, `--ice-ports "9-1"`},
		{[]string{"--webrtc", "--ice-server", "turn:alice:s3cret@turn.example", "--ice-server", "ftp:x", url}, `scheme "ftp"`},
		{[]string{"--webrtc", "--ice-server", "turn:turn.example:3478", url}, "needs USER:PASSWORD@"},
		{[]string{"--webrtc", "--ice-server", "stun@x:s3cret@y", url}, "REDACTED@y"},
		{[]string{"--webrtc", "--mode", "subscribe", "-r", "10", url}, "--rate: --mode subscribe only listens"},
		{[]string{"--webrtc", "--expect-status", "200", url}, "expect status"},
	} {
		r := runCLI(t, append([]string{"run", "-n", "1"}, tc.args...)...)
		if r.code != 2 || !strings.Contains(r.stderr, tc.want) || strings.Contains(r.stderr, "s3cret") {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q, no password", tc.args, r.code, r.stderr, tc.want)
		}
	}
}

// TestParseICEServer: an --ice-server value becomes the server pion is
// given: its URL without the credentials, which go in their own fields.
func TestParseICEServer(t *testing.T) {
	for _, tc := range []struct {
		in, url, user, pass string
	}{
		{"stun:stun.example:3478", "stun:stun.example:3478", "", ""},
		{"turn:alice:s3cret@turn.example:3478?transport=tcp", "turn:turn.example:3478?transport=tcp", "alice", "s3cret"},
		{"turns:bob:p%40ss@turn.example:5349", "turns:turn.example:5349", "bob", "p@ss"},
	} {
		srv, err := parseICEServer(tc.in)
		if err != nil {
			t.Errorf("%s: %v", tc.in, err)
			continue
		}
		pass, _ := srv.Credential.(string) // nil when there is none
		if len(srv.URLs) != 1 || srv.URLs[0] != tc.url || srv.Username != tc.user || pass != tc.pass {
			t.Errorf("%s: urls %v user %q credential %v, want %s, %q, %q", tc.in, srv.URLs, srv.Username, srv.Credential, tc.url, tc.user, tc.pass)
		}
	}
}
