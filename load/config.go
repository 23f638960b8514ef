package load

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"
)

// Header is one request header, kept in the order given.
type Header struct{ Key, Value string }

// Request is what one request sends: method, URL, headers and body.
type Request struct {
	Method  string
	URL     string
	Headers []Header
	Body    []byte
}

// Config is one run's plan.
type Config struct {
	Request Request
	// Rate is requests per second across all connections; 0 runs closed loop.
	Rate float64
	// Connections is the number of connections (and workers).
	Connections int
	// Duration bounds how long requests are sent; 0 means no time bound.
	Duration time.Duration
	// Requests bounds how many requests are sent; 0 means no count bound.
	Requests int64
	// Timeout bounds each request, connecting included.
	Timeout time.Duration
	// MaxBody is the largest response body read; larger ones are errors of
	// the body_too_large category.
	MaxBody int

	// Targets, when set, are sent instead of Request, picked by weight.
	Targets []Target
	// Random picks targets at random (from Seed) instead of interleaving
	// them by weight.
	Random bool
	// Seed seeds random picks and template values.
	Seed uint64
	// Data feeds {{csv.COLUMN}} templates; DataRandom picks its rows at
	// random (from Seed) instead of in turn.
	Data       *Data
	DataRandom bool
	// Expect holds the checks responses must pass.
	Expect Expect
	// Conn holds the protocol, TLS and connection options.
	Conn ConnOptions
}

// Validate checks the plan and returns an error naming the setting at fault.
func (c *Config) Validate() error {
	if err := c.validateRequests(); err != nil {
		return err
	}
	switch {
	case c.Rate < 0 || c.Rate != c.Rate:
		return fmt.Errorf("rate %v: must be 0 (closed loop) or positive", c.Rate)
	case c.Rate > 10_000_000:
		return fmt.Errorf("rate %v: at most 10000000 requests per second", c.Rate)
	case c.Connections < 1:
		return fmt.Errorf("connections %d: must be at least 1", c.Connections)
	case c.Connections > 100_000:
		return fmt.Errorf("connections %d: at most 100000", c.Connections)
	case c.Duration < 0:
		return fmt.Errorf("duration %v: must not be negative", c.Duration)
	case c.Requests < 0:
		return fmt.Errorf("requests %d: must not be negative", c.Requests)
	case c.Duration == 0 && c.Requests == 0:
		return errors.New("duration and requests are both 0: the run would never stop")
	case c.Timeout <= 0:
		return fmt.Errorf("timeout %v: must be positive", c.Timeout)
	case c.MaxBody < 0:
		return fmt.Errorf("max body %d: must not be negative", c.MaxBody)
	}
	return c.Conn.validate()
}

// ParseTargetURL parses an http or https URL with a host.
func ParseTargetURL(s string) (*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil {
		return nil, fmt.Errorf("url %q: %w", s, err)
	}
	switch u.Scheme {
	case "http", "https":
	case "":
		return nil, fmt.Errorf("url %q: missing scheme, want http:// or https://", s)
	default:
		return nil, fmt.Errorf("url %q: unsupported scheme %q, want http or https", s, u.Scheme)
	}
	if u.Host == "" || u.Hostname() == "" {
		return nil, fmt.Errorf("url %q: missing host", s)
	}
	if p := u.Port(); p != "" {
		var n int
		if _, err := fmt.Sscanf(p, "%d", &n); err != nil || n < 1 || n > 65535 {
			return nil, fmt.Errorf("url %q: port %q out of range 1-65535", s, p)
		}
	}
	return u, nil
}

// ParseHeader parses "Key: Value".
func ParseHeader(s string) (Header, error) {
	k, v, ok := strings.Cut(s, ":")
	if !ok {
		return Header{}, fmt.Errorf("header %q: want 'Key: Value'", s)
	}
	h := Header{Key: strings.TrimSpace(k), Value: strings.TrimSpace(v)}
	return h, checkHeader(h)
}

func checkHeader(h Header) error {
	if h.Key == "" {
		return fmt.Errorf("header %q: empty name", h.Key+": "+h.Value)
	}
	for _, r := range h.Key {
		if r <= ' ' || r >= 0x7f || strings.ContainsRune("()<>@,;:\\\"/[]?={}", r) {
			return fmt.Errorf("header %q: invalid character %q in name", h.Key, r)
		}
	}
	if strings.ContainsAny(h.Value, "\r\n\x00") {
		return fmt.Errorf("header %q: value contains a line break or NUL", h.Key)
	}
	return nil
}
