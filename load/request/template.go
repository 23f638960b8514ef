package request

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unsafe"
)

// A Template is text with actions in double braces, compiled once into
// literal and variable parts and rendered per request without parsing.
//
//	{{seq}}             the request's index in the run, from 0
//	{{rand A B}}        a random integer from A to B inclusive, drawn anew
//	                    for every occurrence
//	{{uuid}}            the request's random UUID (version 4); the same in
//	                    every occurrence within one request
//	{{now}}             the time of sending, RFC 3339 with nanoseconds (UTC)
//	{{now_unix}}        the time of sending in whole seconds since 1970
//	{{now_unix_ms}}     the same in milliseconds
//	{{csv.COLUMN}}      the value of COLUMN in the request's row of --data
//	{{"TEXT"}}          TEXT itself, e.g. {{"{{"}} for two braces
//
// Random values derive from the run's seed and the request's index, so a
// request renders the same way for the same seed.
type Template struct {
	parts []part
}

type partKind uint8

const (
	partLit partKind = iota
	partSeq
	partRand
	partUUID
	partNow
	partNowUnix
	partNowUnixMS
	partCSV
)

type part struct {
	kind partKind
	lit  []byte
	lo   int64  // rand: lowest value
	span uint64 // rand: number of values, 0 for all 2^64
	salt uint64 // rand: this occurrence's stream
	col  int    // csv: column index
}

// Env is what one request's rendering depends on.
type Env struct {
	i    int64
	seed uint64
	row  int // the request's row of data, when there is data
	data *Data
	now  time.Time // zero until the first time action of the request
}

func (e *Env) time() time.Time {
	if e.now.IsZero() {
		e.now = time.Now()
	}
	return e.now
}

// Static reports whether the template has no actions: it renders to the
// same bytes for every request.
func (t *Template) Static() bool {
	return len(t.parts) == 0 || (len(t.parts) == 1 && t.parts[0].kind == partLit)
}

// Columns returns the data columns the template uses.
func (t *Template) Columns() []int {
	var cols []int
	for _, p := range t.parts {
		if p.kind == partCSV {
			cols = append(cols, p.col)
		}
	}
	return cols
}

// CompileTemplate parses s. Columns are looked up in data (which may be nil
// when no --data was given). salt numbers the {{rand}} occurrences of the
// whole plan, so that each draws its own stream; it is advanced.
func CompileTemplate(s string, data *Data, salt *uint64) (Template, error) {
	var t Template
	lit := func(b string) {
		if b == "" {
			return
		}
		if n := len(t.parts); n > 0 && t.parts[n-1].kind == partLit {
			t.parts[n-1].lit = append(t.parts[n-1].lit, b...)
			return
		}
		t.parts = append(t.parts, part{kind: partLit, lit: []byte(b)})
	}
	rest := s
	for {
		open := strings.Index(rest, "{{")
		if open < 0 {
			lit(rest)
			return t, nil
		}
		lit(rest[:open])
		at := len(s) - len(rest) + open
		body, after, ok := cutAction(rest[open+2:])
		if !ok {
			return Template{}, fmt.Errorf("template at byte %d: %q is not closed by }}", at, clip(rest[open:], 20))
		}
		rest = after
		action := strings.TrimSpace(body)
		if strings.HasPrefix(action, `"`) {
			text, err := strconv.Unquote(action)
			if err != nil {
				return Template{}, fmt.Errorf("template at byte %d: {{%s}}: bad string: %w", at, body, err)
			}
			lit(text)
			continue
		}
		p, err := compileAction(action, data)
		if err != nil {
			return Template{}, fmt.Errorf("template at byte %d: {{%s}}: %w", at, body, err)
		}
		if p.kind == partRand {
			*salt++
			p.salt = saltRand + *salt*0x9e3779b97f4a7c15
		}
		t.parts = append(t.parts, p)
	}
}

// cutAction splits s after the action's closing braces, skipping a quoted
// string so that {{"}}"}} works.
func cutAction(s string) (body, rest string, ok bool) {
	inQuote := false
	for i := 0; i < len(s); i++ {
		switch {
		case inQuote && s[i] == '\\':
			i++
		case s[i] == '"':
			inQuote = !inQuote
		case !inQuote && strings.HasPrefix(s[i:], "}}"):
			return s[:i], s[i+2:], true
		}
	}
	return "", "", false
}

