package ws

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"unicode/utf8"
	"volley/load"
	"volley/load/request"
)

// IDPlaceholder in a WebSocket message is replaced by the message's id.
const IDPlaceholder = "{{id}}"

// idLen is the width of a message id on the wire: 16 lowercase hex digits.
const idLen = 16

// idHeaderLen is the size of the id header put before a message that has no
// IDPlaceholder: the id and one space.
const idHeaderLen = idLen + 1

// Match says how an echo is matched to the message it answers.
type Match uint8

// Match modes.
const (
	// MatchID: each message carries its id (16 hex digits); the echo must
	// contain the same id. Other messages received meanwhile are skipped.
	MatchID Match = iota
	// MatchFIFO: messages carry no id; the next message received is the echo.
	MatchFIFO
)

// String returns "id" or "fifo".
func (m Match) String() string {
	if m == MatchFIFO {
		return "fifo"
	}
	return "id"
}

// ParseMatch parses "id" or "fifo".
func ParseMatch(s string) (Match, error) {
	switch s {
	case "id":
		return MatchID, nil
	case "fifo":
		return MatchFIFO, nil
	}
	return 0, fmt.Errorf("match %q: want id or fifo", s)
}

// wsFrame is one connection's outgoing message: the payload with room for
// the id, rewritten in place for every message so that sending allocates
// nothing. A wsFrame belongs to one worker.
type wsFrame struct {
	buf  []byte
	idAt int // offset of the id in buf; -1 without ids
	want [idLen]byte
	// With a template, each message is rendered into rendered first and the
	// id then goes where idSentinel stands (or in front).
	tmpl     *wsTemplate
	rendered []byte
}

// wsTemplate is a message with template actions besides {{id}}, compiled
// once and shared by every connection.
type wsTemplate struct {
	t      request.Template
	seed   uint64
	data   *request.Data
	random bool
	match  Match
}

// idSentinel stands for {{id}} while a message template is rendered.
const idSentinel = "\x00volley-id\x00"

// compileWSTemplate compiles message when it holds template actions other
// than {{id}} ({{seq}}, {{rand A B}}, {{uuid}}, {{now}}, {{csv.COL}}, ...);
// it returns nil for a message with none.
func compileWSTemplate(message []byte, cfg *load.Config, match Match) (*wsTemplate, error) {
	rest := bytes.ReplaceAll(message, []byte(IDPlaceholder), nil)
	if !bytes.Contains(rest, []byte("{{")) {
		return nil, nil
	}
	var salt uint64
	t, err := request.CompileTemplate(string(bytes.ReplaceAll(message, []byte(IDPlaceholder), []byte(idSentinel))), cfg.Data, &salt)
	if err != nil {
		return nil, fmt.Errorf("message: %w", err)
	}
	return &wsTemplate{t: t, seed: cfg.Seed, data: cfg.Data, random: cfg.DataRandom, match: match}, nil
}

// newWSFrame prepares the message template for one connection. payload is
// the message as given; with MatchID the id goes where IDPlaceholder is, or,
// without one, before the payload followed by a space.
func newWSFrame(payload []byte, match Match) *wsFrame {
	f := &wsFrame{idAt: -1}
	if match == MatchFIFO {
		f.buf = append([]byte(nil), payload...)
		return f
	}
	if i := bytes.Index(payload, []byte(IDPlaceholder)); i >= 0 {
		f.buf = make([]byte, 0, len(payload)-len(IDPlaceholder)+idLen)
		f.buf = append(f.buf, payload[:i]...)
		f.buf = append(f.buf, bytes.Repeat([]byte{'0'}, idLen)...)
		f.buf = append(f.buf, payload[i+len(IDPlaceholder):]...)
		f.idAt = i
		return f
	}
	f.buf = make([]byte, 0, idHeaderLen+len(payload))
	f.buf = append(f.buf, bytes.Repeat([]byte{'0'}, idLen)...)
	f.buf = append(f.buf, ' ')
	f.buf = append(f.buf, payload...)
	f.idAt = 0
	return f
}

// build writes id into the message and returns it. The result is valid until
// the next call.
func (f *wsFrame) build(id int64) []byte {
	if f.tmpl != nil {
		env := request.NewEnv(id, f.tmpl.seed, f.tmpl.data, f.tmpl.random)
		f.rendered = f.tmpl.t.AppendTo(f.rendered[:0], &env)
		f.frameRendered()
	}
	if f.idAt < 0 {
		return f.buf
	}
	putHexID(f.want[:], uint64(id))
	copy(f.buf[f.idAt:], f.want[:])
	return f.buf
}

