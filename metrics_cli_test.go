package main

import (
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// TestMetricsUsageErrors: bad live metrics flags exit 2 before any load,
// naming the flag and the value at fault.
func TestMetricsUsageErrors(t *testing.T) {
	srv := startBench(t, benchOpts{})
	url := srv.URL() + "/"
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	empty := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(empty, []byte("\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"tag-no-equals", []string{"--metrics-addr", "127.0.0.1:0", "--tag", "run"}, `--tag "run": want KEY=VALUE`},
		{"tag-bad-name", []string{"--metrics-addr", "127.0.0.1:0", "--tag", "my-run=1"}, `"my-run" is not a label name`},
		{"tag-reserved", []string{"--metrics-addr", "127.0.0.1:0", "--tag", "shard=1"}, "shard is a label of volley's own series"},
		{"tag-twice", []string{"--metrics-addr", "127.0.0.1:0", "--tag", "a=1", "--tag", "a=2"}, "a is given twice"},
		{"tag-alone", []string{"--tag", "run=1"}, "--tag: give --metrics-addr or --out prometheus-rw=URL"},
		{"rw-not-http", []string{"--out", "prometheus-rw=ftp://127.0.0.1/x"}, "--out prometheus-rw=ftp://127.0.0.1/x: want an http:// or https:// URL"},
		{"rw-empty", []string{"--out", "prometheus-rw="}, "--out prometheus-rw=: want a URL"},
		{"otlp-no-host", []string{"--out", "otlp=http:///v1/metrics"}, "--out otlp=http:///v1/metrics: want an http:// or https:// URL"},
		{"rw-password-redacted", []string{"--out", "prometheus-rw=ftp://u:hunter2@127.0.0.1/"}, "ftp://REDACTED@127.0.0.1/"},
		{"linger-without-addr", []string{"--metrics-linger", "5s"}, "--metrics-linger: give --metrics-addr too"},
		{"interval-zero", []string{"--metrics-addr", "127.0.0.1:0", "--metrics-interval", "0s"}, "--metrics-interval 0s: want a positive duration"},
		{"addr-in-use", []string{"--metrics-addr", busy.Addr().String()}, "--metrics-addr " + busy.Addr().String()},
		{"token-file-missing", []string{"--out", "otlp=http://127.0.0.1:1/", "--metrics-token-file", "/nonexistent"}, "--metrics-token-file: open /nonexistent"},
		{"token-file-empty", []string{"--out", "otlp=http://127.0.0.1:1/", "--metrics-token-file", empty}, "the file is empty"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := arrivals(srv)
			args := append([]string{"run", "-n", "5", "-q"}, tc.args...)
			r := runCLI(t, append(args, url)...)
			if r.code != 2 || !strings.Contains(r.stderr, tc.want) {
				t.Errorf("exit %d, stderr %q; want 2 and %q", r.code, r.stderr, tc.want)
			}
			if strings.Contains(r.stderr, "hunter2") {
				t.Errorf("stderr shows the password: %q", r.stderr)
			}
			if got := arrivals(srv) - before; got != 0 {
				t.Errorf("the target saw %d requests; bad input must send none", got)
			}
		})
	}
	if r := runCLI(t, "find-max", "--slo", "p99<50ms", "--out", "otlp=http://127.0.0.1:1/", url); r.code != 2 || !strings.Contains(r.stderr, "live metrics are sent by volley run only") {
		t.Errorf("find-max with otlp: exit %d, stderr %q; want 2 and a message", r.code, r.stderr)
	}
}

// freeAddr is a loopback address nothing listens on.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// scrape reads the metric families at http://addr/metrics in the text
// format, nil if nothing answers.
func scrape(t *testing.T, addr string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		return nil
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(strings.NewReader(string(b)))
	if err != nil {
		t.Fatalf("scrape: %v\n%s", err, b)
	}
	return fams
}

// label is the value of a metric's label name, "" if absent.
func label(m *dto.Metric, name string) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}

// TestMetricsScrape: --metrics-addr serves the run while it lasts and,
// through --metrics-linger, the final values, which equal the result's:
// requests by code and class, errors by kind, the histogram's count; every
// series carries the --tag labels.
func TestMetricsScrape(t *testing.T) {
	srv := startBench(t, benchOpts{status: "200:80,503:20"})
	addr := freeAddr(t)
	out := filepath.Join(t.TempDir(), "r.json")
	p := startVolley(t, "run", "-r", "200", "-d", "2s", "-c", "4", "-q", "--out", "json="+out,
		"--metrics-addr", addr, "--metrics-linger", "10s", "--metrics-interval", "200ms",
		"--tag", "run=ci-42", srv.URL()+"/")
	// While it runs: the counts grow.
	var live float64
	deadline := time.Now().Add(5 * time.Second)
	for live == 0 && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
		if fams := scrape(t, addr); fams != nil && fams["volley_requests_total"] != nil {
			for _, m := range fams["volley_requests_total"].GetMetric() {
				live += m.GetCounter().GetValue()
			}
		}
	}
	if live == 0 {
		t.Fatalf("no requests scraped while the run lasted\nstderr: %s", p.stderr)
	}
	// After it: the result is written, and the endpoint lingers.
	waitFile(t, out, 10*time.Second)
	res := readResult(t, out)
	fams := scrape(t, addr)
	if fams == nil {
		t.Fatal("the endpoint did not linger after the run")
	}
	codes := map[string]float64{}
	var total float64
	for _, m := range fams["volley_requests_total"].GetMetric() {
		if label(m, "run") != "ci-42" {
			t.Errorf("series %v lacks run=ci-42", m.GetLabel())
		}
		codes[label(m, "code")] += m.GetCounter().GetValue()
		if c := label(m, "code"); c != "" && label(m, "class") != c[:1]+"xx" {
			t.Errorf("code %s in class %s", c, label(m, "class"))
		}
		total += m.GetCounter().GetValue()
	}
	if total != float64(res.Requests.Total) || total <= live {
		t.Errorf("scraped %v requests at the end (%v while running), the result says %d", total, live, res.Requests.Total)
	}
	for code, n := range res.Codes {
		if codes[code] != float64(n) {
			t.Errorf("code %s: scraped %v, result %d", code, codes[code], n)
		}
	}
	if res.Codes["503"] == 0 {
		t.Errorf("no 503 in the result %v: the mix was not sent", res.Codes)
	}
	h := fams["volley_request_duration_seconds"].GetMetric()[0].GetHistogram()
	if h.GetSampleCount() != uint64(res.Requests.Completed) {
		t.Errorf("histogram count %d, result completed %d", h.GetSampleCount(), res.Requests.Completed)
	}
	if b := h.GetBucket(); len(b) == 0 || b[len(b)-1].GetCumulativeCount() != h.GetSampleCount() {
		t.Errorf("classic buckets %v do not reach the count %d", b, h.GetSampleCount())
	}
	// A signal ends the linger; the run was whole, so the exit is 0.
	start := time.Now()
	p.signal(t, os.Interrupt)
	if code := p.wait(t, 5*time.Second, "SIGINT in the linger"); code != 0 {
		t.Errorf("exit %d after a signal in the linger, want 0\nstderr: %s", code, p.stderr)
	}
	if el := time.Since(start); el > 3*time.Second {
		t.Errorf("took %v to stop after the signal, want the linger cut short", el)
	}
}
