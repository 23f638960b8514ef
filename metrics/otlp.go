package metrics

import (
	"context"
	"encoding/base64"
	"errors"
	"net/url"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetrichttp"
	"go.opentelemetry.io/otel/sdk/instrumentation"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/resource"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"

	"volley/load/redact"
)

// OTLP names: the request latency follows the OpenTelemetry semantic
// conventions for an HTTP client; the rest are volley's own.
const (
	OTLPRequestDuration = "http.client.request.duration"
	OTLPRequests        = "volley.requests"
	OTLPErrors          = "volley.errors"
	OTLPServiceDuration = "volley.service.duration"
	OTLPSendLag         = "volley.send_lag"
	OTLPInFlight        = "volley.in_flight"
	OTLPTargetRate      = "volley.target_rate"
	OTLPBytes           = "volley.bytes"
	OTLPMessages        = "volley.messages"
	OTLPMessageDuration = "volley.message.duration"
)

// otlpNames maps the families' names to OTLP's.
var otlpNames = map[string]string{
	RequestsTotal:   OTLPRequests,
	ErrorsTotal:     OTLPErrors,
	RequestDuration: OTLPRequestDuration,
	ServiceDuration: OTLPServiceDuration,
	SendLag:         OTLPSendLag,
	InFlight:        OTLPInFlight,
	TargetRate:      OTLPTargetRate,
	BytesTotal:      OTLPBytes,
	MessagesTotal:   OTLPMessages,
	MessageRTT:      OTLPMessageDuration,
}

// otlpUnits maps the families' units to UCUM, as OTLP takes them.
var otlpUnits = map[string]string{
	"seconds":             "s",
	"bytes":               "By",
	"requests":            "{request}",
	"errors":              "{error}",
	"messages":            "{message}",
	"requests per second": "{request}/s",
}

// OTLPDefaultPath is the path sent to when the URL has none.
const OTLPDefaultPath = "/v1/metrics"

// otlpBackstop bounds a push whose ctx has no deadline; the Sink always
// gives one.
const otlpBackstop = 5 * time.Minute

// OTLPOptions configure an OTLP exporter.
type OTLPOptions struct {
	// Headers go on every request (Authorization, ...).
	Headers map[string]string
	// Token, when set, is sent as Authorization: Bearer unless Headers has
	// an Authorization; a URL's userinfo is sent as basic auth unless
	// either does.
	Token string
	// Method and URL are the run's target, for the request latency's
	// http.request.method, server.address, server.port and url.scheme;
	// empty when the run has none (each attribute is left out).
	Method, URL string
}

// OTLP sends frames as OTLP/HTTP protobuf metrics: cumulative sums for the
// counters (from the run's start), gauges, and exponential histograms at
// scale Schema for the latencies.
type OTLP struct {
	name   string
	exp    *otlpmetrichttp.Exporter
	res    *resource.Resource
	scope  instrumentation.Scope
	target []attribute.KeyValue // on the request latency's points
}

var _ Exporter = (*OTLP)(nil)

// NewOTLP returns an exporter to rawURL, the receiver's full endpoint
// (http://host:4318/v1/metrics; an empty path or "/" means
// OTLPDefaultPath). It does not connect: a receiver that is down fails the
// pushes, not this.
func NewOTLP(rawURL string, opt OTLPOptions) (*OTLP, error) {
	shown := redact.Userinfo(rawURL)
	u, err := ParseReceiverURL(rawURL)
	if err != nil {
		return nil, err
	}
	headers := map[string]string{}
	hasAuth := false
	for k, v := range opt.Headers {
		headers[k] = v
		if strings.EqualFold(k, "Authorization") {
			hasAuth = true
		}
	}
	if opt.Token != "" && !hasAuth {
		headers["Authorization"] = "Bearer " + opt.Token
		hasAuth = true
	}
	if u.User != nil && !hasAuth {
		pass, _ := u.User.Password()
		headers["Authorization"] = "Basic " + base64.StdEncoding.EncodeToString([]byte(u.User.Username()+":"+pass))
	}
	endpoint := *u
	endpoint.User = nil
	if endpoint.Path == "" || endpoint.Path == "/" {
		endpoint.Path = OTLPDefaultPath
		endpoint.RawPath = ""
	}
	opts := []otlpmetrichttp.Option{
		otlpmetrichttp.WithEndpointURL(endpoint.String()),
		otlpmetrichttp.WithCompression(otlpmetrichttp.NoCompression),
		// The next frame carries the totals: a failed push is not retried.
		otlpmetrichttp.WithRetry(otlpmetrichttp.RetryConfig{Enabled: false}),
		otlpmetrichttp.WithTimeout(otlpBackstop),
	}
	if u.Scheme == "http" {
		opts = append(opts, otlpmetrichttp.WithInsecure())
	}
	if len(headers) > 0 {
		opts = append(opts, otlpmetrichttp.WithHeaders(headers))
	}
	exp, err := otlpmetrichttp.New(context.Background(), opts...)
	if err != nil {
		return nil, err
	}
	version := buildVersion()
	attrs := []attribute.KeyValue{semconv.ServiceName("volley")}
	if version != "" {
		attrs = append(attrs, semconv.ServiceVersion(version))
	}
	return &OTLP{
		name:   "--out otlp=" + shown,
		exp:    exp,
		res:    resource.NewWithAttributes(semconv.SchemaURL, attrs...),
		scope:  instrumentation.Scope{Name: "volley/metrics", Version: version},
		target: targetAttrs(opt.Method, opt.URL),
	}, nil
}

