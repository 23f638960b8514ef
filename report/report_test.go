package report

import (
	"bytes"
	"encoding/xml"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"

	"volley/stats"
)

var start = time.Date(2026, 3, 4, 5, 6, 7, 890_000_000, time.UTC)

// synthetic returns a deterministic 4.5 s open-loop result: log-normal
// latencies around 2 ms, a 300 ms stall in the third second, 2% 404s, 3%
// 500s and a few refused connections, and three thresholds (two pass).
func synthetic(t testing.TB) *stats.Result {
	t.Helper()
	rng := rand.New(rand.NewPCG(42, 42))
	col := stats.NewCollector()
	const n = 1800
	rec := col.NewRecorder(n)
	col.Start(start)
	for i := range n {
		due := int64(i) * int64(time.Second) / 400
		svc := int64(2e6 * math.Exp(0.5*rng.NormFloat64()))
		corrected := svc
		if due >= 2e9 && due < 2.3e9 {
			corrected += int64(2.3e9) - due
		}
		s := stats.Sample{Done: due + corrected, Corrected: corrected, Service: svc, BytesIn: 120, Code: 200}
		switch {
		case i%50 == 7:
			s.Code = 404
		case i%100 == 13, i%100 == 63, i%100 == 88:
			s.Code = 500
		case i%300 == 150:
			s.Code, s.Err, s.BytesIn = 0, stats.ErrRefused, 0
		}
		rec.Record(s)
	}
	res := col.Result(stats.Meta{
		Target:  stats.Target{URL: "http://127.0.0.1:8080/api", Method: "GET"},
		Started: start, Rate: 400, Connections: 20, Tick: time.Millisecond,
	}, 4500*time.Millisecond, 123456)
	res.Bytes.In = 216000
	res.ErrorSamples = map[string]string{"refused": "dial tcp 127.0.0.1:8080: connect: connection refused"}
	var ts []stats.Threshold
	for _, e := range []string{"p99<300ms", "error_rate<1%", "rps>=390"} {
		th, err := stats.ParseThreshold(e)
		if err != nil {
			t.Fatal(err)
		}
		ts = append(ts, th)
	}
	res.Thresholds, _ = stats.EvalAll(ts, res)
	return res
}

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./report -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		gl, wl := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
		for i := 0; i < len(gl) && i < len(wl); i++ {
			if gl[i] != wl[i] {
				t.Fatalf("%s differs at line %d:\n  got  %q\n  want %q\n(go test ./report -update rewrites it)", name, i+1, gl[i], wl[i])
			}
		}
		t.Fatalf("%s: %d lines, want %d (go test ./report -update rewrites it)", name, len(gl), len(wl))
	}
}

var goldenNames = map[string]string{
	"text": "result.txt", "json": "result.json", "md": "result.md", "hgrm": "result.hgrm",
	"hgrm-service": "result-service.hgrm", "hlog": "result.hlog", "csv": "result.csv", "junit": "result.xml",
}

// TestGolden renders the synthetic result in every format.
func TestGolden(t *testing.T) {
	res := synthetic(t)
	for _, f := range FormatList() {
		if f.Name == "html" {
			continue // the page embeds its charting library; html_test.go checks it in a browser
		}
		name, ok := goldenNames[f.Name]
		if !ok {
			t.Errorf("format %q has no golden file: add it to goldenNames", f.Name)
			continue
		}
		t.Run(f.Name, func(t *testing.T) {
			var b bytes.Buffer
			if err := Render(&b, f.Name, res); err != nil {
				t.Fatal(err)
			}
			golden(t, name, b.Bytes())
		})
	}
}

// TestJSONRoundTrip: a result read back renders the same in every format.
func TestJSONRoundTrip(t *testing.T) {
	res := synthetic(t)
	var b bytes.Buffer
	if err := res.WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	back, err := stats.ReadResult(&b)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range FormatList() {
		var x, y bytes.Buffer
		if err := Render(&x, f.Name, res); err != nil {
			t.Fatal(err)
		}
		if err := Render(&y, f.Name, back); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(x.Bytes(), y.Bytes()) {
			t.Errorf("%s: the result read back from JSON renders differently", f.Name)
		}
	}
}

