package report

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image/png"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"volley/stats"
)

// syntheticResult builds a 10 s open-loop result through the real
// collector: 200 req/s ramping to 400, log-normal-ish latencies around 2 ms,
// a 500 ms stall at 4 s, 3% 500s and a few transport errors, and a warm-up.
func syntheticResult(t testing.TB) *stats.Result {
	t.Helper()
	col := stats.NewCollector()
	rec := col.NewRecorder(1 << 16)
	start := time.Unix(1_700_000_000, 0)
	col.Start(start)
	const secs = 10
	n := 0
	for s := 0; s < secs; s++ {
		rate := 200 + 20*s
		for k := 0; k < rate; k++ {
			due := int64(s)*1e9 + int64(k)*1e9/int64(rate)
			lat := int64(2e6 * math.Exp(0.5*math.Sin(float64(n)*1.7)))
			if due >= 4e9 && due < 4.5e9 {
				lat += 4.5e9 - due // held until the stall ends
			}
			sm := stats.Sample{Done: due + lat, Corrected: lat, Service: lat - lat/4, Code: 200, BytesIn: 100}
			switch {
			case n%33 == 0:
				sm.Code = 500
			case n%401 == 0:
				sm.Code, sm.Err = 0, stats.ErrTimeout
			}
			rec.Record(sm)
			n++
		}
	}
	rec.Record(stats.Sample{Done: -1e6, Corrected: 1e6, Service: 1e6, Code: 200, Warmup: true})
	if n > 1<<16 {
		t.Fatalf("%d samples overflow the recorder", n)
	}
	meta := stats.Meta{
		Target:  stats.Target{URL: "http://127.0.0.1:8080/<script>alert(1)</script>", Method: "GET"},
		Started: start, Rate: 290, Connections: 20, Warmup: time.Second,
		Shape: &stats.Shape{Unit: "req/s", Stages: []stats.Stage{{DurationS: 10, From: 200, To: 380}}},
	}
	return col.Result(meta, secs*time.Second, 12345)
}

// failedResult is a closed-loop run in which every request was refused: no
// latency at all, only errors.
func failedResult(t testing.TB) *stats.Result {
	t.Helper()
	col := stats.NewCollector()
	rec := col.NewRecorder(4096)
	col.Start(time.Unix(1_700_000_000, 0))
	for i := range 3000 {
		rec.Record(stats.Sample{Done: int64(i) * 1e6, Corrected: 1e5, Service: 1e5, Err: stats.ErrRefused})
	}
	return col.Result(stats.Meta{Target: stats.Target{URL: "http://127.0.0.1:1/", Method: "GET"}, Connections: 4}, 3*time.Second, 0)
}

