package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"volley/bench"
	"volley/bench/benchtest"
	"volley/stats"
)

func startBenchConfig(t *testing.T, cfg bench.Config) *bench.Server {
	return benchtest.Start(t, cfg)
}

func TestShapeFlagErrors(t *testing.T) {
	url := "http://127.0.0.1:1/"
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--stages", "30s:abc"}, `--stages "30s:abc": value "abc": want a number`},
		{[]string{"--stages", "1s:10,2s"}, `--stages "1s:10,2s": stage 2 "2s": want DURATION:RATE`},
		{[]string{"--stages", "1s:10", "-d", "5s"}, "--stages and --duration"},
		{[]string{"--stages", "1s:10", "-r", "5"}, "--stages and --rate 5"},
		{[]string{"--stages", "1s:2.5", "-r", "0"}, "--stages: stage 1"},
		{[]string{"--stages", "1s:4", "-r", "0", "-c", "9"}, "drop --connections"},
		{[]string{"--stages", "1s:0"}, "--stages: every stage has rate 0"},
		{[]string{"--arrival", "bursty", "-r", "5"}, `--arrival: arrival "bursty"`},
		{[]string{"--arrival", "poisson"}, "--arrival poisson: needs an open-loop run"},
		{[]string{"--shard", "0/2", "--arrival", "poisson", "-r", "5"}, "--shard with --arrival poisson: give --seed"},
		{[]string{"--warmup", "-1s", "-r", "5"}, "--warmup -1s"},
		{[]string{"--tick", "-1ms", "-r", "5"}, "--tick -1ms: must be between 0"},
		{[]string{"--tick", "2s", "-r", "5"}, "--tick 2s: must be between 0"},
		{[]string{"--warmup", "1s", "--stages", "1s:0-9"}, "--warmup: the first stage starts at 0"},
	} {
		code, _, stderr := volley(t, append(append([]string{"run"}, tc.args...), url)...)
		if code != exitUsage || !strings.Contains(stderr, tc.want) {
			t.Errorf("volley run %s: exit %d, stderr %q; want 2 and %q", strings.Join(tc.args, " "), code, stderr, tc.want)
		}
	}
}

// TestRunStagesWarmupOutputs runs a ramp with a warm-up end to end and reads
// what a user would: the JSON result, the HTML file and the target's count.
// 300 ms warm-up at 200 req/s (60 requests), then 0.5 s from 200 to
// 400 req/s (150) and 0.5 s at 400 (200).
func TestRunStagesWarmupOutputs(t *testing.T) {
	srv := startBenchConfig(t, bench.Config{})
	dir := t.TempDir()
	jsonPath, htmlPath := filepath.Join(dir, "r.json"), filepath.Join(dir, "r.html")
	code, stdout, stderr := volley(t, "run", "--stages", "500ms:200-400,500ms:400", "--warmup", "300ms", "-c", "10",
		"--out", "json="+jsonPath, "--out", "html="+htmlPath, srv.URL()+"/shape")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{"stages 500ms:200-400,500ms:400 (req/s)", "warm-up 300ms: 60 requests (0 errors)", "Requests   350 in"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("report lacks %q:\n%s", want, stdout)
		}
	}
	f, err := os.Open(jsonPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := stats.ReadResult(f)
	if err != nil {
		t.Fatal(err)
	}
	if r.Requests.Total != 350 || r.Warmup == nil || r.Warmup.Requests != 60 || srv.Stats().Total != 410 {
		t.Errorf("result total %d, warm-up %+v, server %d; want 350, 60 apart, 410", r.Requests.Total, r.Warmup, srv.Stats().Total)
	}
	if r.Shape == nil || len(r.Shape.Stages) != 2 || r.Shape.Stages[0] != (stats.Stage{DurationS: 0.5, From: 200, To: 400}) {
		t.Errorf("result shape %+v", r.Shape)
	}
	page, err := os.ReadFile(htmlPath)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(page, []byte("const VOLLEY = {")) || !bytes.Contains(page, []byte("warm-up 300ms: 60 requests")) {
		t.Errorf("html report lacks its data or the warm-up line")
	}
}