// TestJUnitParses reads the JUnit output back.
func TestJUnitParses(t *testing.T) {
	res := synthetic(t)
	var b bytes.Buffer
	if err := JUnit(&b, res); err != nil {
		t.Fatal(err)
	}
	var doc JUnitSuites
	if err := xml.Unmarshal(b.Bytes(), &doc); err != nil {
		t.Fatalf("JUnit output does not parse: %v\n%s", err, b.String())
	}
	if doc.Tests != 3 || doc.Failures != 1 || len(doc.Suites) != 1 {
		t.Fatalf("tests %d failures %d suites %d, want 3, 1, 1", doc.Tests, doc.Failures, len(doc.Suites))
	}
	s := doc.Suites[0]
	if len(s.Cases) != 3 || s.Tests != 3 || s.Failures != 1 {
		t.Fatalf("suite: %d cases, tests %d, failures %d", len(s.Cases), s.Tests, s.Failures)
	}
	for i, c := range s.Cases {
		o := res.Thresholds[i]
		if c.Name != o.Threshold {
			t.Errorf("case %d named %q, want %q", i, c.Name, o.Threshold)
		}
		if (c.Failure != nil) == o.Pass {
			t.Errorf("case %q: failure %v, but the threshold passed=%v", c.Name, c.Failure, o.Pass)
		}
	}
	f := s.Cases[1].Failure
	if f == nil || !strings.HasPrefix(f.Message, "error_rate = ") || !strings.HasSuffix(f.Message, ", want < 1%") {
		t.Errorf("failure message %+v, want \"error_rate = N%%, want < 1%%\"", f)
	}
}

// TestJUnitMessageShape checks the message format the issue names.
func TestJUnitMessageShape(t *testing.T) {
	h := stats.NewHistogram()
	_ = h.RecordValues(312_000_000, 100)
	res := &stats.Result{Requests: stats.Requests{Total: 100}, Histograms: map[string]stats.Hist{"corrected": {Histogram: h}}}
	th, _ := stats.ParseThreshold("p99<250ms")
	res.Thresholds, _ = stats.EvalAll([]stats.Threshold{th}, res)
	var b bytes.Buffer
	if err := JUnit(&b, res); err != nil {
		t.Fatal(err)
	}
	var doc JUnitSuites
	if err := xml.Unmarshal(b.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if got := doc.Suites[0].Cases[0].Failure.Message; got != "p99 = 312.214 ms, want < 250 ms" {
		t.Errorf("message %q", got)
	}
}

// TestHlogDecodes reads the interval log back with hdrhistogram-go's log
// reader: the untagged intervals add up to the run's corrected histogram,
// each tag to its class's histogram, and the timestamps to the run's start
// plus each interval's offset.
func TestHlogDecodes(t *testing.T) {
	res := synthetic(t)
	var b bytes.Buffer
	if err := Hlog(&b, res); err != nil {
		t.Fatal(err)
	}
	rd := hdr.NewHistogramLogReader(&b)
	sums := map[string]*hdr.Histogram{}
	var untagged []*hdr.Histogram
	for {
		h, err := rd.NextIntervalHistogram()
		if err != nil {
			t.Fatal(err)
		}
		if h == nil {
			break
		}
		if sums[h.Tag()] == nil {
			sums[h.Tag()] = stats.NewHistogram()
		}
		sums[h.Tag()].Merge(h)
		if h.Tag() == "" {
			untagged = append(untagged, h)
		}
	}
	if len(untagged) != len(res.Series) {
		t.Fatalf("%d untagged intervals, want %d (one per series point)", len(untagged), len(res.Series))
	}
	for i, h := range untagged {
		p := res.Series[i]
		wantStart := start.UnixMilli() + int64(p.T*1000)
		if d := h.StartTimeMs() - wantStart; d < -1 || d > 1 {
			t.Errorf("interval %d starts at %d ms, want %d", i, h.StartTimeMs(), wantStart)
		}
		want, err := p.Hist.Decode()
		if err != nil {
			t.Fatal(err)
		}
		if !h.Equals(want) {
			t.Errorf("interval %d: histogram differs from the series point's", i)
		}
	}
	check := func(tag, key string) {
		got, want := sums[tag], res.Histograms[key].Histogram
		if got == nil || want == nil {
			t.Fatalf("tag %q / histogram %q missing", tag, key)
		}
		if got.TotalCount() != want.TotalCount() {
			t.Errorf("tag %q: %d values, want %d", tag, got.TotalCount(), want.TotalCount())
		}
		for _, q := range []float64{0, 50, 90, 99, 99.9, 100} {
			if g, w := got.ValueAtQuantile(q), want.ValueAtQuantile(q); g != w {
				t.Errorf("tag %q p%v: %d ns, want %d", tag, q, g, w)
			}
		}
	}
	check("", "corrected")
	check("2xx", "corrected.2xx")
	check("4xx", "corrected.4xx")
	check("5xx", "corrected.5xx")
	check("error", "corrected.error")
	var tags []string
	for k := range sums {
		tags = append(tags, k)
	}
	sort.Strings(tags)
	if strings.Join(tags, ",") != ",2xx,4xx,5xx,error" {
		t.Errorf("tags %v", tags)
	}
}

// TestHgrmMatchesLibrary: the rows carry the values, percentiles and counts
// of hdrhistogram-go's own percentile printer, laid out as Java's
// outputPercentileDistribution does.
func TestHgrmMatchesLibrary(t *testing.T) {
	res := synthetic(t)
	h := res.Histograms["corrected"].Histogram
	var ours, lib bytes.Buffer
	if err := WriteHgrm(&ours, h, HgrmScale); err != nil {
		t.Fatal(err)
	}
	if _, err := h.PercentilesPrint(&lib, 5, HgrmScale); err != nil {
		t.Fatal(err)
	}
	ol := strings.Split(strings.TrimRight(ours.String(), "\n"), "\n")
	ll := strings.Split(strings.TrimRight(lib.String(), "\n"), "\n")
	if len(ol) != len(ll) {
		t.Fatalf("%d lines, library prints %d", len(ol), len(ll))
	}
	if ol[0] != "       Value     Percentile TotalCount 1/(1-Percentile)" {
		t.Errorf("header %q", ol[0])
	}
	for i := 2; i < len(ol)-3; i++ {
		of, lf := strings.Fields(ol[i]), strings.Fields(ll[i])
		if of[0] != lf[0] || of[2] != lf[2] {
			t.Errorf("line %d: %q, library %q", i, ol[i], ll[i])
		}
	}
	for i := len(ol) - 3; i < len(ol); i++ {
		if ol[i] != ll[i] {
			t.Errorf("footer line %q, library %q", ol[i], ll[i])
		}
	}
	if !strings.HasSuffix(ol[len(ol)-4], " 1.000000000000       1800") && !strings.Contains(ol[len(ol)-4], "1.000000000000") {
		t.Errorf("last row %q, want the 100%% row without 1/(1-Percentile)", ol[len(ol)-4])
	}
}

func TestHgrmEmpty(t *testing.T) {
	var b bytes.Buffer
	if err := WriteHgrm(&b, stats.NewHistogram(), HgrmScale); err != nil {
		t.Fatal(err)
	}
	want := "       Value     Percentile TotalCount 1/(1-Percentile)\n\n" +
		"#[Mean    =        0.000, StdDeviation   =        0.000]\n" +
		"#[Max     =        0.000, Total count    =            0]\n" +
		"#[Buckets =           23, SubBuckets     =         2048]\n"
	if b.String() != want {
		t.Errorf("empty hgrm:\n%s\nwant:\n%s", b.String(), want)
	}
}

func TestAppendStepSummary(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "summary.md")
	env := func(k string) string {
		if k == "GITHUB_STEP_SUMMARY" {
			return path
		}
		return ""
	}
	if ok, err := AppendStepSummary(func(string) string { return "" }, []byte("x")); ok || err != nil {
		t.Fatalf("without the variable: wrote %v err %v", ok, err)
	}
	for range 2 {
		if ok, err := AppendStepSummary(env, []byte("# hello\n")); !ok || err != nil {
			t.Fatalf("append: %v %v", ok, err)
		}
	}
	if b, _ := os.ReadFile(path); string(b) != "# hello\n# hello\n" {
		t.Fatalf("summary %q", b)
	}
	big := bytes.Repeat([]byte("x"), StepSummaryLimit)
	if ok, _ := AppendStepSummary(env, big); !ok {
		t.Fatal("oversized summary: want a note appended")
	}
	b, _ := os.ReadFile(path)
	if len(b) >= StepSummaryLimit || !strings.Contains(string(b), "exceed 1 MiB") {
		t.Fatalf("oversized summary: file of %d bytes", len(b))
	}
}

