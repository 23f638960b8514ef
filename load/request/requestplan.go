package request

import (
	"bytes"
	"fmt"
	"strings"

	"volley/load/dial"
	"volley/load/field"
	"volley/stats"
)

// Plan is a run's requests compiled once: targets with their templates, the
// picker, and the target groups (one per distinct name) for the breakdown.
// It is read-only once built and shared by every worker.
type Plan struct {
	Targets    []Compiled
	Endpoints  []dial.Endpoint
	groups     []stats.TargetDef // nil when there is one group, or too many
	nameCount  int               // distinct names
	pick       picker
	seed       uint64
	data       *Data
	dataRandom bool
	Expect     Expect
}

// Compiled is one target ready to render.
type Compiled struct {
	Method   string
	URL      Template
	URLText  string // the URL when it is static
	Headers  []CompiledHeader
	Body     Template
	BodyText []byte // the body when it is static
	Static   bool   // no template anywhere: every request is the same
	Group    uint8
	Endpoint int
	Host     string // the URL's host[:port] as written, for the Host header
}

type CompiledHeader struct {
	Key   string
	Value Template
	Text  string // the value when it is static
}

// Spec is what a run sends: one request, or targets picked by weight; the
// data their templates read; the checks their responses must pass.
type Spec struct {
	Request Request
	// Targets, when set, are sent instead of Request, picked by weight.
	Targets []Target
	// Random picks targets at random (from the seed) instead of
	// interleaving them by weight.
	Random bool
	// Data feeds {{csv.COLUMN}} templates; DataRandom picks its rows at
	// random (from the seed) instead of in turn.
	Data       *Data
	DataRandom bool
	// Expect holds the checks responses must pass.
	Expect Expect
}

// requests returns the run's targets: Targets, or Request as one target.
func (c *Spec) requests() []Target {
	if len(c.Targets) > 0 {
		return c.Targets
	}
	return []Target{{Request: c.Request, Weight: 1}}
}

// TargetError names target i in err when there are several.
func (c *Spec) TargetError(i int, err error) error {
	if len(c.Targets) == 0 {
		return err
	}
	t := c.Targets[i]
	name := t.Name
	if name == "" {
		name = t.DefaultName()
	}
	return field.Errorf("Targets", "target %d (%s): %w", i+1, name, err)
}

// Compile checks and compiles every target of c.
func Compile(c *Spec, seed uint64) (*Plan, error) {
	ts := c.requests()
	p := &Plan{seed: seed, data: c.Data, dataRandom: c.DataRandom, Expect: c.Expect}
	if len(ts) > MaxTargetCount {
		return nil, field.Errorf("Targets", "%d targets: at most %d", len(ts), MaxTargetCount)
	}
	weights := make([]int, len(ts))
	groupOf := map[string]int{}
	eps := map[dial.Endpoint]int{}
	var salt uint64
	p.Targets = make([]Compiled, len(ts))
	for i, t := range ts {
		ct, ep, err := compileTarget(t, c.Data, &salt)
		if err != nil {
			return nil, c.TargetError(i, err)
		}
		if t.Weight < 1 || t.Weight > MaxWeight {
			return nil, c.TargetError(i, fmt.Errorf("weight %d: want 1 to %d", t.Weight, MaxWeight))
		}
		weights[i] = t.Weight
		idx, ok := eps[ep]
		if !ok {
			idx = len(p.Endpoints)
			eps[ep] = idx
			p.Endpoints = append(p.Endpoints, ep)
		}
		ct.Endpoint = idx
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
			ct.Group = uint8(g)
		}
		p.Targets[i] = ct
	}
	p.nameCount = len(groupOf)
	if len(p.groups) < 2 || len(p.groups) > stats.MaxTargets {
		p.groups = nil
		for i := range p.Targets {
			p.Targets[i].Group = 0
		}
	}
	var err error
	if p.pick, err = newPicker(weights, c.Random, seed); err != nil {
		return nil, err
	}
	return p, nil
}

