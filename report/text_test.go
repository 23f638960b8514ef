package report

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"volley/stats"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

const ms = int64(time.Millisecond)

// fromTally assembles a Result by hand from a tally and a run's description.
func fromTally(tl *stats.Tally, r stats.Result) *stats.Result {
	r.Schema = stats.Schema
	r.Started = time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	if r.Rate.Target > 0 {
		r.Mode = "open"
	} else {
		r.Mode = "closed"
	}
	r.Requests = stats.Requests{
		Total: tl.Requests, Completed: tl.Completed, Late: tl.Late,
		Errors: tl.Classes[stats.ClassError] + tl.Classes[stats.Class4xx] + tl.Classes[stats.Class5xx],
	}
	if r.DurationS > 0 {
		r.Rate.Achieved = float64(tl.Requests) / r.DurationS
	}
	r.Status, r.Codes, r.Errors = map[string]int64{}, map[string]int64{}, map[string]int64{}
	for _, c := range stats.StatusClasses() {
		r.Status[c.String()] = tl.Classes[c]
	}
	for code, n := range tl.Codes {
		if n > 0 {
			r.Codes[strconv.Itoa(code)] = n
		}
	}
	for _, k := range stats.ErrorKinds() {
		r.Errors[k.String()] = tl.Errors[k]
	}
	r.Latency = stats.Latency{Corrected: stats.Summarize(tl.Corrected), Service: stats.Summarize(tl.Service)}
	r.SendLag = stats.SendLag{
		P50: stats.Quantile(tl.SendLag, 50), P99: stats.Quantile(tl.SendLag, 99), Max: stats.Quantile(tl.SendLag, 100),
	}
	r.Bytes.In = tl.BytesIn
	r.Saturated = tl.Saturated
	r.Histograms = map[string]stats.Hist{
		"corrected": {Histogram: tl.Corrected}, "service": {Histogram: tl.Service}, "send_lag": {Histogram: tl.SendLag},
	}
	return &r
}

// openStallResult is 10 s at 1000 req/s over 50 connections against a server
// that stalls for 1 s at t=5s: requests due during the stall wait until it
// ends, so about 10% of the corrected latencies form a 0..1 s tail, while
// service times stay low except for the 50 requests caught in the server.
func openStallResult() *stats.Result {
	tl := stats.NewTally()
	for i := range int64(10_000) {
		s := stats.Sample{Done: i * ms, BytesIn: 180, Code: 200}
		s.Service = 800_000 + (i%50)*20_000
		s.Corrected = s.Service
		if k := i - 5000; k >= 0 && k < 1000 {
			s.Corrected = (1001 - k) * ms
			if k < 50 {
				s.Service = s.Corrected // stuck inside the server
			} else {
				s.Service = ms // sent late, when a connection came free
			}
		}
		tl.Add(&s)
	}
	return fromTally(tl, stats.Result{
		Target:    stats.Target{URL: "http://127.0.0.1:8080/api/items", Method: "GET"},
		DurationS: 10, Connections: 50, Rate: stats.Rate{Target: 1000},
		Bytes: stats.Bytes{Out: 10_000 * 90},
	})
}

// closedResult is a closed-loop run: service times only.
func closedResult() *stats.Result {
	tl := stats.NewTally()
	for i := range int64(200_000) {
		s := stats.Sample{Service: 900_000 + (i%1000)*1000, BytesIn: 2048, Code: 200}
		if i%1000 == 999 {
			s.Service = 25 * ms
		}
		if i%50 == 7 {
			s.Code = 304
			s.BytesIn = 120
		}
		s.Corrected = s.Service
		tl.Add(&s)
	}
	return fromTally(tl, stats.Result{
		Target:    stats.Target{URL: "http://localhost:9000/", Method: "GET"},
		DurationS: 5, Connections: 64, Bytes: stats.Bytes{Out: 200_000 * 75},
	})
}

// errorsResult is an open-loop run interrupted after 3.2 s, with 4xx, 5xx
// and transport errors.
func errorsResult() *stats.Result {
	tl := stats.NewTally()
	for i := range int64(1608) {
		s := stats.Sample{Service: 3*ms + (i%7)*ms, BytesIn: 300, Code: 200}
		switch {
		case i%40 == 2:
			s.Code, s.Err, s.Service, s.BytesIn = 0, stats.ErrTimeout, 2000*ms, 0
		case i%67 == 3:
			s.Code, s.Err, s.Service, s.BytesIn = 0, stats.ErrRefused, ms/5, 0
		case i%150 == 4:
			s.Code, s.Err, s.BytesIn = 0, stats.ErrReset, 0
		case i%20 == 0:
			s.Code = 503
		case i%25 == 1:
			s.Code = 404
		case i%100 == 5:
			s.Code = 500
		}
		s.Corrected = s.Service + (i%3)*ms/2
		tl.Add(&s)
	}
	return fromTally(tl, stats.Result{
		Target:    stats.Target{URL: "https://api.example.com/v1/orders", Method: "POST"},
		DurationS: 3.217, Connections: 20, Interrupted: true, Rate: stats.Rate{Target: 500},
		Bytes: stats.Bytes{Out: 1608 * 412},
		ErrorSamples: map[string]string{
			"timeout": `Post "https://api.example.com/v1/orders": read tcp 10.0.0.2:53412->10.0.0.9:443: i/o timeout`,
			"refused": "dial tcp 10.0.0.9:443: connect: connection refused",
			"reset":   "read: connection reset by peer\n(after the response headers)",
		},
	})
}

