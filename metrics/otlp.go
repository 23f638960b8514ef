package metrics

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/url"
	"strconv"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetrichttp"
	"go.opentelemetry.io/otel/sdk/instrumentation"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/resource"
)

// OTLPOptions configure an OTLP exporter.
type OTLPOptions struct {
	// Method and URL are the run's target, for the semantic conventions'
	// attributes of http.client.request.duration; empty when targets differ.
	Method, URL string
	// Token, when set, is sent as Authorization: Bearer.
	Token string
}

// OTLP pushes frames as OTLP/HTTP metrics with the OpenTelemetry SDK's
// exporter. The figures are already aggregated, which the SDK's instruments
// cannot take, so each frame is built as the exporter's data directly:
// cumulative sums and gauges, and exponential histograms of scale Schema.
type OTLP struct {
	name   string
	exp    *otlpmetrichttp.Exporter
	target []attribute.KeyValue // semantic conventions' request attributes
	res    *resource.Resource
}

// NewOTLP makes an exporter to rawURL (http or https; no path means
// /v1/metrics).
func NewOTLP(rawURL string, opt OTLPOptions) (*OTLP, error) {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("want an http:// or https:// URL")
	}
	if u.Path == "" || u.Path == "/" {
		u.Path = "/v1/metrics"
	}
	o := &OTLP{name: "--out otlp=" + u.Redacted()}
	headers := map[string]string{}
	if u.User != nil {
		pass, _ := u.User.Password()
		headers["Authorization"] = "Basic " + basicAuth(u.User.Username(), pass)
		u.User = nil
	}
	if opt.Token != "" {
		headers["Authorization"] = "Bearer " + opt.Token
	}
	opts := []otlpmetrichttp.Option{
		otlpmetrichttp.WithEndpointURL(u.String()),
		otlpmetrichttp.WithHeaders(headers),
		// The next frame carries all the counts: no retries of a failed one.
		otlpmetrichttp.WithRetry(otlpmetrichttp.RetryConfig{Enabled: false}),
	}
	if u.Scheme == "http" {
		opts = append(opts, otlpmetrichttp.WithInsecure())
	}
	o.exp, err = otlpmetrichttp.New(context.Background(), opts...)
	if err != nil {
		return nil, err
	}
	o.res = resource.NewSchemaless(attribute.String("service.name", "volley"))
	o.target = targetAttributes(opt.Method, opt.URL)
	return o, nil
}

// targetAttributes are http.client.request.duration's attributes for a
// run's single target.
func targetAttributes(method, rawURL string) []attribute.KeyValue {
	var kv []attribute.KeyValue
	if method != "" {
		kv = append(kv, attribute.String("http.request.method", method))
	}
	u, err := url.Parse(rawURL)
	if rawURL == "" || err != nil {
		return kv
	}
	kv = append(kv, attribute.String("url.scheme", u.Scheme), attribute.String("server.address", u.Hostname()))
	port := u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "ws": "80", "https": "443", "wss": "443"}[u.Scheme]
	}
	if p, err := strconv.Atoi(port); err == nil {
		kv = append(kv, attribute.Int("server.port", p))
	}
	return kv
}

// Name says which receiver, credentials hidden.
func (o *OTLP) Name() string { return o.name }

// otlpNames maps volley's families to their OTLP names.
var otlpNames = map[string]string{
	RequestsTotal: "volley.requests", ErrorsTotal: "volley.errors",
	RequestDuration: "http.client.request.duration", ServiceDuration: "volley.service.duration",
	SendLag: "volley.send_lag", InFlight: "volley.in_flight", TargetRate: "volley.target_rate",
	BytesTotal: "volley.bytes", MessagesTotal: "volley.messages", MessageRTT: "volley.message.duration",
}

// otlpUnits are UCUM units, as the conventions want them.
var otlpUnits = map[string]string{
	"seconds": "s", "bytes": "By", "requests": "{request}", "errors": "{error}",
	"messages": "{message}", "requests per second": "{request}/s",
}

// Push sends f.
func (o *OTLP) Push(ctx context.Context, f *Frame) error {
	return o.exp.Export(ctx, o.Data(f))
}

