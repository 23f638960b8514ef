package metrics

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"
	"google.golang.org/protobuf/proto"
)

// Scrape serves the latest frame as a Prometheus scrape endpoint at
// /metrics, from Listen until Close. Push only stores the frame: a scrape
// reads what the last interval took, never the run's live state.
type Scrape struct {
	ln     net.Listener
	srv    *http.Server
	linger time.Duration
	done   chan struct{}

	mu    sync.Mutex
	frame *Frame
}

// ListenScrape binds addr (HOST:PORT) and serves /metrics on it. linger is
// how long Close keeps serving after the run, so that the last scrape sees
// the final values.
func ListenScrape(addr string, linger time.Duration) (*Scrape, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("--metrics-addr %s: %w", addr, err)
	}
	s := &Scrape{ln: ln, linger: linger, done: make(chan struct{})}
	reg := prometheus.NewRegistry()
	reg.MustRegister(s)
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	s.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		defer close(s.done)
		_ = s.srv.Serve(ln)
	}()
	return s, nil
}

// Addr is the address it listens on (the port chosen when addr's was 0).
func (s *Scrape) Addr() string { return s.ln.Addr().String() }

// Name says what it is, for notices.
func (s *Scrape) Name() string { return "--metrics-addr " + s.Addr() }

// Push keeps f for the next scrape.
func (s *Scrape) Push(_ context.Context, f *Frame) error {
	s.mu.Lock()
	s.frame = f
	s.mu.Unlock()
	return nil
}

// Close serves for the linger, then stops. cut, once closed, ends the
// linger early (the user's second interrupt); nil never does.
func (s *Scrape) Close(cut <-chan struct{}) error {
	if s.linger > 0 {
		t := time.NewTimer(s.linger)
		select {
		case <-t.C:
		case <-cut:
			t.Stop()
		}
	}
	shut, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	err := s.srv.Shutdown(shut)
	<-s.done
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

// Describe sends no descriptions: the series are made from each frame
// (an unchecked collector).
func (s *Scrape) Describe(chan<- *prometheus.Desc) {}

// Collect sends the latest frame's series.
func (s *Scrape) Collect(ch chan<- prometheus.Metric) {
	s.mu.Lock()
	f := s.frame
	s.mu.Unlock()
	if f == nil {
		return
	}
	base := slices.Sorted(maps.Keys(f.Labels))
	for _, fam := range f.Families() {
		for _, ser := range fam.Series {
			names := append([]string(nil), base...)
			values := make([]string, 0, len(base)+len(ser.Labels))
			for _, k := range base {
				values = append(values, f.Labels[k])
			}
			for _, l := range ser.Labels {
				names = append(names, l.Name)
				values = append(values, l.Value)
			}
			desc := prometheus.NewDesc(fam.Name, fam.Help, names, nil)
			switch fam.Kind {
			case Counter:
				ch <- prometheus.MustNewConstMetricWithCreatedTimestamp(desc, prometheus.CounterValue, ser.Value, f.Start, values...)
			case Gauge:
				ch <- prometheus.MustNewConstMetric(desc, prometheus.GaugeValue, ser.Value, values...)
			case Histogram:
				ch <- &histMetric{desc: desc, labels: labelPairs(names, values), exp: ExpOf(ser.Hist), hist: ser}
			}
		}
	}
}

func labelPairs(names, values []string) []*dto.LabelPair {
	out := make([]*dto.LabelPair, len(names))
	for i := range names {
		out[i] = &dto.LabelPair{Name: proto.String(names[i]), Value: proto.String(values[i])}
	}
	slices.SortFunc(out, func(a, b *dto.LabelPair) int { return strings.Compare(a.GetName(), b.GetName()) })
	return out
}

// histMetric is one histogram with both encodings: classic buckets, which
// every scraper reads, and the native exponential buckets, which a
// Prometheus with native histograms reads over the protobuf format.
type histMetric struct {
	desc   *prometheus.Desc
	labels []*dto.LabelPair
	exp    Exp
	hist   Series
}

func (m *histMetric) Desc() *prometheus.Desc { return m.desc }

func (m *histMetric) Write(out *dto.Metric) error {
	cum, count, sum := Classic(m.hist.Hist)
	h := &dto.Histogram{
		SampleCount:   proto.Uint64(count),
		SampleSum:     proto.Float64(sum),
		Schema:        proto.Int32(Schema),
		ZeroThreshold: proto.Float64(0),
		ZeroCount:     proto.Uint64(0),
	}
	for i, b := range Bounds {
		h.Bucket = append(h.Bucket, &dto.Bucket{UpperBound: proto.Float64(b), CumulativeCount: proto.Uint64(cum[i])})
	}
	spans, deltas := m.exp.Spans()
	for _, sp := range spans {
		h.PositiveSpan = append(h.PositiveSpan, &dto.BucketSpan{Offset: proto.Int32(sp.Offset), Length: proto.Uint32(sp.Length)})
	}
	h.PositiveDelta = deltas
	if count == 0 {
		// An empty native histogram needs a span to be told from a
		// classic one.
		h.PositiveSpan = []*dto.BucketSpan{{Offset: proto.Int32(0), Length: proto.Uint32(0)}}
	}
	out.Label = m.labels
	out.Histogram = h
	return nil
}
