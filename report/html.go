package report

import (
	"bytes"
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"math"
	"sort"
	"strings"

	hdr "github.com/HdrHistogram/hdrhistogram-go"

	"volley/stats"
)

// The charting library, embedded unmodified (see assets/uplot/README.md),
// and the report's own script and style.
var (
	//go:embed assets/uplot/uPlot.iife.min.js
	uplotJS string
	//go:embed assets/uplot/uPlot.min.css
	uplotCSS string
	//go:embed assets/report.js
	reportJS string
	//go:embed assets/report.css
	reportCSS string
	//go:embed assets/report.html.tmpl
	reportTmpl string
)

// HTML writes the result as one self-contained HTML page: charts of latency,
// throughput and status classes over time and of the percentile spectrum,
// and the text report's tables. Scripts, styles and data are inline; the
// page needs no network to open.
func HTML(w io.Writer, r *stats.Result) error {
	t, err := template.New("report").Funcs(template.FuncMap{
		"dur": Duration, "num": num, "pct": pct, "bytes": Bytes,
		"mul1000": func(s float64) float64 { return s * 1e3 },
	}).Parse(reportTmpl)
	if err != nil {
		return fmt.Errorf("html template: %w", err)
	}
	var text bytes.Buffer
	if err := TextWithThresholds(&text, r); err != nil {
		return err
	}
	page := htmlPage{
		R:         r,
		Title:     r.Target.Method + " " + r.Target.URL,
		Open:      r.Mode == "open",
		Data:      chartData(r),
		Text:      text.String(),
		UplotJS:   template.JS(uplotJS),
		UplotCSS:  template.CSS(uplotCSS),
		ReportJS:  template.JS(reportJS),
		ReportCSS: template.CSS(reportCSS),
	}
	page.Latency = latencyRows(r)
	page.Codes = codeRows(r)
	page.Errors = errorRows(r)
	if r.Shape != nil && len(r.Shape.Stages) > 0 {
		page.Stages = StagesText(r.Shape)
	}
	var buf bytes.Buffer
	if err := t.Execute(&buf, page); err != nil {
		return fmt.Errorf("html template: %w", err)
	}
	_, err = w.Write(buf.Bytes())
	return err
}

// htmlPage is what the template renders.
type htmlPage struct {
	R         *stats.Result
	Title     string
	Open      bool
	Stages    string
	Data      htmlData
	Text      string
	Latency   []latencyRow
	Codes     []codeRow
	Errors    []errorRow
	UplotJS   template.JS
	UplotCSS  template.CSS
	ReportJS  template.JS
	ReportCSS template.CSS
}

type latencyRow struct {
	Name               string
	Corrected, Service string
}

type codeRow struct {
	Code  string
	Count int64
	Share string
}

type errorRow struct {
	Kind, Message string
	Count         int64
	Share         string
}

// htmlData is the charts' data, inlined as JSON. Latencies are in
// milliseconds; a null is an interval without responses.
type htmlData struct {
	Open bool `json:"open"`
	// Series: one entry per point, at the middle of its interval (seconds).
	T          []float64  `json:"t"`
	P50        []*float64 `json:"p50"`
	P90        []*float64 `json:"p90"`
	P99        []*float64 `json:"p99"`
	Max        []*float64 `json:"max"`
	ServiceP99 []*float64 `json:"service_p99"`
	RPS        []float64  `json:"rps"`
	// Target is the asked rate (req/s) or connection count per point, in
	// TargetUnit; nil when there is none to show.
	Target     []float64 `json:"target"`
	TargetUnit string    `json:"target_unit"`
	// Classes: answers per second by class ("2xx", …, "answered", "error").
	Classes map[string][]float64 `json:"classes"`
	// Spectrum: x = 1/(1-q) for quantile q, latency at q.
	SpecX         []float64 `json:"spec_x"`
	SpecCorrected []float64 `json:"spec_corrected"`
	SpecService   []float64 `json:"spec_service"`
}

func msPtr(v float64, ok bool) *float64 {
	if !ok {
		return nil
	}
	return &v
}

