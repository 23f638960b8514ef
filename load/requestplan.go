package load

import (
	"bytes"
	"fmt"
	"net"
	"net/url"
	"strings"

	"volley/load/dial"
	"volley/stats"
)

// plan is a run's requests compiled once: targets with their templates, the
// picker, and the target groups (one per distinct name) for the breakdown.
// It is read-only once built and shared by every worker.
type plan struct {
	targets    []compiled
	endpoints  []dial.Endpoint
	groups     []stats.TargetDef // nil when there is one group, or too many
	nameCount  int               // distinct names
	pick       picker
	seed       uint64
	data       *Data
	dataRandom bool
	expect     Expect
}

// compiled is one target ready to render.
type compiled struct {
	method   string
	url      Template
	urlText  string // the URL when it is static
	headers  []compiledHeader
	body     Template
	bodyText []byte // the body when it is static
	static   bool   // no template anywhere: every request is the same
	group    uint8
	endpoint int
	host     string // the URL's host[:port] as written, for the Host header
}

type compiledHeader struct {
	key   string
	value Template
	text  string // the value when it is static
}

// requests returns the run's targets: Targets, or Request as one target.
func (c *Config) requests() []Target {
	if len(c.Targets) > 0 {
		return c.Targets
	}
	return []Target{{Request: c.Request, Weight: 1}}
}

func (c *Config) validateRequests() error {
	_, err := compilePlan(c)
	return err
}

// targetError names the target at fault when there are several.
func targetError(c *Config, i int, err error) error {
	if len(c.Targets) == 0 {
		return err
	}
	t := c.Targets[i]
	name := t.Name
	if name == "" {
		name = t.DefaultName()
	}
	return fmt.Errorf("target %d (%s): %w", i+1, name, err)
}

// compilePlan checks and compiles every target of c.
func compilePlan(c *Config) (*plan, error) {
	ts := c.requests()
	p := &plan{seed: c.Seed, data: c.Data, dataRandom: c.DataRandom, expect: c.Expect}
	if len(ts) > MaxTargetCount {
		return nil, fmt.Errorf("%d targets: at most %d", len(ts), MaxTargetCount)
	}
	weights := make([]int, len(ts))
	groupOf := map[string]int{}
	eps := map[dial.Endpoint]int{}
	var salt uint64
	p.targets = make([]compiled, len(ts))
	for i, t := range ts {
		ct, ep, err := compileTarget(t, c.Data, &salt)
		if err != nil {
			return nil, targetError(c, i, err)
		}
		if t.Weight < 1 || t.Weight > MaxWeight {
			return nil, targetError(c, i, fmt.Errorf("weight %d: want 1 to %d", t.Weight, MaxWeight))
		}
		weights[i] = t.Weight
		idx, ok := eps[ep]
		if !ok {
			idx = len(p.endpoints)
			eps[ep] = idx
			p.endpoints = append(p.endpoints, ep)
		}
		ct.endpoint = idx
		name := t.Name
		if name == "" {
			name = t.DefaultName()
		}
		g, ok := groupOf[name]
		if !ok {
			g = len(groupOf)
			groupOf[name] = g
			p.groups = append(p.groups, stats.TargetDef{Name: name, Method: t.Method, URL: t.URL})
		}
		p.groups[g].Weight += t.Weight
		if g < stats.MaxTargets {
			ct.group = uint8(g)
		}
		p.targets[i] = ct
	}
	p.nameCount = len(groupOf)
	if len(p.groups) < 2 || len(p.groups) > stats.MaxTargets {
		p.groups = nil
		for i := range p.targets {
			p.targets[i].group = 0
		}
	}
	var err error
	if p.pick, err = newPicker(weights, c.Random, c.Seed); err != nil {
		return nil, err
	}
	return p, nil
}

