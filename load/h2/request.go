package h2

import (
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// Request is a request as HTTP/2 sends it. Encode it once and send the
// result many times.
type Request struct {
	Method, Scheme, Authority, Path string
	// Header holds regular fields: lower-case names, no pseudo-headers and
	// no connection-specific fields (connection, keep-alive, upgrade, ...).
	Header [][2]string
	// Body, when not empty, is sent in DATA frames after the HEADERS,
	// within the server's flow-control windows. A content-length field is
	// added unless Header has one.
	Body []byte
}

// EncodedRequest is a request's HEADERS (and CONTINUATION) frames, ready to
// be copied onto the wire with only the stream id patched in. The header
// block uses no HPACK dynamic table state (static-table indexes and
// literals without indexing), so the same bytes are valid on every stream
// of every connection. It is immutable and safe to share between
// connections and goroutines; Body must not be modified while in use.
type EncodedRequest struct {
	frames []byte // frame headers carry stream id 0 until patched
	idAt   []int  // offsets of each frame's stream id field in frames
	body   []byte
	head   bool // a HEAD request: content-length describes no body
}

// maxEncodedFrame is the largest frame payload every server accepts
// (SETTINGS_MAX_FRAME_SIZE may not be lower), so pre-encoded frames never
// depend on a server's settings.
const maxEncodedFrame = 16384

// connectionSpecific are the fields HTTP/2 forbids (RFC 9113 8.2.2).
var connectionSpecific = [...]string{"connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade"}

// Encode validates r and encodes its header block into frames.
func (r *Request) Encode() (*EncodedRequest, error) {
	if r.Method == "" {
		return nil, fmt.Errorf("h2: request has no method")
	}
	if r.Method != "CONNECT" && (r.Scheme == "" || r.Path == "") {
		return nil, fmt.Errorf("h2: %s request needs a scheme and a path", r.Method)
	}
	var block []byte
	block = appendField(block, ":method", r.Method)
	if r.Method != "CONNECT" {
		block = appendField(block, ":scheme", r.Scheme)
	}
	if r.Authority != "" {
		block = appendField(block, ":authority", r.Authority)
	}
	if r.Method != "CONNECT" {
		block = appendField(block, ":path", r.Path)
	}
	hasLength := false
	for _, f := range r.Header {
		name, value := f[0], f[1]
		if err := checkField(name, value); err != nil {
			return nil, err
		}
		if name == "content-length" {
			hasLength = true
		}
		block = appendField(block, name, value)
	}
	if len(r.Body) > 0 && !hasLength {
		block = appendField(block, "content-length", strconv.Itoa(len(r.Body)))
	}

	e := &EncodedRequest{body: r.Body, head: r.Method == "HEAD"}
	flags := http2.FlagHeadersEndHeaders
	if len(r.Body) == 0 {
		flags |= http2.FlagHeadersEndStream
	}
	typ := http2.FrameHeaders
	for first := true; first || len(block) > 0; first = false {
		chunk := block
		if len(chunk) > maxEncodedFrame {
			chunk = chunk[:maxEncodedFrame]
		}
		block = block[len(chunk):]
		f := flags
		if len(block) > 0 {
			f &^= http2.FlagHeadersEndHeaders
		}
		if !first {
			f &^= http2.FlagHeadersEndStream // END_STREAM belongs on the HEADERS frame only
		}
		e.idAt = append(e.idAt, len(e.frames)+5)
		e.frames = appendFrameHeader(e.frames, len(chunk), typ, f, 0)
		e.frames = append(e.frames, chunk...)
		typ = http2.FrameContinuation
	}
	return e, nil
}

// patch copies the frames to the end of b with stream id set.
func (e *EncodedRequest) appendTo(b []byte, id uint32) []byte {
	base := len(b)
	b = append(b, e.frames...)
	for _, at := range e.idAt {
		binary.BigEndian.PutUint32(b[base+at:], id)
	}
	return b
}

func checkField(name, value string) error {
	if name == "" || strings.HasPrefix(name, ":") {
		return fmt.Errorf("h2: header %q: pseudo-headers come from the Request fields", name)
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; c <= ' ' || c >= 0x7f || ('A' <= c && c <= 'Z') {
			return fmt.Errorf("h2: header name %q must be lower-case visible ASCII", name)
		}
	}
	for _, bad := range connectionSpecific {
		if name == bad {
			return fmt.Errorf("h2: header %q is connection-specific and forbidden in HTTP/2", name)
		}
	}
	if name == "te" && value != "trailers" {
		return fmt.Errorf("h2: header te may only be \"trailers\" in HTTP/2, not %q", value)
	}
	if strings.ContainsAny(value, "\r\n\x00") {
		return fmt.Errorf("h2: header %s has a CR, LF or NUL in its value", name)
	}
	return nil
}

// appendField appends one field without touching the dynamic table: fully
// indexed when the static table has name and value, else a literal without
// indexing, naming the static entry when there is one.
func appendField(b []byte, name, value string) []byte {
	nameIdx := 0
	for i, e := range staticTable {
		if e[0] != name {
			continue
		}
		if e[1] == value {
			return appendInt(b, 0x80, 7, uint64(i+1))
		}
		if nameIdx == 0 {
			nameIdx = i + 1
		}
	}
	b = appendInt(b, 0x00, 4, uint64(nameIdx))
	if nameIdx == 0 {
		b = appendString(b, name)
	}
	return appendString(b, value)
}

// appendInt appends v with an n-bit prefix under the given first-byte bits.
func appendInt(b []byte, first byte, n uint8, v uint64) []byte {
	max := uint64(1)<<n - 1
	if v < max {
		return append(b, first|byte(v))
	}
	b = append(b, first|byte(max))
	v -= max
	for v >= 128 {
		b = append(b, byte(v&0x7f|0x80))
		v >>= 7
	}
	return append(b, byte(v))
}

// appendString appends a string literal, Huffman-coded when that is shorter.
func appendString(b []byte, s string) []byte {
	if hl := hpack.HuffmanEncodeLength(s); hl < uint64(len(s)) {
		b = appendInt(b, 0x80, 7, hl)
		return hpack.AppendHuffmanString(b, s)
	}
	b = appendInt(b, 0, 7, uint64(len(s)))
	return append(b, s...)
}

// appendFrameHeader appends a 9-byte frame header (RFC 9113 4.1).
func appendFrameHeader(b []byte, length int, typ http2.FrameType, flags http2.Flags, id uint32) []byte {
	return append(b, byte(length>>16), byte(length>>8), byte(length), byte(typ), byte(flags),
		byte(id>>24), byte(id>>16), byte(id>>8), byte(id))
}
