package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"

	"volley/bench"
	"volley/bench/benchtest"
	"volley/stats"
)

// volleyBin is the volley binary for the tests that need a separate process
// (signals), built on first use so that runs without such tests (a fuzz
// target, -run of an in-process test) do not pay for it; buildErr is why it
// could not be built.
var (
	binDir    string
	volleyBin string
	buildErr  error
	buildOnce sync.Once
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// needBinary returns the path of the volley binary, building it the first
// time, or fails the test.
func needBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		binDir, buildErr = os.MkdirTemp("", "volley-test-bin-")
		if buildErr != nil {
			return
		}
		volleyBin = filepath.Join(binDir, "volley")
		cmd := exec.Command("go", "build", "-o", volleyBin, ".")
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatalf("volley binary not built: %v", buildErr)
	}
	return volleyBin
}

// cliResult is what one in-process invocation of run produced.
type cliResult struct {
	code           int
	stdout, stderr string
}

// runCLI runs the command line in-process.
func runCLI(t *testing.T, args ...string) cliResult {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), args, nil, &stdout, &stderr)
	return cliResult{code: code, stdout: stdout.String(), stderr: stderr.String()}
}

// benchOpts configure startBench; empty strings mean the bench defaults.
type benchOpts struct {
	status  string
	latency string
}

// startBench starts the built-in target on a free loopback port and closes
// it when the test ends.
func startBench(t *testing.T, o benchOpts) *bench.Server {
	t.Helper()
	cfg := bench.Config{Seed: 1}
	if o.status != "" {
		mix, err := bench.ParseStatusMix(o.status)
		if err != nil {
			t.Fatalf("status mix %q: %v", o.status, err)
		}
		cfg.Status = mix
	}
	if o.latency != "" {
		lat, err := bench.ParseLatency(o.latency)
		if err != nil {
			t.Fatalf("latency %q: %v", o.latency, err)
		}
		cfg.Latency = lat
	}
	return benchtest.Start(t, cfg)
}

// readResult parses the JSON result at path.
func readResult(t *testing.T, path string) *stats.Result {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("open result: %v", err)
	}
	defer f.Close()
	res, err := stats.ReadResult(f)
	if err != nil {
		t.Fatalf("read result %s: %v", path, err)
	}
	return res
}

// leftoverTemps lists files in dir that look like abandoned temporary files
// of an atomic write or an output check.
func leftoverTemps(t *testing.T, dir string) []string {
	t.Helper()
	var left []string
	for _, pat := range []string{".*.tmp-*", ".volley-check-*"} {
		m, err := filepath.Glob(filepath.Join(dir, pat))
		if err != nil {
			t.Fatal(err)
		}
		left = append(left, m...)
	}
	return left
}
