//go:build linux

package load

import (
	"fmt"
	"os"
	"runtime"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// preciseTimer sleeps on a timerfd registered with the runtime's network
// poller: the goroutine parks (no thread blocks) and the kernel's
// high-resolution timer wakes it, typically within tens of microseconds,
// where the runtime's own timers round sub-millisecond sleeps up to a
// millisecond when the process is otherwise idle. Like the sockets (see
// rawIO), it is set and read with raw system calls, which do not wake the
// runtime's monitor thread.
type preciseTimer struct {
	f      *os.File
	rc     syscall.RawConn
	fd     uintptr
	buf    [8]byte
	readFn func(fd uintptr) bool
}

func newPreciseTimer() (*preciseTimer, error) {
	fd, err := unix.TimerfdCreate(unix.CLOCK_MONOTONIC, unix.TFD_NONBLOCK|unix.TFD_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("timerfd: %w", err)
	}
	p := &preciseTimer{f: os.NewFile(uintptr(fd), "timerfd"), fd: uintptr(fd)}
	if p.rc, err = p.f.SyscallConn(); err != nil {
		p.f.Close()
		return nil, fmt.Errorf("timerfd: %w", err)
	}
	p.readFn = p.doRead
	return p, nil
}

func (p *preciseTimer) sleep(d time.Duration) {
	if !p.set(d) {
		time.Sleep(d)
		return
	}
	p.wait()
}

// set arms the timer to expire d from now (at once if d <= 0), replacing
// any earlier setting. It may be called while another goroutine waits.
func (p *preciseTimer) set(d time.Duration) bool {
	// A zero value would disarm the timer instead.
	spec := unix.ItimerSpec{Value: unix.NsecToTimespec(max(int64(d), 1))}
	_, _, e := syscall.RawSyscall6(unix.SYS_TIMERFD_SETTIME, p.fd, 0, uintptr(unsafe.Pointer(&spec)), 0, 0, 0)
	return e == 0
}

// wait blocks until the timer expires; the goroutine parks in the runtime's
// poller, no thread blocks.
func (p *preciseTimer) wait() {
	if err := p.rc.Read(p.readFn); err != nil {
		time.Sleep(time.Millisecond)
	}
}

// doRead consumes the expiry count; false (EAGAIN) waits in the poller.
func (p *preciseTimer) doRead(fd uintptr) bool {
	_, _, e := syscall.RawSyscall(syscall.SYS_READ, fd, uintptr(unsafe.Pointer(&p.buf[0])), uintptr(len(p.buf)))
	return e != syscall.EAGAIN && e != syscall.EINTR
}

// alarm is the pacer's timer.
type alarm = *preciseTimer

func newAlarm() (alarm, error) { return newPreciseTimer() }

func (p *preciseTimer) close() {
	if p.f != nil {
		p.f.Close()
	}
}

func yield() { runtime.Gosched() }
