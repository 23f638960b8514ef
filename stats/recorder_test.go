package stats

import (
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestNewRecorderSize(t *testing.T) {
	for _, c := range []struct{ in, want int }{{0, 64}, {1, 64}, {64, 64}, {65, 128}, {1000, 1024}, {4096, 4096}} {
		if got := len(NewRecorder(c.in).buf); got != c.want {
			t.Errorf("NewRecorder(%d) holds %d samples, want %d", c.in, got, c.want)
		}
	}
}

// TestRecorderWrapConcurrent records many times the ring's capacity while a
// drainer runs concurrently: every sample must arrive exactly once, in order.
func TestRecorderWrapConcurrent(t *testing.T) {
	// Thousands of wraps of a 64-slot ring; fewer under the slow race detector.
	n := int64(200_000)
	if raceEnabled {
		n = 30_000
	}
	r := NewRecorder(64)
	var stop atomic.Bool
	var wg sync.WaitGroup
	var next int64 // next expected Done; touched by the drainer only
	var bad int64
	var firstBad Sample
	check := func(s *Sample) {
		if s.Done != next || s.Corrected != 2*next || s.Code != uint16(100+next%500) {
			if bad == 0 {
				firstBad = *s
			}
			bad++
		}
		next = s.Done + 1
	}
	wg.Go(func() {
		for !stop.Load() {
			r.drain(check)
		}
		r.drain(check) // whatever was left after the producer stopped
	})
	for i := int64(0); i < n; i++ {
		r.Record(Sample{Done: i, Corrected: 2 * i, Code: uint16(100 + i%500)})
	}
	stop.Store(true)
	wg.Wait()
	if bad != 0 {
		t.Fatalf("%d samples out of order or corrupt; first %+v", bad, firstBad)
	}
	if next != n {
		t.Fatalf("drained %d samples, want %d", next, n)
	}
	if r.head.Load() != r.tail.Load() {
		t.Errorf("ring not empty after the final drain: head %d tail %d", r.head.Load(), r.tail.Load())
	}
	if r.full.Load() == 0 {
		t.Log("ring never filled; wrap-around waits not exercised this time")
	}
}

// TestRecorderBlocksWhenFull checks that a full ring holds the worker until
// the collector drains, instead of overwriting or dropping samples.
func TestRecorderBlocksWhenFull(t *testing.T) {
	r := NewRecorder(64)
	for i := range 64 {
		r.Record(Sample{Done: int64(i)})
	}
	done := make(chan struct{})
	go func() {
		r.Record(Sample{Done: 64})
		close(done)
	}()
	// The 65th sample must wait until the ring has room.
	for r.full.Load() == 0 {
		runtime.Gosched()
	}
	select {
	case <-done:
		t.Fatal("Record returned while the ring was full")
	default:
	}
	if r.head.Load() != 64 {
		t.Fatalf("head = %d while full, want 64: a sample was overwritten", r.head.Load())
	}
	var got []int64
	r.drain(func(s *Sample) { got = append(got, s.Done) })
	<-done
	r.drain(func(s *Sample) { got = append(got, s.Done) })
	if len(got) != 65 {
		t.Fatalf("drained %d samples, want 65", len(got))
	}
	for i, v := range got {
		if v != int64(i) {
			t.Fatalf("sample %d has Done %d, want %d", i, v, i)
		}
	}
	if r.full.Load() != 1 {
		t.Errorf("full = %d, want 1 wait recorded", r.full.Load())
	}
}

func TestRecorderNoteError(t *testing.T) {
	r := NewRecorder(64)
	calls := map[ErrorKind]int{}
	msg := func(k ErrorKind, m string) func() string {
		return func() string { calls[k]++; return m }
	}
	r.NoteError(ErrTimeout, msg(ErrTimeout, "dial tcp: i/o timeout"))
	for range 1000 {
		r.NoteError(ErrTimeout, msg(ErrTimeout, "a later timeout"))
	}
	r.NoteError(ErrReset, msg(ErrReset, "connection reset by peer"))
	r.NoteError(ErrReset, msg(ErrReset, "another reset"))

	if calls[ErrTimeout] != 1 || calls[ErrReset] != 1 {
		t.Errorf("msg called %v times, want once per kind", calls)
	}
	if got := r.errorMessage(ErrTimeout); got != "dial tcp: i/o timeout" {
		t.Errorf("timeout message %q, want the first one", got)
	}
	if got := r.errorMessage(ErrReset); got != "connection reset by peer" {
		t.Errorf("reset message %q, want the first one", got)
	}
	if got := r.errorMessage(ErrDNS); got != "" {
		t.Errorf("dns message %q, want none", got)
	}
}

func TestRecorderRecordAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under the race detector")
	}
	r := NewRecorder(1024)
	s := Sample{Done: 1, Corrected: 2e6, Service: 1e6, Code: 200}
	var n, calls int
	drain := func(*Sample) { n++ }
	if a := testing.AllocsPerRun(10_000, func() {
		r.Record(s)
		if calls++; calls%512 == 0 {
			r.drain(drain)
		}
	}); a != 0 {
		t.Errorf("Record allocates %v times per call, want 0", a)
	}
	r.drain(drain)
	if n != calls {
		t.Errorf("drained %d samples, recorded %d", n, calls)
	}
	r.NoteError(ErrTimeout, func() string { return "first" })
	if a := testing.AllocsPerRun(1000, func() {
		r.NoteError(ErrTimeout, func() string { return "again" })
	}); a != 0 {
		t.Errorf("NoteError of a kept kind allocates %v times, want 0", a)
	}
}