// chartData turns the result into the charts' series.
func chartData(r *stats.Result) htmlData {
	d := htmlData{Open: r.Mode == "open", Classes: map[string][]float64{}}
	// Answered messages (a run of messages) have no status class.
	classes := []string{"1xx", "2xx", "3xx", "4xx", "5xx", "answered", "error"}
	answers := classes[:6]
	seen := map[string]bool{"2xx": r.Messages == nil}
	hasTarget := r.Rate.Target > 0 || (r.Shape != nil && len(r.Shape.Stages) > 0)
	if hasTarget {
		d.TargetUnit = "req/s"
		if r.Shape != nil && r.Shape.Unit == "connections" {
			d.TargetUnit = "connections"
		}
	}
	series := r.Series
	if n := len(series); n >= 2 && series[n-1].Dur < series[n-2].Dur/2 {
		// A last interval much shorter than the others (responses that
		// completed just after the sending window) would show as a spike
		// of its rate: fold it into the one before.
		series = append(append([]stats.Point(nil), series[:n-2]...), stats.MergePoints(series[n-2], series[n-1]))
	}
	d.T, d.RPS = []float64{}, []float64{}
	for _, p := range series {
		d.T = append(d.T, p.T+p.Dur/2)
		responses := int64(0)
		for _, c := range answers {
			responses += p.Status[c]
		}
		ok := responses > 0
		d.P50 = append(d.P50, msPtr(p.P50, ok))
		d.P90 = append(d.P90, msPtr(p.P90, ok))
		d.P99 = append(d.P99, msPtr(p.P99, ok))
		d.Max = append(d.Max, msPtr(p.Max, ok))
		d.ServiceP99 = append(d.ServiceP99, msPtr(p.ServiceP99, ok))
		d.RPS = append(d.RPS, p.RPS)
		if hasTarget {
			v := r.Rate.Target
			if r.Shape != nil && len(r.Shape.Stages) > 0 {
				v = r.Shape.MeanTarget(p.T, p.T+p.Dur)
			}
			d.Target = append(d.Target, v)
		}
		per := func(n int64) float64 {
			if p.Dur <= 0 {
				return 0
			}
			return float64(n) / p.Dur
		}
		for _, c := range answers {
			d.Classes[c] = append(d.Classes[c], per(p.Status[c]))
			if p.Status[c] > 0 {
				seen[c] = true
			}
		}
		transport := p.Requests - responses
		d.Classes["error"] = append(d.Classes["error"], per(transport))
		if transport > 0 {
			seen["error"] = true
		}
	}
	for _, c := range classes {
		if !seen[c] {
			delete(d.Classes, c)
		}
	}
	cor, svc := r.Histograms["corrected"].Histogram, r.Histograms["service"].Histogram
	d.SpecX, d.SpecCorrected = spectrum(cor, nil)
	_, d.SpecService = spectrum(svc, d.SpecX)
	if d.SpecX == nil {
		d.SpecX = []float64{}
	}
	return d
}

// spectrum samples h at quantiles q = 1 - 1/x for x from 1 up to the count,
// 40 points per decade of x (that is, per "nine"), ending with the maximum.
// With xs given it samples those instead.
func spectrum(h *hdr.Histogram, xs []float64) ([]float64, []float64) {
	if h == nil || h.TotalCount() == 0 {
		return xs, nil
	}
	n := float64(h.TotalCount())
	if xs == nil {
		for k := 0; ; k++ {
			x := math.Pow(10, float64(k)/40)
			if x >= n {
				break
			}
			xs = append(xs, x)
		}
		xs = append(xs, max(n, 1.0001))
	}
	ys := make([]float64, len(xs))
	for i, x := range xs {
		if i == len(xs)-1 {
			ys[i] = stats.Quantile(h, 100)
			continue
		}
		ys[i] = stats.Quantile(h, 100*(1-1/x))
	}
	return xs, ys
}

func latencyRows(r *stats.Result) []latencyRow {
	c, s := r.Latency.Corrected, r.Latency.Service
	rows := []struct {
		name string
		c, s float64
	}{
		{"p50", c.P50, s.P50}, {"p75", c.P75, s.P75}, {"p90", c.P90, s.P90}, {"p95", c.P95, s.P95},
		{"p99", c.P99, s.P99}, {"p99.9", c.P999, s.P999}, {"p99.99", c.P9999, s.P9999},
		{"max", c.Max, s.Max}, {"mean", c.Mean, s.Mean}, {"stdev", c.Stdev, s.Stdev},
	}
	out := make([]latencyRow, len(rows))
	for i, row := range rows {
		out[i] = latencyRow{row.name, Duration(row.c), Duration(row.s)}
	}
	return out
}

func codeRows(r *stats.Result) []codeRow {
	codes := make([]string, 0, len(r.Codes))
	for c := range r.Codes {
		codes = append(codes, c)
	}
	sort.Strings(codes)
	out := make([]codeRow, 0, len(codes))
	for _, c := range codes {
		out = append(out, codeRow{c, r.Codes[c], pct(r.Codes[c], r.Requests.Total)})
	}
	return out
}

func errorRows(r *stats.Result) []errorRow {
	var out []errorRow
	for _, k := range stats.ErrorKinds() {
		if n := r.Errors[k.String()]; n > 0 {
			out = append(out, errorRow{k.String(), strings.TrimSpace(r.ErrorSamples[k.String()]), n, pct(n, r.Requests.Total)})
		}
	}
	return out
}
