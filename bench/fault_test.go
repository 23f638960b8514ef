package bench

import (
	"bufio"
	"errors"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestParseFault(t *testing.T) {
	cases := []struct {
		in   string
		want Fault
		str  string
	}{
		{"reset", Fault{FaultReset, 1}, "reset"},
		{"reset:1", Fault{FaultReset, 1}, "reset"},
		{"reset:0.1", Fault{FaultReset, 0.1}, "reset:0.1"},
		{" close : 0.25 ", Fault{FaultClose, 0.25}, "close:0.25"},
		{"slow:5%", Fault{FaultSlow, 0.05}, "slow:0.05"},
		{"hang:0.0001", Fault{FaultHang, 0.0001}, "hang:0.0001"},
		{"huge:100%", Fault{FaultHuge, 1}, "huge"},
		{"close-mid-body", Fault{FaultCloseMidBody, 1}, "close-mid-body"},
		{"garbage:0.5", Fault{FaultGarbage, 0.5}, "garbage:0.5"},
		{"bad-chunked", Fault{FaultBadChunked, 1}, "bad-chunked"},
		{"bad-status-line", Fault{FaultBadStatusLine, 1}, "bad-status-line"},
		{"1xx:0.3", Fault{Fault1xx, 0.3}, "1xx:0.3"},
	}
	for _, c := range cases {
		got, err := ParseFault(c.in)
		if err != nil {
			t.Errorf("ParseFault(%q): %v", c.in, err)
			continue
		}
		if got != c.want || got.String() != c.str {
			t.Errorf("ParseFault(%q) = %+v (%q), want %+v (%q)", c.in, got, got.String(), c.want, c.str)
		}
	}
}

func TestParseFaultErrors(t *testing.T) {
	cases := []struct{ in, want string }{
		{"", `unknown kind ""`},
		{"bogus", `unknown kind "bogus"; want one of reset, close,`},
		{"RESET", `unknown kind "RESET"`},
		{"reset:", `rate "": want a fraction`},
		{"reset:abc", `rate "abc": want a fraction`},
		{"reset:0", `rate "0": out of range`},
		{"reset:-0.1", `out of range`},
		{"reset:1.5", `out of range`},
		{"reset:150%", `out of range`},
		{"reset:NaN", `want a fraction`},
		{"reset:Inf", `want a fraction`},
		{"reset:0.00001", `finer than the resolution of 0.0001`},
		{"reset:0.12345", `finer than the resolution`},
		{"reset:1e-300", `finer than the resolution`},
	}
	for _, c := range cases {
		_, err := ParseFault(c.in)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("ParseFault(%q) error %v, want one containing %q", c.in, err, c.want)
		}
		if err != nil && !strings.HasPrefix(err.Error(), "fault "+strconv.Quote(c.in)) {
			t.Errorf("ParseFault(%q) error %q does not name the input", c.in, err)
		}
	}
}

func TestParseFaultsErrors(t *testing.T) {
	cases := []struct {
		in   []string
		want string
	}{
		{[]string{"reset:0.5", "reset:0.1"}, "fault reset given more than once"},
		{[]string{"reset:0.6", "close:0.5"}, "add up to 1.1, more than 1"},
		{[]string{"reset", "close:0.0001"}, "more than 1"},
		{[]string{"reset:0.5", "bogus"}, `unknown kind "bogus"`},
	}
	for _, c := range cases {
		_, err := ParseFaults(c.in)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("ParseFaults(%q) error %v, want one containing %q", c.in, err, c.want)
		}
	}
}

