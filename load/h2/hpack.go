package h2

import (
	"errors"
	"unsafe"

	"golang.org/x/net/http2/hpack"
)

// staticTable is RFC 7541 Appendix A, index 1 at position 0. Both the
// request encoder and the response decoder use it.
var staticTable = [...][2]string{
	{":authority", ""}, {":method", "GET"}, {":method", "POST"}, {":path", "/"},
	{":path", "/index.html"}, {":scheme", "http"}, {":scheme", "https"}, {":status", "200"},
	{":status", "204"}, {":status", "206"}, {":status", "304"}, {":status", "400"},
	{":status", "404"}, {":status", "500"}, {"accept-charset", ""}, {"accept-encoding", "gzip, deflate"},
	{"accept-language", ""}, {"accept-ranges", ""}, {"accept", ""}, {"access-control-allow-origin", ""},
	{"age", ""}, {"allow", ""}, {"authorization", ""}, {"cache-control", ""},
	{"content-disposition", ""}, {"content-encoding", ""}, {"content-language", ""}, {"content-length", ""},
	{"content-location", ""}, {"content-range", ""}, {"content-type", ""}, {"cookie", ""},
	{"date", ""}, {"etag", ""}, {"expect", ""}, {"expires", ""},
	{"from", ""}, {"host", ""}, {"if-match", ""}, {"if-modified-since", ""},
	{"if-none-match", ""}, {"if-range", ""}, {"if-unmodified-since", ""}, {"last-modified", ""},
	{"link", ""}, {"location", ""}, {"max-forwards", ""}, {"proxy-authenticate", ""},
	{"proxy-authorization", ""}, {"range", ""}, {"referer", ""}, {"refresh", ""},
	{"retry-after", ""}, {"server", ""}, {"set-cookie", ""}, {"strict-transport-security", ""},
	{"transfer-encoding", ""}, {"user-agent", ""}, {"vary", ""}, {"via", ""},
	{"www-authenticate", ""},
}

// errCompression is a header block this decoder cannot follow; the HPACK
// state is then lost, so it is a connection error (COMPRESSION_ERROR).
var errCompression = errors.New("h2: malformed header block from server (COMPRESSION_ERROR)")

// headerDecoder decodes response header blocks (RFC 7541). It exists
// because hpack.Decoder turns every literal it emits into a new string: a
// response with date, server and content-type would cost several
// allocations. This one hands the sink byte slices into the block, its
// scratch buffers or its table, valid only during the call, and keeps the
// dynamic table in reused storage, so decoding allocates nothing once
// warm. In lazy mode (the Conn's) it also skips Huffman decoding of what
// nobody reads: only :status and content-length reach the sink, Huffman
// names are recognised by their (unique) encoded form, and the block's size
// is first bounded from the encoded lengths, decoded exactly only when the
// bound passes the limit. It is used by the read loop only.
type headerDecoder struct {
	maxSize uint32 // SETTINGS_HEADER_TABLE_SIZE we announced: the most a size update may ask for
	size    uint32 // the table's current limit (set by size updates)
	used    uint32 // sum of entry sizes (RFC 7541 4.1)
	ring    []tableEntry
	head, n int // oldest entry; number of entries

	lazy      bool
	limit     int      // lazy mode: sizes up to this need no exact count
	huffNames [][]byte // lazy mode: Huffman codes of wantedNames
	bounded   [][]byte // Huffman strings of this block counted by their bound

	name, value appendBuf // Huffman-decoded strings
}

// wantedNames are the response fields the Conn reads.
var wantedNames = [...]string{":status", "content-length"}

type tableEntry struct{ name, value []byte }

// appendBuf is an io.Writer that appends, for hpack.HuffmanDecode.
type appendBuf struct{ b []byte }

func (a *appendBuf) Write(p []byte) (int, error) {
	a.b = append(a.b, p...)
	return len(p), nil
}

func newHeaderDecoder(maxSize uint32) *headerDecoder {
	return &headerDecoder{
		maxSize: maxSize,
		size:    maxSize,
		ring:    make([]tableEntry, maxSize/32+1), // an entry costs at least 32
	}
}

