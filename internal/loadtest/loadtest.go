// Package loadtest runs load plans in tests the way the run command does,
// so that the engine's and each protocol's tests read one kind of result.
package loadtest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"volley/load"
	"volley/load/request"
	"volley/stats"
)

// Defaults fills what a test plan leaves unset and a run would not: method
// GET, a 5 s timeout, a 1 MiB body bound.
func Defaults(cfg load.Config) load.Config {
	if cfg.Request.Method == "" {
		cfg.Request.Method = "GET"
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 5 * time.Second
	}
	if cfg.MaxBody == 0 {
		cfg.MaxBody = 1 << 20
	}
	return cfg
}

// Run runs cfg with client until the plan ends or ctx is done, and returns
// the result as the run command builds it (targets and checks described,
// the plan's settings and the negotiated protocol recorded) with the
// engine's report. It closes client.
func Run(t testing.TB, ctx context.Context, cfg load.Config, client load.Client) (*stats.Result, load.Report) {
	t.Helper()
	defer client.Close()
	col := stats.NewCollector()
	groups, _, err := request.Groups(&cfg.Spec)
	if err != nil {
		t.Fatal(err)
	}
	col.Describe(groups, cfg.Expect.Active(), cfg.Conn.FollowRedirects > 0)
	rep, err := load.Run(ctx, cfg, client, col)
	if err != nil {
		t.Fatal(err)
	}
	if p, ok := client.(interface{ Protocol() string }); ok {
		col.SetProtocol(p.Protocol())
	}
	meta := stats.Meta{Interrupted: rep.Interrupted}
	cfg.Describe(&meta)
	return col.Result(meta, rep.Elapsed, rep.BytesOut), rep
}

// Runner runs plans through the clients one constructor makes (a
// protocol's, or the protocol table's).
type Runner func(load.Config) (load.Client, error)

// With runs cfg as Run does, through a client r makes for it.
func (r Runner) With(t testing.TB, ctx context.Context, cfg load.Config) (*stats.Result, load.Report) {
	t.Helper()
	client, err := r(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return Run(t, ctx, cfg, client)
}

// Defaults is With after Defaults fills in what cfg leaves unset.
func (r Runner) Defaults(t testing.TB, ctx context.Context, cfg load.Config) (*stats.Result, load.Report) {
	t.Helper()
	return r.With(t, ctx, Defaults(cfg))
}

// Plan is a closed-loop plan of n requests to url over conns connections,
// with the Defaults.
func Plan(url string, conns int, n int64) load.Config {
	return Defaults(load.Config{Spec: request.Spec{Request: request.Request{URL: url}}, Connections: conns, Requests: n})
}

// Retry runs try up to n times, until one passes its timing checks. On a
// shared machine a timing check can miss because another process held the
// CPU for a few milliseconds; a broken feature misses on every try. A try
// reports a miss through miss (counts and other exact checks fail the test
// at once, through t). The misses of a try that is retried are logged; those
// of the last try fail the test.
func Retry(t testing.TB, n int, try func(miss func(format string, args ...any))) {
	t.Helper()
	for i := 1; ; i++ {
		var misses []string
		try(func(format string, args ...any) { misses = append(misses, fmt.Sprintf(format, args...)) })
		if len(misses) == 0 {
			return
		}
		for _, m := range misses {
			if i == n {
				t.Error(m)
			} else {
				t.Logf("try %d of %d: %s; trying again", i, n, m)
			}
		}
		if i == n {
			return
		}
	}
}
