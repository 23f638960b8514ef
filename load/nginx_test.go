package load

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// startNginx starts nginx on a free loopback port with its own config, and
// returns the base URL and the path of its access log (one status per line).
// It skips the test when nginx is not installed.
func startNginx(t *testing.T) (string, string) {
	t.Helper()
	bin, err := exec.LookPath("nginx")
	if err != nil {
		if _, serr := os.Stat("/usr/sbin/nginx"); serr != nil {
			t.Skip("nginx is not installed (apt-get install nginx-light); skipping the real-server test")
		}
		bin = "/usr/sbin/nginx"
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	dir := t.TempDir()
	logPath := filepath.Join(dir, "access.log")
	conf := fmt.Sprintf(`
worker_processes 1;
daemon off;
pid %[1]s/nginx.pid;
error_log %[1]s/error.log warn;
events { worker_connections 1024; }
http {
  client_body_temp_path %[1]s/body;
  proxy_temp_path %[1]s/proxy;
  fastcgi_temp_path %[1]s/fastcgi;
  uwsgi_temp_path %[1]s/uwsgi;
  scgi_temp_path %[1]s/scgi;
  keepalive_requests 1000000;
  log_format st '$status';
  access_log %[2]s st;
  server {
    listen %[3]s;
    location / { return 200 "hello"; }
    location /missing { return 404 "no"; }
    location /moved { return 301 /; }
    location /fail { return 500 "fail"; }
  }
}
`, dir, logPath, addr)
	confPath := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-c", confPath, "-e", filepath.Join(dir, "error.log"))
	if out, err := exec.Command(bin, "-t", "-c", confPath, "-e", filepath.Join(dir, "error.log")).CombinedOutput(); err != nil {
		t.Skipf("nginx cannot run here: %v: %s", err, out)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
		}
	})
	url := "http://" + addr
	deadline := time.Now().Add(5 * time.Second)
	for {
		resp, err := http.Get(url + "/_ready")
		if err == nil {
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("nginx did not start on %s: %v", addr, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return url, logPath
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
	res, _ := runPlan(t, context.Background(), Config{
		Request: Request{URL: url + "/"}, Connections: 10, Requests: 3000,
	})
	res2, _ := runPlan(t, context.Background(), Config{
		Request: Request{URL: url + "/moved"}, Connections: 5, Rate: 500, Duration: time.Second,
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