func clip(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

func compileAction(action string, data *Data) (part, error) {
	f := strings.Fields(action)
	if len(f) == 0 {
		return part{}, errors.New(`empty action (for literal braces write {{"{{"}})`)
	}
	noArgs := func(k partKind) (part, error) {
		if len(f) != 1 {
			return part{}, fmt.Errorf("%s takes no arguments", f[0])
		}
		return part{kind: k}, nil
	}
	switch name := f[0]; {
	case name == "seq":
		return noArgs(partSeq)
	case name == "uuid":
		return noArgs(partUUID)
	case name == "now":
		return noArgs(partNow)
	case name == "now_unix":
		return noArgs(partNowUnix)
	case name == "now_unix_ms":
		return noArgs(partNowUnixMS)
	case name == "rand":
		if len(f) != 3 {
			return part{}, errors.New("want rand MIN MAX, e.g. {{rand 1 100}}")
		}
		lo, err1 := strconv.ParseInt(f[1], 10, 64)
		hi, err2 := strconv.ParseInt(f[2], 10, 64)
		if err1 != nil || err2 != nil {
			return part{}, errors.New("rand: MIN and MAX must be integers")
		}
		if lo > hi {
			return part{}, fmt.Errorf("rand: MIN %d is greater than MAX %d", lo, hi)
		}
		return part{kind: partRand, lo: lo, span: uint64(hi) - uint64(lo) + 1}, nil
	case strings.HasPrefix(name, "csv."):
		col := strings.TrimPrefix(name, "csv.")
		if len(f) != 1 {
			return part{}, fmt.Errorf("%s takes no arguments", name)
		}
		if data == nil {
			return part{}, fmt.Errorf("column %q: no data file (--data FILE.csv)", col)
		}
		i, ok := data.index[col]
		if !ok {
			return part{}, fmt.Errorf("column %q: not in the data file (columns: %s)", col, strings.Join(data.Columns, ", "))
		}
		return part{kind: partCSV, col: i}, nil
	default:
		return part{}, fmt.Errorf("unknown action %q (want seq, rand, uuid, now, now_unix, now_unix_ms, csv.COLUMN or a quoted string)", name)
	}
}

// AppendTo renders the template for env onto dst.
func (t *Template) AppendTo(dst []byte, env *Env) []byte {
	for k := range t.parts {
		p := &t.parts[k]
		switch p.kind {
		case partLit:
			dst = append(dst, p.lit...)
		case partSeq:
			dst = strconv.AppendInt(dst, env.i, 10)
		case partRand:
			h := mix(env.seed, uint64(env.i), p.salt)
			if p.span != 0 {
				h = below(h, p.span)
			}
			dst = strconv.AppendInt(dst, p.lo+int64(h), 10)
		case partUUID:
			dst = appendUUID(dst, mix(env.seed, uint64(env.i), saltUUID), mix(env.seed, uint64(env.i), saltUUID+1))
		case partNow:
			dst = env.time().UTC().AppendFormat(dst, time.RFC3339Nano)
		case partNowUnix:
			dst = strconv.AppendInt(dst, env.time().Unix(), 10)
		case partNowUnixMS:
			dst = strconv.AppendInt(dst, env.time().UnixMilli(), 10)
		case partCSV:
			dst = append(dst, env.data.Rows[env.row][p.col]...)
		}
	}
	return dst
}

// appendUUID formats a random (version 4, variant 10) UUID from 128 bits.
func appendUUID(dst []byte, hi, lo uint64) []byte {
	hi = hi&^(0xf<<12) | 0x4<<12 // version 4 in bits 12..15 of the third group
	lo = lo&^(0x3<<62) | 0x2<<62 // variant 10
	const hexdigits = "0123456789abcdef"
	var b [36]byte
	j := 0
	put := func(v uint64, nibbles int) {
		for n := nibbles - 1; n >= 0; n-- {
			b[j] = hexdigits[(v>>(4*uint(n)))&0xf]
			j++
		}
	}
	put(hi>>32, 8)
	b[j] = '-'
	j++
	put(hi>>16, 4)
	b[j] = '-'
	j++
	put(hi, 4)
	b[j] = '-'
	j++
	put(lo>>48, 4)
	b[j] = '-'
	j++
	put(lo, 12)
	return append(dst, b[:]...)
}

// Data is a CSV data file for {{csv.COLUMN}}: a header row naming the
// columns, then at least one row of values.
type Data struct {
	Columns []string
	Rows    [][][]byte
	index   map[string]int
}

// ReadData reads CSV with a header row.
func ReadData(r io.Reader) (*Data, error) {
	cr := csv.NewReader(r)
	cr.ReuseRecord = false
	header, err := cr.Read()
	if err == io.EOF {
		return nil, errors.New("empty: want a header row naming the columns, then rows")
	}
	if err != nil {
		return nil, err
	}
	d := &Data{index: map[string]int{}}
	for i, c := range header {
		c = strings.TrimSpace(c)
		if i == 0 {
			c = strings.TrimPrefix(c, "\ufeff")
		}
		if c == "" {
			return nil, fmt.Errorf("header row: column %d has no name", i+1)
		}
		if _, dup := d.index[c]; dup {
			return nil, fmt.Errorf("header row: column %q appears twice", c)
		}
		d.index[c] = i
		d.Columns = append(d.Columns, c)
	}
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		row := make([][]byte, len(rec))
		for i, v := range rec {
			row[i] = []byte(v)
		}
		d.Rows = append(d.Rows, row)
	}
	if len(d.Rows) == 0 {
		return nil, errors.New("no rows after the header row")
	}
	return d, nil
}

// checkColumns verifies that no value of the given columns contains a byte
// that would break the request line or a header.
func (d *Data) checkColumns(cols []int, where string, bad string) error {
	for _, c := range cols {
		for r, row := range d.Rows {
			if bytes.ContainsAny(row[c], bad) {
				return fmt.Errorf("data row %d, column %q: value %q cannot go in the %s", r+2, d.Columns[c], clip(string(row[c]), 30), where)
			}
		}
	}
	return nil
}

// StringBytes returns the bytes of s without copying; the caller must not modify
// them.
func StringBytes(s string) []byte { return unsafe.Slice(unsafe.StringData(s), len(s)) }
