package load

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// Paced calls open(j, intended) for every j in [0, n), at most parallel at
// once: the j-th is intended at j/rate seconds after the start and not made
// before (rate 0: each as soon as a call is free, intended now). Protocols
// open their connections before a run with it (--connect-rate). It returns
// once every call has returned, or early when ctx ends.
func Paced(ctx context.Context, n int, rate float64, parallel int, open func(j int, intended time.Time)) {
	var next atomic.Int64
	start := time.Now()
	var wg sync.WaitGroup
	for range min(n, parallel) {
		wg.Go(func() {
			var tm *time.Timer
			for ctx.Err() == nil {
				j := next.Add(1) - 1
				if j >= int64(n) {
					return
				}
				intended := time.Now()
				if rate > 0 {
					intended = start.Add(Constant{Rate: rate}.Offset(j))
					if d := time.Until(intended); d > 0 {
						if tm == nil {
							tm = time.NewTimer(d)
						} else {
							tm.Reset(d)
						}
						select {
						case <-ctx.Done():
							tm.Stop()
							return
						case <-tm.C:
						}
					}
				}
				open(int(j), intended)
			}
		})
	}
	wg.Wait()
}
