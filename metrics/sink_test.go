package metrics

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"volley/bench"
	"volley/bench/benchtest"
	"volley/load"
	"volley/load/protocols"
	"volley/load/request"
	"volley/stats"
)

// fakeExporter records what it was pushed; block makes each push wait for
// its deadline, fail makes it fail.
type fakeExporter struct {
	mu     sync.Mutex
	frames []*Frame
	block  bool
	fail   bool
}

func (f *fakeExporter) Name() string { return "--out fake" }

func (f *fakeExporter) Push(ctx context.Context, fr *Frame) error {
	if f.block {
		<-ctx.Done()
		return ctx.Err()
	}
	f.mu.Lock()
	f.frames = append(f.frames, fr)
	f.mu.Unlock()
	if f.fail {
		return errors.New("connection refused")
	}
	return nil
}

// runWith runs 200 requests at 400/s against the built-in target, with the
// sink attached.
func runWith(t *testing.T, s *Sink) *stats.Result {
	t.Helper()
	srv := benchtest.Start(t, bench.Config{})
	cfg := load.Config{Spec: request.Spec{Request: request.Request{URL: srv.URL() + "/", Method: "GET"}},
		Rate: 400, Requests: 200, Connections: 2, Timeout: time.Second}
	client, err := protocols.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	res, err := load.Execute(context.Background(), load.Execution{Config: cfg, Sinks: []load.Sink{s}}, client)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// TestSinkSlowReceiver: a receiver that never answers neither slows the
// run nor changes its result; its failures are named once, with counts.
func TestSinkSlowReceiver(t *testing.T) {
	var warned []string
	slow := &fakeExporter{block: true}
	good := &fakeExporter{}
	s := NewSink(Options{Every: 50 * time.Millisecond, Timeout: 200 * time.Millisecond,
		Labels: map[string]string{"run": "x"}, Warn: func(m string) { warned = append(warned, m) }}, slow, good)
	start := time.Now()
	res := runWith(t, s)
	// The run's own length is 0.5 s; the final push waits up to its 200 ms.
	if el := time.Since(start); el > 1500*time.Millisecond {
		t.Errorf("run took %v with a receiver that never answers, want about 0.7 s", el)
	}
	if res.Requests.Total != 200 {
		t.Errorf("requests %d, want 200", res.Requests.Total)
	}
	if len(warned) != 1 || !strings.Contains(warned[0], "--out fake") || !strings.Contains(warned[0], "sends failed") {
		t.Errorf("notices %q, want one naming the receiver", warned)
	}
	good.mu.Lock()
	defer good.mu.Unlock()
	if len(good.frames) < 3 {
		t.Fatalf("the working receiver got %d frames, want one every 50 ms", len(good.frames))
	}
	last := good.frames[len(good.frames)-1]
	if !last.Final || last.Totals.Requests != 200 || last.Totals.Codes["200"] != 200 || last.Labels["run"] != "x" {
		t.Errorf("last frame final=%v requests %d codes %v labels %v; want the result's 200",
			last.Final, last.Totals.Requests, last.Totals.Codes, last.Labels)
	}
	if last.Totals.Corrected.TotalCount() != 200 {
		t.Errorf("last frame's histogram holds %d, want 200", last.Totals.Corrected.TotalCount())
	}
	for i := 1; i < len(good.frames); i++ {
		if good.frames[i].Totals.Requests < good.frames[i-1].Totals.Requests {
			t.Errorf("frame %d has %d requests after %d: counters never go back", i, good.frames[i].Totals.Requests, good.frames[i-1].Totals.Requests)
		}
	}
}

// TestSinkFailingReceiver: every failure is counted and named once at the
// end, not per push.
func TestSinkFailingReceiver(t *testing.T) {
	var warned []string
	bad := &fakeExporter{fail: true}
	s := NewSink(Options{Every: 50 * time.Millisecond, Warn: func(m string) { warned = append(warned, m) }}, bad)
	runWith(t, s)
	bad.mu.Lock()
	n := len(bad.frames)
	bad.mu.Unlock()
	if len(warned) != 1 || !strings.Contains(warned[0], "connection refused") {
		t.Fatalf("notices %q, want one with the error", warned)
	}
	if want := " " + strconv.Itoa(n) + " of " + strconv.Itoa(n) + " sends failed"; !strings.Contains(warned[0], want) {
		t.Errorf("notice %q, want it to say%s", warned[0], want)
	}
}
