package request

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"unicode/utf8"
	"volley/load/redact"
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

// Redactor returns the redactor that hides r's secrets: its secret
// headers' values and its URL's userinfo and secret parameters.
func (r Request) Redactor() *redact.Redactor {
	fields := make([]redact.Field, len(r.Headers))
	for i, h := range r.Headers {
		fields[i] = redact.Field{Key: h.Key, Value: h.Value}
	}
	return redact.New(r.URL, fields)
}

// ParseTargetURL parses an http, https, ws or wss URL with a host. Its errors quote
// the URL with any userinfo redacted.
func ParseTargetURL(raw string) (*url.URL, error) {
	s := redact.Userinfo(raw)
	if !strings.Contains(s, "://") {
		return nil, fmt.Errorf("url %q: missing scheme, want http:// or https://", redact.BareUserinfo(s))
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
	case "http", "https", "ws", "wss":
	case "":
		return nil, fmt.Errorf("url %q: missing scheme, want http:// or https://", s)
	default:
		return nil, fmt.Errorf("url %q: unsupported scheme %q, want http, https, ws or wss", s, u.Scheme)
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
		return Header{}, fmt.Errorf("header %q: want 'Key: Value'", redact.HeaderArg(s))
	}
	h := Header{Key: strings.TrimSpace(k), Value: strings.TrimSpace(v)}
	return h, checkHeader(h)
}

// checkMethod accepts a method that is an RFC 9110 token: ASCII letters,
// digits and !#$%&'*+-.^_`|~, nothing else (no space, no control, no
// byte beyond ASCII such as a byte-order mark's).
func checkMethod(m string) error {
	if m == "" {
		return errors.New(`method "": want a token such as GET or POST`)
	}
	for i := 0; i < len(m); i++ {
		if !isTokenChar(m[i]) {
			// %q shows what cannot be seen: "\ufeffGET", "GET\x00".
			return fmt.Errorf("method %q: want a token such as GET or POST", m)
		}
	}
	return nil
}

// isTokenChar reports whether c is an RFC 9110 tchar.
func isTokenChar(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return c < utf8.RuneSelf && strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
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

// IsRedirect reports whether code is a redirect that names a new location
// to follow (RFC 9110 15.4: 301, 302, 303, 307, 308).
func IsRedirect(code int) bool {
	switch code {
	case 301, 302, 303, 307, 308:
		return true
	}
	return false
}

// IsWebSocketURL reports whether s has the ws or wss scheme.
func IsWebSocketURL(s string) bool {
	return strings.HasPrefix(s, "ws://") || strings.HasPrefix(s, "wss://")
}

// ErrInvalidStatus reports a status code outside 100..599.
var ErrInvalidStatus = errors.New("invalid status code")
