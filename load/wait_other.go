//go:build !linux

package load

import (
	"runtime"
	"time"
)

// preciseTimer falls back to the runtime's timers where timerfd is missing.
type preciseTimer struct{}

func newPreciseTimer() (preciseTimer, error) { return preciseTimer{}, nil }

func (preciseTimer) sleep(d time.Duration) { time.Sleep(d) }
func (preciseTimer) close()                {}

func yield() { runtime.Gosched() }