// capacityServer answers one request at a time, each taking 10 ms: it
// sustains at most 100 req/s; above that its queue, and latency, grow
// without bound.
func capacityServer(t *testing.T) string {
	t.Helper()
	var mu sync.Mutex
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		mu.Lock()
		time.Sleep(10 * time.Millisecond)
		mu.Unlock()
		w.Write([]byte("ok"))
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// TestFindMax searches a target of known capacity (100 req/s) with short
// steps: the answer must land near it, the steps must show the ramp, the
// bisection and the confirmation, and the JSON must agree with the last line.
func TestFindMax(t *testing.T) {
	if testing.Short() {
		t.Skip("a few seconds of load; skipped with -short")
	}
	url := capacityServer(t)
	out := filepath.Join(t.TempDir(), "fm.json")
	code, stdout, stderr := volley(t, "find-max", "--slo", "p99<30ms", "--slo", "error_rate<1%",
		"--start-rate", "40", "--max-rate", "1000", "--step", "300ms", "--confirm", "500ms",
		"--cooldown", "100ms", "--precision", "0.1", "--max-duration", "15s", "-c", "20",
		"--max-body", "1MiB", // sizes take units, as in volley run
		"--out", "json="+out, url)
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	m := regexp.MustCompile(`^max sustainable rate: (\d+) req/s$`).FindStringSubmatch(lines[len(lines)-1])
	if m == nil {
		t.Fatalf("last line %q, want 'max sustainable rate: N req/s'\n%s", lines[len(lines)-1], stdout)
	}
	rate, _ := strconv.Atoi(m[1])
	// Sleeps overshoot, so the real capacity is a little under 100; short
	// steps on a busy machine may stop somewhat lower.
	if rate < 50 || rate > 110 {
		t.Errorf("max sustainable rate %d req/s, want near the capacity of 100 (50 to 110)\n%s", rate, stdout)
	}
	for _, phase := range []string{" ramp ", " bisect ", " confirm "} {
		if !strings.Contains(stdout, phase) {
			t.Errorf("no %q step in the table\n%s", phase, stdout)
		}
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var res findMaxResult
	if err := json.Unmarshal(b, &res); err != nil {
		t.Fatal(err)
	}
	if res.Schema != FindMaxSchema || res.MaxRate != float64(rate) || !res.Confirmed || len(res.Steps) < 4 {
		t.Errorf("json: schema %q max_rate %v confirmed %v, %d steps; want %v confirmed", res.Schema, res.MaxRate, res.Confirmed, len(res.Steps), rate)
	}
	last := res.Steps[len(res.Steps)-1]
	if last.Phase != "confirm" || !last.Pass || last.Rate != float64(rate) || len(last.SLOs) != 2 {
		t.Errorf("last step %+v, want a passing confirmation at %d", last, rate)
	}
	// The search bracketed the answer: a faster step failed on latency.
	failedAbove := false
	for _, s := range res.Steps {
		if s.Rate > float64(rate) && !s.Pass && !s.SLOs[0].Met {
			failedAbove = true
		}
	}
	if !failedAbove {
		t.Errorf("no step above %d req/s failed the p99 SLO\n%s", rate, stdout)
	}
}

// TestFindMaxNothingSustained: a target that only fails: exit 99 and 0 req/s.
func TestFindMaxNothingSustained(t *testing.T) {
	mix, err := bench.ParseStatusMix("500:1")
	if err != nil {
		t.Fatal(err)
	}
	srv := startBenchConfig(t, bench.Config{Status: mix})
	code, stdout, _ := volley(t, "find-max", "--slo", "error_rate<1%", "--start-rate", "4", "--step", "200ms",
		"--confirm", "200ms", "--cooldown", "0s", "--max-duration", "10s", srv.URL())
	if code != exitThresholds || !strings.HasSuffix(stdout, "no rate met the SLOs (lowest tried: 1 req/s)\nmax sustainable rate: 0 req/s\n") {
		t.Errorf("exit %d, output:\n%s\nwant 99 and 'max sustainable rate: 0 req/s'", code, stdout)
	}
}

func TestFindMaxUsage(t *testing.T) {
	url := "http://127.0.0.1:1/"
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "--slo: give at least one"},
		{[]string{"--slo", "p99<fast"}, `--slo: threshold "p99<fast": want a number after <`},
		{[]string{"--slo", "p99<5ms", "--out", "yaml=x"}, `--out: output "yaml=x": unknown format "yaml"`},
		{[]string{"--slo", "p99<5ms", "--out", "json=-", "--out", "md=-"}, "both write to stdout"},
		{[]string{"--slo", "p99<5ms", "--max-rate", "10", "--start-rate", "20"}, "--max-rate 10"},
		{[]string{"--slo", "p99<5ms", "--max-duration", "5s"}, "--max-duration 5s: too short"},
		{[]string{"--slo", "p99<5ms", "--precision", "0"}, "--precision 0"},
		{[]string{"--slo", "p99<5ms", "--tick", "-1ms"}, "--tick -1ms: must be between 0"},
		{[]string{"--slo", "p99<5ms", "--max-body", "10XB"}, `"10XB": want a byte count`},
	} {
		code, _, stderr := volley(t, append(append([]string{"find-max"}, tc.args...), url)...)
		if code != exitUsage || !strings.Contains(stderr, tc.want) {
			t.Errorf("find-max %v: exit %d, stderr %q; want 2 and %q", tc.args, code, stderr, tc.want)
		}
	}
}

