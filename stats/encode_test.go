package stats

import (
	"bytes"
	"compress/zlib"
	"encoding/base64"
	"io"
	"math/rand/v2"
	"testing"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
)

// inner returns the decompressed V2 payload (header and counts) of a base64
// V2 compressed histogram.
func inner(t *testing.T, enc []byte) []byte {
	t.Helper()
	raw, err := base64.StdEncoding.DecodeString(string(enc))
	if err != nil {
		t.Fatal(err)
	}
	z, err := zlib.NewReader(bytes.NewReader(raw[8:]))
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(z)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestEncodeV2MatchesLibrary checks that volley's encoder writes, before
// compression, exactly the bytes the HdrHistogram library writes, and that
// the library decodes it to the same counts, for histograms from one value
// to values spread over the whole range.
func TestEncodeV2MatchesLibrary(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	cases := map[string]func(h *hdr.Histogram){
		"one value": func(h *hdr.Histogram) { h.RecordValue(250_000) },
		"lowest":    func(h *hdr.Histogram) { h.RecordValue(0); h.RecordValue(HistLowest) },
		"highest":   func(h *hdr.Histogram) { h.RecordValue(HistHighest) },
		"adjacent runs": func(h *hdr.Histogram) {
			h.RecordValues(1_000_000, 3)
			h.RecordValue(1_001_000)
			h.RecordValue(1_003_000)
		},
		"big counts": func(h *hdr.Histogram) { h.RecordValues(5_000_000, 1<<40); h.RecordValues(7_000_000, 1<<57) },
		"spread": func(h *hdr.Histogram) {
			for range 20000 {
				h.RecordValue(int64(rng.ExpFloat64() * 2e6))
			}
		},
		"whole range": func(h *hdr.Histogram) {
			for v := HistLowest; v <= HistHighest; v = v*11/10 + 1 {
				h.RecordValues(v, rng.Int64N(1000)+1)
			}
		},
	}
	for name, fill := range cases {
		t.Run(name, func(t *testing.T) {
			h := NewHistogram()
			fill(h)
			lib, err := h.Encode(hdr.V2CompressedEncodingCookieBase)
			if err != nil {
				t.Fatal(err)
			}
			ours := encodeV2(h)
			if a, b := inner(t, ours), inner(t, lib); !bytes.Equal(a, b) {
				t.Fatalf("payload differs from the library's: %d bytes, want %d\nours %x\nlib  %x", len(a), len(b), a[:min(len(a), 80)], b[:min(len(b), 80)])
			}
			d, err := hdr.Decode(ours)
			if err != nil {
				t.Fatal(err)
			}
			if d.TotalCount() != h.TotalCount() || d.Max() != h.Max() || d.Min() != h.Min() {
				t.Fatalf("decoded total %d max %d min %d, want %d %d %d", d.TotalCount(), d.Max(), d.Min(), h.TotalCount(), h.Max(), h.Min())
			}
			for _, q := range []float64{1, 50, 90, 99, 99.9, 100} {
				if a, b := d.ValueAtQuantile(q), h.ValueAtQuantile(q); a != b {
					t.Fatalf("p%v decoded %d, want %d", q, a, b)
				}
			}
		})
	}
}

// BenchmarkEncodeHist encodes a second's worth of latencies (20000 values
// over about 500 buckets), as closing a series point does.
func BenchmarkEncodeHist(b *testing.B) {
	h := NewHistogram()
	for i := range 20000 {
		h.RecordValue(int64(100_000 + (i%500)*1000))
	}
	b.ReportAllocs()
	for b.Loop() {
		EncodeHist(h)
	}
}