// TestFaultMixExact checks that fault selection is deterministic and exact:
// every window of one period holds exactly rate×period of each fault, and
// they are spread rather than bunched.
func TestFaultMixExact(t *testing.T) {
	m, err := ParseFaults([]string{"reset:0.1", "close:0.05", "slow:25%"})
	if err != nil {
		t.Fatal(err)
	}
	if p := m.Period(); p != 20 {
		t.Fatalf("period %d, want 20 (rates 2/20, 1/20, 5/20)", p)
	}
	for start := uint64(0); start < 40; start += 7 {
		got := map[FaultKind]int{}
		for i := start; i < start+20; i++ {
			got[m.At(i)]++
		}
		want := map[FaultKind]int{FaultReset: 2, FaultClose: 1, FaultSlow: 5, FaultNone: 12}
		for k, n := range want {
			if got[k] != n {
				t.Errorf("window at %d: %q ×%d, want ×%d (all %v)", start, k, got[k], n, got)
			}
		}
	}
	// reset:0.1 alone over 1000 requests: exactly 100, one in every 10.
	m, err = ParseFaults([]string{"reset:0.1"})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for i := range uint64(1000) {
		if m.At(i) == FaultReset {
			n++
		}
		if i%10 == 9 && n != int(i+1)/10 {
			t.Fatalf("after %d requests %d resets, want %d: faults bunched", i+1, n, (i+1)/10)
		}
	}
	if (FaultMix{}).At(5) != FaultNone || !(FaultMix{}).IsZero() {
		t.Error("the zero FaultMix faults")
	}
}

