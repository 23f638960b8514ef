package stats

import (
	"testing"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
)

// dec decodes an encoded histogram or fails the test.
func dec(tb testing.TB, e EncodedHist) *hdr.Histogram {
	tb.Helper()
	h, err := e.Decode()
	if err != nil {
		tb.Fatalf("decode: %v", err)
	}
	return h
}
