package metrics

import (
	"compress/gzip"
	"context"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	colmetrics "go.opentelemetry.io/proto/otlp/collector/metrics/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	metricspb "go.opentelemetry.io/proto/otlp/metrics/v1"
	"google.golang.org/protobuf/proto"

	"volley/stats"
)

// otlpReceiver decodes each export with the OTLP protobuf types.
type otlpReceiver struct {
	mu   sync.Mutex
	reqs []*colmetrics.ExportMetricsServiceRequest
	auth []string
}

func (o *otlpReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var body io.Reader = r.Body
	if r.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		body = zr
	}
	b, _ := io.ReadAll(body)
	req := &colmetrics.ExportMetricsServiceRequest{}
	if err := proto.Unmarshal(b, req); err != nil || r.URL.Path != "/v1/metrics" {
		http.Error(w, "bad export", http.StatusBadRequest)
		return
	}
	o.mu.Lock()
	o.reqs = append(o.reqs, req)
	o.auth = append(o.auth, r.Header.Get("Authorization"))
	o.mu.Unlock()
	w.Header().Set("Content-Type", "application/x-protobuf")
	out, _ := proto.Marshal(&colmetrics.ExportMetricsServiceResponse{})
	_, _ = w.Write(out)
}

func (o *otlpReceiver) metrics(t *testing.T) map[string]*metricspb.Metric {
	t.Helper()
	o.mu.Lock()
	defer o.mu.Unlock()
	if len(o.reqs) == 0 {
		t.Fatal("nothing received")
	}
	out := map[string]*metricspb.Metric{}
	for _, rm := range o.reqs[len(o.reqs)-1].GetResourceMetrics() {
		for _, sm := range rm.GetScopeMetrics() {
			for _, m := range sm.GetMetrics() {
				out[m.GetName()] = m
			}
		}
	}
	return out
}

func attr(kv []*commonpb.KeyValue, key string) *commonpb.AnyValue {
	for _, a := range kv {
		if a.GetKey() == key {
			return a.GetValue()
		}
	}
	return nil
}

// expDecodedQuantile reads quantile q from a decoded exponential
// histogram: the upper bound of the bucket holding the rank.
func expDecodedQuantile(p *metricspb.ExponentialHistogramDataPoint, q float64) float64 {
	rank := q * float64(p.GetCount())
	var seen float64
	base := math.Exp2(math.Exp2(-float64(p.GetScale())))
	for i, c := range p.GetPositive().GetBucketCounts() {
		seen += float64(c)
		if seen >= rank {
			return math.Pow(base, float64(int(p.GetPositive().GetOffset())+i+1))
		}
	}
	return math.NaN()
}

func testFrame() *Frame {
	h := stats.NewHistogram()
	for v := int64(1); v <= 1000; v++ {
		_ = h.RecordValue(v * 1_000_000) // 1..1000 ms
	}
	start := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	return &Frame{Time: start.Add(5 * time.Second), Start: start, Labels: map[string]string{"run": "r1"},
		Totals: stats.Totals{Requests: 1003, Status: map[string]int64{"2xx": 990, "5xx": 10, "error": 3},
			Codes: map[string]int64{"200": 990, "503": 10}, Errors: map[string]int64{"timeout": 3},
			Corrected: h, Service: h, SendLag: stats.NewHistogram()},
		BytesIn: 5000, BytesOut: 2000}
}

