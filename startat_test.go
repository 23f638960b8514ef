package main

import (
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestStartAtDaysAgoRefused: --start-at in 2020 once made volley build an
// empty series point for every second since then, until it was killed for
// want of memory. It is an input error now, at once, naming the flag and
// how far back the time is.
func TestStartAtDaysAgoRefused(t *testing.T) {
	srv := startBench(t, benchOpts{})
	done := make(chan cliResult, 1)
	go func() {
		done <- runCLI(t, "run", "--start-at", "2020-01-01T00:00:00Z", "-r", "10", "-d", "1s", "-q", srv.URL()+"/")
	}()
	var res cliResult
	select {
	case res = <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("run --start-at 2020-01-01T00:00:00Z did not end within 10 s")
	}
	if res.code != 2 {
		t.Fatalf("exit %d, want 2; stderr:\n%s", res.code, res.stderr)
	}
	for _, want := range []string{"--start-at", `"2020-01-01T00:00:00Z"`, "days in the past"} {
		if !strings.Contains(res.stderr, want) {
			t.Errorf("stderr does not say %q:\n%s", want, res.stderr)
		}
	}
	if st := srv.Stats(); st.Total != 0 {
		t.Errorf("the target counted %d requests, want none", st.Total)
	}
}

// TestStartAtSlightlyLateRuns: a shard that starts a little after its
// --start-at (a CI job picked up late) still runs the whole plan, sending
// the overdue requests late, and says how late it began.
func TestStartAtSlightlyLateRuns(t *testing.T) {
	srv := startBench(t, benchOpts{})
	out := filepath.Join(t.TempDir(), "r.json")
	at := time.Now().Add(-2 * time.Second).UTC().Format(time.RFC3339Nano)
	res := runCLI(t, "run", "--start-at", at, "-r", "20", "-d", "3s", "-c", "4", "-q", "--out", "json="+out, srv.URL()+"/")
	if res.code != 0 {
		t.Fatalf("exit %d, want 0; stderr:\n%s", res.code, res.stderr)
	}
	r := readResult(t, out)
	if r.Requests.Total != 60 {
		t.Errorf("sent %d requests, want the plan's 60 (the 40 overdue ones late)", r.Requests.Total)
	}
	if r.StartLateMS < 2000 || r.StartLateMS > 10000 {
		t.Errorf("start_late_ms %v, want about 2000", r.StartLateMS)
	}
	if r.Requests.Late < 30 {
		t.Errorf("late %d, want the overdue requests counted late", r.Requests.Late)
	}
	if n := len(r.Series); n > 6 {
		t.Errorf("series has %d points for a 3 s run, want at most 6", n)
	}
}
