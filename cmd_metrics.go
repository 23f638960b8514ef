package main

import (
	"context"
	"io"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"volley/load"
	"volley/load/redact"
	"volley/metrics"
)

// metricsOptions are the flags of live metrics: the scrape endpoint, the
// labels, and (taken out of --out) the receivers pushed to.
type metricsOptions struct {
	addr      string
	linger    time.Duration
	interval  time.Duration
	tags      []string
	tokenFile string
}

// liveOutputs are the --out values that name a receiver, not a file.
var liveOutputs = []string{"prometheus-rw", "otlp"}

func (m *metricsOptions) register(f *pflag.FlagSet) {
	f.StringVar(&m.addr, "metrics-addr", "", "serve Prometheus metrics at http://HOST:PORT/metrics while the run lasts")
	f.DurationVar(&m.linger, "metrics-linger", 0, "keep serving --metrics-addr this long after the run, so that the last scrape sees the final values")
	f.DurationVar(&m.interval, "metrics-interval", time.Second, "how often live metrics are taken and pushed to --out prometheus-rw= and otlp=")
	f.StringArrayVar(&m.tags, "tag", nil, "KEY=VALUE label on every live metric (repeatable); a sharded run adds shard=\"K/N\"")
	f.StringVar(&m.tokenFile, "metrics-token-file", "", "send the bearer token in this file with every push to --out prometheus-rw= and otlp=")
}

// livePlan is what the live metrics flags asked for, checked.
type livePlan struct {
	addr     string
	linger   time.Duration
	interval time.Duration
	tags     map[string]string
	rw, otlp []string // receiver URLs
	token    string
}

func (l *livePlan) active() bool { return l.addr != "" || len(l.rw) > 0 || len(l.otlp) > 0 }

// labelName is what Prometheus takes as a label name.
var labelName = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)

// reservedLabels are the labels volley's own series carry.
var reservedLabels = map[string]bool{"shard": true, "code": true, "class": true, "target": true,
	"kind": true, "direction": true, "le": true, "job": true, "instance": true}

// take removes the receivers from outs (they are not files) and checks
// every live metrics flag, before any load is sent.
func (m *metricsOptions) take(outs *[]string) (livePlan, error) {
	l := livePlan{addr: m.addr, linger: m.linger, interval: m.interval, tags: map[string]string{}}
	var files []string
	for _, spec := range *outs {
		format, u, _ := strings.Cut(spec, "=")
		switch format {
		case "prometheus-rw", "otlp":
			if _, err := metrics.ParseReceiverURL(u); err != nil {
				return l, usageErrorf("--out %s=%s: %w", format, redact.Userinfo(u), err)
			}
			if format == "otlp" {
				l.otlp = append(l.otlp, u)
			} else {
				l.rw = append(l.rw, u)
			}
		default:
			files = append(files, spec)
		}
	}
	*outs = files
	for _, t := range m.tags {
		k, v, ok := strings.Cut(t, "=")
		switch {
		case !ok:
			return l, usageErrorf("--tag %q: want KEY=VALUE", t)
		case !labelName.MatchString(k) || strings.HasPrefix(k, "__"):
			return l, usageErrorf("--tag %q: %q is not a label name (letters, digits and _, not starting with a digit or __)", t, k)
		case reservedLabels[k]:
			return l, usageErrorf("--tag %q: %s is a label of volley's own series", t, k)
		}
		if _, dup := l.tags[k]; dup {
			return l, usageErrorf("--tag %q: %s is given twice", t, k)
		}
		l.tags[k] = v
	}
	if m.interval <= 0 {
		return l, usageErrorf("--metrics-interval %v: want a positive duration", m.interval)
	}
	if m.linger < 0 {
		return l, usageErrorf("--metrics-linger %v: want 0 or more", m.linger)
	}
	if m.linger > 0 && m.addr == "" {
		return l, usageErrorf("--metrics-linger: give --metrics-addr too (it is how long that endpoint outlives the run)")
	}
	if m.tokenFile != "" {
		b, err := os.ReadFile(m.tokenFile)
		if err != nil {
			return l, usageErrorf("--metrics-token-file: %w", err)
		}
		l.token = strings.TrimSpace(string(b))
		if l.token == "" {
			return l, usageErrorf("--metrics-token-file %s: the file is empty", m.tokenFile)
		}
	}
	if len(l.tags) > 0 && !l.active() {
		return l, usageErrorf("--tag: give --metrics-addr or --out prometheus-rw=URL or otlp=URL for the labels to go on")
	}
	return l, nil
}

// liveMetrics is a run's live metrics: the sink Execute feeds and the
// scrape endpoint that outlives the run by the linger.
type liveMetrics struct {
	sink   *metrics.Sink
	scrape *metrics.Scrape
}

// start binds the scrape endpoint and makes the receivers; a failure is
// the user's input (an address in use, a bad URL), before any load.
func (l *livePlan) start(cfg *load.Config, messages bool, stderr io.Writer) (*liveMetrics, error) {
	if !l.active() {
		return nil, nil
	}
	lm := &liveMetrics{}
	var exps []metrics.Exporter
	if l.addr != "" {
		s, err := metrics.ListenScrape(l.addr, l.linger)
		if err != nil {
			return nil, usageError{err}
		}
		lm.scrape = s
		exps = append(exps, s)
	}
	for _, u := range l.rw {
		rw, err := metrics.NewRemoteWrite(u, metrics.RemoteWriteOptions{BearerToken: l.token})
		if err != nil {
			lm.close(context.Background())
			return nil, usageErrorf("--out prometheus-rw=%s: %w", redact.Userinfo(u), err)
		}
		exps = append(exps, rw)
	}
	target := load.TargetOf(cfg, "")
	for _, u := range l.otlp {
		o, err := metrics.NewOTLP(u, metrics.OTLPOptions{Method: target.Method, URL: target.URL, Token: l.token})
		if err != nil {
			lm.close(context.Background())
			return nil, usageErrorf("--out otlp=%s: %w", redact.Userinfo(u), err)
		}
		exps = append(exps, o)
	}
	lm.sink = metrics.NewSink(metrics.Options{
		Every: l.interval, Labels: l.tags, Messages: messages,
		Warn: func(msg string) { notice(stderr, "%s", msg) },
	}, exps...)
	return lm, nil
}

// close ends the scrape endpoint after its linger, which a signal (ctx
// done) cuts short.
func (lm *liveMetrics) close(ctx context.Context) {
	if lm == nil || lm.scrape == nil {
		return
	}
	setInterruptNote(ctx, "ending --metrics-linger")
	_ = lm.scrape.Close(ctx.Done())
}