// TestWriteFileWhole: outputs replace the file in one rename.
func TestOutputWriteFormats(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "r.xml")
	o, err := ParseOutput("junit=" + path)
	if err != nil {
		t.Fatal(err)
	}
	if err := o.Check(); err != nil {
		t.Fatal(err)
	}
	if err := o.Write(synthetic(t), io.Discard); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("directory holds %d entries, want only the output (no temporary files)", len(entries))
	}
	if _, err := ParseOutput("nope=x"); err == nil {
		t.Error("unknown format accepted")
	}
}

func TestCompareGolden(t *testing.T) {
	var base, cand []*stats.Result
	for i := range 5 {
		for _, side := range []struct {
			list   *[]*stats.Result
			median float64
		}{{&base, 2e6}, {&cand, 3e6}} {
			rng := rand.New(rand.NewPCG(uint64(i), uint64(side.median)))
			col := stats.NewCollector()
			rec := col.NewRecorder(1000)
			col.Start(start)
			for j := range 1000 {
				v := int64(side.median * math.Exp(0.4*rng.NormFloat64()))
				rec.Record(stats.Sample{Done: int64(j) * 5e6, Corrected: v, Service: v, Code: 200})
			}
			*side.list = append(*side.list, col.Result(stats.Meta{Started: start, Rate: 200, Connections: 4}, 5*time.Second, 0))
		}
	}
	c, err := stats.Compare(base, cand, 0.05)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := CompareText(&b, c, "base (5)", "new (5)"); err != nil {
		t.Fatal(err)
	}
	golden(t, "compare.txt", b.Bytes())
	b.Reset()
	if err := CompareMarkdown(&b, c, "base (5)", "new (5)", []string{"p99>+10%: p99 +50.00%"}); err != nil {
		t.Fatal(err)
	}
	golden(t, "compare.md", b.Bytes())
}

var _ = io.Discard
