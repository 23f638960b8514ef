package stats

import (
	"bytes"
	"compress/zlib"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"io"
)

// v2HeaderSize is the size of the header that starts a decompressed
// HdrHistogram V2 encoding: cookie, payload length, normalizing offset and
// significant digits (4 bytes each), lowest and highest trackable values and
// the conversion ratio (8 bytes each).
const v2HeaderSize = 40

// checkGeometry reads only the header of a base64 V2 compressed histogram
// and rejects one whose geometry is not volley's before it is decoded:
// decoding allocates a counts array sized by the geometry the input claims
// (tens of MiB for 5 digits over the int64 range), so a hostile result file
// could otherwise exhaust memory with a few bytes per histogram.
func checkGeometry(s string) error {
	// Base64 of the 8-byte outer header and enough compressed bytes for the
	// inner header is short; decode a bounded prefix only.
	prefix := s
	if len(prefix) > 4096 {
		prefix = prefix[:4096]
	}
	raw, err := base64.StdEncoding.DecodeString(prefix[:len(prefix)/4*4])
	if err != nil || len(raw) < 8 {
		return nil // malformed: let the decoder report it
	}
	z, err := zlib.NewReader(bytes.NewReader(raw[8:]))
	if err != nil {
		return nil
	}
	defer z.Close()
	var h [v2HeaderSize]byte
	if _, err := io.ReadFull(z, h[:]); err != nil {
		return nil
	}
	digits := int32(binary.BigEndian.Uint32(h[12:16]))
	lowest := int64(binary.BigEndian.Uint64(h[16:24]))
	highest := int64(binary.BigEndian.Uint64(h[24:32]))
	if lowest != HistLowest || highest < HistHighest || digits != HistDigits {
		return fmt.Errorf("decode histogram: range %d..%d ns at %d digits, want %d..%d at %d",
			lowest, highest, digits, HistLowest, HistHighest, HistDigits)
	}
	return nil
}
