package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
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

// TestRunSignalsAtOnce: signals that arrive together, as GNU timeout and CI
// runners deliver one stop (to the process, then to its group), or a hangup
// from a dropped ssh session, still end in whole outputs and exit 130: while
// sending, and while every connection hangs in connect.
func TestRunSignalsAtOnce(t *testing.T) {
	srv := startBench(t, benchOpts{})
	hanging := fullBacklog(t)
	for _, tc := range []struct {
		name, url string
		sigs      []syscall.Signal
	}{
		{"TERM,TERM", srv.URL() + "/", []syscall.Signal{syscall.SIGTERM, syscall.SIGTERM}},
		{"INT,INT", srv.URL() + "/", []syscall.Signal{syscall.SIGINT, syscall.SIGINT}},
		{"HUP", srv.URL() + "/", []syscall.Signal{syscall.SIGHUP}},
		{"INT,INT,INT connecting", "http://" + hanging + "/", []syscall.Signal{syscall.SIGINT, syscall.SIGINT, syscall.SIGINT}},
		{"TERM,TERM connecting", "http://" + hanging + "/", []syscall.Signal{syscall.SIGTERM, syscall.SIGTERM}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for round := range 3 {
				dir := t.TempDir()
				out := filepath.Join(dir, "r.json")
				p := startVolley(t, "run", "-r", "200", "-d", "30s", "-c", "4", "-t", "2s", "--out", "json="+out, tc.url)
				time.Sleep(time.Duration(150+100*round) * time.Millisecond)
				for _, s := range tc.sigs {
					p.signal(t, s)
				}
				// The kernel may merge identical signals sent back to back
				// into one, which waits for the requests in flight: at most
				// the 2 s timeout of the connects that hang.
				if code := p.wait(t, 8*time.Second, tc.name); code != 130 {
					t.Errorf("round %d: exit %d, want 130; stderr: %s", round, code, p.stderr)
				}
				res := readResult(t, out)
				if !res.Interrupted {
					t.Errorf("round %d: result not marked interrupted", round)
				}
				if sum := res.Requests.Completed + res.Requests.Errors; sum != res.Requests.Total {
					t.Errorf("round %d: completed %d + errors %d != total %d", round, res.Requests.Completed, res.Requests.Errors, res.Requests.Total)
				}
			}
		})
	}
}

// TestRunUnderTimeout runs volley under GNU timeout, which signals its
// child and then the child's process group: the JSON is whole every time.
func TestRunUnderTimeout(t *testing.T) {
	timeoutBin, err := exec.LookPath("timeout")
	if err != nil {
		t.Skip("GNU timeout not installed")
	}
	srv := startBench(t, benchOpts{})
	for _, sig := range []string{"INT", "TERM"} {
		for round := range 3 {
			dir := t.TempDir()
			out := filepath.Join(dir, "r.json")
			cmd := exec.Command(timeoutBin, "-s", sig, "--preserve-status", "0.8",
				needBinary(t), "run", "-r", "500", "-d", "30s", "-c", "10", "-q", "--out", "json="+out, srv.URL()+"/")
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			err := cmd.Run()
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != 130 {
				t.Errorf("SIG%s round %d: %v, want exit 130; stderr: %s", sig, round, err, stderr.String())
			}
			if res := readResult(t, out); !res.Interrupted || res.Requests.Total == 0 {
				t.Errorf("SIG%s round %d: interrupted %v total %d", sig, round, res.Interrupted, res.Requests.Total)
			}
		}
	}
}

// TestRunClosedStdout: volley run ... | head -1 closes stdout under the
// report. The output files are written whole anyway, and the broken pipe is
// reported (exit 1), not a silent death by SIGPIPE (exit 141).
func TestRunClosedStdout(t *testing.T) {
	srv := startBench(t, benchOpts{})
	dir := t.TempDir()
	out := filepath.Join(dir, "p.json")
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	r.Close() // nobody will read: the first write fails with EPIPE
	cmd := exec.Command(needBinary(t), "run", "-n", "20", "-c", "2", "--out", "json="+out, srv.URL()+"/")
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = w, &stderr
	err = cmd.Run()
	w.Close()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 {
		t.Errorf("%v, want exit 1; stderr: %s", err, stderr.String())
	}
	if !strings.Contains(stderr.String(), "broken pipe") {
		t.Errorf("stderr does not name the broken pipe: %q", stderr.String())
	}
	if res := readResult(t, out); res.Requests.Total != 20 || res.Status["2xx"] != 20 {
		t.Errorf("p.json: total %d, 2xx %d, want 20 and 20", res.Requests.Total, res.Status["2xx"])
	}
}

// TestReportClosedStdout: volley report ... | head -1 writes its --out files
// whole before the rendering that fails on the closed pipe (exit 1).
func TestReportClosedStdout(t *testing.T) {
	dir := t.TempDir()
	in, out := filepath.Join(dir, "in.json"), filepath.Join(dir, "out.json")
	writeResult(t, in, 1, 5*time.Millisecond, 0)
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	r.Close()
	cmd := exec.Command(needBinary(t), "report", "--format", "text", "--out", "json="+out, in)
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = w, &stderr
	err = cmd.Run()
	w.Close()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 || !strings.Contains(stderr.String(), "broken pipe") {
		t.Errorf("%v, stderr %q; want exit 1 naming the broken pipe", err, stderr.String())
	}
	if res := readResult(t, out); res.Requests.Total != 2000 {
		t.Errorf("out.json: %d requests, want the 2000 of in.json", res.Requests.Total)
	}
}