// matches reports whether msg is the echo of the last message built: it
// holds the same id where the message had it, or anywhere else (servers that
// rewrite the message around the id).
func (f *wsFrame) matches(msg []byte) bool {
	if f.idAt < 0 {
		return true
	}
	if len(msg) >= f.idAt+idLen && bytes.Equal(msg[f.idAt:f.idAt+idLen], f.want[:]) {
		return true
	}
	return bytes.Contains(msg, f.want[:])
}

// frameRendered lays out f.buf from the freshly rendered message, reusing
// its memory: the id goes where the sentinel is, or in front with MatchID.
func (f *wsFrame) frameRendered() {
	f.buf, f.idAt = f.buf[:0], -1
	if f.tmpl.match == MatchFIFO {
		f.buf = append(f.buf, f.rendered...)
		return
	}
	if i := bytes.Index(f.rendered, []byte(idSentinel)); i >= 0 {
		f.buf = append(f.buf, f.rendered[:i]...)
		f.idAt = len(f.buf)
		f.buf = append(f.buf, "0000000000000000"[:idLen]...)
		f.buf = append(f.buf, f.rendered[i+len(idSentinel):]...)
		return
	}
	f.idAt = 0
	f.buf = append(f.buf, "0000000000000000"[:idLen]...)
	f.buf = append(f.buf, ' ')
	f.buf = append(f.buf, f.rendered...)
}

func putHexID(dst []byte, v uint64) {
	const digits = "0123456789abcdef"
	for i := idLen - 1; i >= 0; i-- {
		dst[i] = digits[v&0xf]
		v >>= 4
	}
}

// Payload builds the message payload from the command line's choices: the
// text given, or size bytes of random payload (seeded, so runs repeat), the
// id header included. Text messages must be valid UTF-8.
func Payload(message []byte, size int, binary bool, match Match) ([]byte, error) {
	if size > 0 {
		n := size
		if match == MatchID {
			if size < idHeaderLen {
				return nil, fmt.Errorf("message size %d: at least %d bytes with --match id (16 hex digits of id and a space)", size, idHeaderLen)
			}
			n -= idHeaderLen
		}
		rng := rand.New(rand.NewPCG(1, 2))
		p := make([]byte, n)
		const letters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
		for i := range p {
			if binary {
				p[i] = byte(rng.Uint32())
			} else {
				p[i] = letters[rng.IntN(len(letters))]
			}
		}
		return p, nil
	}
	if !binary && !utf8.Valid(message) {
		return nil, errors.New("message is not valid UTF-8; send it with --binary")
	}
	return message, nil
}

// tsKey and seqKey are the fields a subscribed message carries.
const (
	tsKey  = `"ts_ns"`
	seqKey = `"seq"`
)

// jsonInt finds "key": INTEGER in msg and returns the integer. It does not
// parse the JSON; it scans for the first occurrence of the key, so it
// allocates nothing.
func jsonInt(msg []byte, key string) (int64, bool) {
	i := indexString(msg, key)
	if i < 0 {
		return 0, false
	}
	j := i + len(key)
	for j < len(msg) && (msg[j] == ' ' || msg[j] == '\t' || msg[j] == '\n' || msg[j] == '\r') {
		j++
	}
	if j >= len(msg) || msg[j] != ':' {
		return 0, false
	}
	j++
	for j < len(msg) && (msg[j] == ' ' || msg[j] == '\t' || msg[j] == '\n' || msg[j] == '\r') {
		j++
	}
	neg := false
	if j < len(msg) && msg[j] == '-' {
		neg = true
		j++
	}
	start := j
	var v int64
	for j < len(msg) && msg[j] >= '0' && msg[j] <= '9' {
		if v > (1<<63-1)/10 {
			return 0, false
		}
		v = v*10 + int64(msg[j]-'0')
		j++
	}
	if j == start || v < 0 {
		return 0, false
	}
	if neg {
		v = -v
	}
	return v, true
}

// indexString is bytes.Index for a string needle, without converting it.
func indexString(b []byte, s string) int {
	for i := 0; i+len(s) <= len(b); i++ {
		if b[i] == s[0] && string(b[i:i+len(s)]) == s {
			return i
		}
	}
	return -1
}