// rawRequest opens a connection to s, sends one GET and returns the
// connection with a reader on it.
func rawRequest(t *testing.T, s *Server) (*net.TCPConn, *bufio.Reader) {
	t.Helper()
	c, err := net.DialTimeout("tcp", strings.TrimPrefix(s.URL(), "http://"), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if _, err := io.WriteString(c, "GET /x HTTP/1.1\r\nHost: t\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	return c.(*net.TCPConn), bufio.NewReader(c)
}

// TestServerFaultBytes checks what each fault puts on the wire, byte for
// byte, and that the server counts it.
func TestServerFaultBytes(t *testing.T) {
	cases := []struct {
		fault string
		// want is the exact byte stream before EOF; wantErr the error that
		// ends it (nil for EOF).
		want    string
		wantErr error
	}{
		{"reset", "", syscall.ECONNRESET},
		{"close", "", nil},
		{"close-mid-body", "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 20\r\n\r\nhellohello", nil},
		{"garbage", garbageResponse, nil},
		{"bad-chunked", "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n", nil},
		{"bad-status-line", "HTTP/1.1 2x0 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello", nil},
		{"slow", "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello", nil},
	}
	for _, c := range cases {
		t.Run(c.fault, func(t *testing.T) {
			verifyNoLeaks(t)
			mix, err := ParseFaults([]string{c.fault})
			if err != nil {
				t.Fatal(err)
			}
			s := startServer(t, Config{Faults: mix})
			_, r := rawRequest(t, s)
			start := time.Now()
			got, err := io.ReadAll(r)
			took := time.Since(start)
			switch {
			case c.wantErr == nil && err != nil:
				t.Errorf("read: %v, want a clean EOF", err)
			case c.wantErr != nil && !errors.Is(err, c.wantErr):
				t.Errorf("read: %v, want %v", err, c.wantErr)
			}
			if string(got) != c.want {
				t.Errorf("got %q\nwant %q", got, c.want)
			}
			if c.fault == "slow" {
				// A byte every SlowByteInterval: a lower bound only.
				if min := time.Duration(len(c.want)-1) * SlowByteInterval * 9 / 10; took < min {
					t.Errorf("slow response took %v, want at least %v", took, min)
				}
			}
			st := s.Stats()
			if st.Faults[c.fault] != 1 || len(st.Faults) != 1 || st.Total != 0 {
				t.Errorf("Stats: faults %v total %d, want {%s:1} and no normal response", st.Faults, st.Total, c.fault)
			}
		})
	}
}

// TestServerFault1xx checks that the 1xx fault sends 100 and 103 before a
// normal final response on a connection that stays open, and that the final
// response is counted.
func TestServerFault1xx(t *testing.T) {
	verifyNoLeaks(t)
	s := startServer(t, Config{Faults: mustFaults(t, "1xx"), Status: mustMix(t, "404")})
	c, r := rawRequest(t, s)
	for i, want := range []string{"HTTP/1.1 100 Continue", "", "HTTP/1.1 103 Early Hints", "Link: </volley.css>; rel=preload; as=style", ""} {
		line, err := r.ReadString('\n')
		if err != nil || strings.TrimRight(line, "\r\n") != want {
			t.Fatalf("line %d: %q (%v), want %q", i, line, err, want)
		}
	}
	resp, err := http.ReadResponse(r, nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 404 || string(body) != "hello" || resp.Header.Get("Link") != "" {
		t.Errorf("final response %d %q Link %q, want 404 \"hello\" and no Link", resp.StatusCode, body, resp.Header.Get("Link"))
	}
	// The connection is still usable.
	if _, err := io.WriteString(c, "GET /y HTTP/1.1\r\nHost: t\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	if line, err := r.ReadString('\n'); err != nil || !strings.HasPrefix(line, "HTTP/1.1 100") {
		t.Errorf("second request: %q (%v), want another 100 Continue", line, err)
	}
	st := s.Stats()
	// A response is counted before its first byte is written.
	if st.Faults["1xx"] != 2 || st.Codes["404"] != 2 || st.Total != 2 {
		t.Errorf("Stats: faults %v codes %v, want 1xx:2 and 404:2", st.Faults, st.Codes)
	}
}

// TestServerFaultHugeAndHang checks that the huge fault declares a body
// beyond any client limit, and that Close ends a hanging and a huge
// response at once.
func TestServerFaultHugeAndHang(t *testing.T) {
	verifyNoLeaks(t)
	s := startServer(t, Config{Faults: mustFaults(t, "huge:0.5", "hang:0.5")})
	// The first request of the cycle is huge, the second hangs.
	_, r1 := rawRequest(t, s)
	resp, err := http.ReadResponse(r1, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.ContentLength != HugeBodySize {
		t.Errorf("huge: Content-Length %d, want %d", resp.ContentLength, HugeBodySize)
	}
	if _, err := io.ReadFull(resp.Body, make([]byte, 1<<20)); err != nil {
		t.Errorf("huge: reading the first MiB: %v", err)
	}
	c2, r2 := rawRequest(t, s)
	_ = c2.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
	if n, err := r2.Read(make([]byte, 1)); n != 0 || !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("hang: read %d bytes (%v), want nothing before the deadline", n, err)
	}
	if st := s.Stats(); st.Faults["huge"] != 1 || st.Faults["hang"] != 1 {
		t.Errorf("Stats faults %v, want huge:1 hang:1", st.Faults)
	}
	start := time.Now()
	if err := s.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("Close took %v with a hanging and a huge response in flight, want < 2s", took)
	}
	_ = c2.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := r2.Read(make([]byte, 1)); err != io.EOF {
		t.Errorf("hang after Close: %v, want EOF", err)
	}
}

func mustFaults(t *testing.T, specs ...string) FaultMix {
	t.Helper()
	m, err := ParseFaults(specs)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func FuzzParseFault(f *testing.F) {
	for _, s := range []string{
		"reset", "reset:0.1", "slow:5%", "hang:0.0001", "1xx:1", "huge:100%", "reset:", "x:0.5",
		"close:1e-4", "garbage: 0.25 ", "bad-chunked:0.00005", "reset:NaN%",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		fl, err := ParseFault(s)
		if err != nil {
			return
		}
		if fl.Kind == FaultNone || fl.Kind >= numFaultKinds || !(fl.Rate > 0 && fl.Rate <= 1) {
			t.Fatalf("ParseFault(%q) = %+v: kind or rate out of range", s, fl)
		}
		back, err := ParseFault(fl.String())
		if err != nil || back != fl {
			t.Fatalf("ParseFault(%q) = %+v; round trip through %q gives %+v, %v", s, fl, fl.String(), back, err)
		}
		m, err := NewFaultMix([]Fault{fl})
		if err != nil {
			t.Fatalf("NewFaultMix(%+v): %v", fl, err)
		}
		// Exactly Rate×Period faults per period.
		n := 0
		for i := range uint64(m.Period()) {
			if m.At(i) == fl.Kind {
				n++
			}
		}
		if want := math.Round(fl.Rate * float64(m.Period())); float64(n) != want {
			t.Fatalf("ParseFault(%q): %d faults per period of %d, want %v", s, n, m.Period(), want)
		}
	})
}
