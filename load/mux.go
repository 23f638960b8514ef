package load

import (
	"context"
	"sync"

	"volley/load/dial"
	"volley/stats"
)

// MuxConn is a connection that carries many tickets at once: HTTP/2
// streams, an HTTP/1.1 pipeline, a full-duplex WebSocket. The engine's
// sender for the connection calls Send when a ticket is due and a slot is
// free, whatever is outstanding; the connection reports each ticket it
// accepted exactly once through the Answers it was opened with, from its
// own goroutine, and enforces the request timeout itself (an overdue ticket
// is answered with a timeout error).
type MuxConn interface {
	// Send writes t's request or message. It returns an error only when
	// nothing went out: t is then not reported through Answers. An error
	// with an ErrorKind method keeps its category (a refused handshake);
	// any other is classified by dial.Classify.
	Send(t *Ticket) error
	// Cap is the most tickets the connection takes at once, 0 for no cap
	// of its own (an HTTP/2 server's SETTINGS_MAX_CONCURRENT_STREAMS). The
	// engine calls it under its own lock: it must take none.
	Cap() int
	// Close fails what is outstanding (through Answers) and releases the
	// connection. It may be called while Send runs.
	Close()
}

// Answers receives the end of every ticket a MuxConn accepted, once per
// ticket, from any goroutine (usually the connection's reader; the sender's
// for a ticket whose write failed after it was accepted); t is the pointer
// given to Send.
type Answers interface {
	Done(t *Ticket, out Outcome)
}

// MuxClient makes MuxConns; a Client that is also a MuxClient runs on the
// engine's multiplexed path, with Streams tickets in flight per connection.
type MuxClient interface {
	Client
	// NewMuxConn opens (or prepares) one connection whose answers go to a.
	NewMuxConn(a Answers) (MuxConn, error)
	// Streams is how many tickets one connection may have in flight.
	Streams() int
}

// slots is one multiplexed connection's share of the engine: the tickets
// it may have in flight (grown on demand up to limit, then reused, so that
// the steady state allocates nothing), who records what, and the abandon
// flag. mu guards every field below it and orders every write to ans, the
// connection's answer recorder, so that a late answer and abandon never
// both record a ticket.
type slots struct {
	r     *runner
	conn  MuxConn
	send  *stats.Recorder // the sender's: tickets that could not be sent
	limit int

	mu          sync.Mutex
	ans         *stats.Recorder
	free        []*muxTicket
	all         []*muxTicket
	outstanding int
	gone        bool          // abandoned: record nothing more
	wake        chan struct{} // a slot was freed (capacity 1)
	m           marks
}

// muxTicket is a slot: a ticket and whether it is in flight.
type muxTicket struct {
	Ticket
	busy bool
}

var _ Answers = (*slots)(nil)

// Flusher is a MuxConn that lets the engine say when to write: Send only
// queues, and Flush writes what is queued. The engine flushes before its
// sender blocks (every slot busy, or a ticket not yet due), so a batch of
// answers that frees several slots is refilled with one write.
type Flusher interface {
	Flush()
}

// acquire returns a free slot, waiting for one while all are in flight. It
// returns nil when ctx is done or the connection was abandoned. Before it
// waits it flushes what Send queued.
func (s *slots) acquire(ctx context.Context, flush Flusher) *muxTicket {
	for {
		t, gone := s.tryAcquire()
		if t != nil || gone {
			return t
		}
		if flush != nil {
			flush.Flush()
		}
		select {
		case <-s.wake:
		case <-ctx.Done():
			return nil
		}
	}
}

// tryAcquire takes a free slot if one is, without waiting.
func (s *slots) tryAcquire() (t *muxTicket, gone bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.gone {
		return nil, true
	}
	limit := s.limit
	if c := s.conn.Cap(); c > 0 && c < limit {
		limit = c
	}
	if s.outstanding >= limit {
		return nil, false
	}
	if n := len(s.free); n > 0 {
		t = s.free[n-1]
		s.free = s.free[:n-1]
	} else {
		t = &muxTicket{Ticket: Ticket{Slot: len(s.all)}}
		s.all = append(s.all, t)
	}
	s.outstanding++
	return t, false
}

// release returns t to the free list; s.mu is held.
func (s *slots) release(t *muxTicket) {
	t.busy = false
	s.free = append(s.free, t)
	s.outstanding--
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Done records t's answer, unless the connection was abandoned (then it was
// recorded as abandoned already).
func (s *slots) Done(t *Ticket, out Outcome) {
	done := s.r.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	mt := s.all[t.Slot]
	if s.gone || !mt.busy {
		return
	}
	s.r.record(s.ans, t, &out, done)
	s.m.lastDone = max(s.m.lastDone, done)
	s.release(mt)
}

// run is the connection's sender: a ticket goes out when it is due and a
// slot is free, whatever is outstanding. At the end it waits for the
// tickets in flight, or until abandon.
func (s *slots) run(ctx context.Context, id int, w *waiter, abandon <-chan struct{}) {
	var wake chan struct{}
	if s.r.pace != nil {
		wake = make(chan struct{}, 1)
	}
	flush, _ := s.conn.(Flusher)
	// A closed loop claims without waiting, so queued sends can wait for
	// the next block; an open loop (or a connection shape, which may park
	// the sender in claim) writes each at once.
	eager := s.r.sched != nil || s.r.conc != nil
	for {
		mt := s.acquire(ctx, flush)
		if mt == nil {
			break
		}
		t, ok := s.r.claim(ctx, id, w, wake)
		if !ok {
			s.mu.Lock()
			s.release(mt)
			s.mu.Unlock()
			break
		}
		s.mu.Lock()
		if s.gone {
			s.mu.Unlock()
			break
		}
		t.Slot = mt.Slot
		mt.Ticket, mt.busy = t, true
		s.m.sent++
		s.m.lastDue, s.m.lastSend = t.Due, t.Sent
		s.mu.Unlock()
		err := s.conn.Send(&mt.Ticket)
		if flush != nil && eager {
			flush.Flush()
		}
		if err != nil {
			out := Outcome{Kind: dial.Classify(err), Err: err}
			s.r.record(s.send, &mt.Ticket, &out, s.r.now())
			s.mu.Lock()
			if mt.busy {
				s.release(mt)
			}
			s.mu.Unlock()
		}
	}
	if flush != nil {
		flush.Flush() // nothing queued is left unwritten
	}
	// The drain: every accepted ticket is answered (or times out) by the
	// connection itself.
	for {
		s.mu.Lock()
		left, gone := s.outstanding, s.gone
		s.mu.Unlock()
		if left == 0 || gone {
			return
		}
		select {
		case <-s.wake: // sticky: a release while this looked is not lost
		case <-abandon:
			return
		}
	}
}

// abandon records every ticket in flight as abandoned and stops recording
// answers.
func (s *slots) abandon() {
	now := s.r.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.gone {
		return
	}
	s.gone = true
	for _, t := range s.all {
		if !t.busy {
			continue
		}
		out := Outcome{Kind: stats.ErrAbandoned}
		s.ans.NoteError(stats.ErrAbandoned, func() string {
			return "in flight when a second interrupt stopped the wait"
		})
		s.r.record(s.ans, &t.Ticket, &out, now)
		t.busy = false
	}
}
