package request

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Target is one request of a targets file: a Request with a name (targets
// with the same name share one tally) and a weight.
type Target struct {
	Name string
	Request
	// Weight is how many of every sum-of-weights requests go to this target.
	Weight int
}

// Limits of a targets file.
const (
	// MaxWeight bounds one target's weight.
	MaxWeight = 1_000_000
	// MaxTotalWeight bounds the sum of the weights (after dividing them by
	// their greatest common divisor): the interleaving table has one entry
	// per unit of weight.
	MaxTotalWeight = 1 << 22
	// MaxTargetCount bounds the number of targets.
	MaxTargetCount = 1_000_000
)

// DefaultName is the name of a target that has none: "METHOD URL".
func (t Target) DefaultName() string { return t.Method + " " + t.URL }

// ParseTargets reads a targets file in either format: JSON lines when the
// first line that is neither blank nor a comment starts with '{', the plain
// HTTP format otherwise. Body files named in it are read relative to dir
// ("" for the working directory). Errors name the line at fault.
func ParseTargets(r io.Reader, dir string) ([]Target, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	// Editors on Windows start UTF-8 files with a byte-order mark; it is
	// no part of the first method.
	data = bytes.TrimPrefix(data, utf8BOM)
	var ts []Target
	if jsonLines(data) {
		ts, err = parseJSONTargets(data, dir)
	} else {
		ts, err = parsePlainTargets(data, dir)
	}
	if err != nil {
		return nil, err
	}
	if len(ts) == 0 {
		return nil, errors.New("no targets")
	}
	if len(ts) > MaxTargetCount {
		return nil, fmt.Errorf("%d targets: at most %d", len(ts), MaxTargetCount)
	}
	return ts, nil
}

// utf8BOM is the UTF-8 encoding of U+FEFF, the byte-order mark.
var utf8BOM = []byte("\ufeff")

func jsonLines(data []byte) bool {
	for len(data) > 0 {
		line, rest, _ := bytes.Cut(data, []byte("\n"))
		data = rest
		line = bytes.TrimSpace(line)
		if len(line) == 0 || line[0] == '#' {
			continue
		}
		return line[0] == '{'
	}
	return false
}

// checkTarget validates what both formats share.
func checkTarget(t *Target) error {
	if err := checkMethod(t.Method); err != nil {
		return err
	}
	// A URL with templates is checked once compiled (see compilePlan).
	if !strings.Contains(t.URL, "{{") {
		if _, err := ParseTargetURL(t.URL); err != nil {
			return err
		}
	}
	for _, h := range t.Headers {
		if err := checkHeader(h); err != nil {
			return err
		}
	}
	if t.Weight < 1 || t.Weight > MaxWeight {
		return fmt.Errorf("weight %d: want 1 to %d", t.Weight, MaxWeight)
	}
	if strings.ContainsAny(t.Name, "\r\n") {
		return fmt.Errorf("name %q: contains a line break", t.Name)
	}
	if t.Name == "" {
		t.Name = t.DefaultName()
	}
	return nil
}

func readBodyFile(dir, name string) ([]byte, error) {
	if name == "" {
		return nil, errors.New("body file: empty name")
	}
	if !filepath.IsAbs(name) && dir != "" {
		name = filepath.Join(dir, name)
	}
	b, err := os.ReadFile(name)
	if err != nil {
		return nil, fmt.Errorf("body file: %w", err)
	}
	return b, nil
}

// parsePlainTargets reads the plain HTTP format:
//
//	# comment
//	POST http://host/path
//	Header: value
//	@body-file
//
// A target is a request line, then header lines, then optionally one body
// line "@FILE"; a blank line ends it. Comment lines "# name: N" and
// "# weight: W" inside a target, or before its request line, name and
// weigh it; other comments are ignored.
func parsePlainTargets(data []byte, dir string) ([]Target, error) {
	var (
		ts      []Target
		cur     *Target
		curLine int
		pending Target // name and weight seen before the request line
		body    bool
	)
	finish := func() error {
		if cur == nil {
			return nil
		}
		if err := checkTarget(cur); err != nil {
			return fmt.Errorf("line %d: %w", curLine, err)
		}
		ts = append(ts, *cur)
		cur, body = nil, false
		return nil
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "":
			if err := finish(); err != nil {
				return nil, err
			}
			continue
		case strings.HasPrefix(line, "#"):
			dst := &pending
			if cur != nil {
				dst = cur
			}
			if err := directive(dst, line); err != nil {
				return nil, fmt.Errorf("line %d: %w", n, err)
			}
			continue
		}
		if cur == nil || (!body && requestLine(line)) {
			if err := finish(); err != nil {
				return nil, err
			}
			method, url, ok := strings.Cut(line, " ")
			if !ok {
				return nil, fmt.Errorf("line %d: %q: want METHOD URL", n, line)
			}
			t := Target{Name: pending.Name, Weight: pending.Weight}
			if t.Weight == 0 {
				t.Weight = 1
			}
			t.Method, t.URL = method, strings.TrimSpace(url)
			pending = Target{}
			cur, curLine = &t, n
			continue
		}
		if body {
			return nil, fmt.Errorf("line %d: %q after the body line: want a blank line before the next target", n, line)
		}
		if name, ok := strings.CutPrefix(line, "@"); ok {
			b, err := readBodyFile(dir, strings.TrimSpace(name))
			if err != nil {
				return nil, fmt.Errorf("line %d: %w", n, err)
			}
			cur.Body, body = b, true
			continue
		}
		h, err := ParseHeader(line)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", n, err)
		}
		cur.Headers = append(cur.Headers, h)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("line %d: %w", n+1, err)
	}
	if err := finish(); err != nil {
		return nil, err
	}
	if pending.Name != "" || pending.Weight != 0 {
		return nil, errors.New("a trailing # name or # weight comment belongs to no target")
	}
	return ts, nil
}