func compileTarget(t Target, data *Data, salt *uint64) (Compiled, dial.Endpoint, error) {
	ct := Compiled{Method: t.Method}
	if err := checkMethod(t.Method); err != nil {
		return ct, dial.Endpoint{}, field.Wrap("Request.Method", err)
	}
	var err error
	if ct.URL, err = CompileTemplate(t.URL, data, salt); err != nil {
		return ct, dial.Endpoint{}, field.Errorf("Request.URL", "url %q: %w", t.URL, err)
	}
	// Render once with sample values to check the URL, and require the
	// scheme and host to be literal: connections are made per host.
	env := Env{data: data}
	sample := string(ct.URL.AppendTo(nil, &env))
	u, err := ParseTargetURL(sample)
	if err != nil {
		return ct, dial.Endpoint{}, field.Wrap("Request.URL", err)
	}
	if !ct.URL.Static() {
		lit := ""
		if ct.URL.parts[0].kind == partLit {
			lit = string(ct.URL.parts[0].lit)
		}
		prefix := u.Scheme + "://" + u.Host
		if !strings.HasPrefix(lit, prefix) || (len(lit) == len(prefix) && len(ct.URL.parts) > 1) {
			return ct, dial.Endpoint{}, field.Errorf("Request.URL", "url %q: templates may appear in the path and query only, not in the scheme or host", t.URL)
		}
		if data != nil {
			if err := data.checkColumns(ct.URL.Columns(), "URL", " \t\r\n\x00#"); err != nil {
				return ct, dial.Endpoint{}, field.Wrap("Request.URL", err)
			}
		}
		for k := range ct.URL.parts {
			if p := &ct.URL.parts[k]; p.kind == partLit {
				from := 0
				if k == 0 {
					from = authorityEnd(p.lit)
				}
				p.lit = escapeTarget(p.lit, from)
			}
		}
	} else {
		ct.URLText = string(escapeTarget([]byte(t.URL), authorityEnd([]byte(t.URL))))
	}
	ct.Host = u.Host
	ep := dial.EndpointOf(u)
	for _, h := range t.Headers {
		if err := checkHeader(h); err != nil {
			return ct, dial.Endpoint{}, field.Wrap("Request.Headers", err)
		}
		if strings.Contains(h.Key, "{{") {
			return ct, dial.Endpoint{}, field.Errorf("Request.Headers", "header %q: templates may appear in header values only", h.Key)
		}
		v, err := CompileTemplate(h.Value, data, salt)
		if err != nil {
			return ct, dial.Endpoint{}, field.Errorf("Request.Headers", "header %q: %w", h.Key, err)
		}
		if data != nil {
			if err := data.checkColumns(v.Columns(), "header "+h.Key, "\r\n\x00"); err != nil {
				return ct, dial.Endpoint{}, field.Wrap("Request.Headers", err)
			}
		}
		ch := CompiledHeader{Key: h.Key, Value: v}
		if v.Static() {
			ch.Text = string(v.AppendTo(nil, &env))
		}
		ct.Headers = append(ct.Headers, ch)
	}
	if ct.Body, err = CompileTemplate(string(t.Body), data, salt); err != nil {
		return ct, dial.Endpoint{}, field.Errorf("Request.Body", "body: %w", err)
	}
	if ct.Body.Static() {
		ct.BodyText = ct.Body.AppendTo(nil, &env)
	}
	ct.Static = ct.URL.Static() && ct.Body.Static()
	for _, h := range ct.Headers {
		ct.Static = ct.Static && h.Value.Static()
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

// Pick returns the index in Targets of request i's target.
func (p *Plan) Pick(i int64) int { return p.pick.pick(i) }

// Env prepares the template environment of request i.
func (p *Plan) Env(i int64) Env { return NewEnv(i, p.seed, p.data, p.dataRandom) }

// NewEnv is request i's rendering environment: its data row is taken
// in turn, or at random from seed.
func NewEnv(i int64, seed uint64, data *Data, random bool) Env {
	e := Env{i: i, seed: seed, data: data}
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

// Groups returns the target groups of s for the per-target breakdown (nil
// when there is a single group) and the number of distinct names.
func Groups(s *Spec) ([]stats.TargetDef, int, error) {
	p, err := Compile(s, 0)
	if err != nil {
		return nil, 0, err
	}
	return p.groups, p.nameCount, nil
}
