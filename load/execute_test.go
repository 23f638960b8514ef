package load_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"volley/bench"
	"volley/bench/benchtest"
	"volley/internal/loadtest"
	"volley/load"
	"volley/load/protocols"
	"volley/load/request"
	"volley/stats"
)

// recordingSink keeps what a sink is shown, and stops the run once it has
// seen stopAfter requests (0: never).
type recordingSink struct {
	mu        sync.Mutex
	stopAfter int64
	started   load.Started
	intervals []stats.Progress
	lives     []stats.Live
	ends      []*stats.Result
	order     []string
}

func (s *recordingSink) Every() time.Duration { return 20 * time.Millisecond }
func (s *recordingSink) Start(st load.Started) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.started = st
	s.order = append(s.order, "start")
}
func (s *recordingSink) Interval(snap load.Snapshot) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.order) == 0 || s.order[len(s.order)-1] != "interval" {
		s.order = append(s.order, "interval")
	}
	p, l := snap.Progress(), snap.Live()
	s.intervals = append(s.intervals, p)
	s.lives = append(s.lives, l)
	if s.stopAfter > 0 && l.Requests >= s.stopAfter {
		s.started.Stop()
	}
}
func (s *recordingSink) End(res *stats.Result) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ends = append(s.ends, res)
	s.order = append(s.order, "end")
}

// TestExecuteFeedsSinks: a sink sees the start with the planned count,
// growing snapshots, then the result once, in that order; a sink that
// stops the run ends it early without marking it interrupted.
func TestExecuteFeedsSinks(t *testing.T) {
	srv := benchtest.Start(t, bench.Config{})
	cfg := loadtest.Defaults(load.Config{Spec: request.Spec{Request: request.Request{URL: srv.URL()}},
		Rate: 1000, Connections: 4, Duration: 2 * time.Second})
	watch := &recordingSink{}
	stopper := &recordingSink{stopAfter: 200}
	client, err := protocols.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	start := time.Now()
	res, err := load.Execute(context.Background(), load.Execution{Config: cfg, Sinks: []load.Sink{watch, stopper}}, client)
	if err != nil {
		t.Fatal(err)
	}
	if el := time.Since(start); el > time.Second {
		t.Errorf("stopped run took %v, want it ended soon after 200 of 2000 requests", el)
	}
	if res.Interrupted {
		t.Error("a run a sink stopped is marked interrupted")
	}
	if res.Requests.Total < 200 || res.Requests.Total > 600 || res.Requests.Total != srv.Stats().Total {
		t.Errorf("sent %d (server %d), want a little over 200", res.Requests.Total, srv.Stats().Total)
	}
	for _, s := range []*recordingSink{watch, stopper} {
		if s.started.Planned != 2000 || s.started.Config.Rate != 1000 {
			t.Errorf("start: planned %d, rate %v; want 2000 at 1000/s", s.started.Planned, s.started.Config.Rate)
		}
		if got := len(s.order); got != 3 || s.order[0] != "start" || s.order[1] != "interval" || s.order[2] != "end" {
			t.Errorf("calls %v, want start, intervals, end", s.order)
		}
		if len(s.ends) != 1 || s.ends[0] != res {
			t.Errorf("End saw %d results, want the one result", len(s.ends))
		}
		for i := 1; i < len(s.lives); i++ {
			if s.lives[i].Requests < s.lives[i-1].Requests || s.intervals[i].Requests < s.intervals[i-1].Requests {
				t.Fatalf("snapshot %d counts fell: %d after %d", i, s.lives[i].Requests, s.lives[i-1].Requests)
			}
		}
		if last := s.lives[len(s.lives)-1]; last.Requests == 0 || last.Planned != 2000 {
			t.Errorf("last snapshot: %d requests of %d planned, want some of 2000", last.Requests, last.Planned)
		}
	}
}

// TestExecuteRefusesBadPlan: a plan that cannot run is a *PlanError, and
// no sink is started.
func TestExecuteRefusesBadPlan(t *testing.T) {
	cfg := loadtest.Defaults(load.Config{Spec: request.Spec{Request: request.Request{URL: "http://127.0.0.1:1/"}},
		Rate: -5, Connections: 1, Requests: 1})
	client, err := protocols.NewClient(loadtest.Plan("http://127.0.0.1:1/", 1, 1))
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	s := &recordingSink{}
	_, err = load.Execute(context.Background(), load.Execution{Config: cfg, Sinks: []load.Sink{s}}, client)
	var pe *load.PlanError
	if !errors.As(err, &pe) || len(s.order) != 0 {
		t.Errorf("err %v (%T), sink calls %v; want a *PlanError and no calls", err, err, s.order)
	}
}
