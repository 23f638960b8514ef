package metrics

import (
	"compress/gzip"
	"context"
	"encoding/base64"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
	colmetrics "go.opentelemetry.io/proto/otlp/collector/metrics/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	metricspb "go.opentelemetry.io/proto/otlp/metrics/v1"
	"google.golang.org/protobuf/proto"

	"volley/stats"
)

// otlpReceived is one export as the receiver decoded it.
type otlpReceived struct {
	path string
	auth string
	req  *colmetrics.ExportMetricsServiceRequest
}

// otlpReceiver decodes each POST with the OTLP protobuf types.
type otlpReceiver struct {
	mu  sync.Mutex
	got []otlpReceived
}

func (o *otlpReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/x-protobuf" {
		http.Error(w, "want a protobuf POST", http.StatusBadRequest)
		return
	}
	var body io.Reader = r.Body
	if r.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		body = zr
	}
	b, err := io.ReadAll(body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	req := &colmetrics.ExportMetricsServiceRequest{}
	if err := proto.Unmarshal(b, req); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	o.mu.Lock()
	o.got = append(o.got, otlpReceived{path: r.URL.Path, auth: r.Header.Get("Authorization"), req: req})
	o.mu.Unlock()
	out, _ := proto.Marshal(&colmetrics.ExportMetricsServiceResponse{})
	w.Header().Set("Content-Type", "application/x-protobuf")
	_, _ = w.Write(out)
}

// last is the latest export.
func (o *otlpReceiver) last(t *testing.T) otlpReceived {
	t.Helper()
	o.mu.Lock()
	defer o.mu.Unlock()
	if len(o.got) == 0 {
		t.Fatal("the receiver got nothing")
	}
	return o.got[len(o.got)-1]
}

// otlpMetrics are an export's metrics by name; each name once.
func otlpMetrics(t *testing.T, req *colmetrics.ExportMetricsServiceRequest) map[string]*metricspb.Metric {
	t.Helper()
	out := map[string]*metricspb.Metric{}
	for _, rm := range req.GetResourceMetrics() {
		for _, sm := range rm.GetScopeMetrics() {
			for _, m := range sm.GetMetrics() {
				if out[m.GetName()] != nil {
					t.Errorf("%s sent twice", m.GetName())
				}
				out[m.GetName()] = m
			}
		}
	}
	return out
}

// pointsOf are a metric's data points' attributes and times, whatever its
// type.
func pointsOf(m *metricspb.Metric) (attrs [][]*commonpb.KeyValue, start, end []uint64) {
	add := func(kv []*commonpb.KeyValue, s, e uint64) {
		attrs, start, end = append(attrs, kv), append(start, s), append(end, e)
	}
	switch d := m.GetData().(type) {
	case *metricspb.Metric_Sum:
		for _, p := range d.Sum.GetDataPoints() {
			add(p.GetAttributes(), p.GetStartTimeUnixNano(), p.GetTimeUnixNano())
		}
	case *metricspb.Metric_Gauge:
		for _, p := range d.Gauge.GetDataPoints() {
			add(p.GetAttributes(), p.GetStartTimeUnixNano(), p.GetTimeUnixNano())
		}
	case *metricspb.Metric_ExponentialHistogram:
		for _, p := range d.ExponentialHistogram.GetDataPoints() {
			add(p.GetAttributes(), p.GetStartTimeUnixNano(), p.GetTimeUnixNano())
		}
	}
	return attrs, start, end
}

func attrOf(kv []*commonpb.KeyValue, key string) *commonpb.AnyValue {
	for _, a := range kv {
		if a.GetKey() == key {
			return a.GetValue()
		}
	}
	return nil
}

// expBounds is OTLP bucket i's (lower, upper] of a decoded point: bucket
// index offset+i holds (base^(offset+i), base^(offset+i+1)].
func expBounds(p *metricspb.ExponentialHistogramDataPoint, i int) (lower, upper float64) {
	k := float64(int(p.GetPositive().GetOffset()) + i)
	scale := math.Exp2(float64(p.GetScale()))
	return math.Exp2(k / scale), math.Exp2((k + 1) / scale)
}