// Data is f as the exporter's data.
func (o *OTLP) Data(f *Frame) *metricdata.ResourceMetrics {
	var ms []metricdata.Metrics
	for _, fam := range f.Families() {
		m := metricdata.Metrics{Name: otlpNames[fam.Name], Description: fam.Help, Unit: otlpUnits[fam.Unit]}
		switch fam.Kind {
		case Counter:
			sum := metricdata.Sum[int64]{Temporality: metricdata.CumulativeTemporality, IsMonotonic: true}
			for _, s := range fam.Series {
				sum.DataPoints = append(sum.DataPoints, metricdata.DataPoint[int64]{
					Attributes: o.attrs(f, s.Labels, nil), StartTime: f.Start, Time: f.Time, Value: int64(s.Value)})
			}
			m.Data = sum
		case Gauge:
			g := metricdata.Gauge[float64]{}
			for _, s := range fam.Series {
				g.DataPoints = append(g.DataPoints, metricdata.DataPoint[float64]{
					Attributes: o.attrs(f, s.Labels, nil), StartTime: f.Start, Time: f.Time, Value: s.Value})
			}
			m.Data = g
		case Histogram:
			h := metricdata.ExponentialHistogram[float64]{Temporality: metricdata.CumulativeTemporality}
			var extra []attribute.KeyValue
			if fam.Name == RequestDuration {
				extra = o.target
			}
			for _, s := range fam.Series {
				h.DataPoints = append(h.DataPoints, expPoint(f, s, o.attrs(f, s.Labels, extra)))
			}
			m.Data = h
		}
		ms = append(ms, m)
	}
	return &metricdata.ResourceMetrics{Resource: o.res, ScopeMetrics: []metricdata.ScopeMetrics{{
		Scope: instrumentation.Scope{Name: "volley"}, Metrics: ms}}}
}

// attrs are a point's attributes: the frame's labels, the series' own (by
// their OTLP names), and extra.
func (o *OTLP) attrs(f *Frame, labels []Label, extra []attribute.KeyValue) attribute.Set {
	kv := make([]attribute.KeyValue, 0, len(f.Labels)+len(labels)+len(extra))
	for k, v := range f.Labels {
		kv = append(kv, attribute.String(k, v))
	}
	for _, l := range labels {
		if l.Value == "" {
			continue
		}
		switch l.Name {
		case "code":
			if n, err := strconv.Atoi(l.Value); err == nil {
				kv = append(kv, attribute.Int("http.response.status_code", n))
			}
		case "kind":
			kv = append(kv, attribute.String("error.type", l.Value))
		case "direction":
			if d, ok := map[string]string{"in": "receive", "out": "transmit"}[l.Value]; ok {
				kv = append(kv, attribute.String("network.io.direction", d))
			} else {
				kv = append(kv, attribute.String("volley.direction", l.Value))
			}
		default:
			kv = append(kv, attribute.String("volley."+l.Name, l.Value))
		}
	}
	kv = append(kv, extra...)
	return attribute.NewSet(kv...)
}

// expPoint is a histogram series as an OTLP exponential histogram: OTLP's
// bucket k holds (base^k, base^(k+1)], Prometheus's bucket k+1.
func expPoint(f *Frame, s Series, attrs attribute.Set) metricdata.ExponentialHistogramDataPoint[float64] {
	e := ExpOf(s.Hist)
	p := metricdata.ExponentialHistogramDataPoint[float64]{
		Attributes: attrs, StartTime: f.Start, Time: f.Time,
		Count: e.Count, Sum: e.Sum, Scale: Schema,
	}
	idx := e.Indexes()
	if len(idx) == 0 {
		return p
	}
	lo, hi := idx[0], idx[len(idx)-1]
	counts := make([]uint64, hi-lo+1)
	for i, c := range e.Buckets {
		counts[i-lo] = c
	}
	p.PositiveBucket = metricdata.ExponentialBucket{Offset: int32(lo - 1), Counts: counts}
	p.Min = metricdata.NewExtrema(float64(s.Hist.Min()) / 1e9)
	p.Max = metricdata.NewExtrema(float64(s.Hist.Max()) / 1e9)
	return p
}

func basicAuth(user, pass string) string {
	return base64.StdEncoding.EncodeToString([]byte(user + ":" + pass))
}