// requestLine reports whether line looks like "METHOD scheme://...".
func requestLine(line string) bool {
	method, rest, ok := strings.Cut(line, " ")
	if !ok || method == "" || strings.ContainsAny(method, ":/") {
		return false
	}
	rest = strings.TrimSpace(rest)
	return strings.HasPrefix(rest, "http://") || strings.HasPrefix(rest, "https://")
}

// directive applies a "# name: N" or "# weight: W" comment to t.
func directive(t *Target, line string) error {
	key, val, ok := strings.Cut(strings.TrimSpace(line[1:]), ":")
	if !ok {
		return nil
	}
	val = strings.TrimSpace(val)
	switch strings.ToLower(strings.TrimSpace(key)) {
	case "name":
		if val == "" {
			return errors.New("# name: empty name")
		}
		t.Name = val
	case "weight":
		w, err := strconv.Atoi(val)
		if err != nil || w < 1 || w > MaxWeight {
			return fmt.Errorf("# weight: %q: want an integer from 1 to %d", val, MaxWeight)
		}
		t.Weight = w
	}
	return nil
}

// jsonTarget is one line of the JSON-lines format.
type jsonTarget struct {
	Name     string      `json:"name"`
	Method   string      `json:"method"`
	URL      string      `json:"url"`
	Headers  jsonHeaders `json:"headers"`
	Body     *string     `json:"body"`
	BodyFile string      `json:"body_file"`
	Weight   *int        `json:"weight"`
}

// jsonHeaders keeps the order in which headers appear in the object; each
// value is a string or a list of strings.
type jsonHeaders []Header

// UnmarshalJSON reads an object of strings or lists of strings in order.
func (hs *jsonHeaders) UnmarshalJSON(b []byte) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	if tok == nil {
		return nil
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return errors.New("headers: want an object")
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		key := tok.(string)
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return err
		}
		var one string
		if err := json.Unmarshal(raw, &one); err == nil {
			*hs = append(*hs, Header{key, one})
			continue
		}
		var many []string
		if err := json.Unmarshal(raw, &many); err != nil {
			return fmt.Errorf("header %q: want a string or a list of strings", key)
		}
		for _, v := range many {
			*hs = append(*hs, Header{key, v})
		}
	}
	_, err = dec.Token()
	return err
}

func parseJSONTargets(data []byte, dir string) ([]Target, error) {
	var ts []Target
	n := 0
	for len(data) > 0 {
		n++
		var line []byte
		line, data, _ = bytes.Cut(data, []byte("\n"))
		line = bytes.TrimSpace(line)
		if len(line) == 0 || line[0] == '#' {
			continue
		}
		var jt jsonTarget
		dec := json.NewDecoder(bytes.NewReader(line))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&jt); err != nil {
			return nil, fmt.Errorf("line %d: %w", n, err)
		}
		if dec.More() {
			return nil, fmt.Errorf("line %d: more than one JSON value", n)
		}
		t := Target{Name: jt.Name, Weight: 1}
		t.Method, t.URL, t.Headers = jt.Method, jt.URL, []Header(jt.Headers)
		if t.Method == "" {
			t.Method = "GET"
		}
		if jt.Weight != nil {
			t.Weight = *jt.Weight
		}
		switch {
		case jt.Body != nil && jt.BodyFile != "":
			return nil, fmt.Errorf("line %d: body and body_file: give one, not both", n)
		case jt.Body != nil:
			t.Body = []byte(*jt.Body)
		case jt.BodyFile != "":
			b, err := readBodyFile(dir, jt.BodyFile)
			if err != nil {
				return nil, fmt.Errorf("line %d: %w", n, err)
			}
			t.Body = b
		}
		for i, h := range t.Headers {
			t.Headers[i] = Header{strings.TrimSpace(h.Key), strings.TrimSpace(h.Value)}
		}
		if err := checkTarget(&t); err != nil {
			return nil, fmt.Errorf("line %d: %w", n, err)
		}
		ts = append(ts, t)
	}
	return ts, nil
}
