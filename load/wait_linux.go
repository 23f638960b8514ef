//go:build linux

package load

import (
	"fmt"
	"os"
	"runtime"
	"time"

	"golang.org/x/sys/unix"
)

// preciseTimer sleeps on a timerfd registered with the runtime's network
// poller: the goroutine parks (no thread blocks) and the kernel's
// high-resolution timer wakes it, typically within tens of microseconds,
// where the runtime's own timers round sub-millisecond sleeps up to a
// millisecond when the process is otherwise idle.
type preciseTimer struct {
	f   *os.File
	fd  int
	buf [8]byte
}

func newPreciseTimer() (preciseTimer, error) {
	fd, err := unix.TimerfdCreate(unix.CLOCK_MONOTONIC, unix.TFD_NONBLOCK|unix.TFD_CLOEXEC)
	if err != nil {
		return preciseTimer{}, fmt.Errorf("timerfd: %w", err)
	}
	return preciseTimer{f: os.NewFile(uintptr(fd), "timerfd"), fd: fd}, nil
}

func (p *preciseTimer) sleep(d time.Duration) {
	spec := unix.ItimerSpec{Value: unix.NsecToTimespec(int64(d))}
	if err := unix.TimerfdSettime(p.fd, 0, &spec, nil); err != nil {
		time.Sleep(d)
		return
	}
	// Read blocks in the poller until the timer expires.
	if _, err := p.f.Read(p.buf[:]); err != nil {
		time.Sleep(d)
	}
}

func (p *preciseTimer) close() {
	if p.f != nil {
		p.f.Close()
	}
}

func yield() { runtime.Gosched() }