func BenchmarkRecorderRecord(b *testing.B) {
	r := NewRecorder(4096)
	s := Sample{Done: 1, Corrected: 2e6, Service: 1e6, BytesIn: 512, Code: 200}
	var n int
	drain := func(*Sample) { n++ }
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		r.Record(s)
		if i&2047 == 2047 {
			r.drain(drain)
		}
	}
}

// BenchmarkRecorderRecordConcurrentDrain measures Record with the collector
// draining on another goroutine, as in a run.
func BenchmarkRecorderRecordConcurrentDrain(b *testing.B) {
	r := NewRecorder(4096)
	s := Sample{Done: 1, Corrected: 2e6, Service: 1e6, BytesIn: 512, Code: 200}
	var stop atomic.Bool
	var wg sync.WaitGroup
	wg.Go(func() {
		tl := NewTally()
		for !stop.Load() {
			r.drain(tl.Add)
		}
		r.drain(tl.Add)
	})
	b.ReportAllocs()
	for b.Loop() {
		r.Record(s)
	}
	stop.Store(true)
	wg.Wait()
}

func BenchmarkTallyAdd(b *testing.B) {
	tl := NewTally()
	codes := [...]uint16{200, 200, 200, 201, 404, 503, 0}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		s := Sample{Corrected: int64(1e6 + i%1e6), Service: int64(5e5 + i%1e5), Code: codes[i%len(codes)]}
		if s.Code == 0 {
			s.Err = ErrTimeout
		}
		tl.Add(&s)
	}
}

// BenchmarkCollectorDrain measures the aggregator's cost per sample: drain
// a worker's ring into the run's tally, the open second of the series and
// the per-target details, with a new second every 20000 samples (its
// histograms encoded as the series point is closed).
func BenchmarkCollectorDrain(b *testing.B) {
	c := NewCollector()
	r := c.NewRecorder(4096)
	start := time.Now()
	c.Start(start)
	codes := [...]uint16{200, 200, 200, 201, 404, 503}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		done := int64(i/20000) * int64(time.Second)
		r.Record(Sample{Done: done, Corrected: int64(1e6 + i%1e6), Service: int64(5e5 + i%1e5), Code: codes[i%len(codes)]})
		if i&2047 == 2047 {
			c.Drain(start.Add(time.Duration(done)))
		}
	}
}