// emptyResult is a run interrupted before any response.
func emptyResult() *stats.Result {
	return fromTally(stats.NewTally(), stats.Result{
		Target:    stats.Target{URL: "http://127.0.0.1:1/", Method: "GET"},
		DurationS: 0.2, Connections: 1, Interrupted: true,
	})
}

func render(t *testing.T, r *stats.Result) string {
	t.Helper()
	var b bytes.Buffer
	if err := Text(&b, r); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// checkWidth fails for any line wider than 80 columns.
func checkWidth(t *testing.T, out string) {
	t.Helper()
	for i, line := range strings.Split(out, "\n") {
		if n := utf8.RuneCountInString(line); n > 80 {
			t.Errorf("line %d is %d columns wide: %q", i+1, n, line)
		}
	}
}

// words collapses runs of white space, so that checks ignore line wrapping.
func words(s string) string { return strings.Join(strings.Fields(s), " ") }

// lineWith returns the first line starting (after indentation) with prefix.
func lineWith(out, prefix string) string {
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(strings.TrimSpace(l), prefix) {
			return l
		}
	}
	return ""
}

func TestTextGolden(t *testing.T) {
	for _, c := range []struct {
		name  string
		res   *stats.Result
		check func(t *testing.T, out string)
	}{
		{"open_stall", openStallResult(), func(t *testing.T, out string) {
			if f := strings.Fields(lineWith(out, "Latency")); len(f) != 3 || f[1] != "corrected" || f[2] != "service" {
				t.Errorf("latency header %q, want corrected and service columns", f)
			}
			// The stall shows in the corrected tail, not in the service time.
			if f := strings.Fields(lineWith(out, "p99 ")); len(f) != 3 || f[1] != "901ms" || f[2] != "1.78ms" {
				t.Errorf("p99 row %q, want corrected 901ms and service 1.78ms", f)
			}
			if f := strings.Fields(lineWith(out, "p95 ")); len(f) != 3 || f[1] != "501ms" {
				t.Errorf("p95 row %q, want corrected 501ms", f)
			}
			if !strings.Contains(out, "late sends 949 (9.49%)") || !strings.Contains(words(out), "Warning: 9.49% of requests were sent more than 1ms after") {
				t.Error("949 late sends not reported with a warning")
			}
			if l := lineWith(out, "Send lag"); !strings.Contains(l, "max 950ms") || !strings.Contains(l, "949 sends >1ms late") {
				t.Errorf("send lag line %q", l)
			}
			if strings.Contains(out, "coordinated") || strings.Contains(out, "INTERRUPTED") {
				t.Error("open-loop run shows the closed-loop note or the interrupted flag")
			}
			if !strings.Contains(out, "Corrected latency by percentile") {
				t.Error("no corrected-latency chart")
			}
			if l := lineWith(out, "2xx"); !strings.Contains(l, "10000") || !strings.Contains(l, "100.00%") || !strings.Contains(l, "200×10000") {
				t.Errorf("2xx row %q", l)
			}
		}},
		{"closed", closedResult(), func(t *testing.T, out string) {
			if !strings.Contains(words(out), "(coordinated omission)") {
				t.Error("closed-loop report lacks the coordinated-omission note")
			}
			if !strings.Contains(words(out), "Use --rate N") {
				t.Error("closed-loop note does not say how to measure corrected latency")
			}
			if f := strings.Fields(lineWith(out, "Latency")); len(f) != 2 || f[1] != "service" {
				t.Errorf("latency header %q, want a service column only", f)
			}
			if strings.Contains(out, "Send lag") || strings.Contains(out, "corrected") {
				t.Error("closed-loop report shows corrected latency or send lag")
			}
			if !strings.Contains(out, "closed loop (as fast as possible), 64 connections") {
				t.Error("mode line missing")
			}
			if l := lineWith(out, "3xx"); !strings.Contains(l, "304×4000") || !strings.Contains(l, "2.00%") {
				t.Errorf("3xx row %q, want 304×4000 at 2.00%%", l)
			}
			if !strings.Contains(out, "Service latency by percentile") {
				t.Error("no service-latency chart")
			}
		}},
		{"errors_interrupted", errorsResult(), func(t *testing.T, out string) {
			if !strings.Contains(out, "INTERRUPTED: partial results") {
				t.Error("interrupted run not flagged")
			}
			res := errorsResult()
			for _, k := range []string{"timeout", "refused", "reset"} {
				l := lineWith(out, k+" ")
				n := strconv.FormatInt(res.Errors[k], 10)
				if l == "" || !strings.Contains(l, " "+n+" ") {
					t.Errorf("error row for %s is %q, want count %s", k, l, n)
				}
			}
			// A long message wraps under its column, whole: the cause is at
			// its end ("i/o timeout", "unknown authority").
			if l := lineWith(out, "timeout "); !strings.Contains(l, `Post "https://api`) || !strings.Contains(out, "\n"+strings.Repeat(" ", 33)) ||
				!strings.Contains(strings.Join(strings.Fields(out), " "), "10.0.0.2:53412->10.0.0.9:443: i/o timeout") {
				t.Errorf("long timeout message not wrapped whole under its column: %q", l)
			}
			if l := lineWith(out, "reset "); !strings.Contains(l, "peer (after") {
				t.Errorf("reset message keeps its newline: %q", l)
			}
			if strings.Contains(out, "dns") {
				t.Error("error kinds that did not occur are listed")
			}
			if l := lineWith(out, "5xx"); !strings.Contains(l, "500×") || !strings.Contains(l, "503×") {
				t.Errorf("5xx row %q lacks its codes", l)
			}
			rq := res.Requests
			want := "Responses  " + strconv.FormatInt(rq.Completed, 10) + "   errors " + strconv.FormatInt(rq.Errors, 10)
			if !strings.Contains(out, want) {
				t.Errorf("responses line lacks %q", want)
			}
		}},
		{"empty", emptyResult(), func(t *testing.T, out string) {
			if !strings.Contains(out, "(no responses)") || !strings.Contains(out, "INTERRUPTED") {
				t.Error("empty run not reported as such")
			}
			if strings.Contains(out, "by percentile") || strings.Contains(out, "Errors ") {
				t.Error("empty run shows a chart or an error table")
			}
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			out := render(t, c.res)
			checkWidth(t, out)
			// Sections are set apart by a blank line; the status table
			// must not run into the latency table or the note above it.
			lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
			for i, l := range lines {
				if strings.HasPrefix(l, "  Status ") && (i == 0 || lines[i-1] != "") {
					t.Errorf("no blank line before the status table, after %q", lines[i-1])
				}
				if i > 0 && l == "" && lines[i-1] == "" {
					t.Errorf("two blank lines in a row at line %d", i+1)
				}
			}
			c.check(t, out)
			golden := filepath.Join("testdata", c.name+".golden")
			if *update {
				if err := os.WriteFile(golden, []byte(out), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./report -update to create it)", err)
			}
			if out != string(want) {
				t.Errorf("report differs from %s (go test ./report -update rewrites it)\n--- got:\n%s\n--- want:\n%s", golden, out, want)
			}
		})
	}
}

