//go:build !linux

package load

import (
	"runtime"
	"time"
)

// preciseTimer falls back to the runtime's timers where timerfd is missing.
type preciseTimer struct{}

func newPreciseTimer() (*preciseTimer, error) { return &preciseTimer{}, nil }

func (*preciseTimer) sleep(d time.Duration) { time.Sleep(d) }
func (*preciseTimer) close()                {}

func yield() { runtime.Gosched() }

// alarm is the pacer's timer: the runtime's, where timerfd is missing.
type alarm = *runtimeAlarm

type runtimeAlarm struct{ t *time.Timer }

func newAlarm() (alarm, error) {
	t := time.NewTimer(time.Hour)
	t.Stop()
	return &runtimeAlarm{t: t}, nil
}

func (a *runtimeAlarm) set(d time.Duration) { a.t.Reset(max(d, 0)) }
func (a *runtimeAlarm) wait()               { <-a.t.C }
func (a *runtimeAlarm) close()              { a.t.Stop() }