func renderHTML(t testing.TB, r *stats.Result) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := HTML(&buf, r); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestHTMLSelfContained: the page loads nothing from anywhere (no external
// script, style, image or font), embeds the charting library and its data,
// and escapes what came from the user.
func TestHTMLSelfContained(t *testing.T) {
	r := syntheticResult(t)
	page := string(renderHTML(t, r))
	for _, bad := range []*regexp.Regexp{
		regexp.MustCompile(`(?i)<(script|img|iframe|link)[^>]*\b(src|href)\s*=`),
		regexp.MustCompile(`(?i)@import`),
		regexp.MustCompile(`(?i)url\(\s*['"]?(https?:)?//`),
	} {
		if m := bad.FindString(page); m != "" {
			t.Errorf("page references an external resource: %q", m)
		}
	}
	if !strings.Contains(page, "uPlot") || !strings.Contains(page, "const VOLLEY = {") {
		t.Errorf("page lacks the embedded chart library or its data")
	}
	if strings.Contains(page, "<script>alert(1)") {
		t.Errorf("the target URL was not escaped")
	}
	// The inline data holds the series and the spectrum.
	m := regexp.MustCompile(`const VOLLEY = (\{.*?\});\s*</script>`).FindStringSubmatch(page)
	if m == nil {
		t.Fatal("no inline data")
	}
	var d htmlData
	if err := json.Unmarshal([]byte(m[1]), &d); err != nil {
		t.Fatalf("inline data: %v", err)
	}
	// The result has 10 whole seconds and a few milliseconds of responses
	// after the window; the charts fold those into the last second instead
	// of showing a spike of their rate.
	if n := len(r.Series); n != 11 || r.Series[10].Dur > 0.1 {
		t.Fatalf("result series: %d points, want 10 s and a short tail", n)
	}
	if len(d.T) != 10 || len(d.Target) != 10 || len(d.RPS) != 10 || len(d.P99) != 10 {
		t.Fatalf("chart series of %d points (target %d, rps %d, p99 %d), want 10",
			len(d.T), len(d.Target), len(d.RPS), len(d.P99))
	}
	if got := d.RPS[9]; got < 370 || got > 400 {
		t.Errorf("last second's rate %.1f, want about 380 (the tail folded in, no spike)", got)
	}
	// The stage ramps from 200 to 380 over 10 s: second 4.5 asks 281 req/s.
	if got := d.Target[4]; math.Abs(got-281) > 1e-9 {
		t.Errorf("target of point 5 = %v, want 281", got)
	}
	if d.Classes["5xx"] == nil || d.Classes["error"] == nil || d.Classes["3xx"] != nil {
		t.Errorf("classes %v: want 2xx, 5xx and error only", keys(d.Classes))
	}
	// The spectrum's last point is the maximum, about 502 ms (the stall).
	last := d.SpecCorrected[len(d.SpecCorrected)-1]
	if math.Abs(last-r.Latency.Corrected.Max) > 1e-9 || last < 490 {
		t.Errorf("spectrum ends at %v ms, want the max %v", last, r.Latency.Corrected.Max)
	}
	for i := 1; i < len(d.SpecX); i++ {
		if d.SpecX[i] <= d.SpecX[i-1] || d.SpecCorrected[i] < d.SpecCorrected[i-1] {
			t.Fatalf("spectrum not increasing at %d: x %v→%v, y %v→%v", i, d.SpecX[i-1], d.SpecX[i], d.SpecCorrected[i-1], d.SpecCorrected[i])
		}
	}
	if !strings.Contains(page, "warm-up 1.00s: 1 requests") {
		t.Errorf("page does not report the warm-up")
	}
	if _, ok := Formats()["html"]; !ok {
		t.Errorf(`Formats() has no "html"`)
	}
}

func keys(m map[string][]float64) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// chromium returns the path of a Chromium binary, or "".
func chromium() string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// browse loads file in headless Chromium and returns the DOM after the
// scripts ran and everything the page logged to its console.
func browse(t *testing.T, bin, file string, extra ...string) (dom, console string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	args := []string{
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
		"--disable-component-update", "--disable-sync", "--no-first-run", "--hide-scrollbars",
		"--user-data-dir=" + t.TempDir(), "--enable-logging=stderr", "--v=0",
		"--virtual-time-budget=5000",
	}
	args = append(append(args, extra...), "file://"+file)
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium: %v\n%s", err, stderr.String())
	}
	var lines []string
	for _, l := range strings.Split(stderr.String(), "\n") {
		// Every console message the page writes, whatever its level, is
		// logged as CONSOLE; the report writes none unless something failed.
		if strings.Contains(l, ":CONSOLE") {
			lines = append(lines, l)
		}
	}
	return stdout.String(), strings.Join(lines, "\n")
}

// chartsDrawn checks the DOM for the marks report.js sets once uPlot has
// drawn each chart; it returns what is missing.
func chartsDrawn(dom string, withData bool) []string {
	var missing []string
	if !regexp.MustCompile(`<body[^>]*\bdata-charts="4"`).MatchString(dom) {
		missing = append(missing, `body[data-charts="4"]`)
	}
	if m := regexp.MustCompile(`data-error="([^"]*)"`).FindStringSubmatch(dom); m != nil {
		missing = append(missing, "no error (got "+m[1]+")")
	}
	for _, id := range []string{"chart-latency", "chart-rps", "chart-status", "chart-spectrum"} {
		points := "[0-9]+"
		if withData {
			points = "[1-9][0-9]*"
		}
		re := regexp.MustCompile(`<div class="chart" id="` + id + `" data-drawn="1" data-points="` + points + `"><div class="uplot[^"]*"`)
		if !re.MatchString(dom) {
			missing = append(missing, id+" drawn with data")
		}
	}
	if n := strings.Count(dom, "<canvas"); n < 4 {
		missing = append(missing, fmt.Sprintf("4 canvases (found %d)", n))
	}
	return missing
}

