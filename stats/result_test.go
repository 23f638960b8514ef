package stats

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
)

// sampleResult builds a result with every field set: several classes,
// transport errors with messages, a saturated latency, a partial interval.
func sampleResult(t *testing.T) *Result {
	t.Helper()
	c := NewCollector()
	start := time.Date(2025, 6, 1, 12, 0, 0, 123456789, time.FixedZone("CEST", 2*3600))
	c.Start(start)
	r := c.NewRecorder(128)
	codes := []uint16{200, 200, 200, 201, 301, 404, 500, 503, 101}
	for i := range 3000 {
		d := time.Duration(i) * time.Millisecond
		s := Sample{
			Done:      int64(d),
			Corrected: int64(1+i%250) * 137_000,
			Service:   int64(1+i%200) * 101_000,
			BytesIn:   int64(100 + i%7),
			Code:      codes[i%len(codes)],
		}
		if i%97 == 0 {
			s.Code, s.Err = 0, ErrTimeout
			r.NoteError(ErrTimeout, func() string { return "read tcp 127.0.0.1:5555: i/o timeout" })
		}
		if i%211 == 0 {
			s.Code, s.Err = 0, ErrRefused
			r.NoteError(ErrRefused, func() string { return "dial tcp 127.0.0.1:1: connect: connection refused" })
		}
		if i == 1234 {
			s.Corrected = 2 * int64(time.Hour)
		}
		r.Record(s)
		if i%100 == 0 {
			c.Drain(start.Add(d))
		}
	}
	res := c.Result(Meta{
		Target:  Target{URL: "http://127.0.0.1:8080/x?y=1", Method: "POST"},
		Started: start, Rate: 1000, Connections: 16, Interrupted: true,
	}, 2500*time.Millisecond, 123456)
	if res.Saturated != 1 || len(res.ErrorSamples) != 2 || len(res.Series) != 3 {
		t.Fatalf("fixture: saturated %d, samples %v, %d points", res.Saturated, res.ErrorSamples, len(res.Series))
	}
	return res
}

// stripHists returns a copy of r without histograms, for comparing the rest.
func stripHists(r *Result) Result {
	c := *r
	c.Histograms = nil
	c.Series = make([]Point, len(r.Series))
	for i, p := range r.Series {
		p.Hist = ""
		p.Classes = nil
		c.Series[i] = p
	}
	return c
}

func checkSameHist(t *testing.T, name string, got, want *hdr.Histogram) {
	t.Helper()
	if (got == nil) != (want == nil) {
		t.Errorf("%s: histogram %v, want %v", name, got, want)
		return
	}
	if got == nil {
		return
	}
	if !got.Equals(want) {
		t.Errorf("%s: decoded histogram differs (count %d, want %d)", name, got.TotalCount(), want.TotalCount())
	}
	for _, q := range []float64{0, 50, 90, 99, 99.9, 100} {
		if g, w := got.ValueAtQuantile(q), want.ValueAtQuantile(q); g != w {
			t.Errorf("%s: p%v = %d, want %d", name, q, g, w)
		}
	}
	if Summarize(got) != Summarize(want) {
		t.Errorf("%s: summary %+v, want %+v", name, Summarize(got), Summarize(want))
	}
}

func TestResultJSONRoundTrip(t *testing.T) {
	want := sampleResult(t)
	var buf bytes.Buffer
	if err := want.WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	got, err := ReadResult(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatalf("ReadResult: %v", err)
	}
	if !got.Started.Equal(want.Started) || got.Started.Location() != time.UTC {
		t.Errorf("Started = %v, want %v in UTC", got.Started, want.Started)
	}
	filled := *want
	filled.fill() // what WriteJSON writes for what want leaves nil
	gs, ws := stripHists(got), stripHists(&filled)
	gs.Started, ws.Started = time.Time{}, time.Time{}
	if !reflect.DeepEqual(gs, ws) {
		gj, _ := json.Marshal(gs)
		wj, _ := json.Marshal(ws)
		t.Errorf("round trip changed the result:\n got %s\nwant %s", gj, wj)
	}
	if len(got.Histograms) != len(want.Histograms) {
		t.Errorf("%d histograms, want %d", len(got.Histograms), len(want.Histograms))
	}
	for _, k := range []string{"corrected", "service", "send_lag", "corrected.2xx", "service.5xx", "corrected.error", "service.error", "corrected.1xx"} {
		if _, ok := want.Histograms[k]; !ok {
			t.Errorf("result lacks histogram %q", k)
		}
	}
	for k, h := range want.Histograms {
		checkSameHist(t, "histogram "+k, got.Histograms[k].Histogram, h.Histogram)
	}
	for i, p := range want.Series {
		checkSameHist(t, "point hist", dec(t, got.Series[i].Hist), dec(t, p.Hist))
		if len(got.Series[i].Classes) != len(p.Classes) {
			t.Errorf("point %d: %d class histograms, want %d", i, len(got.Series[i].Classes), len(p.Classes))
		}
		for k, h := range p.Classes {
			checkSameHist(t, "point class "+k, dec(t, got.Series[i].Classes[k]), dec(t, h))
		}
	}
	// Writing the decoded result again gives the same bytes.
	var again bytes.Buffer
	if err := got.WriteJSON(&again); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(again.Bytes(), buf.Bytes()) {
		t.Error("re-encoding a decoded result changes its bytes")
	}
}