// buildVersion is volley's module version, "" for a development build.
func buildVersion() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok || bi.Main.Version == "" || bi.Main.Version == "(devel)" {
		return ""
	}
	return bi.Main.Version
}

// knownMethods are the methods semconv's http.request.method takes as they
// are; any other is "_OTHER" with http.request.method_original.
var knownMethods = map[string]bool{
	"CONNECT": true, "DELETE": true, "GET": true, "HEAD": true, "OPTIONS": true,
	"PATCH": true, "POST": true, "PUT": true, "TRACE": true, "QUERY": true,
}

// targetAttrs are the request latency's attributes for the run's target.
func targetAttrs(method, rawURL string) []attribute.KeyValue {
	var out []attribute.KeyValue
	if method != "" {
		if knownMethods[method] {
			out = append(out, semconv.HTTPRequestMethodKey.String(method))
		} else {
			out = append(out, semconv.HTTPRequestMethodOther, semconv.HTTPRequestMethodOriginal(method))
		}
	}
	if rawURL == "" {
		return out
	}
	u, err := url.Parse(rawURL)
	if err != nil || u.Host == "" {
		return out
	}
	scheme := strings.ToLower(u.Scheme)
	if host := u.Hostname(); host != "" {
		out = append(out, semconv.ServerAddress(host))
	}
	port, err := strconv.Atoi(u.Port())
	if err != nil {
		port = defaultPort(scheme)
	}
	if port > 0 {
		out = append(out, semconv.ServerPort(port))
	}
	if scheme != "" {
		out = append(out, semconv.URLScheme(scheme))
	}
	return out
}

func defaultPort(scheme string) int {
	switch scheme {
	case "http", "ws":
		return 80
	case "https", "wss":
		return 443
	}
	return 0
}

// Name says "--out otlp=URL", its userinfo redacted.
func (o *OTLP) Name() string { return o.name }

// Push sends f; ctx bounds it, and a failure is not retried.
func (o *OTLP) Push(ctx context.Context, f *Frame) error {
	if f == nil {
		return errors.New("otlp: no frame")
	}
	rm := o.ResourceMetrics(f)
	if err := o.exp.Export(ctx, rm); err != nil {
		return err
	}
	return nil
}

// Close releases the exporter's connections; Push fails after it.
func (o *OTLP) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	return o.exp.Shutdown(ctx)
}

// ResourceMetrics is f as OTLP sends it.
func (o *OTLP) ResourceMetrics(f *Frame) *metricdata.ResourceMetrics {
	now := f.Time
	if now.IsZero() {
		now = time.Now()
	}
	start := f.Start
	if start.IsZero() || start.After(now) {
		start = now
	}
	var ms []metricdata.Metrics
	for _, fam := range f.Families() {
		ms = append(ms, o.metric(fam, f.Labels, start, now))
	}
	return &metricdata.ResourceMetrics{
		Resource:     o.res,
		ScopeMetrics: []metricdata.ScopeMetrics{{Scope: o.scope, Metrics: ms}},
	}
}