// otlpQuantile finds the bucket of a decoded point that holds quantile q:
// the one where the cumulative count first reaches q*count. ok is false for
// an empty point.
func otlpQuantile(p *metricspb.ExponentialHistogramDataPoint, q float64) (lower, upper float64, ok bool) {
	rank := math.Ceil(q * float64(p.GetCount()))
	if rank < 1 {
		rank = 1
	}
	var seen float64
	for i, c := range p.GetPositive().GetBucketCounts() {
		seen += float64(c)
		if seen >= rank {
			lower, upper = expBounds(p, i)
			return lower, upper, true
		}
	}
	return 0, 0, false
}

var otlpStart = time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)

// latencies records 1..2000 ms, twice as many below 500 ms.
func latencies() *hdr.Histogram {
	h := stats.NewHistogram()
	for v := int64(1); v <= 2000; v++ {
		_ = h.RecordValue(v * 1_000_000)
		if v < 500 {
			_ = h.RecordValue(v*1_000_000 + 333_000)
		}
	}
	return h
}

func otlpFrame() *Frame {
	lag := stats.NewHistogram()
	_ = lag.RecordValue(50_000) // 50 µs
	service := stats.NewHistogram()
	_ = service.RecordValue(2_000_000)
	return &Frame{
		Time: otlpStart.Add(5 * time.Second), Start: otlpStart,
		Labels: map[string]string{"run": "r1", "shard": "1/2"},
		Totals: stats.Totals{
			Requests: 1017, InFlight: 7,
			Status: map[string]int64{"2xx": 990, "4xx": 4, "5xx": 10, "error": 13},
			Codes:  map[string]int64{"200": 980, "204": 10, "404": 4, "503": 10},
			Errors: map[string]int64{"timeout": 3, "refused": 10},
			// Corrected is filled per test.
			Service: service, SendLag: lag,
		},
		BytesIn: 5000, BytesOut: 2000, TargetRate: 250,
	}
}

// testFrame is a whole frame, its latencies filled (remotewrite_test.go
// uses it too).
func testFrame() *Frame {
	f := otlpFrame()
	f.Totals.Corrected = latencies()
	return f
}

// push sends f to a fresh receiver and returns what it decoded.
func push(t *testing.T, opt OTLPOptions, f *Frame) (otlpReceived, map[string]*metricspb.Metric) {
	t.Helper()
	rcv := &otlpReceiver{}
	srv := httptest.NewServer(rcv)
	defer srv.Close()
	o, err := NewOTLP(srv.URL+"/v1/metrics", opt)
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := o.Push(ctx, f); err != nil {
		t.Fatal(err)
	}
	got := rcv.last(t)
	return got, otlpMetrics(t, got.req)
}

