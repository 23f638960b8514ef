// Package benchtest starts the built-in target for tests. Only tests import
// it, so the volley binary does not link the testing package.
package benchtest

import (
	"crypto/x509"
	"testing"

	"volley/bench"
)

// Start starts the built-in target with cfg on a free loopback port and
// closes it when the test ends. cfg.Addr is ignored.
func Start(t testing.TB, cfg bench.Config) *bench.Server {
	t.Helper()
	cfg.Addr = "127.0.0.1:0"
	srv, err := bench.Start(cfg)
	if err != nil {
		t.Fatalf("start the built-in target: %v", err)
	}
	t.Cleanup(func() { srv.Close() })
	return srv
}

// Certificate makes a certificate for localhost and 127.0.0.1, and a pool
// that trusts its CA, for a test's TLS server and client.
func Certificate(t testing.TB) (bench.Certificate, *x509.CertPool) {
	t.Helper()
	cert, err := bench.NewCertificate()
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(cert.CAPEM) {
		t.Fatal("CA PEM not readable")
	}
	return cert, pool
}
