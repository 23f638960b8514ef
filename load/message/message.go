// Package message is what every message protocol (WebSocket, WebRTC data
// channels) shares: the message with its id, built in place for each send;
// how an answer is matched to the message it answers; the table of the
// messages awaiting their answer; and the fields a subscribed message
// carries. The protocol packages move the bytes.
package message

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"unicode/utf8"
	"volley/load/request"
	"volley/stats"
)

// IDPlaceholder in a message is replaced by the message's id.
const IDPlaceholder = "{{id}}"

// IDLen is the width of a message id on the wire: 16 lowercase hex digits.
const IDLen = 16

// IDHeaderLen is the size of the id header put before a message that has no
// IDPlaceholder: the id and one space.
const IDHeaderLen = IDLen + 1

// Mode says what a message run's connections do.
type Mode uint8

// Message modes.
const (
	// Echo: message i is sent at its intended time, whatever echoes are
	// outstanding on its connection, and its echo is matched back to it
	// (full duplex, on the engine's multiplexed path: see Engine).
	Echo Mode = iota
	// Subscribe: connections only listen; Do waits for the next message
	// and measures its latency from the timestamp the server put in it.
	Subscribe
)

// String returns the mode's name as in the result: "echo" or "subscribe".
func (m Mode) String() string {
	if m == Subscribe {
		return stats.MessageModeSubscribe
	}
	return stats.MessageModeEcho
}

// ParseMode parses "echo" or "subscribe".
func ParseMode(s string) (Mode, error) {
	switch s {
	case stats.MessageModeEcho:
		return Echo, nil
	case stats.MessageModeSubscribe:
		return Subscribe, nil
	}
	return 0, fmt.Errorf("mode %q: want echo or subscribe", s)
}

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

// Frame is one connection's outgoing message: the payload with room for
// the id, rewritten in place for every message so that sending allocates
// nothing. A Frame belongs to one worker.
type Frame struct {
	buf  []byte
	idAt int // offset of the id in buf; -1 without ids
	want [IDLen]byte
	// With a template, each message is rendered into rendered first and the
	// id then goes where idSentinel stands (or in front).
	tmpl     *Template
	rendered []byte
}

// Template is a message with template actions besides {{id}}, compiled
// once and shared by every connection.
type Template struct {
	t      request.Template
	seed   uint64
	data   *request.Data
	random bool
	match  Match
}

// idSentinel stands for {{id}} while a message template is rendered.
const idSentinel = "\x00volley-id\x00"

// CompileTemplate compiles message when it holds template actions other
// than {{id}} ({{seq}}, {{rand A B}}, {{uuid}}, {{now}}, {{csv.COL}}, ...),
// fed by data and seed as a run's requests are; it returns nil for a
// message with none.
func CompileTemplate(message []byte, data *request.Data, seed uint64, random bool, match Match) (*Template, error) {
	rest := bytes.ReplaceAll(message, []byte(IDPlaceholder), nil)
	if !bytes.Contains(rest, []byte("{{")) {
		return nil, nil
	}
	var salt uint64
	t, err := request.CompileTemplate(string(bytes.ReplaceAll(message, []byte(IDPlaceholder), []byte(idSentinel))), data, &salt)
	if err != nil {
		return nil, fmt.Errorf("message: %w", err)
	}
	return &Template{t: t, seed: seed, data: data, random: random, match: match}, nil
}

// NewFrame prepares the message for one connection. payload is
// the message as given; with MatchID the id goes where IDPlaceholder is, or,
// without one, before the payload followed by a space.
func NewFrame(payload []byte, match Match) *Frame {
	f := &Frame{idAt: -1}
	if match == MatchFIFO {
		f.buf = append([]byte(nil), payload...)
		return f
	}
	if i := bytes.Index(payload, []byte(IDPlaceholder)); i >= 0 {
		f.buf = make([]byte, 0, len(payload)-len(IDPlaceholder)+IDLen)
		f.buf = append(f.buf, payload[:i]...)
		f.buf = append(f.buf, bytes.Repeat([]byte{'0'}, IDLen)...)
		f.buf = append(f.buf, payload[i+len(IDPlaceholder):]...)
		f.idAt = i
		return f
	}
	f.buf = make([]byte, 0, IDHeaderLen+len(payload))
	f.buf = append(f.buf, bytes.Repeat([]byte{'0'}, IDLen)...)
	f.buf = append(f.buf, ' ')
	f.buf = append(f.buf, payload...)
	f.idAt = 0
	return f
}

// NewTemplateFrame prepares a message rendered from t for each send, for
// one connection.
func NewTemplateFrame(t *Template) *Frame { return &Frame{idAt: -1, tmpl: t} }

// FrameFor prepares a connection's message: rendered from t when the
// message has a template, else payload as NewFrame lays it out.
func FrameFor(t *Template, payload []byte, match Match) *Frame {
	if t != nil {
		return NewTemplateFrame(t)
	}
	return NewFrame(payload, match)
}

// IDAt is where the id stands in every message, or -1 when it moves (a
// template) or there is none (MatchFIFO).
func (f *Frame) IDAt() int {
	if f.tmpl != nil {
		return -1
	}
	return f.idAt
}

// Build writes id into the message and returns it. The result is valid
// until the next call.
func (f *Frame) Build(id int64) []byte {
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

// Matches reports whether msg is the echo of the last message built: it
// holds the same id where the message had it, or anywhere else (servers that
// rewrite the message around the id).
func (f *Frame) Matches(msg []byte) bool {
	if f.idAt < 0 {
		return true
	}
	if len(msg) >= f.idAt+IDLen && bytes.Equal(msg[f.idAt:f.idAt+IDLen], f.want[:]) {
		return true
	}
	return bytes.Contains(msg, f.want[:])
}

// frameRendered lays out f.buf from the freshly rendered message, reusing
// its memory: the id goes where the sentinel is, or in front with MatchID.
func (f *Frame) frameRendered() {
	f.buf, f.idAt = f.buf[:0], -1
	if f.tmpl.match == MatchFIFO {
		f.buf = append(f.buf, f.rendered...)
		return
	}
	if i := bytes.Index(f.rendered, []byte(idSentinel)); i >= 0 {
		f.buf = append(f.buf, f.rendered[:i]...)
		f.idAt = len(f.buf)
		f.buf = append(f.buf, "0000000000000000"[:IDLen]...)
		f.buf = append(f.buf, f.rendered[i+len(idSentinel):]...)
		return
	}
	f.idAt = 0
	f.buf = append(f.buf, "0000000000000000"[:IDLen]...)
	f.buf = append(f.buf, ' ')
	f.buf = append(f.buf, f.rendered...)
}

func putHexID(dst []byte, v uint64) {
	const digits = "0123456789abcdef"
	for i := IDLen - 1; i >= 0; i-- {
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
			if size < IDHeaderLen {
				return nil, fmt.Errorf("message size %d: at least %d bytes with --match id (16 hex digits of id and a space)", size, IDHeaderLen)
			}
			n -= IDHeaderLen
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

// TSKey and SeqKey are the fields a subscribed message carries: the time
// the server stamped it (Unix nanoseconds) and its number.
const (
	TSKey  = `"ts_ns"`
	SeqKey = `"seq"`
)

// JSONInt finds "key": INTEGER in msg and returns the integer. It does not
// parse the JSON; it scans for the first occurrence of the key, so it
// allocates nothing.
func JSONInt(msg []byte, key string) (int64, bool) {
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
