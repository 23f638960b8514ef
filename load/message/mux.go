package message

import (
	"context"
	"errors"
	"net"
	"sync"
	"time"

	"volley/load"
	"volley/stats"
)

// DefaultStreams is the most messages awaiting their echo on one
// connection of an open-loop echo run when Config.Streams is 0: no practical
// bound, so that every message goes out at its intended time.
const DefaultStreams = 100_000

// Streams is the in-flight bound per connection for cfg: Config.Streams
// when given; otherwise DefaultStreams in an open loop, and 1 in a closed
// loop, where each connection sends its next message when the previous echo
// arrives (a closed loop with 100000 in flight would be a flood, not a
// measurement).
func Streams(cfg *load.Config) int {
	switch {
	case cfg.Streams > 0:
		return cfg.Streams
	case cfg.Open():
		return DefaultStreams
	}
	return 1
}

// tablePrealloc is how many outstanding messages a connection's table
// holds before it first grows (it doubles as needed, up to the streams).
const tablePrealloc = 32

// Link is one open connection of a message protocol, as a Mux uses it: it
// writes and reads whole messages. When its read deadline passes, a Link
// does not fail its read: it calls its Mux's Expire and, if that says the
// link is still in use, reads on (see Expire).
type Link interface {
	// WriteMessage writes msg as one message, giving up at deadline.
	WriteMessage(msg []byte, deadline time.Time) error
	// ReadMessage reads the next message; it is valid until the next call.
	ReadMessage() ([]byte, error)
	// SetReadDeadline sets the read deadline; the zero time clears it.
	SetReadDeadline(t time.Time) error
	// Close ends the link: after err, at once; with err nil, as volley's
	// own close (a close frame, a DELETE).
	Close(err error)
}

// Dialer opens a Mux's links and knows its protocol's errors.
type Dialer interface {
	// Dial opens a link for m (whose Expire the link calls).
	Dial(ctx context.Context, m *Mux) (Link, error)
	// Classify maps an error of a link or of Dial to its category.
	Classify(err error) stats.ErrorKind
	// Failed notes how a link ended, other than by volley (a close code).
	Failed(err error)
}

// MuxConfig is what a Mux is made of.
type MuxConfig struct {
	Answers load.Answers
	Dialer  Dialer
	Frame   *Frame // the sender's: Send builds each message in it
	Match   Match
	// Streams bounds the messages awaiting their echo (see Streams).
	Streams int
	// Timeout is how long a message may await its echo; Epoch is the clock
	// the table keeps its times on.
	Timeout time.Duration
	Epoch   time.Time
}

var _ load.MuxConn = (*Mux)(nil)

// Mux is one full-duplex echo connection of any message protocol: Send
// writes a message at once whatever is outstanding; a reader goroutine per
// link matches each echo to its message (by id through an index of the
// outstanding ids, or in send order with MatchFIFO) and answers it.
// Messages outstanding in send order are also the order in which they time
// out, as every one has the same timeout: the read deadline is kept at or
// before the oldest one's, so no timer per message is needed.
//
// Send is called by the engine's sender for the connection only; Close may
// be called from any goroutine, also while Send runs. mu guards every field
// below it and is held while an answer is given, so that each message is
// answered exactly once.
type Mux struct {
	ans     load.Answers
	d       Dialer
	frame   *Frame
	idAt    int // where the id stands in every message; -1 when it moves (templates) or with fifo
	fifo    bool
	timeout time.Duration
	epoch   time.Time

	mu     sync.Mutex
	link   Link // nil when not connected
	closed bool
	out    Outstanding
	armed  bool // link's read deadline is set (at or before the oldest's)

	sent, received, unanswered, unmatched int64
}

// NewMux makes a Mux that opens its first link when its first message is
// sent (or takes one through Attach).
func NewMux(c MuxConfig) *Mux {
	m := &Mux{ans: c.Answers, d: c.Dialer, frame: c.Frame, idAt: c.Frame.IDAt(), fifo: c.Match == MatchFIFO,
		timeout: c.Timeout, epoch: c.Epoch}
	m.out.Init(min(c.Streams, tablePrealloc), !m.fifo)
	return m
}

// Cap is 0: a message connection sets no bound of its own.
func (m *Mux) Cap() int { return 0 }

func (m *Mux) since() int64 { return int64(time.Since(m.epoch)) }

// ErrEndedBeforeSend is the outcome of a message whose connection, just
// opened for it, ended before it could be written.
var ErrEndedBeforeSend = errors.New("the connection ended before the message was sent")

