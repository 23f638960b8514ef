package stats

import (
	"runtime"
	"sync/atomic"
)

// Recorder is one worker's outbox: a fixed-size single-producer,
// single-consumer ring of Samples. Exactly one goroutine (the worker) may call
// Record and NoteError; exactly one (the Collector) drains it. Recording takes
// no lock, sends on no channel and allocates nothing. When the ring is full
// the worker yields until the Collector has drained it; nothing is dropped.
type Recorder struct {
	head atomic.Uint64 // next slot the worker writes; written by the worker only
	_    [56]byte      // keep head and tail on separate cache lines
	tail atomic.Uint64 // next slot the collector reads; written by the collector only
	_    [56]byte
	buf  []Sample
	mask uint64
	// full counts how often Record found the ring full and had to wait.
	full atomic.Int64
	// errMsg keeps the first message seen per error category.
	errMsg [NumErrorKinds]atomic.Pointer[string]
}

// NewRecorder returns a recorder whose ring holds size samples, rounded up to
// a power of two (at least 64).
func NewRecorder(size int) *Recorder {
	n := 64
	for n < size {
		n <<= 1
	}
	return &Recorder{buf: make([]Sample, n), mask: uint64(n - 1)}
}

// Record appends s. It blocks (yielding) only while the ring is full.
func (r *Recorder) Record(s Sample) {
	h := r.head.Load()
	if h-r.tail.Load() > r.mask {
		r.full.Add(1)
		for h-r.tail.Load() > r.mask {
			runtime.Gosched()
		}
	}
	r.buf[h&r.mask] = s
	r.head.Store(h + 1)
}

// NoteError keeps msg() as the sample message of kind if none is kept yet.
// msg is called at most once per category per recorder, so the error path
// allocates a bounded number of strings however many errors occur.
func (r *Recorder) NoteError(kind ErrorKind, msg func() string) {
	p := &r.errMsg[kind]
	if p.Load() != nil {
		return
	}
	m := msg()
	p.CompareAndSwap(nil, &m)
}

// drain passes every recorded sample to fn, oldest first, and frees the slots.
// Only the collector calls it.
func (r *Recorder) drain(fn func(*Sample)) int {
	t := r.tail.Load()
	h := r.head.Load()
	for i := t; i < h; i++ {
		fn(&r.buf[i&r.mask])
	}
	r.tail.Store(h)
	return int(h - t)
}

// errorMessage returns the first message recorded for kind, or "".
func (r *Recorder) errorMessage(kind ErrorKind) string {
	if p := r.errMsg[kind].Load(); p != nil {
		return *p
	}
	return ""
}
