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
	return unix.TimerfdSettime(p.fd, 0, &spec, nil) == nil
}

// wait blocks until the timer expires; the goroutine parks in the runtime's
// poller, no thread blocks.
func (p *preciseTimer) wait() {
	if _, err := p.f.Read(p.buf[:]); err != nil {
		time.Sleep(time.Millisecond)
	}
}

// alarm is the pacer's timer.
type alarm = *preciseTimer

func newAlarm() (alarm, error) {
	p, err := newPreciseTimer()
	return &p, err
}

func (p *preciseTimer) close() {
	if p.f != nil {
		p.f.Close()
	}
}

func yield() { runtime.Gosched() }
