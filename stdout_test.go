package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"volley/bench"
	"volley/bench/benchtest"
)

// TestOutToStdoutIsOneDocument: when an --out goes to "-", stdout holds
// that document alone (the text report goes to stderr), so a pipe into a
// JSON reader works; report and merge print their report with --out too,
// unless -q.
func TestOutToStdoutIsOneDocument(t *testing.T) {
	srv := benchtest.Start(t, bench.Config{})
	head := "volley  GET " + srv.URL() + "/"
	isJSON := func(s string) bool {
		var v map[string]any
		return json.Unmarshal([]byte(s), &v) == nil
	}
	r := runCLI(t, "run", "-n", "20", "-c", "2", "--out", "json=-", srv.URL()+"/")
	if r.code != 0 || !isJSON(r.stdout) || !strings.Contains(r.stderr, head) {
		t.Fatalf("run --out json=-: exit %d; stdout is JSON: %v; stderr holds the report: %v\nstdout %q", r.code, isJSON(r.stdout), strings.Contains(r.stderr, head), r.stdout)
	}
	dir := t.TempDir()
	saved := filepath.Join(dir, "r.json")
	if r := runCLI(t, "run", "-n", "20", "-c", "2", "-q", "--out", "json="+saved, srv.URL()+"/"); r.code != 0 {
		t.Fatalf("run: exit %d, %s", r.code, r.stderr)
	}
	for _, cmd := range []string{"report", "merge"} {
		md := filepath.Join(dir, cmd+".md")
		if r := runCLI(t, cmd, saved, "--out", "md="+md); r.code != 0 || !strings.HasPrefix(r.stdout, head) {
			t.Errorf("%s --out md=FILE: exit %d, stdout %q; want the text report too", cmd, r.code, r.stdout)
		}
		if r := runCLI(t, cmd, "-q", saved, "--out", "md="+md); r.code != 0 || r.stdout != "" {
			t.Errorf("%s -q --out md=FILE: exit %d, stdout %q; want nothing", cmd, r.code, r.stdout)
		}
		if r := runCLI(t, cmd, saved, "--out", "json=-"); r.code != 0 || !isJSON(r.stdout) || !strings.HasPrefix(r.stderr, head) {
			t.Errorf("%s --out json=-: exit %d, stdout is JSON: %v, stderr %q; want JSON alone, the report on stderr", cmd, r.code, isJSON(r.stdout), r.stderr)
		}
	}
}
