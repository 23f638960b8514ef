package main

import (
	"path/filepath"
	"strings"
	"testing"

	"volley/bench"
	"volley/bench/benchtest"
)

// TestRunStreams: --streams over h2c keeps connections x streams requests in
// flight, as the server counts them, and the report and JSON say so.
func TestRunStreams(t *testing.T) {
	lat, err := bench.ParseLatency("10ms")
	if err != nil {
		t.Fatal(err)
	}
	srv := benchtest.Start(t, bench.Config{H2C: true, Latency: lat})
	out := filepath.Join(t.TempDir(), "r.json")
	r := runCLI(t, "run", "--h2c", "-c", "2", "--streams", "25", "-n", "1000", "--out", "json="+out, srv.URL()+"/")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	st := srv.Stats()
	res := readResult(t, out)
	if res.Requests.Total != 1000 || res.Status["2xx"] != 1000 || st.Total != 1000 || st.Protocols["HTTP/2.0"] != 1000 {
		t.Errorf("volley %d (2xx %d), server %d %v: want 1000 HTTP/2 requests", res.Requests.Total, res.Status["2xx"], st.Total, st.Protocols)
	}
	if st.MaxInFlight != 50 {
		t.Errorf("the server held at most %d at once, want 2 x 25 = 50", st.MaxInFlight)
	}
	if res.Streams == nil || res.Streams.PerConnection != 25 {
		t.Errorf("result streams %+v, want per_connection 25", res.Streams)
	}
	if !strings.Contains(r.stdout, "2 connections × up to 25 in flight") {
		t.Errorf("the report's header does not show the streams:\n%s", r.stdout[:min(len(r.stdout), 300)])
	}
	// 1000 requests of 10 ms, 50 at a time: about 0.2 s, not the 5 s of 2 at a time.
	if res.DurationS > 2 {
		t.Errorf("took %.2f s: the streams did not run side by side", res.DurationS)
	}
}

// TestRunStreamsRefused: --streams where it cannot apply is refused before
// any request, naming the flag.
func TestRunStreamsRefused(t *testing.T) {
	srv := benchtest.Start(t, bench.Config{H2C: true})
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--streams", "4", "--method", "POST"}, "--streams: streams 4: POST is not idempotent"},
		{[]string{"--h2c", "--streams", "4", "--follow-redirects", "3"}, "--follow-redirects"},
		{[]string{"--h2c", "--streams", "4", "--expect-body", "hello"}, "--expect-body"},
		{[]string{"--h2c", "--streams", "-1"}, "--streams: streams -1"},
	} {
		args := append([]string{"run", "-n", "5", "-c", "1", "-q"}, tc.args...)
		r := runCLI(t, append(args, srv.URL()+"/")...)
		if r.code != 2 || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", tc.args, r.code, r.stderr, tc.want)
		}
	}
	if n := srv.Stats().Total; n != 0 {
		t.Errorf("the target answered %d requests from refused runs", n)
	}
}
