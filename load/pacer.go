package load

import (
	"context"
	"sync"
	"time"
)

// DefaultTick is the pacing grid of an open-loop run unless Config.Tick
// says otherwise: requests due within one tick are released together at
// its start.
const DefaultTick = time.Millisecond

// pacer releases the workers of an open-loop run at their due times with
// one timer for all of them, not one per worker: each wake-up of an idle
// process costs tens of microseconds of CPU on a virtual machine, so one
// wake-up per tick, whatever the number of requests due in it, is what
// keeps pacing cheap. Due times are on the tick grid (see quantize), so the
// workers released by one wake-up all share the same due time.
type pacer struct {
	mu      sync.Mutex
	q       []parked      // waiting workers, earliest due first
	armed   time.Duration // due time the alarm is set for; -1 when unset
	stopped bool          // the run is over or cancelled (see watch)
	alarm   alarm
	now     func() time.Duration
	// release is the pacer goroutine's scratch list of workers to wake.
	release []chan struct{}
}

type parked struct {
	due  time.Duration
	wake chan struct{}
}

func newPacer(workers int, now func() time.Duration) (*pacer, error) {
	a, err := newAlarm()
	if err != nil {
		return nil, err
	}
	return &pacer{q: make([]parked, 0, workers), armed: -1, alarm: a, now: now,
		release: make([]chan struct{}, 0, workers)}, nil
}

// quantize puts a due time on the tick grid: the start of its tick.
func quantize(due, tick time.Duration) time.Duration {
	if tick <= 0 {
		return due
	}
	return due - due%tick
}

// await parks the calling worker until due (its own wake channel, buffered
// by one, is wake). It returns false if ctx ends first. It waits on wake
// alone, not in a select with ctx: a select parks on two channels, and the
// runtime's records of parked goroutines are freed at every collection, so
// each would be allocated again; watch (below) wakes everyone when ctx ends.
func (p *pacer) await(ctx context.Context, due time.Duration, wake chan struct{}) bool {
	p.mu.Lock()
	if p.stopped || ctx.Err() != nil {
		p.mu.Unlock()
		return false
	}
	// Workers claim tickets in order, so a new entry almost always goes
	// last; the search from the end costs one comparison then.
	i := len(p.q)
	for i > 0 && p.q[i-1].due > due {
		i--
	}
	p.q = append(p.q, parked{})
	copy(p.q[i+1:], p.q[i:])
	p.q[i] = parked{due: due, wake: wake}
	if i == 0 && (p.armed < 0 || due < p.armed) {
		p.armed = due
		p.alarm.set(due - p.now())
	}
	p.mu.Unlock()
	<-wake
	return ctx.Err() == nil
}

// watch ends the pacer when ctx ends or the run is over (done is closed):
// it wakes every parked worker, refuses new ones and stops run.
func (p *pacer) watch(ctx context.Context, done <-chan struct{}) {
	select {
	case <-ctx.Done():
	case <-done:
	}
	p.mu.Lock()
	p.stopped = true
	for _, e := range p.q {
		e.wake <- struct{}{}
	}
	p.q = p.q[:0]
	p.alarm.set(0)
	p.mu.Unlock()
}

// run is the pacer's goroutine: it sleeps until the earliest due time,
// wakes every worker due by then, and sleeps again. It returns when watch
// ends the pacer.
func (p *pacer) run() {
	for {
		p.alarm.wait()
		p.mu.Lock()
		if p.stopped {
			p.mu.Unlock()
			return
		}
		now := p.now()
		n := 0
		for n < len(p.q) && p.q[n].due <= now {
			p.release = append(p.release, p.q[n].wake)
			n++
		}
		p.q = p.q[:copy(p.q, p.q[n:])]
		p.armed = -1
		if len(p.q) > 0 {
			p.armed = p.q[0].due
			p.alarm.set(p.armed - now)
		}
		p.mu.Unlock()
		for i, w := range p.release {
			w <- struct{}{}
			p.release[i] = nil
		}
		p.release = p.release[:0]
	}
}

func (p *pacer) close() { p.alarm.close() }
