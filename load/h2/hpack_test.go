package h2

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"golang.org/x/net/http2/hpack"
)

// Every static table entry decodes as hpack.Decoder decodes it.
func TestStaticTableMatchesHpack(t *testing.T) {
	ref := hpack.NewDecoder(4096, nil)
	for i := 1; i <= len(staticTable); i++ {
		fs, err := ref.DecodeFull([]byte{0x80 | byte(i)})
		if err != nil || len(fs) != 1 {
			t.Fatalf("index %d: %v", i, err)
		}
		if e := staticTable[i-1]; e[0] != fs[0].Name || e[1] != fs[0].Value {
			t.Errorf("static index %d is %q: %q, hpack says %q: %q", i, e[0], e[1], fs[0].Name, fs[0].Value)
		}
	}
	if _, err := ref.DecodeFull([]byte{0x80 | byte(len(staticTable)+1)}); err == nil {
		t.Errorf("hpack has more than %d static entries", len(staticTable))
	}
}

func decodeAll(d *headerDecoder, block []byte) ([]hpack.HeaderField, int, error) {
	var got []hpack.HeaderField
	size, err := d.decode(block, func(name, value []byte) {
		got = append(got, hpack.HeaderField{Name: string(name), Value: string(value)})
	})
	return got, size, err
}

// Header lists encoded by hpack.Encoder (dynamic table, Huffman, evictions,
// size updates) decode to the same fields and sizes, block after block.
func TestDecoderFollowsHpackEncoder(t *testing.T) {
	var buf bytes.Buffer
	enc := hpack.NewEncoder(&buf)
	d := newHeaderDecoder(4096)
	const limit = 900
	lazy := newLazyDecoder(4096, limit)
	for round := range 200 {
		if round == 120 {
			enc.SetMaxDynamicTableSize(256) // emits a size update
		}
		fields := []hpack.HeaderField{
			{Name: ":status", Value: []string{"200", "404", "503", "200"}[round%4]},
			{Name: "server", Value: "nginx"},
			{Name: "date", Value: fmt.Sprintf("Tue, 01 Dec 2026 10:%02d:%02d GMT", round/60, round%60)},
			{Name: "content-length", Value: fmt.Sprint(round * 7)},
			{Name: "x-big", Value: strings.Repeat("z", round*13%1500)},
			{Name: "set-cookie", Value: "secret", Sensitive: true},
			{Name: fmt.Sprintf("x-custom-%d", round%9), Value: "Mixed Case Value"},
		}
		buf.Reset()
		var want int
		for _, f := range fields {
			enc.WriteField(f)
			want += int(f.Size())
		}
		got, size, err := decodeAll(d, buf.Bytes())
		if err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		if size != want {
			t.Errorf("round %d: size %d, want %d", round, size, want)
		}
		if len(got) != len(fields) {
			t.Fatalf("round %d: %d fields, want %d", round, len(got), len(fields))
		}
		for i := range fields {
			if got[i].Name != fields[i].Name || got[i].Value != fields[i].Value {
				t.Fatalf("round %d field %d: %q: %q, want %q: %q", round, i, got[i].Name, got[i].Value, fields[i].Name, fields[i].Value)
			}
		}

		// The Conn's lazy decoder sees only the fields it reads, and its
		// size is exact whenever it matters (past the limit).
		got, size, err = decodeAll(lazy, buf.Bytes())
		if err != nil {
			t.Fatalf("round %d, lazy: %v", round, err)
		}
		if len(got) != 2 || got[0] != fields[0] || got[1] != fields[3] {
			t.Fatalf("round %d, lazy: fields %v, want :status and content-length", round, got)
		}
		if (size > limit) != (want > limit) || (want > limit && size != want) || size < want {
			t.Errorf("round %d, lazy: size %d, exact %d, limit %d", round, size, want, limit)
		}
	}
}

