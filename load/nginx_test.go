package load

import (
	"bufio"
	"context"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"volley/internal/nginxtest"
	"volley/load/request"
)

// nginx is one nginx started by a test on a free loopback port, with its
// own configuration in dir; it is stopped when the test ends.
type nginx struct {
	dir, addr, logPath string
}

// runNginx starts nginx for this test (nginxtest.Start).
func runNginx(t *testing.T, listenOpts, logFormat, server string, prepare func(dir string), probe func(addr string) error) nginx {
	t.Helper()
	s := nginxtest.Start(t, listenOpts, logFormat, server, prepare, probe)
	return nginx{dir: s.Dir, addr: s.Addr, logPath: s.AccessLog}
}

// getProbe answers whether GET url+"/_ready" gets a response with client.
func getProbe(client *http.Client, scheme string) func(addr string) error {
	return func(addr string) error {
		resp, err := client.Get(scheme + "://" + addr + "/_ready")
		if err == nil {
			resp.Body.Close()
		}
		return err
	}
}

// startNginx starts nginx answering "hello" (and 404, 301, 500 on
// /missing, /moved, /fail), and returns the base URL and the path of its
// access log (one status per line). It skips the test without nginx.
func startNginx(t *testing.T) (string, string) {
	t.Helper()
	n := runNginx(t, "", "$status", `    location / { return 200 "hello"; }
    location /missing { return 404 "no"; }
    location /moved { return 301 /; }
    location /fail { return 500 "fail"; }`, nil, getProbe(http.DefaultClient, "http"))
	return "http://" + n.addr, n.logPath
}

// nginxCounts reads the access log: requests per status code, excluding the
// readiness probe's first line.
func nginxCounts(t *testing.T, logPath string, skip int) map[string]int64 {
	t.Helper()
	// nginx writes the log line after the response; give it a moment.
	time.Sleep(100 * time.Millisecond)
	f, err := os.Open(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	counts := map[string]int64{}
	sc := bufio.NewScanner(f)
	n := 0
	for sc.Scan() {
		n++
		if n <= skip {
			continue
		}
		counts[strings.TrimSpace(sc.Text())]++
	}
	return counts
}

func TestAgainstNginx(t *testing.T) {
	url, logPath := startNginx(t)
	// One readiness probe is already in the log.
	res, _ := runPlan(t, context.Background(), Config{Spec: request.Spec{Request: request.Request{URL: url + "/"}},
		Connections: 10, Requests: 3000,
	})
	res2, _ := runPlan(t, context.Background(), Config{Spec: request.Spec{Request: request.Request{URL: url + "/moved"}},
		Connections: 5, Rate: 500, Duration: time.Second,
	})
	counts := nginxCounts(t, logPath, 1)
	if res.Requests.Total != 3000 || res.Codes["200"] != 3000 || counts["200"] != 3000 {
		t.Errorf("closed loop: volley total %d (200: %d), nginx logged 200 × %d; want 3000 each",
			res.Requests.Total, res.Codes["200"], counts["200"])
	}
	if res2.Requests.Total != 500 || res2.Codes["301"] != 500 || counts["301"] != 500 {
		t.Errorf("open loop: volley total %d (301: %d), nginx logged 301 × %d; want 500 each (redirects not followed)",
			res2.Requests.Total, res2.Codes["301"], counts["301"])
	}
	if res2.Latency.Corrected.P99 > 100 {
		t.Errorf("nginx at 500 req/s: corrected p99 %.1f ms, want well under 100 ms (nginx answers in microseconds)", res2.Latency.Corrected.P99)
	}
}
