package metrics

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/klauspost/compress/snappy"

	"volley/load/redact"
)

// RemoteWriteOptions configure a RemoteWrite. Timeouts come from the
// ctx of each Push.
type RemoteWriteOptions struct {
	// Username and Password send basic auth; a URL's userinfo sets them
	// when they are empty.
	Username, Password string
	// BearerToken sends "Authorization: Bearer TOKEN".
	BearerToken string
}

// RemoteWrite sends each frame with Prometheus remote write 1.0. Every
// histogram goes both as classic buckets, which every receiver takes, and
// as a native histogram; once a receiver refuses native histograms it gets
// classic buckets only.
type RemoteWrite struct {
	url    string // without userinfo
	name   string
	user   string
	pass   string
	basic  bool
	bearer string
	client *http.Client
	// classicOnly is set once the receiver refused native histograms.
	classicOnly atomic.Bool
}

var _ Exporter = (*RemoteWrite)(nil)

// NewRemoteWrite returns an exporter that posts to rawURL (http or https).
// Userinfo in rawURL is taken as basic auth and kept out of the requests'
// URL and of Name.
func NewRemoteWrite(rawURL string, opt RemoteWriteOptions) (*RemoteWrite, error) {
	u, err := ParseReceiverURL(rawURL)
	if err != nil {
		return nil, err
	}
	w := &RemoteWrite{user: opt.Username, pass: opt.Password, bearer: opt.BearerToken,
		client: &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}}
	w.basic = opt.Username != "" || opt.Password != ""
	if u.User != nil {
		if !w.basic {
			w.user = u.User.Username()
			w.pass, _ = u.User.Password()
			w.basic = true
		}
		u.User = nil
	}
	if w.basic && w.bearer != "" {
		return nil, errors.New("basic auth (the URL's user and password) and a bearer token (--metrics-token-file) both given; use one")
	}
	w.url = u.String()
	w.name = "--out prometheus-rw=" + redact.Userinfo(w.url)
	return w, nil
}

// Name says which receiver, without credentials.
func (w *RemoteWrite) Name() string { return w.name }

// Push sends f. A receiver that refuses a request holding native
// histograms with an answer naming them (Prometheus 2 without
// --enable-feature=native-histograms answers 500 "native histograms are
// disabled"; others 400) is taken not to support them: f is sent again at
// once without them, and so is every later frame.
func (w *RemoteWrite) Push(ctx context.Context, f *Frame) error {
	native := !w.classicOnly.Load()
	err := w.send(ctx, w.request(f, native))
	var se *statusError
	if native && errors.As(err, &se) && strings.Contains(strings.ToLower(se.body), "native histogram") {
		w.classicOnly.Store(true)
		err = w.send(ctx, w.request(f, false))
	}
	return err
}

// statusError is a receiver's non-2xx answer.
type statusError struct {
	code int
	body string // the first bytes
}

func (e *statusError) Error() string {
	body := e.body
	if len(body) > 200 {
		body = body[:200]
	}
	return fmt.Sprintf("remote write: %s: %s", http.StatusText(e.code)+" ("+strconv.Itoa(e.code)+")", strings.TrimSpace(body))
}

func (w *RemoteWrite) send(ctx context.Context, series []rwSeries) error {
	raw := appendWriteRequest(nil, series)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.url, bytes.NewReader(snappy.Encode(nil, raw)))
	if err != nil {
		return fmt.Errorf("remote write: %w", err)
	}
	req.Header.Set("Content-Encoding", "snappy")
	req.Header.Set("Content-Type", "application/x-protobuf")
	req.Header.Set("X-Prometheus-Remote-Write-Version", "0.1.0")
	req.Header.Set("User-Agent", "volley")
	if w.basic {
		req.SetBasicAuth(w.user, w.pass)
	}
	if w.bearer != "" {
		req.Header.Set("Authorization", "Bearer "+w.bearer)
	}
	resp, err := w.client.Do(req)
	if err != nil {
		// The client's errors quote the URL, which holds no userinfo now.
		return fmt.Errorf("remote write: %w", err)
	}
	defer resp.Body.Close()
	// Enough of the body to tell what was refused; the rest is drained
	// (up to a bound) so the connection can be reused.
	head, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode/100 != 2 {
		return &statusError{code: resp.StatusCode, body: string(head)}
	}
	return nil
}

// request is f as remote write series; native adds a native histogram
// under each histogram's plain name.
func (w *RemoteWrite) request(f *Frame, native bool) []rwSeries {
	ts := f.Time.UnixMilli()
	base := make([]rwLabel, 0, len(f.Labels))
	for k, v := range f.Labels {
		if v != "" {
			base = append(base, rwLabel{k, v})
		}
	}
	var out []rwSeries
	// labels are a series' labels: name, the frame's, ser's and extra,
	// sorted by name as receivers require; a series label replaces a frame
	// label of its name, since duplicates are refused.
	labels := func(name string, ser []Label, extra ...rwLabel) []rwLabel {
		ls := make([]rwLabel, 0, 1+len(base)+len(ser)+len(extra))
		ls = append(ls, rwLabel{"__name__", name})
		ls = append(ls, extra...)
		for _, l := range ser {
			if l.Value != "" && !hasLabel(ls, l.Name) {
				ls = append(ls, rwLabel{l.Name, l.Value})
			}
		}
		for _, l := range base {
			if !hasLabel(ls, l.name) {
				ls = append(ls, l)
			}
		}
		slices.SortFunc(ls, func(a, b rwLabel) int { return strings.Compare(a.name, b.name) })
		return ls
	}
	sample := func(name string, ser []Label, v float64, extra ...rwLabel) {
		out = append(out, rwSeries{labels: labels(name, ser, extra...), value: v, ts: ts})
	}
	for _, fam := range f.Families() {
		for _, ser := range fam.Series {
			if fam.Kind != Histogram {
				sample(fam.Name, ser.Labels, ser.Value)
				continue
			}
			cum, count, sum := Classic(ser.Hist)
			for i, b := range Bounds {
				sample(fam.Name+"_bucket", ser.Labels, float64(cum[i]), rwLabel{"le", formatLe(b)})
			}
			sample(fam.Name+"_bucket", ser.Labels, float64(count), rwLabel{"le", "+Inf"})
			sample(fam.Name+"_sum", ser.Labels, sum)
			sample(fam.Name+"_count", ser.Labels, float64(count))
			if native {
				e := ExpOf(ser.Hist)
				spans, deltas := e.Spans()
				out = append(out, rwSeries{labels: labels(fam.Name, ser.Labels), ts: ts,
					hist: &rwHistogram{count: e.Count, sum: e.Sum, schema: Schema, spans: spans, deltas: deltas}})
			}
		}
	}
	return out
}

func hasLabel(ls []rwLabel, name string) bool {
	return slices.ContainsFunc(ls, func(l rwLabel) bool { return l.name == name })
}

// formatLe writes a bound as Prometheus's client libraries do, so the
// series match those of the scrape endpoint.
func formatLe(b float64) string {
	if math.IsInf(b, 1) {
		return "+Inf"
	}
	return strconv.FormatFloat(b, 'g', -1, 64)
}
