package stats

import (
	"bytes"
	"math"
	"runtime"
	"strings"
	"testing"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
)

// fuzzSeedResult returns a small but complete result: two classes, a
// transport error with its message, two series points.
func fuzzSeedResult(t testing.TB) *Result {
	col := NewCollector()
	rec := col.NewRecorder(64)
	start := time.Unix(1_700_000_000, 0)
	col.Start(start)
	for i := range int64(20) {
		s := Sample{Done: i * int64(100*time.Millisecond), Corrected: (i + 1) * 1_000_000, Service: (i + 1) * 900_000, Code: 200}
		switch i % 5 {
		case 3:
			s.Code = 503
		case 4:
			s.Code, s.Err = 0, ErrReset
			rec.NoteError(ErrReset, func() string { return "read: connection reset by peer" })
		}
		rec.Record(s)
	}
	meta := Meta{Target: Target{URL: "http://127.0.0.1:8080/", Method: "GET"}, Started: start, Rate: 10, Connections: 2}
	return col.Result(meta, 2*time.Second, 1234)
}

func encode(t testing.TB, r *Result) []byte {
	var b bytes.Buffer
	if err := r.WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestResultRoundTrip checks that a result read back from its JSON encodes
// to the same bytes.
func TestResultRoundTrip(t *testing.T) {
	js := encode(t, fuzzSeedResult(t))
	r, err := ReadResult(bytes.NewReader(js))
	if err != nil {
		t.Fatal(err)
	}
	if again := encode(t, r); !bytes.Equal(again, js) {
		t.Errorf("round trip changed the JSON:\n%s\nvs\n%s", again, js)
	}
	if r.Requests.Total != 20 || r.Errors["reset"] != 4 || r.Codes["503"] != 4 || r.ErrorSamples["reset"] == "" {
		t.Errorf("decoded requests %+v errors %v codes %v", r.Requests, r.Errors, r.Codes)
	}
}

// TestDecodeHistogramRejectsForeignGeometryCheaply checks that a histogram
// claiming a wide, precise geometry is rejected from its header, before the
// decoder allocates a counts array for it (about 50 MiB for 1..2^63 at 5
// digits).
func TestDecodeHistogramRejectsForeignGeometryCheaply(t *testing.T) {
	wide := hdr.New(1, math.MaxInt64/2, 5)
	_ = wide.RecordValue(42)
	enc, err := wide.Encode(hdr.V2CompressedEncodingCookieBase)
	if err != nil {
		t.Fatal(err)
	}
	wide = nil
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err = DecodeHistogram(string(enc))
	runtime.ReadMemStats(&after)
	if err == nil || !strings.Contains(err.Error(), "at 5 digits, want 1000..3600000000000 at 3") {
		t.Errorf("DecodeHistogram(wide) error %v, want a geometry mismatch", err)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 1<<20 {
		t.Errorf("rejecting a foreign histogram allocated %d bytes, want under 1 MiB", alloc)
	}
	// Volley's own geometry still decodes.
	own := NewHistogram()
	_ = own.RecordValue(5_000_000)
	enc, _ = own.Encode(hdr.V2CompressedEncodingCookieBase)
	if h, err := DecodeHistogram(string(enc)); err != nil || h.TotalCount() != 1 {
		t.Errorf("DecodeHistogram(own) = %v, %v", h, err)
	}
}

func FuzzDecodeHistogram(f *testing.F) {
	for _, h := range []*hdr.Histogram{NewHistogram(), hdr.New(1, 1000, 2), hdr.New(HistLowest, HistHighest*4, HistDigits)} {
		_ = h.RecordValue(2_000_000)
		enc, err := h.Encode(hdr.V2CompressedEncodingCookieBase)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(enc))
		f.Add(string(enc[:len(enc)/2]))
	}
	f.Add("")
	f.Add("HISTFAAAA")
	f.Fuzz(func(t *testing.T, s string) {
		h, err := DecodeHistogram(s)
		if err != nil {
			return
		}
		if h.LowestTrackableValue() != HistLowest || h.SignificantFigures() != HistDigits {
			t.Fatalf("DecodeHistogram accepted geometry %d..%d at %d", h.LowestTrackableValue(), h.HighestTrackableValue(), h.SignificantFigures())
		}
		// What decodes merges into volley's own histograms and re-encodes.
		own := NewHistogram()
		own.Merge(h)
		if _, err := (Hist{h}).MarshalJSON(); err != nil {
			t.Fatalf("re-encode: %v", err)
		}
	})
}

func FuzzReadResult(f *testing.F) {
	js := encode(f, fuzzSeedResult(f))
	f.Add(js)
	f.Add(js[:len(js)/2])
	f.Add([]byte(`{"schema":"volley.result/v1"}`))
	f.Add([]byte(`{"schema":"volley.result/v1","histograms":{"corrected":"HISTFAAAAB"}}`))
	f.Add([]byte(`{"schema":"volley.result/v1","series":[{"hist":null,"classes":{"2xx":"x"}}]}`))
	f.Add([]byte(`{"schema":"volley.result/v2"}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := ReadResult(bytes.NewReader(b))
		if err != nil {
			return
		}
		// Whatever is accepted renders again and reads back the same.
		once := encode(t, r)
		r2, err := ReadResult(bytes.NewReader(once))
		if err != nil {
			t.Fatalf("re-read of an accepted result: %v\n%s", err, once)
		}
		if twice := encode(t, r2); !bytes.Equal(once, twice) {
			t.Fatalf("encoding not stable:\n%s\nvs\n%s", once, twice)
		}
		_ = r.ErrorRate()
	})
}
