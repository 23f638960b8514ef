//go:build linux

package dial

import (
	"errors"
	"io"
	"net"
	"os"
	"strings"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// RawIO reads and writes a socket with raw system calls, still waiting in
// the runtime's network poller (and so honouring deadlines). A plain
// net.Conn call enters the scheduler's syscall state on every read and
// write; after the process has been idle, that wakes the runtime's monitor
// thread back into polling every 20µs, a context switch each time (at 5000
// req/s it doubled the process's context switches). Non-blocking socket
// calls return at once, so they need none of that.
type RawIO struct {
	rc     syscall.RawConn
	net    string
	local  net.Addr
	remote net.Addr
	// A read and a write may run at once (HTTP/2 reads in a goroutine of
	// its own): each has its own state.
	rbuf, wbuf     []byte
	rn, wn         int
	rerrno, werrno syscall.Errno
	readFn         func(fd uintptr) bool
	writeFn        func(fd uintptr) bool

	// A request handed to sendWithRead: the next read sends it and then
	// waits for the answer (see sendWithRead).
	sbuf   []byte
	sent   int           // bytes of it sent, for the caller's count
	sendOn bool          // sbuf is still to be sent
	serrno syscall.Errno // the send failed
	serr   error         // the send failed; the read returned it

	waits int // reads that found nothing and waited in the poller
}

// newRawIO returns the raw path for c, or nil when c is not a socket that
// supports it.
func newRawIO(c net.Conn) *RawIO {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return nil
	}
	switch c.(type) {
	case *net.TCPConn, *net.UnixConn:
	default:
		return nil
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nil
	}
	r := &RawIO{rc: rc, net: c.LocalAddr().Network(), local: c.LocalAddr(), remote: c.RemoteAddr()}
	r.readFn, r.writeFn = r.doRead, r.doWrite
	return r
}

// Waits is how many reads found nothing and waited in the poller.
func (r *RawIO) Waits() int { return r.waits }

// SendWithRead hands b to the next read, which sends it and then waits in
// the poller for the answer without first trying a read that could only
// fail with EAGAIN: two system calls per exchange instead of three. The
// wait can miss nothing, because the runtime clears the socket's readiness
// when the read begins, before the send; so the caller must use it only
// when no unread bytes are owed from before (none are buffered, and a
// connection that sat idle was checked with idlePeek). A send that the
// socket cannot take whole is finished as a plain write before reading.
func (r *RawIO) SendWithRead(b []byte) {
	r.sbuf, r.sendOn, r.serrno, r.serr = b, true, 0, nil
}

// IdlePeek tells whether an idle connection may carry another request,
// reading nothing: closed is set when the peer has closed or reset it;
// otherwise waiting is the number of bytes that arrived meanwhile, which no
// request asked for (over TLS, say, the close_notify alert a server sends
// as it closes), and the first n of them are copied into b. A non-blocking
// peek tells, one system call; bytes waiting take a second, to count them.
func (r *RawIO) IdlePeek(b []byte) (n, waiting int, closed bool) {
	err := r.rc.Control(func(fd uintptr) {
		m, _, e := syscall.RawSyscall6(syscall.SYS_RECVFROM, fd, uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)),
			syscall.MSG_PEEK|syscall.MSG_DONTWAIT, 0, 0)
		switch {
		case e == syscall.EAGAIN:
		case e != 0 || m == 0:
			closed = true // an error, or the end of the stream
		default:
			n, waiting = int(m), int(m)
			var q int32
			if _, _, e := syscall.RawSyscall(syscall.SYS_IOCTL, fd, unix.SIOCINQ, uintptr(unsafe.Pointer(&q))); e == 0 && int(q) > n {
				waiting = int(q)
			}
		}
	})
	if err != nil {
		return 0, 0, true
	}
	return n, waiting, closed
}

// SendError is the error of the last sendWithRead's send, if it failed.
func (r *RawIO) SendError() error { return r.serr }

// takeSent returns the bytes sent by reads since the last call.
func (r *RawIO) takeSent() int {
	n := r.sent
	r.sent = 0
	return n
}

