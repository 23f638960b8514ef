package redact

import (
	"encoding/base64"
	"net/url"
	"sort"
	"strings"

	"volley/stats"
)

// Redacted replaces a secret in reports, outputs and messages.
const Redacted = "REDACTED"

// minSecretLen is the shortest secret replaced wherever it occurs in a
// message; shorter values are still hidden where they follow their header
// name or sit in a URL's userinfo, but replacing every "ab" in a message
// would garble it.
const minSecretLen = 4

// secretHeaders returns the headers whose values volley never shows unless
// told to (--show-secrets), in lower case; a name that ends another (cookie,
// set-cookie) comes after it.
func secretHeaders() []string {
	return []string{"proxy-authorization", "authorization", "set-cookie", "cookie"}
}

// secretParams returns the query parameters whose values volley never shows
// unless told to (--show-secrets), in lower case: the names APIs give to
// keys, tokens, passwords and signatures.
func secretParams() []string {
	return []string{
		"access_token", "api-key", "api_key", "apikey", "auth", "client_secret", "id_token",
		"key", "password", "passwd", "pwd", "refresh_token", "secret", "session", "sessionid",
		"session_id", "sig", "signature", "token", "x-amz-credential", "x-amz-security-token",
		"x-amz-signature", "x-goog-credential", "x-goog-signature",
	}
}

// IsSecretParam reports whether a query parameter's value is a secret
// (api_key, token, password, signature and the like; in any case).
func IsSecretParam(name string) bool {
	for _, p := range secretParams() {
		if strings.EqualFold(name, p) {
			return true
		}
	}
	return false
}

// IsSecretHeader reports whether a header's value is a secret: Authorization,
// Proxy-Authorization, Cookie or Set-Cookie (in any case).
func IsSecretHeader(name string) bool {
	for _, s := range secretHeaders() {
		if strings.EqualFold(name, s) {
			return true
		}
	}
	return false
}

// Redactor hides the secrets of a request in text meant for people and
// files: the values of secret headers and query parameters, and the
// userinfo of URLs. The zero value hides what it can recognise without
// knowing the request (header lines, "?token=…" parameters, URL userinfo);
// New adds the request's own secret values, found wherever they
// occur. Methods are safe for concurrent use.
type Redactor struct {
	values []string // longest first, so a value never half-hides a longer one
}

// Field is a request header as the Redactor sees it.
type Field struct{ Key, Value string }

// New returns a Redactor for the secrets of a request to rawURL with headers.
func New(rawURL string, headers []Field) *Redactor {
	seen := map[string]bool{}
	add := func(v string) {
		if len(v) >= minSecretLen {
			seen[v] = true
		}
	}
	for _, h := range headers {
		if !IsSecretHeader(h.Key) {
			continue
		}
		add(h.Value)
		// "Bearer TOKEN", "Basic CREDENTIALS": the credentials alone too.
		if _, cred, ok := strings.Cut(h.Value, " "); ok {
			add(strings.TrimSpace(cred))
		}
		// "a=1; session=TOKEN": each cookie value too.
		for _, part := range strings.Split(h.Value, ";") {
			if _, v, ok := strings.Cut(part, "="); ok {
				add(strings.TrimSpace(v))
			}
		}
	}
	u, err := url.Parse(rawURL)
	if err == nil {
		for name, vs := range u.Query() {
			if IsSecretParam(name) {
				for _, v := range vs {
					add(v)
					add(url.QueryEscape(v))
				}
			}
		}
	}
	if err == nil && u.User != nil {
		add(u.User.String())
		add(u.User.Username())
		if p, ok := u.User.Password(); ok {
			add(p)
			add(url.QueryEscape(p))
		}
		// The Authorization header a client derives from the userinfo.
		pw, _ := u.User.Password()
		add(base64.StdEncoding.EncodeToString([]byte(u.User.Username() + ":" + pw)))
	}
	r := &Redactor{}
	for v := range seen {
		r.values = append(r.values, v)
	}
	sort.Slice(r.values, func(i, j int) bool {
		if len(r.values[i]) != len(r.values[j]) {
			return len(r.values[i]) > len(r.values[j])
		}
		return r.values[i] < r.values[j]
	})
	return r
}

// String returns s with every secret replaced by Redacted: URL userinfo
// ("http://user:pass@host" becomes "http://REDACTED@host"), the value of any
// secret header line ("Cookie: a=1" becomes "Cookie: REDACTED", also inside
// quoted protocol dumps), the value of any secret query parameter
// ("?api_key=k1&n=2" becomes "?api_key=REDACTED&n=2") and, for a Redactor
// from New, the request's secret values wherever they occur.
func (r *Redactor) String(s string) string {
	s = Userinfo(s)
	s = redactHeaderLines(s)
	s = redactParams(s)
	if r != nil {
		for _, v := range r.values {
			if strings.Contains(s, v) {
				s = strings.ReplaceAll(s, v, Redacted)
			}
		}
	}
	return s
}

// Result redacts everything in res that can hold a secret: the target URL
// and the error sample messages (which may quote the URL or the bytes a
// server sent, Set-Cookie included).
func (r *Redactor) Result(res *stats.Result) {
	res.Target.URL = r.String(res.Target.URL)
	for k, m := range res.ErrorSamples {
		res.ErrorSamples[k] = r.String(m)
	}
}