// TestHTMLInChromium opens the report in headless Chromium: no console
// output (so no errors), all four charts drawn with data, and a screenshot
// that is not blank. Set VOLLEY_SCREENSHOT_DIR to keep the screenshots.
func TestHTMLInChromium(t *testing.T) {
	bin := chromium()
	if bin == "" {
		t.Skip("chromium not found (Debian: apt-get install chromium); skipping the browser test of the HTML report")
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "report.html")
	if err := os.WriteFile(file, renderHTML(t, syntheticResult(t)), 0o644); err != nil {
		t.Fatal(err)
	}
	dom, console := browse(t, bin, file, "--dump-dom")
	if console != "" {
		t.Errorf("the page wrote to the console:\n%s", console)
	}
	if missing := chartsDrawn(dom, true); len(missing) > 0 {
		t.Errorf("charts did not draw: missing %s", strings.Join(missing, ", "))
	}
	// A run with no response at all still gives a page that draws (empty
	// latency charts, the errors over time) without a script error.
	failed := filepath.Join(dir, "failed.html")
	if err := os.WriteFile(failed, renderHTML(t, failedResult(t)), 0o644); err != nil {
		t.Fatal(err)
	}
	dom, console = browse(t, bin, failed, "--dump-dom")
	if console != "" {
		t.Errorf("the all-errors page wrote to the console:\n%s", console)
	}
	if missing := chartsDrawn(dom, false); len(missing) > 0 {
		t.Errorf("all-errors page: charts did not draw: missing %s", strings.Join(missing, ", "))
	}

	shots := dir
	if d := os.Getenv("VOLLEY_SCREENSHOT_DIR"); d != "" {
		shots = d
	}
	for _, mode := range []struct {
		name  string
		extra []string
	}{{"light", nil}, {"dark", []string{"--force-dark-mode"}}} {
		png := filepath.Join(shots, "report-"+mode.name+".png")
		args := append([]string{"--window-size=1280,2400", "--screenshot=" + png}, mode.extra...)
		browse(t, bin, file, args...)
		checkScreenshot(t, png)
		t.Logf("screenshot (%s theme): %s", mode.name, png)
	}
}

// checkScreenshot decodes a PNG and checks that it is the size asked for and
// not blank: charts and text give it many colours.
func checkScreenshot(t *testing.T, path string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("screenshot %s: %v", path, err)
	}
	b := img.Bounds()
	if b.Dx() != 1280 || b.Dy() != 2400 {
		t.Errorf("screenshot %dx%d, want 1280x2400", b.Dx(), b.Dy())
	}
	colors := map[uint32]bool{}
	for y := b.Min.Y; y < b.Max.Y; y += 3 {
		for x := b.Min.X; x < b.Max.X; x += 3 {
			r, g, bl, _ := img.At(x, y).RGBA()
			colors[(r>>8)<<16|(g>>8)<<8|bl>>8] = true
		}
	}
	if len(colors) < 200 {
		t.Errorf("screenshot %s has %d colours: looks blank", path, len(colors))
	}
}

// TestChromiumCheckCatchesBrokenPage is the negative control: a page whose
// script fails must be caught by the same checks.
func TestChromiumCheckCatchesBrokenPage(t *testing.T) {
	bin := chromium()
	if bin == "" {
		t.Skip("chromium not found (Debian: apt-get install chromium); skipping the browser test of the HTML report")
	}
	page := renderHTML(t, syntheticResult(t))
	// Break the data the charts read: the script throws on it.
	broken := bytes.Replace(page, []byte(`const VOLLEY = {`), []byte(`const VOLLEY = null && {`), 1)
	if bytes.Equal(broken, page) {
		t.Fatal("could not break the page")
	}
	file := filepath.Join(t.TempDir(), "broken.html")
	if err := os.WriteFile(file, broken, 0o644); err != nil {
		t.Fatal(err)
	}
	dom, console := browse(t, bin, file, "--dump-dom")
	if console == "" {
		t.Errorf("a failing script left no console message")
	}
	if len(chartsDrawn(dom, true)) == 0 {
		t.Errorf("a page whose script failed passed the drawn-charts check")
	}
}

// TestHTMLShowsThresholdsAndTargets: the page's summary carries the
// thresholds with pass/fail and the per-target breakdown.
func TestHTMLShowsThresholdsAndTargets(t *testing.T) {
	r := syntheticResult(t)
	r.Thresholds = []stats.Outcome{{Threshold: "p99<1ms", Pass: false, Message: "p99 = 12.5 ms, want < 1 ms"}}
	r.Targets = map[string]*stats.TargetResult{
		"home":  {Requests: stats.Requests{Total: 700, Completed: 700}},
		"login": {Requests: stats.Requests{Total: 300, Completed: 300}},
	}
	page := string(renderHTML(t, r))
	for _, want := range []string{"p99&lt;1ms", "FAIL", "home", "login"} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
}
