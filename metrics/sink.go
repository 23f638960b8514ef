package metrics

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"sync"
	"time"

	"volley/load"
	"volley/stats"
)

// Exporter sends frames to one receiver.
type Exporter interface {
	// Name says which receiver, for notices: "--out otlp=URL" (redacted).
	Name() string
	// Push sends one frame; ctx bounds it.
	Push(ctx context.Context, f *Frame) error
}

// Options configure a Sink.
type Options struct {
	// Every is how often a frame is taken (default 1 s).
	Every time.Duration
	// Timeout bounds each push (default Every); the final push at the end
	// of the run gets as long.
	Timeout time.Duration
	// Labels go on every series (--tag, and shard="K/N" added by NewSink).
	Labels map[string]string
	// Messages marks a message protocol: message series are sent too.
	Messages bool
	// Warn receives one notice per receiver that failed, at the end.
	Warn func(string)
}

// Sink feeds exporters from a run's snapshots. Each exporter has a
// goroutine that sends the latest frame; a frame taken while the last one is
// still being sent replaces the one waiting, so a slow receiver sees fewer
// frames, never a late run. The counts are cumulative, so a skipped frame
// loses nothing.
type Sink struct {
	opt   Options
	exps  []*feed
	start time.Time
	rate  func(time.Duration) float64
	warm  bool // the run has a warm-up, whose bytes are left out
	bytes func() (int64, int64)
	wg    sync.WaitGroup
}

// feed is one exporter's mailbox and failure count.
type feed struct {
	exp     Exporter
	next    chan *Frame // holds at most the latest frame
	pushes  int
	failed  int
	lastErr error
}

var _ load.Sink = (*Sink)(nil)

// NewSink returns a sink over exps.
func NewSink(opt Options, exps ...Exporter) *Sink {
	if opt.Every <= 0 {
		opt.Every = time.Second
	}
	if opt.Timeout <= 0 {
		opt.Timeout = opt.Every
	}
	s := &Sink{opt: opt}
	for _, e := range exps {
		s.exps = append(s.exps, &feed{exp: e, next: make(chan *Frame, 1)})
	}
	return s
}

// Every is how often a frame is taken.
func (s *Sink) Every() time.Duration { return s.opt.Every }

// Start begins feeding the exporters.
func (s *Sink) Start(st load.Started) {
	s.start = time.Now()
	cfg := st.Config
	s.rate = cfg.RateAt
	s.bytes = st.Bytes
	s.warm = cfg.Warmup > 0
	labels := map[string]string{}
	for k, v := range s.opt.Labels {
		labels[k] = v
	}
	if cfg.Shard.Of() > 1 {
		labels["shard"] = cfg.Shard.String()
	}
	s.opt.Labels = labels
	for _, f := range s.exps {
		s.wg.Go(func() { s.feed(f) })
	}
}

// Interval takes a frame and hands it to every exporter.
func (s *Sink) Interval(snap load.Snapshot) {
	f := s.frame(snap.Now, snap.Totals())
	for _, fd := range s.exps {
		// Replace a frame still waiting: the newer one holds it all.
		select {
		case <-fd.next:
		default:
		}
		fd.next <- f
	}
}

// End sends the result's totals to every exporter, once each, and says on
// Warn which receivers failed how often. res is nil when the run failed
// before sending: nothing more is sent.
func (s *Sink) End(res *stats.Result) {
	for _, fd := range s.exps {
		close(fd.next)
	}
	s.wg.Wait()
	if res != nil {
		f := s.frame(time.Now(), stats.TotalsOf(res))
		f.BytesIn, f.BytesOut = res.Bytes.In, res.Bytes.Out
		f.Final = true
		var wg sync.WaitGroup
		for _, fd := range s.exps {
			wg.Go(func() { fd.push(f, s.opt.Timeout) })
		}
		wg.Wait()
	}
	for _, fd := range s.exps {
		if fd.failed > 0 && s.opt.Warn != nil {
			s.opt.Warn(fmt.Sprintf("%s: %d of %d sends failed; the last: %v; the run and its result are not affected",
				fd.exp.Name(), fd.failed, fd.pushes, fd.lastErr))
		}
	}
}

func (s *Sink) frame(now time.Time, t stats.Totals) *Frame {
	f := &Frame{Time: now, Start: s.start, Labels: s.opt.Labels, Totals: t, Messages: s.opt.Messages}
	if s.rate != nil {
		f.TargetRate = s.rate(now.Sub(s.start))
	}
	// The result leaves the warm-up's bytes out: so do the live counts,
	// which stay 0 until it ends and then never pass the final ones.
	if s.bytes != nil && (!s.warm || t.WarmDone) {
		f.BytesIn, f.BytesOut = s.bytes()
		f.BytesIn -= t.WarmBytes[0]
		f.BytesOut -= t.WarmBytes[1]
	}
	return f
}

// feed sends each frame the mailbox holds until End closes it.
func (s *Sink) feed(fd *feed) {
	for f := range fd.next {
		fd.push(f, s.opt.Timeout)
	}
}

func (fd *feed) push(f *Frame, timeout time.Duration) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	fd.pushes++
	if err := fd.exp.Push(ctx, f); err != nil {
		fd.failed++
		fd.lastErr = err
	}
}

// ParseReceiverURL checks a receiver's URL: http or https, with a host. Its
// errors do not repeat the URL (the caller names it, redacted), since url's
// own would quote its password.
func ParseReceiverURL(raw string) (*url.URL, error) {
	if raw == "" {
		return nil, errors.New("want a URL")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, errors.New("not a URL")
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return nil, errors.New("want an http:// or https:// URL")
	}
	return u, nil
}