// TestOTLPExport: one frame decodes with the OTLP protobuf types into the
// frame's counts, under the semantic conventions' names and attributes,
// cumulative from the run's start.
func TestOTLPExport(t *testing.T) {
	f := otlpFrame()
	f.Totals.Corrected = latencies()
	got, ms := push(t, OTLPOptions{Method: "GET", URL: "https://api.example:8443/x?y=1"}, f)

	res := got.req.GetResourceMetrics()[0].GetResource()
	if v := attrOf(res.GetAttributes(), "service.name").GetStringValue(); v != "volley" {
		t.Errorf("service.name %q, want volley", v)
	}
	if attrOf(res.GetAttributes(), "run") != nil {
		t.Error("the frame's labels are on the resource, want them on the points")
	}

	want := map[string]string{ // name: unit
		"volley.requests": "{request}", "volley.errors": "{error}",
		"http.client.request.duration": "s", "volley.service.duration": "s", "volley.send_lag": "s",
		"volley.in_flight": "{request}", "volley.target_rate": "{request}/s", "volley.bytes": "By",
	}
	for name, unit := range want {
		m := ms[name]
		if m == nil {
			t.Errorf("%s not sent", name)
			continue
		}
		if m.GetUnit() != unit {
			t.Errorf("%s: unit %q, want %q", name, m.GetUnit(), unit)
		}
		if m.GetDescription() == "" {
			t.Errorf("%s: no description", name)
		}
		attrs, start, end := pointsOf(m)
		if len(attrs) == 0 {
			t.Errorf("%s: no points", name)
		}
		for i := range attrs {
			for k, v := range f.Labels {
				if got := attrOf(attrs[i], k).GetStringValue(); got != v {
					t.Errorf("%s: point %d has %s=%q, want %q", name, i, k, got, v)
				}
			}
			if end[i] != uint64(f.Time.UnixNano()) {
				t.Errorf("%s: time %d, want the frame's %d", name, end[i], f.Time.UnixNano())
			}
			if m.GetGauge() == nil && start[i] != uint64(f.Start.UnixNano()) {
				t.Errorf("%s: start %d, want the run's %d", name, start[i], f.Start.UnixNano())
			}
		}
	}
	for _, name := range []string{"volley.messages", "volley.message.duration"} {
		if ms[name] != nil {
			t.Errorf("%s sent for a run without messages", name)
		}
	}
	if len(ms) != len(want) {
		t.Errorf("%d metrics, want %d", len(ms), len(want))
	}

	// Requests: a cumulative monotonic int sum, per code as Codes.
	sum := ms["volley.requests"].GetSum()
	if !sum.GetIsMonotonic() || sum.GetAggregationTemporality() != metricspb.AggregationTemporality_AGGREGATION_TEMPORALITY_CUMULATIVE {
		t.Errorf("volley.requests: monotonic %v, temporality %v; want a cumulative monotonic sum", sum.GetIsMonotonic(), sum.GetAggregationTemporality())
	}
	var total int64
	codes := map[int64]int64{}
	classes := map[string]int64{}
	for _, p := range sum.GetDataPoints() {
		if _, ok := p.GetValue().(*metricspb.NumberDataPoint_AsInt); !ok {
			t.Errorf("volley.requests point %v is not an int", p)
		}
		total += p.GetAsInt()
		classes[attrOf(p.GetAttributes(), "volley.class").GetStringValue()] += p.GetAsInt()
		if c := attrOf(p.GetAttributes(), "http.response.status_code"); c != nil {
			if _, ok := c.GetValue().(*commonpb.AnyValue_IntValue); !ok {
				t.Errorf("http.response.status_code %v is not an int", c)
			}
			codes[c.GetIntValue()] += p.GetAsInt()
		}
		if attrOf(p.GetAttributes(), "volley.target") != nil {
			t.Errorf("volley.target on %v without targets", p.GetAttributes())
		}
	}
	if total != f.Totals.Requests {
		t.Errorf("volley.requests sum to %d, want %d", total, f.Totals.Requests)
	}
	for code, n := range f.Totals.Codes {
		var c int64
		for _, d := range code {
			c = c*10 + int64(d-'0')
		}
		if codes[c] != n {
			t.Errorf("code %s: %d, want %d", code, codes[c], n)
		}
	}
	if len(codes) != len(f.Totals.Codes) {
		t.Errorf("codes %v, want %v", codes, f.Totals.Codes)
	}
	for class, n := range f.Totals.Status {
		if classes[class] != n {
			t.Errorf("class %s: %d, want %d", class, classes[class], n)
		}
	}

	errs := map[string]int64{}
	for _, p := range ms["volley.errors"].GetSum().GetDataPoints() {
		errs[attrOf(p.GetAttributes(), "error.type").GetStringValue()] += p.GetAsInt()
	}
	if errs["timeout"] != 3 || errs["refused"] != 10 || len(errs) != 2 {
		t.Errorf("errors %v, want timeout 3, refused 10", errs)
	}

	bytes := map[string]int64{}
	for _, p := range ms["volley.bytes"].GetSum().GetDataPoints() {
		bytes[attrOf(p.GetAttributes(), "network.io.direction").GetStringValue()] = p.GetAsInt()
	}
	if bytes["receive"] != 5000 || bytes["transmit"] != 2000 {
		t.Errorf("bytes %v, want receive 5000, transmit 2000", bytes)
	}

	inflight := ms["volley.in_flight"].GetSum()
	if inflight == nil || inflight.GetIsMonotonic() || len(inflight.GetDataPoints()) != 1 || inflight.GetDataPoints()[0].GetAsInt() != 7 {
		t.Errorf("volley.in_flight %v, want a non-monotonic sum of 7", ms["volley.in_flight"].GetData())
	}
	rate := ms["volley.target_rate"].GetGauge().GetDataPoints()
	if len(rate) != 1 || rate[0].GetAsDouble() != 250 {
		t.Errorf("volley.target_rate %v, want a gauge of 250", rate)
	}

	// The latency: the semantic conventions' attributes of the target,
	// only on it.
	d := ms["http.client.request.duration"].GetExponentialHistogram()
	if d.GetAggregationTemporality() != metricspb.AggregationTemporality_AGGREGATION_TEMPORALITY_CUMULATIVE {
		t.Errorf("temporality %v, want cumulative", d.GetAggregationTemporality())
	}
	if len(d.GetDataPoints()) != 1 {
		t.Fatalf("http.client.request.duration: %d points, want 1", len(d.GetDataPoints()))
	}
	p := d.GetDataPoints()[0]
	for k, v := range map[string]string{"http.request.method": "GET", "server.address": "api.example", "url.scheme": "https"} {
		if got := attrOf(p.GetAttributes(), k).GetStringValue(); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	if port := attrOf(p.GetAttributes(), "server.port").GetIntValue(); port != 8443 {
		t.Errorf("server.port %d, want 8443", port)
	}
	sd := ms["volley.service.duration"].GetExponentialHistogram().GetDataPoints()
	if len(sd) != 1 || attrOf(sd[0].GetAttributes(), "http.request.method") != nil {
		t.Errorf("volley.service.duration %v: want one point without the target's attributes", sd)
	}
}

// TestOTLPHistogram: the request latency's exponential histogram has the
// recorded count, scale 8, and its percentiles are volley's: the bucket
// that holds a percentile's rank holds volley's value (within HDR's 0.1%),
// which a bucket index one off misses by a bucket (0.27%).
func TestOTLPHistogram(t *testing.T) {
	f := otlpFrame()
	h := latencies()
	f.Totals.Corrected = h
	_, ms := push(t, OTLPOptions{}, f)
	pts := ms["http.client.request.duration"].GetExponentialHistogram().GetDataPoints()
	if len(pts) != 1 {
		t.Fatalf("%d points, want 1", len(pts))
	}
	p := pts[0]
	if p.GetCount() != uint64(h.TotalCount()) || p.GetScale() != 8 || p.GetZeroCount() != 0 {
		t.Errorf("count %d scale %d zero %d, want %d, 8, 0", p.GetCount(), p.GetScale(), p.GetZeroCount(), h.TotalCount())
	}
	var n uint64
	for _, c := range p.GetPositive().GetBucketCounts() {
		n += c
	}
	if n != p.GetCount() {
		t.Errorf("buckets hold %d, count %d", n, p.GetCount())
	}
	if len(p.GetNegative().GetBucketCounts()) != 0 {
		t.Errorf("negative buckets %v", p.GetNegative())
	}
	mean := h.Mean() * float64(h.TotalCount()) / 1e9
	if math.Abs(p.GetSum()-mean) > 0.001*mean {
		t.Errorf("sum %v s, want about %v", p.GetSum(), mean)
	}
	if math.Abs(p.GetMin()-0.001) > 0.000002 || math.Abs(p.GetMax()-2) > 0.002 {
		t.Errorf("min %v max %v, want 1 ms and 2 s", p.GetMin(), p.GetMax())
	}
	for _, q := range []float64{0.5, 0.9, 0.99, 0.999} {
		want := float64(h.ValueAtQuantile(q*100)) / 1e9
		lower, upper, ok := otlpQuantile(p, q)
		if !ok {
			t.Fatalf("p%v: the buckets do not reach the rank", q*100)
		}
		// Within 1% as a receiver reads it (the bucket's upper bound)...
		if math.Abs(upper-want) > 0.01*want {
			t.Errorf("p%v: %.6f s from the export, volley's %.6f s", q*100, upper, want)
		}
		// ... and in the very bucket.
		if !(lower < want*1.001 && want*0.999 <= upper) {
			t.Errorf("p%v: volley's %.6f s is not in the bucket (%.6f, %.6f] that holds the rank", q*100, want, lower, upper)
		}
	}
}

// TestOTLPBucketIndex: a value alone goes to the OTLP bucket whose bounds
// hold it, base^k < v <= base^(k+1), for values away from a bound.
func TestOTLPBucketIndex(t *testing.T) {
	checked := 0
	for v := int64(1_500_000); v < 3_000_000_000; v = v*13/10 + 7_777 {
		h := stats.NewHistogram()
		_ = h.RecordValue(v)
		var s float64 // the HDR bucket's midpoint, about v
		for _, b := range h.Distribution() {
			if b.Count > 0 {
				s = float64(b.From+b.To) / 2 / 1e9
			}
		}
		pos := math.Log2(s) * 256
		if frac := pos - math.Floor(pos); frac < 0.4 || frac > 0.9 {
			continue // too near a bound for HDR's 0.1%
		}
		p := expPoint(h)
		if p.Count != 1 || len(p.PositiveBucket.Counts) != 1 || p.PositiveBucket.Counts[0] != 1 || p.Scale != 8 {
			t.Fatalf("%d ns: %+v, want one bucket of 1 at scale 8", v, p)
		}
		k := float64(p.PositiveBucket.Offset)
		lower, upper := math.Exp2(k/256), math.Exp2((k+1)/256)
		if !(lower < s && s <= upper) {
			t.Errorf("%.6f s in OTLP bucket %v: (%.6f, %.6f]", s, k, lower, upper)
		}
		if _, ok := p.Min.Value(); !ok {
			t.Errorf("%d ns: no min", v)
		}
		checked++
	}
	if checked < 10 {
		t.Fatalf("checked %d values", checked)
	}
}

// TestOTLPBucketGaps: buckets between the lowest and highest occupied are
// sent as zeros, so that each count sits at its own index.
func TestOTLPBucketGaps(t *testing.T) {
	h := stats.NewHistogram()
	_ = h.RecordValue(1_000_000)     // 1 ms
	_ = h.RecordValue(1_000_000_000) // 1 s: 10 octaves, 2551 buckets on
	_ = h.RecordValue(1_000_000_000)
	p := expPoint(h)
	c := p.PositiveBucket.Counts
	if len(c) < 2500 || c[0] != 1 || c[len(c)-1] != 2 {
		t.Fatalf("%d buckets, first %v, last %v; want about 2550 from 1 to 2", len(c), c[0], c[len(c)-1])
	}
	for _, n := range c[1 : len(c)-1] {
		if n != 0 {
			t.Fatal("a count between the two")
		}
	}
	top := math.Exp2(float64(int(p.PositiveBucket.Offset)+len(c)) / 256)
	if !(top >= 1 && top < 1.003) {
		t.Errorf("the last bucket ends at %v s, want 1 s's", top)
	}
}

// TestOTLPEmpty: empty and missing histograms and empty maps are sent as
// count 0 without buckets; a nil frame is an error, not a panic.
func TestOTLPEmpty(t *testing.T) {
	f := &Frame{Time: otlpStart.Add(time.Second), Start: otlpStart,
		Totals: stats.Totals{Corrected: stats.NewHistogram()}} // Service, SendLag nil
	_, ms := push(t, OTLPOptions{}, f)
	for _, name := range []string{"http.client.request.duration", "volley.service.duration", "volley.send_lag"} {
		pts := ms[name].GetExponentialHistogram().GetDataPoints()
		if len(pts) != 1 {
			t.Errorf("%s: %d points, want 1", name, len(pts))
			continue
		}
		p := pts[0]
		if p.GetCount() != 0 || len(p.GetPositive().GetBucketCounts()) != 0 || p.Min != nil || p.Max != nil {
			t.Errorf("%s: %v, want count 0, no buckets, no min or max", name, p)
		}
	}
	if n := len(ms["volley.requests"].GetSum().GetDataPoints()); n != 0 {
		t.Errorf("volley.requests: %d points for no requests", n)
	}

	o, err := NewOTLP("http://127.0.0.1:1/v1/metrics", OTLPOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := o.Push(context.Background(), nil); err == nil {
		t.Error("a nil frame pushed")
	}
	// A frame without times: the point's times are now, start no later.
	rm := o.ResourceMetrics(&Frame{})
	if len(rm.ScopeMetrics) != 1 || len(rm.ScopeMetrics[0].Metrics) == 0 {
		t.Errorf("an empty frame: %+v", rm)
	}
}

// TestOTLPTargetsAndMessages: a breakdown by target puts volley.target on
// the request counts; a message protocol adds the message series.
func TestOTLPTargetsAndMessages(t *testing.T) {
	f := otlpFrame()
	f.Totals.Corrected = latencies()
	f.Totals.Targets = map[string]stats.TargetTotals{
		"a": {Status: map[string]int64{"2xx": 600}, Codes: map[string]int64{"200": 600}},
		"b": {Status: map[string]int64{"2xx": 400, "answered": 17}, Codes: map[string]int64{"200": 400}},
	}
	f.Totals.Status["answered"] = 17
	f.Messages = true
	_, ms := push(t, OTLPOptions{}, f)
	byTarget := map[string]int64{}
	for _, p := range ms["volley.requests"].GetSum().GetDataPoints() {
		byTarget[attrOf(p.GetAttributes(), "volley.target").GetStringValue()] += p.GetAsInt()
		if attrOf(p.GetAttributes(), "volley.class").GetStringValue() == "answered" && attrOf(p.GetAttributes(), "http.response.status_code") != nil {
			t.Errorf("an answered message with a status code: %v", p.GetAttributes())
		}
	}
	if byTarget["a"] != 600 || byTarget["b"] != 417 || len(byTarget) != 2 {
		t.Errorf("requests by target %v, want a 600, b 417", byTarget)
	}
	dir := map[string]int64{}
	for _, p := range ms["volley.messages"].GetSum().GetDataPoints() {
		dir[attrOf(p.GetAttributes(), "volley.direction").GetStringValue()] = p.GetAsInt()
	}
	if dir["received"] != 17 || dir["sent"] != f.Totals.Requests+f.Totals.InFlight {
		t.Errorf("messages %v, want received 17, sent %d", dir, f.Totals.Requests+f.Totals.InFlight)
	}
	md := ms["volley.message.duration"]
	if md.GetUnit() != "s" || len(md.GetExponentialHistogram().GetDataPoints()) != 1 ||
		md.GetExponentialHistogram().GetDataPoints()[0].GetCount() != uint64(f.Totals.Corrected.TotalCount()) {
		t.Errorf("volley.message.duration %v", md)
	}
}

// TestOTLPURL: the endpoint's path (none means /v1/metrics), the
// credentials sent and hidden, and URLs refused.
func TestOTLPURL(t *testing.T) {
	rcv := &otlpReceiver{}
	srv := httptest.NewServer(rcv)
	defer srv.Close()
	hostport := strings.TrimPrefix(srv.URL, "http://")
	basic := "Basic " + base64.StdEncoding.EncodeToString([]byte("me:pw"))
	for _, c := range []struct {
		url      string
		opt      OTLPOptions
		path     string
		auth     string
		hidden   string
		wantName string
	}{
		{url: srv.URL, path: "/v1/metrics"},
		{url: srv.URL + "/", path: "/v1/metrics"},
		{url: srv.URL + "/otlp/v1/metrics", path: "/otlp/v1/metrics"},
		{url: "http://me:pw@" + hostport, path: "/v1/metrics", auth: basic, hidden: "pw"},
		{url: srv.URL, opt: OTLPOptions{Token: "s3cret"}, path: "/v1/metrics", auth: "Bearer s3cret", hidden: "s3cret"},
		{url: "http://me:pw@" + hostport, opt: OTLPOptions{Headers: map[string]string{"authorization": "Api-Key k"}, Token: "t"},
			path: "/v1/metrics", auth: "Api-Key k", hidden: "pw"},
	} {
		o, err := NewOTLP(c.url, c.opt)
		if err != nil {
			t.Fatalf("%s: %v", c.url, err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err = o.Push(ctx, otlpFrame())
		cancel()
		o.Close()
		if err != nil {
			t.Fatalf("%s: %v", c.url, err)
		}
		got := rcv.last(t)
		if got.path != c.path || got.auth != c.auth {
			t.Errorf("%s: path %q auth %q, want %q and %q", c.url, got.path, got.auth, c.path, c.auth)
		}
		if !strings.HasPrefix(o.Name(), "--out otlp=http://") || (c.hidden != "" && strings.Contains(o.Name(), c.hidden)) {
			t.Errorf("%s: name %q", c.url, o.Name())
		}
	}
	if o, _ := NewOTLP("http://me:pw@"+hostport+"/v1/metrics", OTLPOptions{}); strings.Contains(o.Name(), "me:pw") || !strings.HasSuffix(o.Name(), "@"+hostport+"/v1/metrics") {
		t.Errorf("name %q, want the URL without its userinfo", o.Name())
	}
	for _, bad := range []string{"ftp://me:pw@host/x", "127.0.0.1:4318", "http:///v1/metrics", "://x", "grpc://host:4317"} {
		_, err := NewOTLP(bad, OTLPOptions{})
		if err == nil {
			t.Errorf("%q accepted", bad)
			continue
		}
		if strings.Contains(err.Error(), "pw") {
			t.Errorf("%q: error %q shows the password", bad, err)
		}
		// The caller (the command line) names the URL, redacted.
		if strings.Contains(err.Error(), "host") || strings.Contains(err.Error(), "me") {
			t.Errorf("%q: error %q repeats the URL", bad, err)
		}
	}
}

// TestOTLPReceiverTrouble: a receiver that fails (once: no retries) or
// hangs gives an error within the push's deadline, never a hang.
func TestOTLPReceiverTrouble(t *testing.T) {
	hang := make(chan struct{})
	var mu sync.Mutex
	hits := map[string]int{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		hits[r.URL.Path]++
		mu.Unlock()
		switch r.URL.Path {
		case "/hang":
			select {
			case <-hang:
			case <-r.Context().Done():
			}
		case "/503":
			w.Header().Set("Retry-After", "0")
			http.Error(w, "busy", http.StatusServiceUnavailable)
		default:
			http.Error(w, "boom", http.StatusInternalServerError)
		}
	}))
	defer srv.Close()
	defer close(hang)
	f := otlpFrame()
	f.Totals.Corrected = latencies()
	for _, path := range []string{"/500", "/503", "/hang"} {
		o, err := NewOTLP(srv.URL+path, OTLPOptions{})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		start := time.Now()
		err = o.Push(ctx, f)
		el := time.Since(start)
		cancel()
		o.Close()
		if err == nil {
			t.Errorf("%s: no error", path)
		}
		if el > 2*time.Second {
			t.Errorf("%s: took %v, want the 300 ms deadline", path, el)
		}
		if path != "/hang" && el > 250*time.Millisecond {
			t.Errorf("%s: took %v: retried?", path, el)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	for _, path := range []string{"/500", "/503", "/hang"} {
		if hits[path] != 1 {
			t.Errorf("%s: %d requests, want 1 (no retries)", path, hits[path])
		}
	}
}
