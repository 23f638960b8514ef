package main

import (
	"bytes"
	"context"
	"encoding/xml"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"volley/bench"
	"volley/bench/benchtest"
	"volley/report"
	"volley/stats"
)

// target starts the built-in server with the given status mix.
func target(t *testing.T, status string) string {
	t.Helper()
	mix, err := bench.ParseStatusMix(status)
	if err != nil {
		t.Fatal(err)
	}
	srv := benchtest.Start(t, bench.Config{Status: mix})
	return srv.URL() + "/e2e"
}

// volley runs the command line in-process and returns its exit code and
// output.
func volley(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), args, strings.NewReader(""), &out, &errb)
	return code, out.String(), errb.String()
}

func readJSON(t *testing.T, path string) *stats.Result {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := stats.ReadResult(f)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestRunThresholdsPass: a run that meets its thresholds exits 0 and writes
// every output format.
func TestRunThresholdsPass(t *testing.T) {
	url := target(t, "200:100")
	dir := t.TempDir()
	summary := filepath.Join(dir, "step-summary.md")
	t.Setenv("GITHUB_STEP_SUMMARY", summary)
	args := []string{"run", "-r", "200", "-d", "1s", "-c", "5",
		"--threshold", "error_rate<1%", "--threshold", "p99<2s", "--threshold", "requests==200",
		"--threshold", "2xx>=99.9%", url}
	for _, f := range report.FormatList() {
		args = append(args, "--out", f.Name+"="+filepath.Join(dir, "out."+f.Name))
	}
	code, stdout, stderr := volley(t, args...)
	if code != 0 {
		t.Fatalf("exit %d, want 0\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	if !strings.Contains(stdout, "Thresholds: all 4 passed") || !strings.Contains(stdout, "PASS  error_rate<1%") {
		t.Errorf("report lacks the threshold lines:\n%s", stdout)
	}
	for _, f := range report.FormatList() {
		b, err := os.ReadFile(filepath.Join(dir, "out."+f.Name))
		if err != nil || len(b) == 0 {
			t.Errorf("output %s: %v (%d bytes)", f.Name, err, len(b))
		}
	}
	var doc report.JUnitSuites
	b, _ := os.ReadFile(filepath.Join(dir, "out.junit"))
	if err := xml.Unmarshal(b, &doc); err != nil || doc.Tests != 4 || doc.Failures != 0 {
		t.Errorf("junit: %v, tests %d failures %d, want 4 and 0", err, doc.Tests, doc.Failures)
	}
	res := readJSON(t, filepath.Join(dir, "out.json"))
	if len(res.Thresholds) != 4 || !res.ThresholdsPassed() {
		t.Errorf("JSON thresholds %+v", res.Thresholds)
	}
	if s, err := os.ReadFile(summary); err != nil || !strings.Contains(string(s), "All 4 thresholds passed") {
		t.Errorf("job summary: %v\n%s", err, s)
	}
}

// TestRunThresholdsFail: a run that misses a threshold exits 99 and says
// which.
func TestRunThresholdsFail(t *testing.T) {
	url := target(t, "200:50,500:50")
	dir := t.TempDir()
	summary := filepath.Join(dir, "summary.md")
	t.Setenv("GITHUB_STEP_SUMMARY", summary)
	code, stdout, stderr := volley(t, "run", "--no-step-summary", "-r", "200", "-d", "1s", "-c", "5",
		"--threshold", "error_rate<1%", "--threshold", "p99<5s",
		"--out", "junit="+filepath.Join(dir, "j.xml"), url)
	if code != exitThresholds {
		t.Fatalf("exit %d, want 99\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	if !strings.Contains(stdout, "FAIL  error_rate<1%  error_rate = 50%, want < 1%") {
		t.Errorf("report lacks the failed threshold:\n%s", stdout)
	}
	if !strings.Contains(stderr, "1 of 2 thresholds failed: error_rate = 50%, want < 1%") {
		t.Errorf("stderr: %s", stderr)
	}
	var doc report.JUnitSuites
	b, _ := os.ReadFile(filepath.Join(dir, "j.xml"))
	if err := xml.Unmarshal(b, &doc); err != nil || doc.Failures != 1 {
		t.Fatalf("junit: %v failures %d", err, doc.Failures)
	}
	if f := doc.Suites[0].Cases[0].Failure; f == nil || f.Message != "error_rate = 50%, want < 1%" {
		t.Errorf("junit failure %+v", f)
	}
	if _, err := os.Stat(summary); err == nil {
		t.Error("--no-step-summary: the job summary was written")
	}
}

// TestRunAbortOnFail: a target that fails every request stops a 30 s run
// within a fraction of a second.
func TestRunAbortOnFail(t *testing.T) {
	url := target(t, "503:100")
	dir := t.TempDir()
	begin := time.Now()
	code, stdout, stderr := volley(t, "run", "-r", "500", "-d", "30s", "-c", "5", "-q",
		"--abort-on-fail", "--threshold", "p99<1s", "--threshold", "error_rate<1%",
		"--out", "json="+filepath.Join(dir, "r.json"), url)
	if code != exitThresholds {
		t.Fatalf("exit %d, want 99\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	if d := time.Since(begin); d > 5*time.Second {
		t.Errorf("the run took %v: --abort-on-fail did not stop it", d)
	}
	res := readJSON(t, filepath.Join(dir, "r.json"))
	if res.Interrupted || !strings.HasPrefix(res.Aborted, "error_rate<1%: ") {
		t.Errorf("interrupted %v aborted %q", res.Interrupted, res.Aborted)
	}
	if o := res.Thresholds[1]; o.Pass || !o.Aborted {
		t.Errorf("error_rate outcome %+v: want failed and marked as the abort", o)
	}
	if res.Requests.Total >= 15000 || res.Requests.Errors < 150 {
		t.Errorf("%d requests, %d errors: want far fewer than planned, at least 1%% of 15000 failed", res.Requests.Total, res.Requests.Errors)
	}
}

func TestRunThresholdUsage(t *testing.T) {
	for _, c := range []struct{ args []string }{
		{[]string{"run", "--threshold", "p99<250", "http://127.0.0.1:1/"}},
		{[]string{"run", "--threshold", "p99 ~ 250ms", "http://127.0.0.1:1/"}},
		{[]string{"run", "--abort-on-fail", "http://127.0.0.1:1/"}},
		{[]string{"report", "--threshold", "nope<1", "x.json"}},
		{[]string{"compare", "--fail-on", "p99>10", "a.json", "b.json"}},
		{[]string{"compare", "a.json"}},
		{[]string{"report"}},
		{[]string{"report", "--format", "pdf", "x.json"}},
		{[]string{"report", "/nonexistent/x.json"}},
	} {
		code, _, stderr := volley(t, c.args...)
		if code != exitUsage {
			t.Errorf("%v: exit %d, want 2 (%s)", c.args, code, stderr)
		}
	}
	_, _, stderr := volley(t, "run", "--threshold", "p99<250", "http://127.0.0.1:1/")
	if !strings.Contains(stderr, "  p99<250\n         ^") {
		t.Errorf("no caret under the offending part:\n%s", stderr)
	}
}

// writeResult writes a synthetic result: n requests over 10 s whose
// latencies centre on median, with errPct percent 500s.
func writeResult(t *testing.T, path string, seed uint64, median time.Duration, errPct int) *stats.Result {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 99))
	col := stats.NewCollector()
	const n = 2000
	rec := col.NewRecorder(n)
	start := time.Date(2026, 5, 6, 7, 8, 9, 0, time.UTC)
	col.Start(start)
	for i := range n {
		v := int64(float64(median) * math.Exp(0.5*rng.NormFloat64()))
		code := uint16(200)
		if rng.IntN(100) < errPct {
			code = 500
		}
		rec.Record(stats.Sample{Done: int64(i) * 5e6, Corrected: v, Service: v, Code: code})
	}
	res := col.Result(stats.Meta{Target: stats.Target{URL: "http://svc/", Method: "GET"}, Started: start, Rate: 200, Connections: 10}, 10*time.Second, 0)
	var b bytes.Buffer
	if err := res.WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return res
}

func TestReportCommand(t *testing.T) {
	dir := t.TempDir()
	a := filepath.Join(dir, "a.json")
	b := filepath.Join(dir, "b.json")
	writeResult(t, a, 1, 5*time.Millisecond, 0)
	writeResult(t, b, 2, 5*time.Millisecond, 10)

	code, stdout, stderr := volley(t, "report", a)
	if code != 0 || !strings.Contains(stdout, "Requests   2000 in 10.00s") {
		t.Fatalf("report a: exit %d\n%s%s", code, stdout, stderr)
	}
	if code, _, _ := volley(t, "report", "--threshold", "requests==2000", "--threshold", "p99<1s", a); code != 0 {
		t.Errorf("passing thresholds: exit %d", code)
	}
	code, stdout, _ = volley(t, "report", "--threshold", "error_rate<1%", b)
	if code != exitThresholds || !strings.Contains(stdout, "FAIL  error_rate<1%") {
		t.Errorf("failing threshold: exit %d\n%s", code, stdout)
	}

	// Two files merge exactly before rendering.
	code, stdout, stderr = volley(t, "report", "-f", "json", a, b)
	if code != 0 {
		t.Fatalf("merge: exit %d %s", code, stderr)
	}
	merged, err := stats.ReadResult(strings.NewReader(stdout))
	if err != nil {
		t.Fatal(err)
	}
	ra, rb := readJSON(t, a), readJSON(t, b)
	want, _ := stats.Merge(ra, rb)
	if merged.Requests.Total != 4000 || merged.Parts != 2 || merged.Latency.Corrected != want.Latency.Corrected {
		t.Errorf("merged: total %d parts %d latency %+v", merged.Requests.Total, merged.Parts, merged.Latency.Corrected)
	}

	// --out writes files; thresholds saved in a file are evaluated again.
	saved := filepath.Join(dir, "saved.json")
	code, _, stderr = volley(t, "report", "--threshold", "error_rate<1%", "--out", "json="+saved, "--out", "hgrm="+filepath.Join(dir, "b.hgrm"), b)
	if code != exitThresholds {
		t.Fatalf("exit %d %s", code, stderr)
	}
	if code, _, _ := volley(t, "report", "-f", "junit", saved); code != exitThresholds {
		t.Errorf("saved failing threshold re-evaluated: exit %d, want 99", code)
	}
	if hg, err := os.ReadFile(filepath.Join(dir, "b.hgrm")); err != nil || !strings.Contains(string(hg), "#[Mean    =") {
		t.Errorf("hgrm output: %v", err)
	}
}

func TestCompareCommand(t *testing.T) {
	dir := t.TempDir()
	for i := range 5 {
		writeResult(t, filepath.Join(dir, "base", "r"+string(rune('0'+i))+".json"), uint64(10+i), 5*time.Millisecond, 0)
	}
	for i := range 5 {
		writeResult(t, filepath.Join(dir, "slow", "r"+string(rune('0'+i))+".json"), uint64(20+i), 8*time.Millisecond, 0)
		writeResult(t, filepath.Join(dir, "same", "r"+string(rune('0'+i))+".json"), uint64(30+i), 5*time.Millisecond, 0)
	}
	base := filepath.Join(dir, "base")
	code, stdout, stderr := volley(t, "compare", "--fail-on", "p99>+10%", "--fail-on", "rps<-5%", base, filepath.Join(dir, "slow", "*.json"))
	if code != exitRegression {
		t.Fatalf("slower: exit %d, want 98\n%s%s", code, stdout, stderr)
	}
	if !strings.Contains(stdout, "REGRESSION  p99>+10%") || !strings.Contains(stdout, "5+5") || !strings.Contains(stderr, "regression: p99>+10%") {
		t.Errorf("output:\n%s\nstderr:\n%s", stdout, stderr)
	}
	code, stdout, stderr = volley(t, "compare", "--fail-on", "p99>+10%", base, filepath.Join(dir, "same"))
	if code != 0 {
		t.Fatalf("same: exit %d, want 0\n%s%s", code, stdout, stderr)
	}
	// One run per side: per-interval values, with the caveat.
	one := filepath.Join(dir, "base", "r0.json")
	code, stdout, _ = volley(t, "compare", one, filepath.Join(dir, "slow", "r0.json"))
	if code != 0 || !strings.Contains(stdout, "per-interval") || !strings.Contains(stdout, "10+10") {
		t.Errorf("one run per side: exit %d\n%s", code, stdout)
	}
	// Markdown, and the job summary.
	summary := filepath.Join(dir, "summary.md")
	t.Setenv("GITHUB_STEP_SUMMARY", summary)
	code, stdout, _ = volley(t, "compare", "-f", "md", one+","+filepath.Join(dir, "base", "r1.json"), filepath.Join(dir, "same", "r0.json"))
	if code != 0 || !strings.HasPrefix(stdout, "### volley compare") {
		t.Errorf("md: exit %d\n%s", code, stdout)
	}
	if s, _ := os.ReadFile(summary); !strings.Contains(string(s), "| p99 |") {
		t.Errorf("job summary:\n%s", s)
	}
}

// TestStepSummaryFlagWhereItWorks: --no-step-summary belongs to the
// commands that write a job summary; merge (which does) honours it, and a
// command that writes none refuses it as an unknown flag.
func TestStepSummaryFlagWhereItWorks(t *testing.T) {
	url := target(t, "200:1")
	dir := t.TempDir()
	saved := filepath.Join(dir, "r.json")
	if code, _, stderr := volley(t, "run", "-q", "-n", "10", "-c", "1", "--out", "json="+saved, url); code != 0 {
		t.Fatalf("run: exit %d, %s", code, stderr)
	}
	summary := filepath.Join(dir, "summary.md")
	t.Setenv("GITHUB_STEP_SUMMARY", summary)
	if code, _, stderr := volley(t, "merge", "-q", "--no-step-summary", saved); code != 0 {
		t.Fatalf("merge --no-step-summary: exit %d, %s", code, stderr)
	}
	if _, err := os.Stat(summary); err == nil {
		t.Error("merge --no-step-summary: the job summary was written")
	}
	if code, _, _ := volley(t, "merge", "-q", saved); code != 0 {
		t.Fatalf("merge: exit %d", code)
	}
	if _, err := os.Stat(summary); err != nil {
		t.Errorf("merge without the flag wrote no job summary: %v", err)
	}
	for _, cmd := range [][]string{{"serve", "--addr", "127.0.0.1:0"}, {"demo"}, {"find-max", "--slo", "p99<1s", url}} {
		code, _, stderr := volley(t, append(cmd, "--no-step-summary")...)
		if code != exitUsage || !strings.Contains(stderr, "unknown flag: --no-step-summary") {
			t.Errorf("%s --no-step-summary: exit %d, stderr %q; want 2, an unknown flag", cmd[0], code, stderr)
		}
	}
}
