//go:build linux

package load

import (
	"net"
	"strconv"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// fullBacklog returns the loopback address of a listener that never accepts
// and whose accept queue is already full, so that the kernel drops further
// SYNs and a connect to it hangs until the client gives up.
func fullBacklog(t *testing.T) string {
	t.Helper()
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	if err := unix.Bind(fd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	if err := unix.Listen(fd, 0); err != nil {
		t.Fatal(err)
	}
	sa, err := unix.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(sa.(*unix.SockaddrInet4).Port))
	// Fill the queue: connects complete until it is full, then one hangs.
	for i := range 16 {
		c, err := net.DialTimeout("tcp", addr, 100*time.Millisecond)
		if err != nil {
			if i == 0 {
				t.Fatalf("the queue is full before any connection: %v", err)
			}
			return addr
		}
		t.Cleanup(func() { c.Close() })
	}
	t.Skip("the kernel accepted 16 connections on a backlog of 0; cannot make connect hang")
	return ""
}
