package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	colmetrics "go.opentelemetry.io/proto/otlp/collector/metrics/v1"
	"google.golang.org/protobuf/proto"
)

// TestMetricsOTLPRun: a run with --out otlp= to a receiver that decodes
// each export with the OTLP protobuf types, one to a port where nothing
// listens and one to a receiver that never answers. The last export holds
// the result's totals and per-code counts, and its latency histogram count;
// the two bad receivers neither stall nor fail the run: each is named once
// on stderr, and the exit is 0.
func TestMetricsOTLPRun(t *testing.T) {
	var mu sync.Mutex
	var last *colmetrics.ExportMetricsServiceRequest
	good := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		req := &colmetrics.ExportMetricsServiceRequest{}
		if err := proto.Unmarshal(b, req); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		mu.Lock()
		last = req
		mu.Unlock()
	}))
	defer good.Close()
	hang := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-hang:
		case <-r.Context().Done():
		}
	}))
	defer slow.Close()
	defer close(hang)
	srv := startBench(t, benchOpts{status: "200:90,500:10"})
	out := filepath.Join(t.TempDir(), "r.json")
	dead := strconv.Itoa(closedPort(t))
	start := time.Now()
	r := runCLI(t, "run", "-r", "200", "-d", "2s", "-c", "4", "-q", "--out", "json="+out,
		"--metrics-interval", "250ms", "--tag", "run=o1",
		"--out", "otlp="+good.URL, "--out", "otlp=http://127.0.0.1:"+dead+"/v1/metrics",
		"--out", "otlp="+slow.URL+"/v1/metrics", srv.URL()+"/")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	// 2 s of sending, and at most one interval for the final pushes.
	if el := time.Since(start); el > 4*time.Second {
		t.Errorf("the run took %v with a receiver that never answers", el)
	}
	if n := strings.Count(r.stderr, "sends failed"); n != 2 || !strings.Contains(r.stderr, "127.0.0.1:"+dead) {
		t.Errorf("stderr %q: want the two bad receivers named once each", r.stderr)
	}
	res := readResult(t, out)
	mu.Lock()
	defer mu.Unlock()
	if last == nil {
		t.Fatal("nothing exported")
	}
	var total, errors int64
	codes := map[int64]int64{}
	var histCount uint64
	for _, rm := range last.GetResourceMetrics() {
		for _, sm := range rm.GetScopeMetrics() {
			for _, m := range sm.GetMetrics() {
				switch m.GetName() {
				case "volley.requests":
					for _, p := range m.GetSum().GetDataPoints() {
						total += p.GetAsInt()
						for _, a := range p.GetAttributes() {
							if a.GetKey() == "http.response.status_code" {
								codes[a.GetValue().GetIntValue()] += p.GetAsInt()
							}
						}
					}
				case "volley.errors":
					for _, p := range m.GetSum().GetDataPoints() {
						errors += p.GetAsInt()
					}
				case "http.client.request.duration":
					histCount = m.GetExponentialHistogram().GetDataPoints()[0].GetCount()
				}
			}
		}
	}
	if total != res.Requests.Total || codes[200] != res.Codes["200"] || codes[500] != res.Codes["500"] || res.Codes["500"] == 0 {
		t.Errorf("exported %d requests by code %v; the result has %d, %v", total, codes, res.Requests.Total, res.Codes)
	}
	if histCount != uint64(res.Requests.Completed) {
		t.Errorf("exported histogram count %d, the result has %d answered", histCount, res.Requests.Completed)
	}
	if errors != 0 {
		t.Errorf("exported %d transport errors, the result has none", errors)
	}
}

// TestMetricsShardLabel: a shard's series carry shard="K/N" without a
// --tag, and its target rate is its share of the plan's.
func TestMetricsShardLabel(t *testing.T) {
	srv := startBench(t, benchOpts{})
	addr := freeAddr(t)
	p := startVolley(t, "run", "-r", "400", "-d", "3s", "-q", "--shard", "1/4",
		"--metrics-addr", addr, "--metrics-interval", "100ms", srv.URL()+"/")
	deadline := time.Now().Add(3 * time.Second)
	for time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
		fams := scrape(t, addr)
		if fams == nil || fams["volley_target_rate"] == nil {
			continue
		}
		m := fams["volley_target_rate"].GetMetric()[0]
		if label(m, "shard") != "1/4" || m.GetGauge().GetValue() != 100 {
			t.Errorf("target rate %v with labels %v, want 100 and shard=1/4", m.GetGauge().GetValue(), m.GetLabel())
		}
		p.signal(t, os.Interrupt)
		p.wait(t, 5*time.Second, "SIGINT")
		return
	}
	t.Fatalf("nothing scraped\nstderr: %s", p.stderr)
}