// metric is one family as an OTLP metric.
func (o *OTLP) metric(fam Family, labels map[string]string, start, now time.Time) metricdata.Metrics {
	name, ok := otlpNames[fam.Name]
	if !ok {
		name = strings.ReplaceAll(strings.TrimSuffix(fam.Name, "_total"), "_", ".")
	}
	unit, ok := otlpUnits[fam.Unit]
	if !ok {
		unit = fam.Unit
	}
	m := metricdata.Metrics{Name: name, Description: fam.Help, Unit: unit}
	attrs := func(s Series) attribute.Set {
		kv := make([]attribute.KeyValue, 0, len(labels)+len(s.Labels)+len(o.target))
		for k, v := range labels {
			kv = append(kv, attribute.String(k, v))
		}
		if fam.Name == RequestDuration {
			kv = append(kv, o.target...)
		}
		for _, l := range s.Labels {
			if a, ok := seriesAttr(fam.Name, l); ok {
				kv = append(kv, a)
			}
		}
		// NewSet keeps the last of a key: the series' own win.
		return attribute.NewSet(kv...)
	}
	switch fam.Kind {
	case Counter:
		pts := make([]metricdata.DataPoint[int64], 0, len(fam.Series))
		for _, s := range fam.Series {
			pts = append(pts, metricdata.DataPoint[int64]{Attributes: attrs(s), StartTime: start, Time: now, Value: toInt(s.Value)})
		}
		m.Data = metricdata.Sum[int64]{DataPoints: pts, Temporality: metricdata.CumulativeTemporality, IsMonotonic: true}
	case Gauge:
		if fam.Name == InFlight {
			// An up-down count: a non-monotonic sum, as semconv's
			// http.client.active_requests.
			pts := make([]metricdata.DataPoint[int64], 0, len(fam.Series))
			for _, s := range fam.Series {
				pts = append(pts, metricdata.DataPoint[int64]{Attributes: attrs(s), StartTime: start, Time: now, Value: toInt(s.Value)})
			}
			m.Data = metricdata.Sum[int64]{DataPoints: pts, Temporality: metricdata.CumulativeTemporality, IsMonotonic: false}
			break
		}
		pts := make([]metricdata.DataPoint[float64], 0, len(fam.Series))
		for _, s := range fam.Series {
			pts = append(pts, metricdata.DataPoint[float64]{Attributes: attrs(s), StartTime: start, Time: now, Value: s.Value})
		}
		m.Data = metricdata.Gauge[float64]{DataPoints: pts}
	case Histogram:
		pts := make([]metricdata.ExponentialHistogramDataPoint[float64], 0, len(fam.Series))
		for _, s := range fam.Series {
			p := expPoint(s.Hist)
			p.Attributes, p.StartTime, p.Time = attrs(s), start, now
			pts = append(pts, p)
		}
		m.Data = metricdata.ExponentialHistogram[float64]{DataPoints: pts, Temporality: metricdata.CumulativeTemporality}
	}
	return m
}

// seriesAttr is a series label as an OTLP attribute; ok is false for one
// left out (an empty code or target).
func seriesAttr(family string, l Label) (attribute.KeyValue, bool) {
	switch {
	case l.Name == "code":
		n, err := strconv.Atoi(l.Value)
		if err != nil {
			return attribute.KeyValue{}, false
		}
		return semconv.HTTPResponseStatusCode(n), true
	case l.Name == "class":
		return attribute.String("volley.class", l.Value), true
	case l.Name == "target":
		if l.Value == "" {
			return attribute.KeyValue{}, false
		}
		return attribute.String("volley.target", l.Value), true
	case l.Name == "kind" && family == ErrorsTotal:
		return semconv.ErrorTypeKey.String(l.Value), true
	case l.Name == "direction" && family == BytesTotal:
		switch l.Value {
		case "in":
			return semconv.NetworkIODirectionReceive, true
		case "out":
			return semconv.NetworkIODirectionTransmit, true
		}
	}
	if l.Value == "" {
		return attribute.KeyValue{}, false
	}
	// volley's own: a message's direction (sent, received), and any other.
	return attribute.String("volley."+l.Name, l.Value), true
}

// toInt rounds a count, 0 for NaN.
func toInt(v float64) int64 {
	if v != v {
		return 0
	}
	return int64(v + 0.5)
}

// expPoint is h (nanoseconds) as an exponential histogram in seconds at
// scale Schema. OTLP's bucket k holds (base^k, base^(k+1)], Prometheus's
// bucket i holds (base^(i-1), base^i]: k = i-1.
func expPoint(h *hdr.Histogram) metricdata.ExponentialHistogramDataPoint[float64] {
	p := metricdata.ExponentialHistogramDataPoint[float64]{Scale: Schema}
	e := ExpOf(h)
	p.Count = e.Count
	p.Sum = e.Sum
	idx := e.Indexes()
	if len(idx) == 0 || h == nil {
		return p
	}
	lo, hi := idx[0], idx[len(idx)-1]
	counts := make([]uint64, hi-lo+1)
	for i, c := range e.Buckets {
		counts[i-lo] = c
	}
	p.PositiveBucket = metricdata.ExponentialBucket{Offset: int32(lo - 1), Counts: counts}
	p.Min = metricdata.NewExtrema(float64(h.Min()) / 1e9)
	p.Max = metricdata.NewExtrema(float64(h.Max()) / 1e9)
	return p
}