// TestFindMaxQuietAndSecrets: find-max hides the URL's password as run
// does (in its table and its JSON) unless --show-secrets, and -q prints
// nothing while --out still gets the result.
func TestFindMaxQuietAndSecrets(t *testing.T) {
	srv := benchtest.Start(t, bench.Config{})
	url := strings.Replace(srv.URL(), "://", "://user:s3cretpw@", 1) + "/"
	dir := t.TempDir()
	search := func(extra ...string) (string, string) {
		t.Helper()
		out := filepath.Join(dir, "fm.json")
		args := append([]string{"find-max", "--slo", "p99<1s", "--start-rate", "50", "--max-rate", "60",
			"--step", "200ms", "--confirm", "200ms", "--cooldown", "0s", "--max-duration", "5s", "-c", "2",
			"--out", "json=" + out}, extra...)
		code, stdout, stderr := volley(t, append(args, url)...)
		if code != 0 {
			t.Fatalf("find-max %v: exit %d\n%s\n%s", extra, code, stdout, stderr)
		}
		b, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		return stdout, string(b)
	}
	stdout, js := search()
	if strings.Contains(stdout+js, "s3cretpw") || !strings.Contains(stdout, "REDACTED@") || !strings.Contains(js, "REDACTED@") {
		t.Errorf("the password shows, or the URL is not redacted:\n%s\n%s", stdout, js)
	}
	if stdout, js := search("-q"); stdout != "" || !strings.Contains(js, `"max_rate"`) {
		t.Errorf("-q: stdout %q (want nothing), json %q", stdout, js)
	}
	if _, js := search("--show-secrets"); !strings.Contains(js, "user:s3cretpw@") {
		t.Errorf("--show-secrets: json %q, want the URL as given", js)
	}
}

