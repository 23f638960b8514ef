package load

import (
	"context"
	"time"
)

// coarseAbove is the wait beyond which a waiter first sleeps on the
// runtime's timer (whose wake-ups can be about a millisecond late when the
// process is idle, but which can be cancelled) and only the last
// coarseSlack on the precise timer. Shorter waits use the precise timer
// alone: one wake-up per request instead of two.
const (
	coarseAbove = 50 * time.Millisecond
	coarseSlack = 2 * time.Millisecond
)

// spinBelow is the wait under which a worker yields instead of arming a
// timer: a timer costs more than it saves for waits this short.
const spinBelow = 20 * time.Microsecond

// waiter blocks a worker until a due time. Each worker owns one; it is not
// safe for concurrent use.
type waiter struct {
	coarse  *time.Timer
	precise *preciseTimer
}

func newWaiter() (*waiter, error) {
	p, err := newPreciseTimer()
	if err != nil {
		return nil, err
	}
	t := time.NewTimer(time.Hour)
	t.Stop()
	return &waiter{coarse: t, precise: p}, nil
}

func (w *waiter) close() { w.precise.close() }

// wait blocks until now() >= due, or ctx ends (it then returns false). now
// returns the time since the run's start.
func (w *waiter) wait(ctx context.Context, due time.Duration, now func() time.Duration) bool {
	d := due - now()
	if d > coarseAbove {
		w.coarse.Reset(d - coarseSlack)
		select {
		case <-ctx.Done():
			w.coarse.Stop()
			return false
		case <-w.coarse.C:
		}
		d = due - now()
	}
	if d > spinBelow {
		w.precise.sleep(d)
		d = due - now()
	}
	for d > 0 {
		if ctx.Err() != nil {
			return false
		}
		yield()
		d = due - now()
	}
	return ctx.Err() == nil
}