// newLazyDecoder is the Conn's decoder: see headerDecoder.
func newLazyDecoder(maxSize uint32, limit int) *headerDecoder {
	d := newHeaderDecoder(maxSize)
	d.lazy, d.limit = true, limit
	for _, n := range wantedNames {
		d.huffNames = append(d.huffNames, hpack.AppendHuffmanString(nil, n))
	}
	return d
}

// decode decodes one complete header block, calling sink for every field
// (in lazy mode, for the wanted ones), and returns the block's decoded
// size as SETTINGS_MAX_HEADER_LIST_SIZE counts it (name + value + 32 per
// field); in lazy mode a size up to the limit may be an upper bound. Any
// error leaves the table out of step with the server's, so the caller must
// end the connection.
func (d *headerDecoder) decode(p []byte, sink func(name, value []byte)) (int, error) {
	size := 0
	fields := false
	d.bounded = d.bounded[:0]
	for len(p) > 0 {
		b := p[0]
		var name, value []byte
		var n int
		var err error
		switch {
		case b&0x80 != 0: // indexed field
			var idx uint64
			idx, p, err = readInt(p, 7)
			if err != nil {
				return 0, err
			}
			var ok bool
			if name, value, ok = d.at(idx); !ok {
				return 0, errCompression
			}
			n = len(name) + len(value)
		case b&0xc0 == 0x40: // literal, added to the table: decoded in full
			if name, value, n, p, err = d.literal(p, 6, true); err != nil {
				return 0, err
			}
			d.add(name, value)
		case b&0xe0 == 0x20: // dynamic table size update: before the first field
			// (or, as hpack.Decoder allows, later while the table is empty)
			var v uint64
			v, p, err = readInt(p, 5)
			if err != nil || (fields && d.used > 0) || v > uint64(d.maxSize) {
				return 0, errCompression
			}
			d.size = uint32(v)
			d.evictTo(d.size)
			continue
		default: // literal without indexing (0000) or never indexed (0001)
			if name, value, n, p, err = d.literal(p, 4, false); err != nil {
				return 0, err
			}
		}
		fields = true
		size += n + 32
		if name != nil && (!d.lazy || isWanted(name)) {
			sink(name, value)
		}
	}
	if len(d.bounded) > 0 && size > d.limit {
		for _, raw := range d.bounded { // only for blocks near the limit
			v, err := d.value.huffman(raw)
			if err != nil {
				return 0, err
			}
			size += len(v) - len(raw)*8/5
		}
	}
	return size, nil
}

// literal reads a literal field whose name index has an n-bit prefix and
// returns it with its decoded length (an upper bound for a Huffman string
// left undecoded). In lazy mode name is nil for a field nobody reads.
func (d *headerDecoder) literal(p []byte, n uint8, full bool) (name, value []byte, size int, rest []byte, err error) {
	idx, p, err := readInt(p, n)
	if err != nil {
		return nil, nil, 0, nil, err
	}
	full = full || !d.lazy
	if idx > 0 {
		var ok bool
		if name, _, ok = d.at(idx); !ok {
			return nil, nil, 0, nil, errCompression
		}
	} else {
		var raw []byte
		var huff bool
		if raw, huff, p, err = readRaw(p); err != nil {
			return nil, nil, 0, nil, err
		}
		switch {
		case !huff:
			name = raw
		case full:
			if name, err = d.name.huffman(raw); err != nil {
				return nil, nil, 0, nil, err
			}
			if name == nil {
				name = emptyName // an empty name is a field too: nil means "not wanted"
			}
		default:
			name = d.huffWanted(raw)
			if name == nil {
				size += len(raw) * 8 / 5
				d.bounded = append(d.bounded, raw)
			}
		}
	}
	if name != nil {
		size += len(name)
		if !full && !isWanted(name) {
			name = nil
		}
	}
	raw, huff, p, err := readRaw(p)
	if err != nil {
		return nil, nil, 0, nil, err
	}
	switch {
	case !huff:
		value = raw
	case full || name != nil:
		if value, err = d.value.huffman(raw); err != nil {
			return nil, nil, 0, nil, err
		}
	default:
		d.bounded = append(d.bounded, raw)
		return nil, nil, size + len(raw)*8/5, p, nil
	}
	return name, value, size + len(value), p, nil
}

