package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"volley/stats"
)

// synthResult builds a one-second result of n requests, started at start,
// as shard (e.g. "1/3", or "" for none), without sending anything.
func synthResult(t *testing.T, start time.Time, shard string, n int) *stats.Result {
	t.Helper()
	c := stats.NewCollector()
	c.Start(start)
	rec := c.NewRecorder(n + 1)
	for i := range n {
		d := int64(i) * int64(time.Second) / int64(n)
		rec.Record(stats.Sample{Done: d, Corrected: int64(1+i%7) * 1e6, Service: 1e6, Code: 200, BytesIn: 100})
	}
	meta := stats.Meta{Target: stats.Target{URL: "http://127.0.0.1:8080/", Method: "GET"},
		Started: start, Rate: float64(n), Connections: 2, Shard: shard}
	if shard != "" {
		meta.Plan = "sha256:0123456789abcdef"
	}
	return c.Result(meta, time.Second, int64(n)*50)
}

func writeResultJSON(t *testing.T, path string, r *stats.Result) string {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.WriteJSON(f); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

var mergeT0 = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

// TestReportSameFileTwice: `volley report r.json r.json` used to merge the
// run with itself and report twice its requests.
func TestReportSameFileTwice(t *testing.T) {
	dir := t.TempDir()
	r := writeResultJSON(t, filepath.Join(dir, "r.json"), synthResult(t, mergeT0, "", 100))
	for _, cmd := range []string{"report", "merge"} {
		res := runCLI(t, cmd, "--format", "json", r, r)
		if res.code != 2 {
			t.Errorf("%s r.json r.json: exit %d, want 2; stdout %.200s", cmd, res.code, res.stdout)
			continue
		}
		if want := r + " is the same result as " + r; !strings.Contains(res.stderr, want) {
			t.Errorf("%s r.json r.json: stderr %q, want %q", cmd, res.stderr, want)
		}
		if !strings.Contains(res.stderr, "100 requests twice") {
			t.Errorf("%s r.json r.json: stderr %q does not say what would be counted twice", cmd, res.stderr)
		}
	}
}

// TestReportCopyUnderAnotherName: a copy of a result is the same run, by
// content, whatever its name.
func TestReportCopyUnderAnotherName(t *testing.T) {
	dir := t.TempDir()
	run := synthResult(t, mergeT0, "", 100)
	a := writeResultJSON(t, filepath.Join(dir, "a.json"), run)
	other := writeResultJSON(t, filepath.Join(dir, "other.json"), synthResult(t, mergeT0.Add(time.Minute), "", 100))
	b := filepath.Join(dir, "b.json")
	// Re-encoded, not byte for byte: the identity is the run's, not the file's.
	raw, err := os.ReadFile(a)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(b, []byte(strings.ReplaceAll(string(raw), "\n  ", "\n")), 0o644); err != nil {
		t.Fatal(err)
	}
	res := runCLI(t, "report", "--format", "json", a, other, b)
	if res.code != 2 || !strings.Contains(res.stderr, b+" is the same result as "+a) {
		t.Errorf("report a.json other.json b.json (b a copy of a): exit %d, stderr %q; want 2 naming both", res.code, res.stderr)
	}
	// Two different runs still merge.
	if res := runCLI(t, "report", "--format", "json", a, other); res.code != 0 || !strings.Contains(res.stdout, `"total": 200`) {
		t.Errorf("report a.json other.json: exit %d, stderr %q; want 0 and 200 requests", res.code, res.stderr)
	}
}

// TestMergeShardOnTopOfCompleteSet: shards 0, 1 and 2 of 3 and shard 1 once
// more must not count shard 1 twice.
func TestMergeShardOnTopOfCompleteSet(t *testing.T) {
	dir := t.TempDir()
	var files []string
	for k := range 3 {
		r := synthResult(t, mergeT0, fmt.Sprintf("%d/3", k), 100+k)
		files = append(files, writeResultJSON(t, filepath.Join(dir, fmt.Sprintf("shard-%d.json", k)), r))
	}
	again := writeResultJSON(t, filepath.Join(dir, "shard-1-again.json"), synthResult(t, mergeT0, "1/3", 200))
	res := runCLI(t, "merge", "--format", "json", files[0], files[1], files[2], again)
	if res.code != 2 || !strings.Contains(res.stderr, "duplicate shard 1/3: "+files[1]+" and "+again) {
		t.Errorf("merge shards 0,1,2,1 of 3: exit %d, stderr %q; want 2 naming both shard 1 files", res.code, res.stderr)
	}
	if res := runCLI(t, append([]string{"merge", "--format", "json"}, files...)...); res.code != 0 || !strings.Contains(res.stdout, `"total": 303`) {
		t.Errorf("merge shards 0,1,2 of 3: exit %d, stderr %q; want 0 and 303 requests", res.code, res.stderr)
	}
}

// TestMergeManyFilesBoundedMemory merges 300 one-second results in the
// volley binary and reads its peak resident memory. Merging used to read
// every file first (each result about 1.5 MB once its histograms are
// decoded), so its peak grew with the file count: about 1.2 GB for 1000.
// Now one result and the running sum are held at a time. VOLLEY_MERGE_FILES
// sets the count (the README's figure is for 1000).
func TestMergeManyFilesBoundedMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("writes and merges 300 result files")
	}
	n := 300
	if v := os.Getenv("VOLLEY_MERGE_FILES"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil {
			t.Fatalf("VOLLEY_MERGE_FILES=%q: %v", v, err)
		}
	}
	bin := needBinary(t)
	dir := t.TempDir()
	args := []string{"merge", "--format", "json"}
	for i := range n {
		r := synthResult(t, mergeT0.Add(time.Duration(i)*time.Second), "", 100)
		args = append(args, writeResultJSON(t, filepath.Join(dir, fmt.Sprintf("r%04d.json", i)), r))
	}
	one := peakRSS(t, bin, args[:4]...)
	cmd := exec.Command(bin, args...)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("merge of %d files: %v", n, err)
	}
	if want := fmt.Sprintf(`"total": %d`, 100*n); !strings.Contains(string(out), want) {
		t.Fatalf("merge of %d files: output lacks %s", n, want)
	}
	many := cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss // KiB
	t.Logf("peak RSS: %d MiB merging %d files, %d MiB merging 1", many>>10, n, one>>10)
	if many > 3*one+64<<10 {
		t.Errorf("peak RSS merging %d files is %d MiB, merging 1 is %d MiB: memory grows with the file count", n, many>>10, one>>10)
	}
}

// peakRSS runs bin with args and returns its peak resident set in KiB.
func peakRSS(t *testing.T, bin string, args ...string) int64 {
	t.Helper()
	cmd := exec.Command(bin, args...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%v: %v\n%s", args, err, out)
	}
	return cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss
}
