package protocols

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"volley/bench"
	"volley/bench/benchtest"
	"volley/internal/nginxtest"
	"volley/load"
	"volley/load/dial"
	"volley/load/request"
)

// startNginxTLS starts nginx with "listen ... ssl http2" on a free loopback
// port, with a certificate made for the test, and returns the https base URL,
// the access log's path (one "STATUS PROTOCOL" line per request) and the CA
// pool that verifies it. It skips the test when nginx is missing.
func startNginxTLS(t *testing.T) (string, string, bench.Certificate) {
	t.Helper()
	cert, _ := benchtest.Certificate(t)
	certPEM, keyPEM, err := cert.KeyPEM()
	if err != nil {
		t.Fatal(err)
	}
	prepare := func(dir string) {
		if err := os.WriteFile(filepath.Join(dir, "cert.pem"), certPEM, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "key.pem"), keyPEM, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}} //nolint:gosec // readiness probe only
	n := nginxtest.Start(t, "ssl http2", "$status $server_protocol $request_method $request_uri",
		`    http2_max_requests 1000000;
    ssl_certificate {{dir}}/cert.pem;
    ssl_certificate_key {{dir}}/key.pem;
    location / { return 200 "hello"; }
    location /missing { return 404 "no"; }`,
		prepare, nginxtest.GetProbe(client, "https"))
	return "https://" + n.Addr, n.AccessLog, cert
}

// TestAgainstNginxTLSAndHTTP2: HTTP/2 and HTTP/1.1 over TLS against nginx,
// with two weighted targets; nginx's log agrees on every count, per
// protocol and per target.
func TestAgainstNginxTLSAndHTTP2(t *testing.T) {
	url, logPath, cert := startNginxTLS(t)
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(cert.CAPEM) {
		t.Fatal("CA PEM")
	}
	targets := []request.Target{
		{Name: "ok", Request: request.Request{Method: "GET", URL: url + "/?n={{seq}}"}, Weight: 3},
		{Name: "missing", Request: request.Request{Method: "GET", URL: url + "/missing"}, Weight: 1},
	}
	run := func(proto dial.Protocol) {
		cfg := load.Config{Spec: request.Spec{Targets: targets}, Connections: 4, Rate: 1000, Requests: 800,
			Timeout: 5 * time.Second, MaxBody: 1 << 20, Conn: dial.Options{Protocol: proto, RootCAs: pool}}
		res := runWith(t, context.Background(), cfg)
		if res.Targets["ok"].Codes["200"] != 600 || res.Targets["missing"].Codes["404"] != 200 {
			t.Errorf("%v: per target %v / %v, want 600 200s and 200 404s (errors %v)",
				proto, res.Targets["ok"].Codes, res.Targets["missing"].Codes, res.ErrorSamples)
		}
		want := map[dial.Protocol]string{dial.HTTP1: "HTTP/1.1", dial.HTTP2: "HTTP/2.0"}[proto]
		if res.Protocol != want {
			t.Errorf("%v: protocol %q, want %q", proto, res.Protocol, want)
		}
		if res.Phases["tls"].Count != 4 {
			t.Errorf("%v: %d TLS handshakes, want 4", proto, res.Phases["tls"].Count)
		}
	}
	run(dial.HTTP2)
	run(dial.HTTP1)
	time.Sleep(100 * time.Millisecond)
	b, err := os.ReadFile(logPath)
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]int{}
	seqs := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		f := strings.Fields(line)
		if len(f) != 4 || f[3] == "/_ready" {
			continue
		}
		counts[f[0]+" "+f[1]]++
		if f[1] == "HTTP/2.0" && strings.HasPrefix(f[3], "/?n=") {
			seqs[f[3]] = true
		}
	}
	want := map[string]int{"200 HTTP/2.0": 600, "404 HTTP/2.0": 200, "200 HTTP/1.1": 600, "404 HTTP/1.1": 200}
	for k, n := range want {
		if counts[k] != n {
			t.Errorf("nginx logged %d × %q, want %d (all: %v)", counts[k], k, n, counts)
		}
	}
	if len(seqs) != 600 {
		t.Errorf("nginx saw %d distinct {{seq}} URLs over HTTP/2, want 600", len(seqs))
	}
}
