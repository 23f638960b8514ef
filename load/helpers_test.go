package load

import (
	"context"
	"testing"

	"volley/load/request"
	"volley/stats"
)

// runWith runs cfg through the client of its protocol, describing targets
// and checks to the collector as the command does.
func runWith(t *testing.T, ctx context.Context, cfg Config) (*stats.Result, Report) {
	t.Helper()
	client, err := NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	col := stats.NewCollector()
	groups, _, err := request.Groups(&cfg.Spec)
	if err != nil {
		t.Fatal(err)
	}
	col.Describe(groups, cfg.Expect.Active(), cfg.Conn.FollowRedirects > 0)
	rep, err := Run(ctx, cfg, client, col)
	if err != nil {
		t.Fatal(err)
	}
	if p, ok := client.(interface{ Protocol() string }); ok {
		col.SetProtocol(p.Protocol())
	}
	res := col.Result(stats.Meta{Rate: cfg.Rate, Connections: cfg.Connections, Interrupted: rep.Interrupted}, rep.Elapsed, rep.BytesOut)
	return res, rep
}
