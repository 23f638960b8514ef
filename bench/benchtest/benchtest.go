// Package benchtest starts the built-in target for tests. Only tests import
// it, so the volley binary does not link the testing package.
package benchtest

import (
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
