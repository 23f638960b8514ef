package dial

import (
	"fmt"
	"net"
	"os"
	"syscall"
	"testing"

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