// TestOTLPExport: the export decodes with the OTLP protobuf types into the
// frame's counts, per status code, with the semantic conventions' names and
// attributes, and an exponential histogram whose percentiles are volley's.
func TestOTLPExport(t *testing.T) {
	rcv := &otlpReceiver{}
	srv := httptest.NewServer(rcv)
	defer srv.Close()
	o, err := NewOTLP(srv.URL, OTLPOptions{Method: "GET", URL: "http://127.0.0.1:8080/api", Token: "s3cret"})
	if err != nil {
		t.Fatal(err)
	}
	f := testFrame()
	if err := o.Push(context.Background(), f); err != nil {
		t.Fatal(err)
	}
	if rcv.auth[0] != "Bearer s3cret" {
		t.Errorf("Authorization %q, want the token", rcv.auth[0])
	}
	if strings.Contains(o.Name(), "s3cret") {
		t.Errorf("name %q shows the token", o.Name())
	}
	ms := rcv.metrics(t)
	var total int64
	codes := map[int64]int64{}
	for _, p := range ms["volley.requests"].GetSum().GetDataPoints() {
		total += p.GetAsInt()
		if c := attr(p.GetAttributes(), "http.response.status_code"); c != nil {
			codes[c.GetIntValue()] += p.GetAsInt()
		}
		if attr(p.GetAttributes(), "run").GetStringValue() != "r1" {
			t.Errorf("point %v lacks run=r1", p.GetAttributes())
		}
		if p.GetStartTimeUnixNano() != uint64(f.Start.UnixNano()) || p.GetTimeUnixNano() != uint64(f.Time.UnixNano()) {
			t.Errorf("times %d..%d, want the run's start and the frame's time", p.GetStartTimeUnixNano(), p.GetTimeUnixNano())
		}
	}
	if s := ms["volley.requests"].GetSum(); !s.GetIsMonotonic() || s.GetAggregationTemporality() != metricspb.AggregationTemporality_AGGREGATION_TEMPORALITY_CUMULATIVE {
		t.Errorf("volley.requests is not a cumulative monotonic sum: %v", s)
	}
	if total != 1003 || codes[200] != 990 || codes[503] != 10 {
		t.Errorf("requests %d by code %v, want 1003 with 200: 990, 503: 10", total, codes)
	}
	e := ms["volley.errors"].GetSum().GetDataPoints()
	if len(e) != 1 || e[0].GetAsInt() != 3 || attr(e[0].GetAttributes(), "error.type").GetStringValue() != "timeout" {
		t.Errorf("errors %v, want timeout 3", e)
	}
	d := ms["http.client.request.duration"]
	if d.GetUnit() != "s" {
		t.Errorf("unit %q, want s", d.GetUnit())
	}
	pts := d.GetExponentialHistogram().GetDataPoints()
	if len(pts) != 1 {
		t.Fatalf("http.client.request.duration: %d points, want 1", len(pts))
	}
	p := pts[0]
	for k, want := range map[string]string{"http.request.method": "GET", "server.address": "127.0.0.1", "url.scheme": "http"} {
		if got := attr(p.GetAttributes(), k).GetStringValue(); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	if port := attr(p.GetAttributes(), "server.port").GetIntValue(); port != 8080 {
		t.Errorf("server.port %d, want 8080", port)
	}
	if p.GetCount() != 1000 || p.GetScale() != Schema {
		t.Errorf("count %d scale %d, want 1000 and %d", p.GetCount(), p.GetScale(), Schema)
	}
	for _, q := range []float64{0.5, 0.99} {
		want := float64(f.Totals.Corrected.ValueAtQuantile(q*100)) / 1e9
		got := expDecodedQuantile(p, q)
		if math.Abs(got-want) > 0.004*want {
			t.Errorf("p%v from the export %.6f s, volley's %.6f s: want within 0.4%%", q*100, got, want)
		}
	}
	if p.GetMin() < 0.00099 || p.GetMax() > 1.001 || p.GetMax() < 0.999 {
		t.Errorf("min %v max %v, want 1 ms and 1 s", p.GetMin(), p.GetMax())
	}
}

// TestOTLPReceiverTrouble: a receiver that fails or hangs gives an error
// within the push's deadline, never a hang.
func TestOTLPReceiverTrouble(t *testing.T) {
	hang := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Has("x") || strings.HasSuffix(r.URL.Path, "/hang") {
			<-hang
			return
		}
		http.Error(w, "boom", http.StatusInternalServerError)
	}))
	defer srv.Close()
	defer close(hang)
	for _, path := range []string{"/v1/metrics", "/hang"} {
		o, err := NewOTLP(srv.URL+path, OTLPOptions{})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		start := time.Now()
		err = o.Push(ctx, testFrame())
		cancel()
		if err == nil {
			t.Errorf("%s: no error", path)
		}
		if el := time.Since(start); el > 2*time.Second {
			t.Errorf("%s: took %v, want the 300 ms deadline", path, el)
		}
	}
	if _, err := NewOTLP("ftp://x/", OTLPOptions{}); err == nil {
		t.Error("ftp URL accepted")
	}
}

// TestOTLPBucketBounds: OTLP's bucket k holds (base^k, base^(k+1)]: the
// decoded buckets up to a bound hold the values at or below it (within
// HDR's 0.1%), which a bucket index one off would miss by 0.27%.
func TestOTLPBucketBounds(t *testing.T) {
	h := stats.NewHistogram()
	const n = 90_000
	for i := range n {
		_ = h.RecordValue(100_000_000 + int64(i)*10_000) // 100 ms to 1 s, 10 µs apart
	}
	p := expPoint(&Frame{}, Series{Hist: h}, attribute.NewSet())
	base := math.Exp2(math.Exp2(-float64(p.Scale)))
	var cum uint64
	checked := 0
	for i, c := range p.PositiveBucket.Counts {
		cum += c
		upper := math.Pow(base, float64(int(p.PositiveBucket.Offset)+i+1))
		if upper < 0.2 || upper > 0.9 {
			continue
		}
		want := (upper - 0.1) / 10e-6 // values at or below upper
		if math.Abs(float64(cum)-want) > 0.0012*upper/10e-6 {
			t.Fatalf("%d values at or below %.6f s in the export, want about %.0f", cum, upper, want)
		}
		checked++
	}
	if checked < 100 {
		t.Fatalf("checked %d buckets", checked)
	}
}
