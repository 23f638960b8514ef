//go:build linux

package bench

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"time"

	"golang.org/x/sys/unix"
)

// ErrBacklogUnsupported is returned by FullBacklog where a connect to a
// full accept queue cannot be made to hang.
var ErrBacklogUnsupported = errors.New("cannot make a connect hang here")

// FullBacklog returns the loopback address of a listener that never accepts
// and whose accept queue is already full, so that the kernel drops further
// SYNs and a connect to it hangs until the client gives up: a target for
// connect timeouts. close releases the listener and the queued connections.
func FullBacklog() (addr string, close func(), err error) {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return "", nil, fmt.Errorf("full backlog: %w", err)
	}
	var conns []net.Conn
	close = func() {
		for _, c := range conns {
			c.Close()
		}
		unix.Close(fd)
	}
	fail := func(err error) (string, func(), error) {
		close()
		return "", nil, fmt.Errorf("full backlog: %w", err)
	}
	if err := unix.Bind(fd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		return fail(err)
	}
	if err := unix.Listen(fd, 0); err != nil {
		return fail(err)
	}
	sa, err := unix.Getsockname(fd)
	if err != nil {
		return fail(err)
	}
	addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(sa.(*unix.SockaddrInet4).Port))
	// Fill the queue: connects complete until it is full, then one hangs.
	for i := range 16 {
		c, err := net.DialTimeout("tcp", addr, 100*time.Millisecond)
		if err != nil {
			if i == 0 {
				return fail(fmt.Errorf("the queue is full before any connection: %w", err))
			}
			return addr, close, nil
		}
		conns = append(conns, c)
	}
	close()
	return "", nil, fmt.Errorf("the kernel accepted 16 connections on a backlog of 0: %w", ErrBacklogUnsupported)
}