// TestFindMaxOutputs: every --out format is written: json holds the search
// and the last step's full result, the others render that last step (the
// confirmation at the max rate); with json=- stdout is that one document
// and the table goes to stderr. An Authorization header never shows.
func TestFindMaxOutputs(t *testing.T) {
	srv := benchtest.Start(t, bench.Config{})
	dir := t.TempDir()
	args := []string{"find-max", "--slo", "p99<1s", "--start-rate", "50", "--max-rate", "60",
		"--step", "200ms", "--confirm", "300ms", "--cooldown", "0s", "--max-duration", "5s", "-c", "2",
		"-H", "Authorization: Bearer s3cret-token", "--out", "json=-"}
	for _, f := range []string{"text", "md", "html", "junit", "csv", "hlog"} {
		args = append(args, "--out", f+"="+filepath.Join(dir, "fm."+f))
	}
	code, stdout, stderr := volley(t, append(args, srv.URL()+"/")...)
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	var res findMaxResult
	if err := json.Unmarshal([]byte(stdout), &res); err != nil {
		t.Fatalf("stdout is not one JSON document: %v\n%s", err, stdout)
	}
	if !strings.Contains(stderr, "max sustainable rate: 60 req/s") {
		t.Errorf("stderr lacks the table's last line:\n%s", stderr)
	}
	last := res.Steps[len(res.Steps)-1]
	r := res.Result
	if r == nil || r.Schema != "volley.result/v2" || r.Rate.Target != 60 || last.Phase != "confirm" ||
		r.Requests.Total != last.Requests || len(r.Thresholds) != 1 || r.Thresholds[0].Threshold != "p99<1s" {
		t.Fatalf("json result %+v, want the confirmation's: 60 req/s, %d requests, judged on p99<1s", r, last.Requests)
	}
	for _, f := range []string{"text", "md", "html", "junit", "csv", "hlog"} {
		b, err := os.ReadFile(filepath.Join(dir, "fm."+f))
		if err != nil || len(b) == 0 {
			t.Errorf("--out %s: %v (%d bytes)", f, err, len(b))
			continue
		}
		if strings.Contains(string(b), "s3cret-token") {
			t.Errorf("--out %s holds the Authorization header's value", f)
		}
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "fm.text")); !strings.Contains(string(b), "open loop at 60 req/s") {
		t.Errorf("--out text is not the confirmation run's report:\n%s", b)
	}
	if strings.Contains(stdout+stderr, "s3cret-token") {
		t.Error("the Authorization header's value shows in find-max's output")
	}
}

// TestFindMaxTargetsAndWebSocket: find-max searches with a targets file
// (no URL) and over WebSocket, as run would send them, and refuses a bad
// client before it prints its table.
func TestFindMaxTargetsAndWebSocket(t *testing.T) {
	srv := benchtest.Start(t, bench.Config{})
	dir := t.TempDir()
	targets := filepath.Join(dir, "targets.txt")
	if err := os.WriteFile(targets, []byte("GET "+srv.URL()+"/a\nGET "+srv.URL()+"/b\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	common := []string{"find-max", "-q", "--slo", "p99<1s", "--start-rate", "50", "--max-rate", "60",
		"--step", "200ms", "--confirm", "200ms", "--cooldown", "0s", "--max-duration", "5s", "-c", "2"}
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"targets", []string{"--targets", targets}},
		{"websocket", []string{"--message", "ping", wsBenchURL(srv, bench.WSPath)}},
	} {
		out := filepath.Join(dir, tc.name+".json")
		before := srv.Stats()
		code, stdout, stderr := volley(t, append(append(common, "--out", "json="+out), tc.args...)...)
		b, _ := os.ReadFile(out)
		var res struct {
			MaxRate float64 `json:"max_rate"`
		}
		if code != 0 || json.Unmarshal(b, &res) != nil || res.MaxRate < 50 {
			t.Errorf("%s: exit %d, max rate %v\n%s\n%s", tc.name, code, res.MaxRate, stdout, stderr)
		}
		after := srv.Stats()
		requests, messages := after.Total-before.Total, after.WS.Received-before.WS.Received
		if want := map[string]bool{"targets": requests >= 10 && messages == 0, "websocket": messages >= 10}; !want[tc.name] {
			t.Errorf("%s: the server got %d requests and %d WebSocket messages, want the search's in the right protocol", tc.name, requests, messages)
		}
	}
	code, stdout, stderr := volley(t, "find-max", "--slo", "p99<1s", "--streams", "3", "--follow-redirects", "2", srv.URL()+"/")
	if code != exitUsage || stdout != "" || !strings.Contains(stderr, "--follow-redirects") {
		t.Errorf("a plan no client runs: exit %d, stdout %q, stderr %q; want 2 before any output", code, stdout, stderr)
	}
}
