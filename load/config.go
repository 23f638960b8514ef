package load

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	"volley/load/dial"
	"volley/load/field"
	"volley/load/request"
)

// Config is one run's plan.
type Config struct {
	// Spec is what is sent: the request or targets, data and checks.
	request.Spec
	// Rate is requests per second across all connections; 0 runs closed loop.
	Rate float64
	// Connections is the number of connections (and workers).
	Connections int
	// Streams is how many requests or messages one connection may carry
	// at once: HTTP/2 streams, HTTP/1.1 pipelining depth, outstanding
	// WebSocket messages. 0 is the protocol's default (1 for HTTP, no
	// practical bound for WebSocket).
	Streams int
	// Duration bounds how long requests are sent; 0 means no time bound.
	Duration time.Duration
	// Requests bounds how many requests are sent; 0 means no count bound.
	Requests int64
	// Timeout bounds each request, connecting included.
	Timeout time.Duration
	// MaxBody is the largest response body read; larger ones are errors of
	// the body_too_large category. 0 reads bodies of any size.
	MaxBody int
	// MaxHeader bounds a response's header block: over HTTP/1.1 the bytes
	// from the status line to the empty line that ends the headers (and
	// those of chunked trailers), over HTTP/2 the header list size (names
	// and values plus 32 bytes per field). A larger one is a protocol
	// error. 0 means DefaultMaxHeader; otherwise MinMaxHeader to
	// MaxMaxHeader.
	MaxHeader int
	// Shard selects this process's part of a plan run by several: it sends
	// the requests whose global index i has i mod Count == Index, at their
	// global intended times. The zero value runs the whole plan.
	Shard Shard
	// StartAt, when set, is the wall time the schedule starts from, so that
	// shards on several machines line up. A start in the past makes the
	// overdue requests late sends; none is skipped.
	StartAt time.Time

	// Shape (see plan.go). Stages, when set, shape the run and set its
	// length: rates in an open-loop run, active connections when
	// StageConnections is set (closed loop). Duration, if also set, cuts
	// the stages short.
	Stages           []Stage
	StageConnections bool
	// Arrival spaces open-loop requests: Uniform (the default) or Poisson,
	// whose exponential gaps are drawn from Seed.
	Arrival Arrival
	// Seed seeds Poisson gaps, random target picks and template values.
	Seed uint64
	// Tick is the pacing grid of an open-loop run: requests due within one
	// tick are released together at its start, by one timer wake-up, and
	// their latency counts from it. 0 paces every request on a timer of its
	// own, at its exact due time.
	Tick time.Duration
	// Warmup runs this long at the first stage's (or the constant) rate
	// before the measured run; its requests are counted apart and kept out
	// of every statistic.
	Warmup time.Duration

	// Conn holds the protocol, TLS and connection options.
	Conn dial.Options
}

// Shard is part K (0-based Index) of N (Count) of a plan.
type Shard struct{ Index, Count int }

// Of returns the number of shards, at least 1.
func (s Shard) Of() int { return max(s.Count, 1) }

// String returns "K/N".
func (s Shard) String() string { return fmt.Sprintf("%d/%d", s.Index, s.Of()) }

// Requests returns how many of the first n global requests fall to this
// shard.
func (s Shard) Requests(n int64) int64 {
	k, of := int64(s.Index), int64(s.Of())
	if n <= k {
		return 0
	}
	return (n - k + of - 1) / of
}

// ParseShard parses "K/N" with 0 <= K < N.
func ParseShard(v string) (Shard, error) {
	ks, ns, ok := strings.Cut(v, "/")
	var sh Shard
	if ok {
		var err1, err2 error
		sh.Index, err1 = strconv.Atoi(strings.TrimSpace(ks))
		sh.Count, err2 = strconv.Atoi(strings.TrimSpace(ns))
		ok = err1 == nil && err2 == nil
	}
	if !ok {
		return Shard{}, fmt.Errorf("shard %q: want K/N, e.g. 0/4 (K counts from 0)", v)
	}
	if sh.Count < 1 || sh.Count > 1_000_000 || sh.Index < 0 || sh.Index >= sh.Count {
		return Shard{}, fmt.Errorf("shard %q: want 0 <= K < N <= 1000000", v)
	}
	return sh, nil
}

// MaxStartLate is how far in the past a --start-at time may be. A shard
// started a little late (a CI matrix job picked up after the others) still
// runs, sends its overdue requests late and reports how late it began; a
// start further back is a mistake (a restarted pod reusing its start time,
// local time written as UTC) that would send every request due since then at
// once, measuring nothing but the backlog.
const MaxStartLate = time.Minute

// ParseStartAt parses an RFC 3339 time or "+D" (a duration from now), and
// refuses a time more than MaxStartLate before now.
func ParseStartAt(v string, now time.Time) (time.Time, error) {
	if rest, ok := strings.CutPrefix(v, "+"); ok {
		d, err := time.ParseDuration(rest)
		if err != nil || d < 0 {
			return time.Time{}, fmt.Errorf("start time %q: want RFC 3339 (2026-11-25T12:00:00Z) or +DURATION (+30s)", v)
		}
		return now.Add(d), nil
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return time.Time{}, fmt.Errorf("start time %q: want RFC 3339 (2026-11-25T12:00:00Z) or +DURATION (+30s)", v)
	}
	if late := now.Sub(t); late > MaxStartLate {
		return time.Time{}, fmt.Errorf("start time %q is %s in the past (now is %s): a start more than %s back "+
			"would send every request due since then at once; give a time to come or +DURATION (local time written as UTC?)",
			v, pastString(late), now.UTC().Format(time.RFC3339), MaxStartLate)
	}
	return t, nil
}

