package load

import (
	"fmt"
	"net"
	"os"
	"syscall"
	"testing"

	"golang.org/x/net/http2"

	"volley/load/h2"
	"volley/stats"
)

// TestClassifyLocal: running out of descriptors or ports is the generator's
// own limit, reported as "local", not as the target's "other".
func TestClassifyLocal(t *testing.T) {
	for _, errno := range []syscall.Errno{syscall.EMFILE, syscall.ENFILE, syscall.EADDRNOTAVAIL} {
		err := &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("socket", errno)}
		if got := Classify(fmt.Errorf("wrapped: %w", err)); got.String() != "local" {
			t.Errorf("Classify(%v) = %q, want \"local\"", err, got)
		}
	}
	if got := Classify(&net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}); got != stats.ErrRefused {
		t.Errorf("refused classified as %q", got)
	}
}

// TestClassifyH2: the multiplexing HTTP/2 client's errors land in the
// categories a user expects, not in "other".
func TestClassifyH2(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want string
	}{
		{fmt.Errorf("stream 3: %w", h2.ErrBodyTooLarge), "body_too_large"},
		{h2.ErrHeaderTooLarge, "protocol"},
		{h2.ResetError(http2.ErrCodeRefusedStream), "reset"},
		{&h2.ProtocolError{}, "protocol"},
		{h2.ErrClosed, "closed"},
	} {
		if got := Classify(tc.err); got.String() != tc.want {
			t.Errorf("Classify(%v) = %q, want %q", tc.err, got, tc.want)
		}
	}
}
