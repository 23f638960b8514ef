package message

import (
	"bytes"
	"strings"
	"testing"

	"volley/internal/race"
)

// TestWSFrameBytes pins the framing on the wire: 16 hex digits and a space
// before the payload, or the digits in place of {{id}}; nothing with fifo.
func TestWSFrameBytes(t *testing.T) {
	for _, tc := range []struct {
		payload string
		match   Match
		id      int64
		want    string
	}{
		{"volley", MatchID, 1234, "00000000000004d2 volley"},
		{"", MatchID, 0, "0000000000000000 "},
		{`{"id":"{{id}}","op":"ping"}`, MatchID, 255, `{"id":"00000000000000ff","op":"ping"}`},
		{"{{id}}", MatchID, 1<<63 - 1, "7fffffffffffffff"},
		{"volley {{id}}", MatchFIFO, 7, "volley {{id}}"},
	} {
		f := NewFrame([]byte(tc.payload), tc.match)
		if got := string(f.Build(tc.id)); got != tc.want {
			t.Errorf("%q (%v) id %d: %q, want %q", tc.payload, tc.match, tc.id, got, tc.want)
		}
	}
}

func TestWSFrameMatches(t *testing.T) {
	f := NewFrame([]byte("ping"), MatchID)
	msg := append([]byte(nil), f.Build(42)...)
	for _, tc := range []struct {
		echo string
		want bool
	}{
		{string(msg), true},
		{`{"reply":"000000000000002a ping"}`, true}, // wrapped: found anywhere
		{"000000000000002b ping", false},            // another message's echo
		{"", false},
		{"000000000000002", false},
	} {
		if got := f.Matches([]byte(tc.echo)); got != tc.want {
			t.Errorf("echo %q of message 42: matches %v, want %v", tc.echo, got, tc.want)
		}
	}
	if !NewFrame([]byte("x"), MatchFIFO).Matches([]byte("anything")) {
		t.Error("fifo: the next message must match")
	}
}

func TestJSONInt(t *testing.T) {
	for _, tc := range []struct {
		msg  string
		v    int64
		ok   bool
		name string
	}{
		{`{"seq":3,"ts_ns":1732536000123456789}`, 1732536000123456789, true, "ts"},
		{`{ "ts_ns" :  42 }`, 42, true, "spaces"},
		{`{"ts_ns":-5}`, -5, true, "negative"},
		{`{"ts_ns":"42"}`, 0, false, "string"},
		{`{"ts_ns":}`, 0, false, "empty"},
		{`{"ts_ns"`, 0, false, "truncated"},
		{`{"ts_ns":99999999999999999999}`, 0, false, "overflow"},
		{`{"other":1}`, 0, false, "absent"},
	} {
		v, ok := JSONInt([]byte(tc.msg), TSKey)
		if v != tc.v || ok != tc.ok {
			t.Errorf("%s: JSONInt(%s) = %d, %v; want %d, %v", tc.name, tc.msg, v, ok, tc.v, tc.ok)
		}
	}
}

// TestJSONIntAllocs: reading a subscribed message's fields allocates nothing.
func TestJSONIntAllocs(t *testing.T) {
	if race.Enabled {
		t.Skip("allocation counts are not meaningful under the race detector")
	}
	msg := []byte(`{"seq":3,"ts_ns":1732536000123456789,"pad":"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"}`)
	if n := testing.AllocsPerRun(100, func() {
		if _, ok := JSONInt(msg, TSKey); !ok {
			t.Fatal("no ts_ns")
		}
		if _, ok := JSONInt(msg, SeqKey); !ok {
			t.Fatal("no seq")
		}
	}); n != 0 {
		t.Errorf("jsonInt allocates %.1f times, want 0", n)
	}
}

func TestPayload(t *testing.T) {
	p, err := Payload(nil, 100, false, MatchID)
	if err != nil || len(p) != 100-IDHeaderLen || bytes.ContainsFunc(p, func(r rune) bool { return r > 'z' }) {
		t.Errorf("size 100 text: %d bytes %q, %v; want 83 letters", len(p), p, err)
	}
	again, _ := Payload(nil, 100, false, MatchID)
	if !bytes.Equal(p, again) {
		t.Error("random payloads differ between runs; want them seeded")
	}
	if p, err := Payload(nil, 10, true, MatchFIFO); err != nil || len(p) != 10 {
		t.Errorf("size 10 binary fifo: %d bytes, %v", len(p), err)
	}
	for _, tc := range []struct {
		msg    []byte
		size   int
		binary bool
		match  Match
		want   string
	}{
		{nil, 16, false, MatchID, "at least 17 bytes"},
		{[]byte{0xff, 0xfe}, 0, false, MatchID, "not valid UTF-8"},
	} {
		if _, err := Payload(tc.msg, tc.size, tc.binary, tc.match); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("WSPayload(%q, %d): error %v, want %q", tc.msg, tc.size, err, tc.want)
		}
	}
	if _, err := Payload([]byte{0xff}, 0, true, MatchID); err != nil {
		t.Errorf("binary message: %v", err)
	}
}