// Send writes message t.I at once, opening a link first if none is open
// (the opening counts in the message's latency). A failed opening or write
// is answered through Answers with its category; Send returns an error
// only after Close.
func (m *Mux) Send(t *load.Ticket) error {
	for attempt := 0; ; attempt++ {
		m.mu.Lock()
		if m.closed {
			m.mu.Unlock()
			return net.ErrClosed
		}
		l := m.link
		m.mu.Unlock()
		if l == nil {
			var err error
			if l, err = m.open(); err != nil {
				if errors.Is(err, net.ErrClosed) {
					return err
				}
				m.mu.Lock()
				m.ans.Done(t, load.Outcome{Kind: m.d.Classify(err), Err: err})
				m.mu.Unlock()
				return nil
			}
		}
		msg := m.frame.Build(t.I)
		now := m.since()
		due := now + int64(m.timeout)
		m.mu.Lock()
		if m.link != l {
			closed := m.closed
			if !closed && attempt > 0 {
				m.ans.Done(t, load.Outcome{Kind: stats.ErrClosed, Err: ErrEndedBeforeSend})
			}
			m.mu.Unlock()
			if closed {
				return net.ErrClosed
			}
			if attempt > 0 {
				return nil
			}
			continue // it ended meanwhile: reopen
		}
		k := m.out.Add(t, due)
		if !m.armed {
			_ = l.SetReadDeadline(m.epoch.Add(time.Duration(due)))
			m.armed = true
		}
		m.sent++
		m.mu.Unlock()
		if err := l.WriteMessage(msg, m.epoch.Add(time.Duration(due))); err != nil {
			m.mu.Lock()
			if m.out.Ticket(k) == t {
				// Nothing says it went out: an error, not unanswered.
				m.out.Remove(k)
				m.sent--
				m.ans.Done(t, load.Outcome{Kind: m.d.Classify(err), Err: err})
			}
			m.failLocked(l, err)
			m.mu.Unlock()
		}
		return nil
	}
}

// open dials a new link and starts its reader.
func (m *Mux) open() (Link, error) {
	l, err := m.d.Dial(context.Background(), m)
	if err != nil {
		return nil, err
	}
	return l, m.Attach(l)
}

// Attach makes l m's link (one opened before the run) and starts its
// reader. After Close it closes l and returns net.ErrClosed.
func (m *Mux) Attach(l Link) error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		l.Close(nil)
		return net.ErrClosed
	}
	m.link, m.armed = l, false
	m.mu.Unlock()
	go m.read(l)
	return nil
}

// read is l's reader: it matches every message received to the message it
// echoes, until the link fails or is replaced.
func (m *Mux) read(l Link) {
	for {
		msg, err := l.ReadMessage()
		m.mu.Lock()
		if err != nil {
			m.failLocked(l, err)
			m.mu.Unlock()
			return
		}
		if m.link != l {
			m.mu.Unlock()
			return
		}
		var k int32
		if m.fifo {
			k = m.out.Head()
		} else {
			k = m.out.Match(msg, m.idAt)
		}
		if k < 0 {
			m.unmatched++
		} else {
			t := m.out.Ticket(k)
			m.out.Remove(k)
			m.received++
			m.ans.Done(t, load.Outcome{Code: stats.Answered, BytesIn: int64(len(msg))})
		}
		m.mu.Unlock()
	}
}

// Expire answers the messages on l that are overdue as timeouts
// (unanswered) and moves the read deadline to the oldest left. A link calls
// it when its read deadline passes; it reports whether l is still m's link,
// so that its read goes on.
func (m *Mux) Expire(l Link, err error) bool {
	now := m.since()
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.link != l {
		return false
	}
	for k := m.out.Head(); k >= 0 && m.out.Due(k) <= now; k = m.out.Head() {
		t := m.out.Ticket(k)
		m.out.Remove(k)
		m.unanswered++
		m.ans.Done(t, load.Outcome{Kind: stats.ErrTimeout, Err: err})
	}
	if k := m.out.Head(); k >= 0 {
		_ = l.SetReadDeadline(m.epoch.Add(time.Duration(m.out.Due(k))))
		m.armed = true
	} else {
		_ = l.SetReadDeadline(time.Time{})
		m.armed = false
	}
	return true
}

// failLocked ends l after err, unless it has ended already: the dialer
// notes how it ended, every message outstanding on it is answered with
// err's category (each unanswered), and it is closed; the next Send opens
// a new link. m.mu is held.
func (m *Mux) failLocked(l Link, err error) {
	if m.link != l {
		return
	}
	m.link, m.armed = nil, false
	m.d.Failed(err)
	m.failAllLocked(load.Outcome{Kind: m.d.Classify(err), Err: err})
	l.Close(err)
}

// failAllLocked answers every outstanding message with out, each
// unanswered. m.mu is held.
func (m *Mux) failAllLocked(out load.Outcome) {
	for k := m.out.Head(); k >= 0; k = m.out.Head() {
		t := m.out.Ticket(k)
		m.out.Remove(k)
		m.unanswered++
		m.ans.Done(t, out)
	}
}

// ErrClosedByVolley is the outcome of messages still awaiting their echo
// when the connection is closed (after the engine stopped waiting for
// them).
var ErrClosedByVolley = errors.New("closed by volley while awaiting the echo")

// Close answers what is outstanding (as closed, unanswered) and closes the
// link as volley's own close. It may be called while Send runs.
func (m *Mux) Close() {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return
	}
	m.closed = true
	l := m.link
	m.link, m.armed = nil, false
	m.failAllLocked(load.Outcome{Kind: stats.ErrClosed, Err: ErrClosedByVolley})
	m.mu.Unlock()
	if l != nil {
		l.Close(nil)
	}
}

// Counts returns the connection's message counts.
func (m *Mux) Counts() (sent, received, unanswered, unmatched int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.sent, m.received, m.unanswered, m.unmatched
}