// TestTextSaturated checks the saturation line and that large counts keep
// the report within 80 columns.
func TestTextSaturated(t *testing.T) {
	r := openStallResult()
	r.Saturated = 3
	out := render(t, r)
	checkWidth(t, out)
	if !strings.Contains(out, "3 latencies exceeded 1h and were recorded as 1h.") {
		t.Error("saturation not reported")
	}
	if strings.Contains(render(t, openStallResult()), "exceeded 1h") {
		t.Error("saturation reported for a run without it")
	}

	// An hour at 300k req/s of an overloaded target: a billion requests,
	// many errors and late sends.
	big := errorsResult()
	big.Requests = stats.Requests{Total: 1_080_000_000, Completed: 980_000_000, Errors: 300_000_000, Late: 600_000_000}
	big.Rate = stats.Rate{Target: 300_000, Achieved: 299_999.9}
	big.Errors["timeout"] = 100_000_000
	big.Status["2xx"] = 780_000_000
	big.Status["5xx"] = 200_000_000
	big.Codes = map[string]int64{"200": 780_000_000, "500": 100_000_000, "503": 100_000_000}
	big.Bytes = stats.Bytes{In: 1 << 50, Out: 1 << 50}
	out = render(t, big)
	checkWidth(t, out)
	if !strings.Contains(words(out), "errors 300000000 (27.78%) late sends 600000000 (55.56%)") {
		t.Errorf("responses line lost its counts:\n%s", out)
	}
}

type failWriter struct{ n int }

func (w *failWriter) Write(p []byte) (int, error) {
	if w.n--; w.n < 0 {
		return 0, os.ErrClosed
	}
	return len(p), nil
}

func TestTextWriteError(t *testing.T) {
	if err := Text(&failWriter{n: 3}, openStallResult()); err == nil {
		t.Error("Text hid a write error")
	}
}