func (r *RawIO) read(b []byte) (int, error) {
	if len(b) == 0 {
		return 0, nil
	}
	r.rbuf, r.rn, r.rerrno = b, 0, 0
	err := r.rc.Read(r.readFn)
	if err == nil && r.sendOn {
		// The send stalled (a full socket buffer) or failed.
		rest := r.sbuf
		r.sbuf, r.sendOn = nil, false
		if r.serrno == 0 {
			n, werr := r.write(rest)
			r.sent += n
			if werr == nil {
				err = r.rc.Read(r.readFn)
			} else {
				r.serr = werr
			}
		} else {
			r.serr = r.opError("write", r.serrno)
		}
		if r.serr != nil {
			r.rbuf = nil
			return 0, r.serr
		}
	}
	r.rbuf, r.sbuf, r.sendOn = nil, nil, false
	if err != nil {
		return 0, plainOp(err, "read") // a deadline, or a closed connection
	}
	switch {
	case r.rerrno != 0:
		return 0, r.opError("read", r.rerrno)
	case r.rn == 0:
		return 0, io.EOF
	}
	return r.rn, nil
}

func (r *RawIO) doRead(fd uintptr) bool {
	if r.sendOn {
		n, e := sendSocket(fd, r.sbuf)
		r.sbuf, r.sent = r.sbuf[n:], r.sent+n
		switch e {
		case 0:
			r.sbuf, r.sendOn = nil, false
			return false // sent whole: wait for the answer, then read
		case syscall.EAGAIN:
			return true // finish it as a plain write
		}
		r.serrno = e
		return true
	}
	for {
		n, _, e := syscall.RawSyscall(syscall.SYS_READ, fd, uintptr(unsafe.Pointer(&r.rbuf[0])), uintptr(len(r.rbuf)))
		switch e {
		case 0:
			r.rn = int(n)
			return true
		case syscall.EINTR:
			continue
		case syscall.EAGAIN:
			r.waits++
			return false // wait in the poller, then try again
		}
		r.rerrno = e
		return true
	}
}

func (r *RawIO) write(b []byte) (int, error) {
	r.wbuf, r.wn, r.werrno = b, 0, 0
	var err error
	if len(b) > 0 {
		err = r.rc.Write(r.writeFn)
	}
	n := r.wn
	r.wbuf = nil
	if err != nil {
		return n, plainOp(err, "write")
	}
	if r.werrno != 0 {
		return n, r.opError("write", r.werrno)
	}
	return n, nil
}

func (r *RawIO) doWrite(fd uintptr) bool {
	n, e := sendSocket(fd, r.wbuf[r.wn:])
	r.wn += n
	switch e {
	case 0:
		return true
	case syscall.EAGAIN:
		return false // wait until the socket takes more
	}
	r.werrno = e
	return true
}

// sendSocket sends b until all of it is sent, the socket is full (EAGAIN) or
// the send fails, and returns how much went and the error that stopped it.
// MSG_NOSIGNAL: a peer that has gone away gives EPIPE, not a signal.
func sendSocket(fd uintptr, b []byte) (int, syscall.Errno) {
	sent := 0
	for sent < len(b) {
		n, _, e := syscall.RawSyscall6(syscall.SYS_SENDTO, fd, uintptr(unsafe.Pointer(&b[sent])),
			uintptr(len(b)-sent), syscall.MSG_NOSIGNAL, 0, 0)
		switch e {
		case 0:
			sent += int(n)
		case syscall.EINTR:
		default:
			return sent, e
		}
	}
	return sent, 0
}

// plainOp names a poller error (a deadline, a closed connection) after the
// plain call, as net.Conn's own Read and Write do, not "raw-read".
func plainOp(err error, op string) error {
	var oe *net.OpError
	if errors.As(err, &oe) && strings.HasPrefix(oe.Op, "raw-") {
		oe.Op = op
	}
	return err
}

// opError shapes an errno as net.Conn's own calls do, so that errors are
// classified and worded the same whichever path produced them.
func (r *RawIO) opError(op string, e syscall.Errno) error {
	return &net.OpError{Op: op, Net: r.net, Source: r.local, Addr: r.remote, Err: os.NewSyscallError(op, e)}
}
