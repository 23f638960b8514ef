package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// runBinary runs the built volley binary and returns its exit code, stdout and
// stderr.
func runBinary(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	cmd := exec.Command(needBinary(t), args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0, stdout.String(), stderr.String()
	case errors.As(err, &ee):
		return ee.ExitCode(), stdout.String(), stderr.String()
	}
	t.Fatalf("run volley: %v", err)
	return -1, "", ""
}

// TestExitCodes checks the exit codes a CI job relies on, as numbers, from
// the binary: 0 success, 1 runtime failure, 2 bad input, 98 regression, 99
// thresholds failed (130, interrupted, is checked by the signal tests).
func TestExitCodes(t *testing.T) {
	srv := startBench(t, benchOpts{})
	dir := t.TempDir()
	base, slow := filepath.Join(dir, "base"), filepath.Join(dir, "slow")
	for i := range 5 {
		writeResult(t, filepath.Join(base, "r"+string(rune('0'+i))+".json"), uint64(10+i), 5*time.Millisecond, 0)
		writeResult(t, filepath.Join(slow, "r"+string(rune('0'+i))+".json"), uint64(20+i), 9*time.Millisecond, 0)
	}
	cases := []struct {
		name string
		want int
		args []string
	}{
		{"success", 0, []string{"run", "-n", "5", "-c", "1", "-q", srv.URL() + "/"}},
		{"bad flag", 2, []string{"run", "--no-such-flag", srv.URL() + "/"}},
		{"bad url", 2, []string{"run", "-n", "1", "ftp://127.0.0.1/"}},
		{"threshold failed", 99, []string{"run", "-n", "5", "-c", "1", "-q", "--threshold", "requests>5", srv.URL() + "/"}},
		{"regression", 98, []string{"compare", "--fail-on", "p99>+10%", base, slow}},
	}
	if fi, err := os.Stat("/dev/full"); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
		cases = append(cases, struct {
			name string
			want int
			args []string
		}{"output not written", 1, []string{"run", "-n", "5", "-c", "1", "-q", "--out", "json=/dev/full", srv.URL() + "/"}})
	}
	for _, tc := range cases {
		code, _, stderr := runBinary(t, tc.args...)
		if code != tc.want {
			t.Errorf("%s: exit %d, want %d; stderr: %s", tc.name, code, tc.want, stderr)
		}
	}
}

// TestBadInputBeforeLoad: each input error exits 2 with a message naming
// the input, and the target sees no request.
func TestBadInputBeforeLoad(t *testing.T) {
	srv := startBench(t, benchOpts{})
	dir := t.TempDir()
	same := filepath.Join(dir, "same.json")
	if err := os.Symlink("same.json", filepath.Join(dir, "alias.json")); err != nil {
		t.Fatal(err)
	}
	url := srv.URL() + "/"
	for _, tc := range []struct {
		name string
		args []string
		msg  string
	}{
		{"same file twice", []string{"--out", "json=" + same, "--out", "md=" + filepath.Join(dir, ".", "same.json")}, "write the same file"},
		{"same file through a symlink", []string{"--out", "json=" + same, "--out", "md=" + filepath.Join(dir, "alias.json")}, "write the same file"},
		{"stdout twice", []string{"--out", "json=-", "--out", "md=-"}, "both write to stdout"},
		{"fractional count", []string{"--threshold", "requests==20.5"}, "requests is a count: want a whole number"},
		{"poisson too long", []string{"--arrival", "poisson", "-r", "10000000", "-d", "24h"}, "arrival poisson: at most"},
		{"message threshold on HTTP", []string{"--threshold", "unanswered<1%"}, "unanswered counts messages"},
		{"negative size", []string{"--max-body", "-1"}, `"-1": want a byte count`},
	} {
		args := append([]string{"run", "-n", "3", "-c", "1", "-q"}, tc.args...)
		code, _, stderr := runBinary(t, append(args, url)...)
		if code != 2 || !strings.Contains(stderr, tc.msg) {
			t.Errorf("%s: exit %d, stderr %q; want exit 2 and %q", tc.name, code, stderr, tc.msg)
		}
	}
	if n := arrivals(srv); n != 0 {
		t.Errorf("the target saw %d requests from runs with bad input, want 0", n)
	}
	if _, err := os.Stat(same); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("%s was written by a refused run (%v)", same, err)
	}
}

// TestOutputThroughSymlinkAndDevice: from the command line, --out through a
// symlink writes the file it names and leaves the link; --out json=/dev/null
// leaves /dev/null a device.
func TestOutputThroughSymlinkAndDevice(t *testing.T) {
	srv := startBench(t, benchOpts{})
	dir := t.TempDir()
	target := filepath.Join(dir, "target.json")
	link := filepath.Join(dir, "link.json")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	args := []string{"run", "-n", "4", "-c", "1", "-q", "--out", "json=" + link}
	if fi, err := os.Stat("/dev/null"); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
		args = append(args, "--out", "md=/dev/null")
	}
	if code, _, stderr := runBinary(t, append(args, srv.URL()+"/")...); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if res := readResult(t, target); res.Requests.Total != 4 {
		t.Errorf("target.json: %d requests, want 4", res.Requests.Total)
	}
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Errorf("link.json is no longer a symlink (%v)", err)
	}
	if fi, err := os.Stat("/dev/null"); err != nil || fi.Mode()&os.ModeCharDevice == 0 {
		t.Errorf("/dev/null is no longer a character device")
	}
}

// TestDescriptorLimit: under a low soft limit every request is answered (Go
// itself raises the soft limit to the hard one at start-up); under a low
// hard limit volley refuses the plan before sending, naming -c and both
// numbers (exit 2), where it used to fail part-way with "too many open
// files".
func TestDescriptorLimit(t *testing.T) {
	sh, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("bash not installed: cannot lower the limit for a child alone")
	}
	srv := startBench(t, benchOpts{})
	dir := t.TempDir()
	out := filepath.Join(dir, "r.json")
	run := func(limit string) (int, string) {
		cmd := exec.Command(sh, "-c", limit+` && exec "$0" "$@"`, needBinary(t),
			"run", "-c", "300", "-n", "600", "-q", "--out", "json="+out, srv.URL()+"/")
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		err := cmd.Run()
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode(), stderr.String()
		}
		if err != nil {
			t.Fatal(err)
		}
		return 0, stderr.String()
	}
	if code, stderr := run("ulimit -Sn 64"); code != 0 {
		t.Errorf("soft limit 64: exit %d, want 0 (the soft limit raised); stderr: %s", code, stderr)
	} else if res := readResult(t, out); res.Status["2xx"] != 600 {
		t.Errorf("soft limit 64: %d of 600 answered, errors %v", res.Status["2xx"], res.Errors)
	}
	os.Remove(out)
	code, stderr := run("ulimit -n 64")
	if code != 2 || !strings.Contains(stderr, "--connections 300: needs about") || !strings.Contains(stderr, "the limit is 64") {
		t.Errorf("hard limit 64: exit %d, stderr %q; want 2 naming --connections 300 and the limit 64", code, stderr)
	}
	if _, err := os.Stat(out); err == nil {
		t.Error("a refused plan wrote its output")
	}
}