// emptyName is a decoded empty name, told apart from nil ("not wanted").
var emptyName = []byte{}

// huffWanted returns the wanted name whose Huffman code is raw, or nil.
func (d *headerDecoder) huffWanted(raw []byte) []byte {
	for i, h := range d.huffNames {
		if string(h) == string(raw) {
			return stringBytes(wantedNames[i])
		}
	}
	return nil
}

func isWanted(name []byte) bool {
	for _, w := range wantedNames {
		if string(name) == w {
			return true
		}
	}
	return false
}

// at returns the field at index i of the static and dynamic tables.
func (d *headerDecoder) at(i uint64) (name, value []byte, ok bool) {
	if i == 0 {
		return nil, nil, false
	}
	if i <= uint64(len(staticTable)) {
		e := &staticTable[i-1]
		return stringBytes(e[0]), stringBytes(e[1]), true
	}
	i -= uint64(len(staticTable)) + 1 // 0 is the newest entry
	if i >= uint64(d.n) {
		return nil, nil, false
	}
	e := &d.ring[(d.head+d.n-1-int(i))%len(d.ring)]
	if e.name == nil {
		return emptyName, e.value, true // an entry with an empty name is still a field
	}
	return e.name, e.value, true
}

// add inserts a field as the newest entry, evicting the oldest ones to make
// room. The new entry goes to the free slot after the newest, which is never
// one that name or value point into (at most size/32 entries live in a ring
// of size/32+1), so a name referring to an entry evicted here stays intact.
func (d *headerDecoder) add(name, value []byte) {
	sz := uint32(len(name) + len(value) + 32)
	if sz > d.size {
		d.evictTo(0)
		return
	}
	d.evictTo(d.size - sz)
	e := &d.ring[(d.head+d.n)%len(d.ring)]
	e.name = append(e.name[:0], name...)
	e.value = append(e.value[:0], value...)
	d.n++
	d.used += sz
}

// evictTo drops the oldest entries until the table uses at most limit.
func (d *headerDecoder) evictTo(limit uint32) {
	for d.used > limit && d.n > 0 {
		e := &d.ring[d.head]
		d.used -= uint32(len(e.name) + len(e.value) + 32)
		d.head = (d.head + 1) % len(d.ring)
		d.n--
	}
}

// readInt reads an HPACK integer with an n-bit prefix (RFC 7541 5.1).
func readInt(p []byte, n uint8) (uint64, []byte, error) {
	if len(p) == 0 {
		return 0, nil, errCompression
	}
	mask := uint64(1)<<n - 1
	v := uint64(p[0]) & mask
	p = p[1:]
	if v < mask {
		return v, p, nil
	}
	for shift := uint(0); len(p) > 0; shift += 7 {
		if shift > 28 {
			break // more than fits any size we accept
		}
		b := p[0]
		p = p[1:]
		v += uint64(b&0x7f) << shift
		if b&0x80 == 0 {
			return v, p, nil
		}
	}
	return 0, nil, errCompression
}

// readRaw reads a string literal as it is on the wire.
func readRaw(p []byte) (s []byte, huff bool, rest []byte, err error) {
	if len(p) == 0 {
		return nil, false, nil, errCompression
	}
	huff = p[0]&0x80 != 0
	l, p, err := readInt(p, 7)
	if err != nil || l > uint64(len(p)) {
		return nil, false, nil, errCompression
	}
	return p[:l], huff, p[l:], nil
}

// huffman decodes a Huffman-coded string into a's reused buffer.
func (a *appendBuf) huffman(raw []byte) ([]byte, error) {
	a.b = a.b[:0]
	if _, err := hpack.HuffmanDecode(a, raw); err != nil {
		return nil, errCompression
	}
	return a.b, nil
}

// stringBytes views a static table string as bytes without copying it;
// sinks only read what they are given.
func stringBytes(s string) []byte {
	return unsafe.Slice(unsafe.StringData(s), len(s))
}
