// Package nodetest starts the independent Node peers in testdata/node that
// volley's tests run against: node SCRIPT ARGS..., which prints
// "listening PORT" once ready and is stopped when the test ends. A test
// skips when node or the script's npm packages are not installed.
package nodetest

import (
	"bufio"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// modules are the npm packages each script loads from testdata/node.
var modules = map[string][]string{
	"ws-echo.js":  {"ws"},
	"rtc-echo.js": {"werift"},
}

// wait bounds how long a peer may take to listen and to exit on SIGTERM.
const wait = 30 * time.Second

// Start runs node testdata/node/<script> args... and returns the port it
// listens on, on 127.0.0.1. At cleanup the peer gets SIGTERM and must exit
// with status 0; one that does not is killed and fails t.
func Start(t testing.TB, script string, args ...string) (port string) {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node not installed (.ci/run installs nodejs and npm)")
	}
	need, ok := modules[script]
	if !ok {
		t.Fatalf("nodetest: no npm packages listed for %s", script)
	}
	dir := filepath.Join(moduleRoot(t), "testdata", "node")
	for _, m := range need {
		if _, err := os.Stat(filepath.Join(dir, "node_modules", filepath.FromSlash(m), "package.json")); err != nil {
			t.Skipf("npm %s not installed: run npm ci in testdata/node (.ci/run does)", m)
		}
	}
	cmd := exec.Command(node, append([]string{filepath.Join(dir, script)}, args...)...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	type first struct {
		line string
		err  error
	}
	lines := make(chan first, 1)
	drained := make(chan struct{})
	go func() {
		defer close(drained)
		r := bufio.NewReader(out)
		line, err := r.ReadString('\n')
		lines <- first{line, err}
		_, _ = io.Copy(io.Discard, r)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		exited := make(chan error, 1)
		go func() { <-drained; exited <- cmd.Wait() }()
		select {
		case err := <-exited:
			if err != nil {
				t.Errorf("%s did not exit cleanly on SIGTERM: %v", script, err)
			}
		case <-time.After(wait):
			_ = cmd.Process.Kill()
			<-exited
			t.Errorf("%s still running %v after SIGTERM; killed", script, wait)
		}
	})
	select {
	case f := <-lines:
		port, ok := strings.CutPrefix(strings.TrimSpace(f.line), "listening ")
		if f.err != nil || !ok || port == "" {
			t.Fatalf("%s said %q (%v), want listening PORT", script, f.line, f.err)
		}
		return port
	case <-time.After(wait):
		t.Fatalf("%s did not say listening PORT within %v", script, wait)
		return ""
	}
}

// moduleRoot is the directory holding go.mod, at or above the working
// directory.
func moduleRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("nodetest: no go.mod at or above the working directory")
		}
		dir = parent
	}
}