func compileTarget(t Target, data *Data, salt *uint64) (compiled, dial.Endpoint, error) {
	ct := compiled{method: t.Method}
	if err := checkMethod(t.Method); err != nil {
		return ct, dial.Endpoint{}, err
	}
	var err error
	if ct.url, err = compileTemplate(t.URL, data, salt); err != nil {
		return ct, dial.Endpoint{}, fmt.Errorf("url %q: %w", t.URL, err)
	}
	// Render once with sample values to check the URL, and require the
	// scheme and host to be literal: connections are made per host.
	env := templateEnv{data: data}
	sample := string(ct.url.appendTo(nil, &env))
	u, err := ParseTargetURL(sample)
	if err != nil {
		return ct, dial.Endpoint{}, err
	}
	if !ct.url.Static() {
		lit := ""
		if ct.url.parts[0].kind == partLit {
			lit = string(ct.url.parts[0].lit)
		}
		prefix := u.Scheme + "://" + u.Host
		if !strings.HasPrefix(lit, prefix) || (len(lit) == len(prefix) && len(ct.url.parts) > 1) {
			return ct, dial.Endpoint{}, fmt.Errorf("url %q: templates may appear in the path and query only, not in the scheme or host", t.URL)
		}
		if data != nil {
			if err := data.checkColumns(ct.url.Columns(), "URL", " \t\r\n\x00#"); err != nil {
				return ct, dial.Endpoint{}, err
			}
		}
		for k := range ct.url.parts {
			if p := &ct.url.parts[k]; p.kind == partLit {
				from := 0
				if k == 0 {
					from = authorityEnd(p.lit)
				}
				p.lit = escapeTarget(p.lit, from)
			}
		}
	} else {
		ct.urlText = string(escapeTarget([]byte(t.URL), authorityEnd([]byte(t.URL))))
	}
	ct.host = u.Host
	ep := dial.Endpoint{Scheme: u.Scheme, Host: u.Hostname(), Addr: dialAddress(u)}
	for _, h := range t.Headers {
		if err := checkHeader(h); err != nil {
			return ct, dial.Endpoint{}, err
		}
		if strings.Contains(h.Key, "{{") {
			return ct, dial.Endpoint{}, fmt.Errorf("header %q: templates may appear in header values only", h.Key)
		}
		v, err := compileTemplate(h.Value, data, salt)
		if err != nil {
			return ct, dial.Endpoint{}, fmt.Errorf("header %q: %w", h.Key, err)
		}
		if data != nil {
			if err := data.checkColumns(v.Columns(), "header "+h.Key, "\r\n\x00"); err != nil {
				return ct, dial.Endpoint{}, err
			}
		}
		ch := compiledHeader{key: h.Key, value: v}
		if v.Static() {
			ch.text = string(v.appendTo(nil, &env))
		}
		ct.headers = append(ct.headers, ch)
	}
	if ct.body, err = compileTemplate(string(t.Body), data, salt); err != nil {
		return ct, dial.Endpoint{}, fmt.Errorf("body: %w", err)
	}
	if ct.body.Static() {
		ct.bodyText = ct.body.appendTo(nil, &env)
	}
	ct.static = ct.url.Static() && ct.body.Static()
	for _, h := range ct.headers {
		ct.static = ct.static && h.value.Static()
	}
	return ct, ep, nil
}

// authorityEnd is where the path of the URL u (scheme://authority...)
// starts: after the authority, at its first '/', '?' or '#'.
func authorityEnd(u []byte) int {
	i := bytes.Index(u, []byte("://"))
	if i < 0 {
		return 0
	}
	i += 3
	if j := bytes.IndexAny(u[i:], "/?#"); j >= 0 {
		return i + j
	}
	return len(u)
}

// escapeTarget percent-encodes, from byte from on (the path, query and
// fragment), the bytes that may not appear in a request line: a space
// (which would end the request target: every request a 400) and bytes
// beyond ASCII (UTF-8 text, which RFC 3986 carries percent-encoded). Other
// bytes, existing %XX escapes included, go on the wire as given.
func escapeTarget(u []byte, from int) []byte {
	n := 0
	for _, c := range u[from:] {
		if c == ' ' || c >= 0x80 {
			n++
		}
	}
	if n == 0 {
		return u
	}
	const hex = "0123456789ABCDEF"
	out := make([]byte, 0, len(u)+2*n)
	out = append(out, u[:from]...)
	for _, c := range u[from:] {
		if c == ' ' || c >= 0x80 {
			out = append(out, '%', hex[c>>4], hex[c&15])
			continue
		}
		out = append(out, c)
	}
	return out
}

// dialAddress is the URL's host:port, with the scheme's default port.
func dialAddress(u *url.URL) string {
	if u.Port() != "" {
		return u.Host
	}
	if u.Scheme == "https" {
		return net.JoinHostPort(u.Hostname(), "443")
	}
	return net.JoinHostPort(u.Hostname(), "80")
}

// env prepares the template environment of request i.
func (p *plan) env(i int64) templateEnv { return newTemplateEnv(i, p.seed, p.data, p.dataRandom) }

// newTemplateEnv is request i's rendering environment: its data row is taken
// in turn, or at random from seed.
func newTemplateEnv(i int64, seed uint64, data *Data, random bool) templateEnv {
	e := templateEnv{i: i, seed: seed, data: data}
	if data != nil && len(data.Rows) > 0 {
		n := uint64(len(data.Rows))
		if random {
			e.row = int(below(mix(seed, uint64(i), saltRow), n))
		} else {
			e.row = int(uint64(i) % n)
		}
	}
	return e
}

// Groups returns the target groups of cfg for the per-target breakdown (nil
// when there is a single group) and the number of distinct names.
func Groups(cfg *Config) ([]stats.TargetDef, int, error) {
	p, err := compilePlan(cfg)
	if err != nil {
		return nil, 0, err
	}
	return p.groups, p.nameCount, nil
}
