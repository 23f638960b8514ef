package http1

import (
	"context"
	"net/http"
	"testing"
	"time"

	"volley/internal/nginxtest"
	"volley/load"
	"volley/load/request"
)

// startNginx starts nginx answering "hello" (and 404, 301, 500 on
// /missing, /moved, /fail), and returns the base URL and the path of its
// access log (one status per line). It skips the test without nginx.
func startNginx(t *testing.T) (string, string) {
	t.Helper()
	n := nginxtest.Start(t, "", "$status", `    location / { return 200 "hello"; }
    location /missing { return 404 "no"; }
    location /moved { return 301 /; }
    location /fail { return 500 "fail"; }`, nil, nginxtest.GetProbe(http.DefaultClient, "http"))
	return "http://" + n.Addr, n.AccessLog
}

func TestAgainstNginx(t *testing.T) {
	url, logPath := startNginx(t)
	// One readiness probe is already in the log.
	res := runPlan(t, context.Background(), load.Config{Spec: request.Spec{Request: request.Request{URL: url + "/"}},
		Connections: 10, Requests: 3000,
	})
	res2 := runPlan(t, context.Background(), load.Config{Spec: request.Spec{Request: request.Request{URL: url + "/moved"}},
		Connections: 5, Rate: 500, Duration: time.Second,
	})
	counts := nginxtest.Counts(t, logPath, 1)
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
