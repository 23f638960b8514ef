package message

import (
	"context"
	"time"

	"volley/load"
	"volley/stats"
)

// Subscriber is one subscribing connection of any message protocol: it
// only listens, and each message's latency is its receipt time minus the
// ts_ns the server stamped in it. Do waits for the next message; a link
// that failed is reopened first, one whose read failed or timed out is
// closed and reopened on the next call. One worker uses it.
type Subscriber struct {
	d       Dialer
	timeout time.Duration
	link    Link // nil when not connected

	received, unmatched, missed int64
	clockSkew, maxSkew          int64 // messages stamped in the future; the most, ns
	lastSeq                     int64
	haveSeq                     bool
	since                       int64 // Unix ns of the first listen
}

var _ load.Conn = (*Subscriber)(nil)

// NewSubscriber makes a Subscriber whose links d opens (with a nil Mux:
// their reads end at the deadline); a message must arrive within timeout.
func NewSubscriber(d Dialer, timeout time.Duration) *Subscriber {
	return &Subscriber{d: d, timeout: timeout}
}

// Attach gives s a link opened before the run.
func (s *Subscriber) Attach(l Link) { s.link, s.haveSeq = l, false }

// Do waits for the next subscribed message.
func (s *Subscriber) Do(int64) load.Outcome {
	if s.link == nil {
		l, err := s.d.Dial(context.Background(), nil)
		if err != nil {
			return load.Outcome{Kind: s.d.Classify(err), Err: err}
		}
		s.Attach(l)
	}
	return s.listen()
}

// listen waits for the next timestamped message. Messages stamped before
// the first listen were pushed while the connection waited for the run to
// start; they are skipped (as unmatched), so that time spent waiting in the
// socket before the run does not count as latency.
func (s *Subscriber) listen() load.Outcome {
	if s.since == 0 {
		s.since = time.Now().UnixNano()
	}
	_ = s.link.SetReadDeadline(time.Now().Add(s.timeout))
	for {
		msg, err := s.link.ReadMessage()
		now := time.Now()
		if err != nil {
			return s.fail(err)
		}
		ts, ok := JSONInt(msg, TSKey)
		if !ok || ts < s.since {
			s.unmatched++
			continue
		}
		if seq, ok := JSONInt(msg, SeqKey); ok {
			if s.haveSeq && seq > s.lastSeq+1 {
				s.missed += seq - s.lastSeq - 1
			}
			s.lastSeq, s.haveSeq = seq, true
		}
		lat := now.UnixNano() - ts
		if lat < 0 {
			// Stamped after it arrived: the server's clock is ahead, and
			// any latency recorded (0, clamped) would be made up.
			s.clockSkew++
			s.maxSkew = max(s.maxSkew, -lat)
			return load.Outcome{Kind: stats.ErrClockSkew, BytesIn: int64(len(msg)), Err: &ClockSkewError{Ahead: time.Duration(-lat)}}
		}
		s.received++
		return load.Outcome{Code: stats.Answered, BytesIn: int64(len(msg)), Measured: true, Latency: time.Duration(lat)}
	}
}

// fail ends the link after err.
func (s *Subscriber) fail(err error) load.Outcome {
	s.d.Failed(err)
	s.link.Close(err)
	s.link = nil
	return load.Outcome{Kind: s.d.Classify(err), Err: err}
}

// Close closes the link as volley's own close.
func (s *Subscriber) Close() {
	if s.link != nil {
		s.link.Close(nil)
		s.link = nil
	}
}

// Tally is the message part of a run's result: the counts of its echoing
// connections (muxes) and subscribing ones (subs), in mode, matched by
// match. Call it after the run, without a lock the connections' own locks
// may wait for.
func Tally(mode Mode, match Match, muxes []*Mux, subs []*Subscriber) stats.Messages {
	m := stats.Messages{Mode: mode.String()}
	if mode == Echo {
		m.Match = match.String()
	}
	for _, x := range muxes {
		sent, received, unanswered, unmatched := x.Counts()
		m.Sent += sent
		m.Received += received
		m.Unanswered += unanswered
		m.Unmatched += unmatched
	}
	for _, s := range subs {
		m.Received += s.received
		m.Unmatched += s.unmatched
		m.Missed += s.missed
		m.ClockSkew += s.clockSkew
		m.ClockSkewMaxMs = max(m.ClockSkewMaxMs, float64(s.maxSkew)/1e6)
	}
	return m
}

// Attach adds m to res: its messages, and for a subscribing run its mode,
// neither loop (the server sets the rate).
func Attach(res *stats.Result, m stats.Messages) {
	res.Messages = &m
	if m.Mode == stats.MessageModeSubscribe {
		res.Mode = m.Mode
	}
}

// ClockSkewError is a subscribed message whose timestamp is later than the
// moment volley received it, by Ahead: the server's clock is ahead of
// volley's, so the message's latency cannot be known. It is counted as an
// error (other) and as clock skew, and no latency is recorded for it.
type ClockSkewError struct {
	Ahead time.Duration
}

func (e *ClockSkewError) Error() string {
	return "message stamped " + e.Ahead.Round(time.Microsecond).String() +
		" in the future: the server's clock is ahead of volley's; its latency is not recorded"
}