// pastString writes a lateness for people: seconds under an hour, hours and
// minutes under two days, days beyond.
func pastString(d time.Duration) string {
	switch {
	case d < time.Hour:
		return d.Round(time.Second).String()
	case d < 48*time.Hour:
		d = d.Round(time.Minute)
		if m := d % time.Hour; m != 0 {
			return fmt.Sprintf("%dh%dm", d/time.Hour, m/time.Minute)
		}
		return fmt.Sprintf("%dh", d/time.Hour)
	}
	return fmt.Sprintf("%d days", int64(d/(24*time.Hour)))
}

// MaxStreams bounds --streams: a connection's slots are kept for the run,
// and a million per connection is past what any server takes.
const MaxStreams = 1_000_000

// MinRate is the lowest positive rate: one request per day. Lower rates
// would put request times beyond what a time.Duration holds.
const MinRate = 1.0 / 86400

// Validate checks the plan and returns an error naming the setting at fault.
func (c *Config) Validate() error {
	if _, err := request.Compile(&c.Spec, c.Seed); err != nil {
		return err
	}
	switch {
	case c.Rate < 0 || c.Rate != c.Rate:
		return field.Errorf("Rate", "rate %v: must be 0 (closed loop) or positive", c.Rate)
	case c.Rate > 0 && c.Rate < MinRate:
		return field.Errorf("Rate", "rate %v: below one request per day (%.7f)", c.Rate, MinRate)
	case c.Tick < 0 || c.Tick > time.Second:
		return field.Errorf("Tick", "tick %v: must be between 0 (a timer per request) and 1s", c.Tick)
	case c.Rate > 10_000_000:
		return field.Errorf("Rate", "rate %v: at most 10000000 requests per second", c.Rate)
	case c.Connections < 1:
		return field.Errorf("Connections", "connections %d: must be at least 1", c.Connections)
	case c.Connections > 100_000:
		return field.Errorf("Connections", "connections %d: at most 100000", c.Connections)
	case c.Streams < 0 || c.Streams > MaxStreams:
		return field.Errorf("Streams", "streams %d: want 1 to %d (0 for the protocol's default)", c.Streams, MaxStreams)
	case c.Duration < 0:
		return field.Errorf("Duration", "duration %v: must not be negative", c.Duration)
	case c.Requests < 0:
		return field.Errorf("Requests", "requests %d: must not be negative", c.Requests)
	case c.Duration == 0 && c.Requests == 0 && len(c.Stages) == 0:
		return field.Errorf("Duration", "duration and requests are both 0: the run would never stop")
	case c.Timeout <= 0:
		return field.Errorf("Timeout", "timeout %v: must be positive", c.Timeout)
	case c.MaxBody < 0:
		return field.Errorf("MaxBody", "max body %d: must not be negative", c.MaxBody)
	case c.Shard.Count < 0 || c.Shard.Index < 0 || c.Shard.Index >= c.Shard.Of():
		return field.Errorf("Shard", "shard %d/%d: want 0 <= K < N", c.Shard.Index, c.Shard.Count)
	case c.Requests > 0 && c.Shard.Requests(c.Requests) == 0:
		return field.Errorf("Shard", "shard %s: requests %d leave this shard nothing to send", c.Shard, c.Requests)
	}
	if err := checkMaxHeader(c.MaxHeader); err != nil {
		return err
	}
	if err := c.validateShape(); err != nil {
		return err
	}
	return c.Conn.Validate()
}

// Bounds of Config.MaxHeader.
const (
	// DefaultMaxHeader is the header bound when Config.MaxHeader is 0.
	DefaultMaxHeader = 64 << 10
	// MinMaxHeader and MaxMaxHeader bound Config.MaxHeader.
	MinMaxHeader = 4 << 10 // the first read's size: every bound from here up is enforced
	MaxMaxHeader = 16 << 20
)

// HeaderLimit is the bound on a response's header block: MaxHeader, or
// DefaultMaxHeader when it is 0. A MaxHeader out of range is an error
// (clients check it too, for a Config that was not validated).
func (c *Config) HeaderLimit() (int, error) {
	if err := checkMaxHeader(c.MaxHeader); err != nil {
		return 0, err
	}
	if c.MaxHeader == 0 {
		return DefaultMaxHeader, nil
	}
	return c.MaxHeader, nil
}

// checkMaxHeader refuses a header bound out of range; the clients check
// it too, for a Config that was not validated.
func checkMaxHeader(n int) error {
	if n != 0 && (n < MinMaxHeader || n > MaxMaxHeader) {
		return field.Errorf("MaxHeader", "max header %d: want %s to %s", n, SizeText(MinMaxHeader), SizeText(MaxMaxHeader))
	}
	return nil
}

// SizeText writes a byte count for people: "64 KiB" when it is a whole
// number of KiB or MiB, "1500 bytes" otherwise.
func SizeText(n int) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}
