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
}

// MinRate is the lowest positive rate: one request per day. Lower rates
// would put request times beyond what a time.Duration holds.
const MinRate = 1.0 / 86400

// Validate checks the plan and returns an error naming the setting at fault.
func (c *Config) Validate() error {
	if _, err := ParseTargetURL(c.Request.URL); err != nil {
		return err
	}
	if c.Request.Method == "" || strings.ContainsAny(c.Request.Method, " \t\r\n:/") {
		return fmt.Errorf("method %q: want a token such as GET or POST", c.Request.Method)
	}
	for _, h := range c.Request.Headers {
		if err := checkHeader(h); err != nil {
			return err
		}
	}
	switch {
	case c.Rate < 0 || c.Rate != c.Rate:
		return fmt.Errorf("rate %v: must be 0 (closed loop) or positive", c.Rate)
	case c.Rate > 0 && c.Rate < MinRate:
		return fmt.Errorf("rate %v: below one request per day (%.7f)", c.Rate, MinRate)
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
	return nil
}

// ParseTargetURL parses an http or https URL with a host. Its errors quote
// the URL with any userinfo redacted.
func ParseTargetURL(raw string) (*url.URL, error) {
	s := redactUserinfo(raw)
	if !strings.Contains(s, "://") {
		return nil, fmt.Errorf("url %q: missing scheme, want http:// or https://", redactBareUserinfo(s))
	}
	u, err := url.Parse(raw)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			// url.Error quotes the whole URL, userinfo included.
			err = ue.Err
		}
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
		return Header{}, fmt.Errorf("header %q: want 'Key: Value'", redactHeaderArg(s))
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
