package load_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"volley/bench"
	"volley/bench/benchtest"
	"volley/load"
	"volley/load/request"
	"volley/stats"
)

func TestShardRequests(t *testing.T) {
	for _, tc := range []struct {
		n    int64
		of   int
		want []int64
	}{
		{10, 3, []int64{4, 3, 3}},
		{9, 3, []int64{3, 3, 3}},
		{2, 4, []int64{1, 1, 0, 0}},
		{1000, 1, []int64{1000}},
	} {
		var sum int64
		for k := range tc.of {
			got := load.Shard{Index: k, Count: tc.of}.Requests(tc.n)
			if got != tc.want[k] {
				t.Errorf("shard %d/%d of %d requests: %d, want %d", k, tc.of, tc.n, got, tc.want[k])
			}
			sum += got
		}
		if sum != tc.n {
			t.Errorf("%d shards of %d requests add to %d", tc.of, tc.n, sum)
		}
	}
}

func TestParseShardAndStartAt(t *testing.T) {
	if sh, err := load.ParseShard("2/5"); err != nil || sh != (load.Shard{2, 5}) {
		t.Errorf("ParseShard(2/5) = %v, %v", sh, err)
	}
	for _, bad := range []string{"5/5", "-1/3", "1", "a/b", "0/0", "1/2/3"} {
		if _, err := load.ParseShard(bad); err == nil {
			t.Errorf("ParseShard(%q) accepted", bad)
		}
	}
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	if got, err := load.ParseStartAt("+30s", now); err != nil || !got.Equal(now.Add(30*time.Second)) {
		t.Errorf("ParseStartAt(+30s) = %v, %v", got, err)
	}
	if got, err := load.ParseStartAt("2026-11-25T12:01:00Z", now); err != nil || !got.Equal(now.Add(time.Minute)) {
		t.Errorf("ParseStartAt(RFC 3339) = %v, %v", got, err)
	}
	for _, bad := range []string{"+-3s", "tomorrow", "12:00"} {
		if _, err := load.ParseStartAt(bad, now); err == nil {
			t.Errorf("ParseStartAt(%q) accepted", bad)
		}
	}
}

// TestShardsTogetherSendThePlan runs three shards of one plan at once with a
// shared start time: together they send exactly what one process would, as
// evenly over time.
func TestShardsTogetherSendThePlan(t *testing.T) {
	srv := benchtest.Start(t, bench.Config{})
	const shards = 3
	start := time.Now().Add(500 * time.Millisecond)
	results := make([]*stats.Result, shards)
	var wg sync.WaitGroup
	for k := range shards {
		wg.Go(func() {
			results[k] = runPlan(t, context.Background(), load.Config{Spec: request.Spec{Request: request.Request{URL: srv.URL()}},
				Rate: 600, Connections: 4, Duration: time.Second,
				Shard: load.Shard{Index: k, Count: shards}, StartAt: start,
			})
		})
	}
	wg.Wait()
	for k, r := range results {
		if r.StartLateMS > 0 {
			t.Fatalf("shard %d started %.1f ms after the shared start; the test machine is too slow for this check", k, r.StartLateMS)
		}
	}
	var total int64
	for k, r := range results {
		if r.Requests.Total != 200 {
			t.Errorf("shard %d sent %d, want 200", k, r.Requests.Total)
		}
		total += r.Requests.Total
	}
	st := srv.Stats()
	if total != 600 || st.Total != 600 {
		t.Fatalf("shards sent %d, server counted %d; want 600", total, st.Total)
	}
	// 600/s is 60 per 100 ms; interleaved shards keep every full bucket near it.
	for i, n := range st.Arrivals {
		if i == len(st.Arrivals)-1 {
			break // the last bucket may be partial
		}
		if n < 45 || n > 75 {
			t.Errorf("arrivals in bucket %d = %d, want about 60 (all: %v)", i, n, st.Arrivals)
			break
		}
	}
}

func TestStartAtInThePastSendsOverdueLate(t *testing.T) {
	srv := benchtest.Start(t, bench.Config{})
	res := runPlan(t, context.Background(), load.Config{Spec: request.Spec{Request: request.Request{URL: srv.URL()}},
		Rate: 100, Connections: 4, Duration: time.Second,
		StartAt: time.Now().Add(-500 * time.Millisecond),
	})
	if res.Requests.Total != 100 || srv.Stats().Total != 100 {
		t.Errorf("sent %d (server %d), want all 100: overdue requests are sent, not skipped", res.Requests.Total, srv.Stats().Total)
	}
	if res.StartLateMS < 450 || res.StartLateMS > 700 {
		t.Errorf("start_late_ms = %.1f, want about 500", res.StartLateMS)
	}
	if res.Requests.Late < 40 {
		t.Errorf("late sends = %d, want the ~50 overdue requests counted late", res.Requests.Late)
	}
}
