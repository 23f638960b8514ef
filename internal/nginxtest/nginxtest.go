// Package nginxtest starts nginx for tests: a real, independent HTTP server
// to check volley's counts against. Only tests import it.
package nginxtest

import (
	"bufio"
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

// Server is one nginx started by a test on a free loopback port, with its
// own configuration, pid file and logs in Dir; it is stopped when the test
// ends.
type Server struct {
	Dir, Addr, AccessLog string
}

// Start writes a configuration around server (a "server { ... }" body
// whose listen line is "listen ADDR LISTENOPTS;", and in which {{dir}}
// stands for the configuration's directory), with an access log in
// logFormat, starts nginx, and waits until probe answers on it. It skips
// the test when nginx is missing or cannot run with that configuration;
// prepare, when set, writes files into the directory first (which nginx's
// workers may read: as root they run as another user).
func Start(t testing.TB, listenOpts, logFormat, server string, prepare func(dir string), probe func(addr string) error) Server {
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
	s := Server{Dir: t.TempDir(), Addr: ln.Addr().String()}
	ln.Close()
	// The directory and its parent are this test's own (t.TempDir).
	for _, d := range []string{s.Dir, filepath.Dir(s.Dir)} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if prepare != nil {
		prepare(s.Dir)
	}
	s.AccessLog = filepath.Join(s.Dir, "access.log")
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
`, s.Dir, s.AccessLog, s.Addr, logFormat, listenOpts, strings.ReplaceAll(server, "{{dir}}", s.Dir))
	confPath := filepath.Join(s.Dir, "nginx.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	errLog := filepath.Join(s.Dir, "error.log")
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
		err := probe(s.Addr)
		if err == nil {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("nginx did not start on %s: %v", s.Addr, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// GetProbe is a readiness probe for Start: whether GET
// scheme://addr/_ready gets a response with client.
func GetProbe(client *http.Client, scheme string) func(addr string) error {
	return func(addr string) error {
		resp, err := client.Get(scheme + "://" + addr + "/_ready")
		if err == nil {
			resp.Body.Close()
		}
		return err
	}
}

// Counts reads an access log of one field per line (a status, a URI): how
// often each value occurs, after the first skip lines (the readiness
// probe's).
func Counts(t *testing.T, logPath string, skip int) map[string]int64 {
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