// Our request blocks decode with hpack.Decoder to the request's fields and
// leave its dynamic table empty, so they are valid on any connection.
func TestEncodedRequestIsStateless(t *testing.T) {
	r := Request{Method: "POST", Scheme: "https", Authority: "example.test:8443", Path: "/a?b=c",
		Header: [][2]string{{"accept-encoding", "gzip, deflate"}, {"user-agent", "volley"}, {"x-trace", "abc"}},
		Body:   []byte("hello")}
	e := mustEncode(t, r)
	if e.frames[3] != 0x1 || e.frames[4]&0x1 != 0 || e.frames[4]&0x4 == 0 {
		t.Errorf("frame type %d flags %#x: want HEADERS, END_HEADERS, no END_STREAM (a body follows)", e.frames[3], e.frames[4])
	}
	ref := hpack.NewDecoder(4096, nil)
	for range 2 {
		fs, err := ref.DecodeFull(e.frames[9:])
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, f := range fs {
			got = append(got, f.Name+": "+f.Value)
		}
		want := []string{":method: POST", ":scheme: https", ":authority: example.test:8443", ":path: /a?b=c",
			"accept-encoding: gzip, deflate", "user-agent: volley", "x-trace: abc", "content-length: 5"}
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Fatalf("decoded\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	}
	// A dynamic-table reference would now fail: the table must be empty.
	if _, err := ref.DecodeFull([]byte{0x80 | 62}); err == nil {
		t.Error("our block added entries to the decoder's dynamic table")
	}
	g := mustEncode(t, Request{Method: "GET", Scheme: "http", Path: "/"})
	if !bytes.Equal(g.frames, []byte{0, 0, 3, 1, 5, 0, 0, 0, 0, 0x82, 0x86, 0x84}) {
		t.Errorf("GET / frame % x, want the three static indexes with END_STREAM|END_HEADERS", g.frames)
	}
}

func TestEncodeRefusesWhatHTTP2Forbids(t *testing.T) {
	for _, h := range [][2]string{{"Connection", "x"}, {"connection", "close"}, {"transfer-encoding", "chunked"},
		{"te", "gzip"}, {":path", "/"}, {"x-a", "b\r\nc"}} {
		if _, err := (&Request{Method: "GET", Scheme: "http", Path: "/", Header: [][2]string{h}}).Encode(); err == nil {
			t.Errorf("header %q accepted", h)
		}
	}
}

// A header block larger than one frame is split into CONTINUATION frames.
func TestLargeRequestHeadersUseContinuation(t *testing.T) {
	big := strings.Repeat("v", 40000)
	e := mustEncode(t, Request{Method: "GET", Scheme: "http", Path: "/", Header: [][2]string{{"x-big", big}}})
	if len(e.idAt) != 3 {
		t.Fatalf("%d frames, want 3 (HEADERS + 2 CONTINUATION)", len(e.idAt))
	}
	var block []byte
	for i, at := range e.idAt {
		f := e.frames[at-5:]
		n := int(f[0])<<16 | int(f[1])<<8 | int(f[2])
		wantType := byte(0x9)
		if i == 0 {
			wantType = 0x1
		}
		endHeaders := f[4]&0x4 != 0
		if f[3] != wantType || endHeaders != (i == 2) {
			t.Errorf("frame %d: type %d flags %#x", i, f[3], f[4])
		}
		block = append(block, f[9:9+n]...)
	}
	fs, err := hpack.NewDecoder(4096, nil).DecodeFull(block)
	if err != nil || fs[len(fs)-1].Value != big {
		t.Errorf("the split block does not decode to the header: %v", err)
	}
}

// Whatever hpack.Decoder decodes, ours decodes identically; nothing panics.
func FuzzDecoderAgreesWithHpack(f *testing.F) {
	var buf bytes.Buffer
	enc := hpack.NewEncoder(&buf)
	enc.WriteField(hpack.HeaderField{Name: ":status", Value: "200"})
	enc.WriteField(hpack.HeaderField{Name: "x-a", Value: "some value"})
	enc.WriteField(hpack.HeaderField{Name: "x-a", Value: "some value"})
	f.Add(buf.Bytes())
	f.Add([]byte{0x3f, 0xe1, 0x1f, 0x82})
	f.Fuzz(func(t *testing.T, block []byte) {
		ref := hpack.NewDecoder(4096, nil)
		want, werr := ref.DecodeFull(block)
		got, _, gerr := decodeAll(newHeaderDecoder(4096), block)
		if werr != nil {
			return
		}
		if gerr != nil {
			t.Fatalf("hpack decodes %x, ours fails: %v", block, gerr)
		}
		if len(got) != len(want) {
			t.Fatalf("%d fields, hpack %d", len(got), len(want))
		}
		for i := range want {
			if got[i].Name != want[i].Name || got[i].Value != want[i].Value {
				t.Fatalf("field %d: %q: %q, hpack %q: %q", i, got[i].Name, got[i].Value, want[i].Name, want[i].Value)
			}
		}
	})
}