func TestResultJSONFields(t *testing.T) {
	res := sampleResult(t)
	var buf bytes.Buffer
	if err := res.WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(buf.Bytes(), &m); err != nil {
		t.Fatal(err)
	}
	if m["schema"] != Schema || m["mode"] != "open" || m["interrupted"] != true || m["saturated"] != 1.0 {
		t.Errorf("schema %v mode %v interrupted %v saturated %v", m["schema"], m["mode"], m["interrupted"], m["saturated"])
	}
	for _, k := range []string{"target", "started", "duration_s", "connections", "rate", "requests", "status", "codes", "errors", "error_samples", "latency", "send_lag", "bytes", "series", "histograms"} {
		if _, ok := m[k]; !ok {
			t.Errorf("JSON lacks %q", k)
		}
	}
	if s, ok := m["histograms"].(map[string]any)["corrected"].(string); !ok || !strings.HasPrefix(s, "HIST") {
		t.Errorf("corrected histogram is %v, want base64 V2 (HIST...)", s)
	}
}

func TestReadResultErrors(t *testing.T) {
	res := sampleResult(t)
	var buf bytes.Buffer
	if err := res.WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	other := strings.Replace(buf.String(), `"schema": "volley.result/v2"`, `"schema": "volley.result/v9"`, 1)
	if other == buf.String() {
		t.Fatal("fixture: schema field not found")
	}
	_, err := ReadResult(strings.NewReader(other))
	if err == nil || !strings.Contains(err.Error(), "volley.result/v9") {
		t.Errorf("other schema: error %v, want one naming the schema", err)
	}
	if _, err := ReadResult(strings.NewReader(`{"requests": {"total": 3}}`)); err == nil {
		t.Error("a result without schema was accepted")
	}
	if _, err := ReadResult(strings.NewReader(`{"schema": "volley.result/v1", "histograms": {"corrected": "HISTbad"}}`)); err == nil {
		t.Error("a corrupt histogram was accepted")
	}
	if _, err := ReadResult(strings.NewReader(`not json`)); err == nil {
		t.Error("garbage was accepted")
	}
}

func TestErrorRate(t *testing.T) {
	if r := (&Result{}).ErrorRate(); r != 0 {
		t.Errorf("empty ErrorRate = %v", r)
	}
	r := &Result{Requests: Requests{Total: 200, Errors: 5}}
	if got := r.ErrorRate(); got != 0.025 {
		t.Errorf("ErrorRate = %v, want 0.025", got)
	}
}

// TestReadResultV1: a file of the first schema, whose absent keys meant
// zero, reads as the current schema with those keys filled in, so that
// report, compare and merge take files written before the change.
func TestReadResultV1(t *testing.T) {
	var buf bytes.Buffer
	if err := sampleResult(t).WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(buf.Bytes(), &m); err != nil {
		t.Fatal(err)
	}
	m["schema"] = SchemaV1
	for _, k := range []string{"parts", "thresholds", "phases", "error_samples", "aborted", "seed"} {
		delete(m, k)
	}
	old, _ := json.Marshal(m)
	r, err := ReadResult(bytes.NewReader(old))
	if err != nil {
		t.Fatal(err)
	}
	if r.Schema != "volley.result/v2" || r.Parts != 1 || r.Thresholds == nil || r.Phases == nil || r.ErrorSamples == nil {
		t.Errorf("v1 read as schema %q, parts %d, thresholds %v, phases %v, samples %v; want v2, 1 and empty values",
			r.Schema, r.Parts, r.Thresholds, r.Phases, r.ErrorSamples)
	}
}
