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

// nginx is one nginx started by a test on a free loopback port, with its
// own configuration in dir; it is stopped when the test ends.
type nginx struct {
	dir, addr, logPath string
}

// runNginx writes a configuration around server (a "server { ... }" body
// whose listen line is "listen ADDR LISTENOPTS;", and in which {{dir}}
// stands for the configuration's directory), with an access log in
// logFormat, starts nginx, and waits until probe answers on it. It skips the
// test when nginx is missing or cannot run with that configuration; prepare,
// when set, writes files into the directory first.
func runNginx(t *testing.T, listenOpts, logFormat, server string, prepare func(dir string), probe func(addr string) error) nginx {
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
	n := nginx{dir: t.TempDir(), addr: ln.Addr().String()}
	ln.Close()
	if prepare != nil {
		prepare(n.dir)
	}
	n.logPath = filepath.Join(n.dir, "access.log")
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
  log_format st '%[4]s';
  access_log %[2]s st;
  server {
    listen %[3]s %[5]s;
%[6]s
  }
}
`, n.dir, n.logPath, n.addr, logFormat, listenOpts, strings.ReplaceAll(server, "{{dir}}", n.dir))
	confPath := filepath.Join(n.dir, "nginx.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	errLog := filepath.Join(n.dir, "error.log")
	if out, err := exec.Command(bin, "-t", "-c", confPath, "-e", errLog).CombinedOutput(); err != nil {
		t.Skipf("nginx cannot run here with this configuration: %v: %s", err, out)
	}
	cmd := exec.Command(bin, "-c", confPath, "-e", errLog)
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
	deadline := time.Now().Add(5 * time.Second)
	for {
		err := probe(n.addr)
		if err == nil {
			return n
		}
		if time.Now().After(deadline) {
			t.Fatalf("nginx did not start on %s: %v", n.addr, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
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
