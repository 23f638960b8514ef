package main

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"volley/bench"
)

// TestRunInterruptWhileConnecting signals volley before any response could
// arrive: the target never completes a connect (its accept queue is full).
// The report and outputs are still whole, every request sent is counted as
// a timeout, and the exit code is 130.
func TestRunInterruptWhileConnecting(t *testing.T) {
	addr := fullBacklog(t)
	dir := t.TempDir()
	out, txt := filepath.Join(dir, "r.json"), filepath.Join(dir, "r.txt")
	p := startVolley(t, "run", "-r", "100", "-d", "30s", "-c", "4", "-t", "1s",
		"--out", "json="+out, "--out", "text="+txt, "http://"+addr+"/")
	time.Sleep(300 * time.Millisecond)
	p.signal(t, syscall.SIGTERM)
	if code := p.wait(t, 5*time.Second, "SIGTERM while connecting"); code != exitInterrupted {
		t.Errorf("exit %d, want %d; stderr: %s", code, exitInterrupted, p.stderr)
	}
	for _, want := range []string{"INTERRUPTED", "(no responses)", "timeout"} {
		if !strings.Contains(p.stdout.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, p.stdout)
		}
	}
	res := readResult(t, out)
	if !res.Interrupted || res.Requests.Total != 4 || res.Requests.Completed != 0 || res.Errors["timeout"] != 4 {
		t.Errorf("interrupted %v total %d completed %d errors %v, want true, 4 (one per connection), 0 and 4 timeouts",
			res.Interrupted, res.Requests.Total, res.Requests.Completed, res.Errors)
	}
	checkTextOut(t, txt, p.stdout.String())
	if left := leftoverTemps(t, dir); len(left) > 0 {
		t.Errorf("temporary files left behind: %v", left)
	}
}

// TestRunInterruptDuringDrain signals volley after its last request was
// sent, while the responses are still due: it waits for them, reports them
// all, marks the result interrupted and exits 130.
func TestRunInterruptDuringDrain(t *testing.T) {
	srv := startBench(t, benchOpts{latency: "1500ms"})
	dir := t.TempDir()
	out := filepath.Join(dir, "r.json")
	p := startVolley(t, "run", "-n", "4", "-c", "4", "-t", "5s", "--out", "json="+out, srv.URL()+"/")
	waitRequests(t, func() int64 { return arrivals(srv) }, 4, 10*time.Second)
	p.signal(t, os.Interrupt)
	if code := p.wait(t, 5*time.Second, "SIGINT during the drain"); code != exitInterrupted {
		t.Errorf("exit %d, want %d; stderr: %s", code, exitInterrupted, p.stderr)
	}
	res := readResult(t, out)
	if !res.Interrupted || res.Requests.Total != 4 || res.Status["2xx"] != 4 || srv.Stats().Total != 4 {
		t.Errorf("interrupted %v total %d 2xx %d (server %d), want true and 4 answered requests",
			res.Interrupted, res.Requests.Total, res.Status["2xx"], srv.Stats().Total)
	}
	if !strings.Contains(p.stdout.String(), "INTERRUPTED") {
		t.Errorf("report not marked INTERRUPTED:\n%s", p.stdout)
	}
	if left := leftoverTemps(t, dir); len(left) > 0 {
		t.Errorf("temporary files left behind: %v", left)
	}
}

// fullBacklog is a loopback address whose connects hang (bench.FullBacklog);
// the test skips where one cannot be made.
func fullBacklog(t *testing.T) string {
	t.Helper()
	addr, closeFn, err := bench.FullBacklog()
	if errors.Is(err, bench.ErrBacklogUnsupported) {
		t.Skipf("a hanging connect cannot be made here: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(closeFn)
	return addr
}
