package main

import (
	"path/filepath"
	"strings"
	"testing"

	"volley/bench"
	"volley/bench/benchtest"
)

// TestRunPipeline: --streams over HTTP/1.1 pipelines the requests end to
// end through the command: the server answers every one over HTTP/1.1,
// and the report and JSON show the streams per connection.
func TestRunPipeline(t *testing.T) {
	srv := benchtest.Start(t, bench.Config{})
	out := filepath.Join(t.TempDir(), "r.json")
	r := runCLI(t, "run", "-c", "2", "--streams", "8", "-n", "1000", "--out", "json="+out, srv.URL()+"/")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	st := srv.Stats()
	res := readResult(t, out)
	if res.Requests.Total != 1000 || res.Status["2xx"] != 1000 || st.Total != 1000 || st.Protocols["HTTP/1.1"] != 1000 {
		t.Errorf("volley %d (2xx %d), server %d %v: want 1000 HTTP/1.1 requests", res.Requests.Total, res.Status["2xx"], st.Total, st.Protocols)
	}
	if res.Streams == nil || res.Streams.PerConnection != 8 {
		t.Errorf("result streams %+v, want per_connection 8", res.Streams)
	}
	if !strings.Contains(r.stdout, "2 connections × up to 8 in flight") {
		t.Errorf("the report's header does not show the streams:\n%s", r.stdout[:min(len(r.stdout), 300)])
	}
}

// TestRunPipelineRefused: a method that is not idempotent is not
// pipelined: refused before any request, naming the method and the flag.
func TestRunPipelineRefused(t *testing.T) {
	srv := benchtest.Start(t, bench.Config{})
	for _, m := range []string{"POST", "PATCH"} {
		r := runCLI(t, "run", "-n", "5", "-c", "1", "-q", "--streams", "4", "--method", m, srv.URL()+"/")
		want := "--streams: streams 4: " + m + " is not idempotent"
		if r.code != 2 || !strings.Contains(r.stderr, want) {
			t.Errorf("%s: exit %d, stderr %q; want 2 and %q", m, r.code, r.stderr, want)
		}
	}
	if n := srv.Stats().Total; n != 0 {
		t.Errorf("the target answered %d requests from refused runs", n)
	}
}
