package main

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"volley/internal/promtest"
)

// TestMetricsRealPrometheus: one run, scraped by a real Prometheus through
// --metrics-addr and written to the same Prometheus through --out
// prometheus-rw; Prometheus's own query API then gives exactly the result's
// totals and per-code counts both ways (scraped series have job="volley",
// written ones no job), the errors by kind, the latency histogram's count,
// and a p99 within 1% of the result's from the native histograms.
func TestMetricsRealPrometheus(t *testing.T) {
	for _, native := range []bool{true, false} {
		t.Run(fmt.Sprintf("native=%v", native), func(t *testing.T) {
			srv := startBench(t, benchOpts{status: "200:70,404:10,503:20", latency: "uniform:1ms-9ms"})
			addr := freeAddr(t)
			prom := promtest.Start(t, promtest.Options{Scrape: addr, Native: native})
			out := filepath.Join(t.TempDir(), "r.json")
			p := startVolley(t, "run", "-r", "300", "-d", "2s", "-c", "8", "-q", "--out", "json="+out,
				"--metrics-addr", addr, "--metrics-linger", "20s", "--metrics-interval", "250ms",
				"--out", "prometheus-rw="+prom.WriteURL(), "--tag", "run=t1", srv.URL()+"/")
			// The queries run while the endpoint lingers: once it is gone,
			// Prometheus marks the scraped series stale.
			waitFile(t, out, 10*time.Second)
			defer func() {
				p.signal(t, os.Interrupt)
				if code := p.wait(t, 5*time.Second, "SIGINT in the linger"); code != 0 {
					t.Errorf("exit %d\nstderr: %s", code, p.stderr)
				}
				if e := p.stderr.String(); e != "volley: interrupted by SIGINT: ending --metrics-linger\n" {
					t.Errorf("stderr %q: want only the signal's notice, no receiver failed", e)
				}
			}()
			res := readResult(t, out)
			for _, via := range []struct{ name, sel string }{{"scraped", `job="volley"`}, {"written", `job=""`}} {
				sel := via.sel + `,run="t1"`
				q := fmt.Sprintf(`sum(volley_requests_total{%s})`, sel)
				if got := prom.Await(t, q, float64(res.Requests.Total), 5*time.Second); got != float64(res.Requests.Total) {
					t.Errorf("%s: %s = %v, the result has %d requests", via.name, q, got, res.Requests.Total)
				}
				for code, n := range res.Codes {
					q := fmt.Sprintf(`sum(volley_requests_total{%s,code=%q})`, sel, code)
					if got, _ := prom.Value(t, q); got != float64(n) {
						t.Errorf("%s: %s = %v, the result has %d", via.name, q, got, n)
					}
				}
				q = fmt.Sprintf(`sum(volley_request_duration_seconds_count{%s})`, sel)
				if native {
					q = fmt.Sprintf(`histogram_count(sum(volley_request_duration_seconds{%s}))`, sel)
				}
				if got, _ := prom.Value(t, q); got != float64(res.Requests.Completed) {
					t.Errorf("%s: %s = %v, the result has %d answered", via.name, q, got, res.Requests.Completed)
				}
				if !native {
					continue
				}
				q = fmt.Sprintf(`histogram_quantile(0.99, sum(volley_request_duration_seconds{%s}))`, sel)
				got, _ := prom.Value(t, q)
				want := res.Latency.Corrected.P99 / 1000
				if math.Abs(got-want) > 0.01*want {
					t.Errorf("%s: %s = %.6f s, the result's p99 is %.6f s (want within 1%%)", via.name, q, got, want)
				}
			}
			if native {
				checkDashboard(t, prom)
			}
			if res.Codes["404"] == 0 || res.Codes["503"] == 0 {
				t.Errorf("codes %v: the mix was not sent", res.Codes)
			}
		})
	}
}

// waitFile waits until path exists.
func waitFile(t *testing.T, path string, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		if _, err := os.Stat(path); err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s after %v", path, within)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// checkDashboard runs every query of deploy/grafana's dashboard, with its
// variables set as Grafana would (run=t1, every shard), against the
// Prometheus that holds the run: each must parse, and each must find data
// but those of errors and messages, which this run has none of.
func checkDashboard(t *testing.T, prom *promtest.Server) {
	t.Helper()
	b, err := os.ReadFile("deploy/grafana/volley-dashboard.json")
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Panels []dashPanel `json:"panels"`
	}
	if err := json.Unmarshal(b, &dash); err != nil {
		t.Fatalf("dashboard: %v", err)
	}
	vars := strings.NewReplacer("$__rate_interval", "1m", "$__interval", "15s", "$run", "t1", "$shard", ".*")
	n := 0
	var walk func([]dashPanel)
	walk = func(ps []dashPanel) {
		for _, p := range ps {
			for _, tg := range p.Targets {
				n++
				got := prom.Query(t, vars.Replace(tg.Expr))
				if len(got) == 0 && !strings.Contains(tg.Expr, "errors_total") && !strings.Contains(tg.Expr, "message") {
					t.Errorf("dashboard panel %q: %s finds nothing", p.Title, tg.Expr)
				}
			}
			walk(p.Panels)
		}
	}
	walk(dash.Panels)
	if n < 10 {
		t.Errorf("the dashboard has %d queries", n)
	}
}

type dashPanel struct {
	Title   string `json:"title"`
	Targets []struct {
		Expr string `json:"expr"`
	} `json:"targets"`
	Panels []dashPanel `json:"panels"`
}