// Userinfo replaces the userinfo of every "scheme://userinfo@host" in
// s, whether or not the URL parses.
func Userinfo(s string) string {
	var b strings.Builder
	rest := s
	for {
		i := strings.Index(rest, "://")
		if i < 0 {
			break
		}
		start := i + 3
		// The authority ends at the first /, ?, #, whitespace or quote.
		end := start
		for end < len(rest) && !strings.ContainsRune("/?#\"' \t\r\n\\", rune(rest[end])) {
			end++
		}
		at := strings.LastIndexByte(rest[start:end], '@')
		b.WriteString(rest[:start])
		if at >= 0 {
			b.WriteString(Redacted)
			b.WriteString(rest[start+at : end])
		} else {
			b.WriteString(rest[start:end])
		}
		rest = rest[end:]
	}
	if b.Len() == 0 {
		return s
	}
	b.WriteString(rest)
	return b.String()
}

// redactHeaderLines replaces the value of every secret header line in s,
// "Name: value" up to the end of the line, raw or escaped (\r, \n) as Go
// quotes protocol dumps, or a closing quote.
func redactHeaderLines(s string) string {
	names := secretHeaders()
	var b strings.Builder
	pos := 0
	for i := 0; i < len(s); {
		name := ""
		for _, h := range names {
			if hasPrefixASCIIFold(s[i:], h) && startsHeader(s, i) {
				name = h
				break
			}
		}
		if name == "" {
			i++
			continue
		}
		j := i + len(name)
		for j < len(s) && (s[j] == ' ' || s[j] == '\t') {
			j++
		}
		if j >= len(s) || s[j] != ':' {
			i += len(name)
			continue
		}
		j++
		for j < len(s) && (s[j] == ' ' || s[j] == '\t') {
			j++
		}
		end := j
		for end < len(s) && s[end] != '\r' && s[end] != '\n' && s[end] != '"' &&
			!(s[end] == '\\' && end+1 < len(s) && (s[end+1] == 'r' || s[end+1] == 'n' || s[end+1] == '"')) {
			end++
		}
		if end > j {
			b.WriteString(s[pos:j])
			b.WriteString(Redacted)
			pos = end
		}
		i = end
		if i == j {
			i++
		}
	}
	if pos == 0 {
		return s
	}
	b.WriteString(s[pos:])
	return b.String()
}

// redactParams replaces the value of every secret query parameter in s: a
// name from secretParams after '?' or '&', then '=', up to the next '&',
// '#', whitespace, quote or backslash.
func redactParams(s string) string {
	var b strings.Builder
	pos := 0
	for i := 0; i < len(s); i++ {
		if s[i] != '?' && s[i] != '&' {
			continue
		}
		eq := i + 1
		for eq < len(s) && s[eq] != '=' && !endsParam(s[eq]) {
			eq++
		}
		if eq >= len(s) || s[eq] != '=' || !IsSecretParam(s[i+1:eq]) {
			continue
		}
		end := eq + 1
		for end < len(s) && !endsParam(s[end]) {
			end++
		}
		if end > eq+1 {
			b.WriteString(s[pos : eq+1])
			b.WriteString(Redacted)
			pos = end
		}
		i = end - 1
	}
	if pos == 0 {
		return s
	}
	b.WriteString(s[pos:])
	return b.String()
}

// endsParam reports whether c ends a query parameter's name or value: the
// next parameter, the fragment, whitespace, a quote or a backslash.
func endsParam(c byte) bool { return strings.IndexByte("&# \t\r\n\"'\\", c) >= 0 }

// startsHeader reports whether a header name may start at s[i]: at the
// start, after a non-token byte, or after an escaped line break (\r, \n)
// in a quoted dump.
func startsHeader(s string, i int) bool {
	if i == 0 || !isTokenByte(s[i-1]) {
		return true
	}
	return i >= 2 && s[i-2] == '\\' && (s[i-1] == 'n' || s[i-1] == 'r')
}

// BareUserinfo hides "user:pass@" at the start of a URL typed without
// its scheme.
func BareUserinfo(s string) string {
	end := strings.IndexAny(s, "/?#")
	if end < 0 {
		end = len(s)
	}
	if at := strings.LastIndexByte(s[:end], '@'); at >= 0 {
		return Redacted + s[at:]
	}
	return s
}

// hasPrefixASCIIFold reports whether s starts with the lower-case ASCII
// prefix, ignoring ASCII case. (strings.ToLower would change the length of
// some non-ASCII text and so the offsets.)
func hasPrefixASCIIFold(s, prefix string) bool {
	if len(s) < len(prefix) {
		return false
	}
	for i := range len(prefix) {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != prefix[i] {
			return false
		}
	}
	return true
}

func isTokenByte(c byte) bool {
	return c == '-' || c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// HeaderArg hides the value of a secret header in a -H argument that
// did not parse (so that an error message can quote it safely).
func HeaderArg(s string) string {
	t := strings.TrimSpace(s)
	for _, h := range secretHeaders() {
		if len(t) > len(h) && strings.EqualFold(t[:len(h)], h) && !isTokenByte(t[len(h)]) {
			return t[:len(h)] + " " + Redacted
		}
	}
	return s
}
