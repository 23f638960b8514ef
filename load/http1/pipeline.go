package http1

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"time"

	"github.com/valyala/fasthttp"

	"volley/load"
	"volley/load/dial"
	"volley/load/field"
	"volley/load/request"
	"volley/stats"
)

// PipelineClient pipelines HTTP/1.1 (--streams N over HTTP/1.1): each
// worker's connection carries up to Streams requests written back to back,
// each sent when it is due whatever is outstanding, and one reader per
// connection reads the answers, which HTTP/1.1 gives in request order. It
// builds, encodes and reads requests with HTTPClient's pieces (the plan,
// the dialer, the header bound, the unasked-bytes check); it reads no body
// for checks and follows no redirects (NewPipelineClient refuses them).
//
// Every request has the same timeout, so the requests outstanding, in send
// order, are also in the order of their deadlines: the read deadline is
// kept at the oldest's. A request that times out leaves the pipeline out
// of step (its answer may still come and would be paired with the next
// request), so the connection is dropped and every request behind it fails
// as a timeout too, its message saying so; the next Send dials afresh.
type PipelineClient struct {
	*Client
	streams int
	// seen, when set (tests), is shown every final response with the
	// request it answers, from the connection's reader.
	seen func(i int64, resp *fasthttp.Response)
}

var _ load.MuxClient = (*PipelineClient)(nil)

// pipelineSafe are the methods RFC 9112 section 9.3.2 lets a client
// pipeline: the idempotent ones.
var pipelineSafe = map[string]bool{"GET": true, "HEAD": true, "PUT": true, "DELETE": true, "OPTIONS": true, "TRACE": true}

// NewPipelineClient prepares an HTTP/1.1 client for cfg with cfg.Streams
// requests in flight per connection. It does not connect.
func NewPipelineClient(cfg load.Config) (*PipelineClient, error) {
	c, err := NewClient(cfg)
	if err != nil {
		return nil, err
	}
	n := max(cfg.Streams, 1)
	switch {
	case c.plan.Expect.NeedsBody():
		return nil, field.Errorf("Streams", "streams %d: --expect-body reads whole bodies, which one request at a time per connection does; drop --streams or the body check", n)
	case cfg.Conn.FollowRedirects > 0:
		return nil, field.Errorf("Streams", "streams %d: --follow-redirects is followed one request at a time per connection only; drop --streams or the redirects", n)
	case cfg.Conn.NoKeepAlive:
		return nil, field.Errorf("Streams", "streams %d: --no-keepalive closes the connection after each request, which leaves nothing to pipeline; drop one of them", n)
	}
	for k := range c.plan.Targets {
		if m := c.plan.Targets[k].Method; !pipelineSafe[m] {
			return nil, field.Errorf("Streams", "streams %d: %s is not idempotent, and HTTP/1.1 pipelines idempotent methods only (GET, HEAD, PUT, DELETE, OPTIONS, TRACE; RFC 9112 section 9.3.2); drop --streams for %s or use --http2/--h2c", n, m, m)
		}
	}
	return &PipelineClient{Client: c, streams: n}, nil
}

// Streams is the requests in flight per connection (--streams).
func (c *PipelineClient) Streams() int { return c.streams }

// NewConn is not used: the engine runs a MuxClient through NewMuxConn.
func (c *PipelineClient) NewConn() (load.Conn, error) {
	return nil, errors.New("the pipelining HTTP/1.1 client runs through NewMuxConn")
}

// NewMuxConn returns a worker's connection; it dials on its first Send.
func (c *PipelineClient) NewMuxConn(a load.Answers) (load.MuxConn, error) {
	hc, err := c.Client.NewConn()
	if err != nil {
		return nil, err
	}
	return &pipeConn{c: c, h: hc.(*clientConn), ans: a, links: make([]*pipeLink, len(c.plan.Endpoints))}, nil
}

// pipeConn is one worker's pipelined connection per endpoint. Send and
// Flush are called by the engine's sender only, which alone writes; each
// link's reader alone reads. Close may come from any goroutine. mu guards
// links, closed and every link's queue and state, and is held while an
// answer is given, so that each request is answered exactly once.
type pipeConn struct {
	c   *PipelineClient
	h   *clientConn // builds requests (the sender's)
	ans load.Answers
	enc encoder // the sender's

	mu     sync.Mutex
	links  []*pipeLink // by endpoint; nil until dialled, and once dropped
	closed bool
}

var (
	_ load.MuxConn = (*pipeConn)(nil)
	_ load.Flusher = (*pipeConn)(nil)
)

// pipeLink is one connection: its writer (the sender's), its reader (a
// wire, read by the link's reader goroutine only) and its requests
// outstanding in send order.
type pipeLink struct {
	conn    net.Conn
	bw      *bufio.Writer
	w       *wire
	src     noteReader
	q       pipeQueue
	queued  int // the last queued entries of q are not flushed yet
	dead    bool
	connect time.Duration // the dial, charged to the link's first request
	hands   time.Duration
	fresh   bool
	unasked error // bytes arrived that nothing asked for: the next Send fails
}

// pipeEntry is one request awaiting its answer.
type pipeEntry struct {
	t        *load.Ticket
	deadline time.Time
	wrote    time.Time // when it was flushed; zero while queued
	head     bool      // a HEAD request: its answer has no body
	group    uint8
	connect  time.Duration
	hands    time.Duration
}

// pipeQueue is a ring of entries, grown on demand (the engine keeps at most
// Streams outstanding, so it stops growing).
type pipeQueue struct {
	e          []pipeEntry
	head, size int
}

func (q *pipeQueue) push(e pipeEntry) {
	if q.size == len(q.e) {
		n := make([]pipeEntry, max(2*len(q.e), 8))
		for i := range q.size {
			n[i] = q.e[(q.head+i)%len(q.e)]
		}
		q.e, q.head = n, 0
	}
	q.e[(q.head+q.size)%len(q.e)] = e
	q.size++
}

func (q *pipeQueue) front() *pipeEntry { return &q.e[q.head] }

// at is the i-th entry from the oldest.
func (q *pipeQueue) at(i int) *pipeEntry { return &q.e[(q.head+i)%len(q.e)] }

func (q *pipeQueue) pop() pipeEntry {
	e := q.e[q.head]
	q.e[q.head] = pipeEntry{}
	q.head = (q.head + 1) % len(q.e)
	q.size--
	return e
}

// noteReader reads the connection and keeps its last error, so that a
// reset is told from a close when the response reader reports only that
// the stream ended.
type noteReader struct {
	r   io.Reader
	err error
}

func (n *noteReader) Read(p []byte) (int, error) {
	k, err := n.r.Read(p)
	if err != nil {
		n.err = err
	}
	return k, err
}

// Cap is 0: an HTTP/1.1 connection sets no bound of its own.
func (m *pipeConn) Cap() int { return 0 }

// errEndedBeforeWrite is the outcome of a request whose connection, just
// opened for it, ended before it could be queued.
var errEndedBeforeWrite = errors.New("the pipelined connection ended before the request was written")

// Send queues t's request on its endpoint's connection, dialling it first
// when there is none; Flush (or a full writer) writes it. A failed dial is
// returned; a failed write is answered through Answers.
func (m *pipeConn) Send(t *load.Ticket) error {
	h := m.h
	tg, req, cached := h.request(t.I)
	var b []byte
	if cached != nil && *cached != nil {
		b = *cached
	} else if b = m.enc.encode(req); b != nil && cached != nil {
		*cached = append([]byte(nil), b...)
	}
	now := time.Now() // the timeout counts from here, a dial included
	for attempt := 0; ; attempt++ {
		m.mu.Lock()
		if m.closed {
			m.mu.Unlock()
			return net.ErrClosed
		}
		l := m.links[tg.Endpoint]
		m.mu.Unlock()
		if l == nil {
			var err error
			if l, err = m.dial(tg.Endpoint); err != nil {
				return err
			}
		}
		m.mu.Lock()
		if l.unasked != nil && !l.dead {
			// As on the one-at-a-time path: the request is not sent, it
			// counts as a protocol error, and the next dials afresh.
			err := l.unasked
			m.dropLocked(tg.Endpoint, l)
			m.ans.Done(t, load.Outcome{Target: tg.Group, Kind: stats.ErrProtocol, Err: err})
			m.mu.Unlock()
			return nil
		}
		if l.dead || m.links[tg.Endpoint] != l {
			closed := m.closed
			if !closed && attempt > 0 {
				m.ans.Done(t, load.Outcome{Target: tg.Group, Kind: stats.ErrClosed, Err: errEndedBeforeWrite})
			}
			m.mu.Unlock()
			if closed {
				return net.ErrClosed
			}
			if attempt > 0 {
				return nil
			}
			continue // it ended meanwhile: dial again
		}
		e := pipeEntry{t: t, deadline: now.Add(m.c.timeout), head: req.Header.IsHead(), group: tg.Group}
		if l.fresh {
			e.connect, e.hands, l.fresh = l.connect, l.hands, false
		}
		if l.q.size == 0 {
			_ = l.conn.SetReadDeadline(e.deadline)
		}
		l.q.push(e)
		l.queued++
		m.mu.Unlock()
		var err error
		if b != nil {
			if len(b) > l.bw.Available() {
				_ = l.conn.SetWriteDeadline(now.Add(m.c.timeout))
			}
			_, err = l.bw.Write(b)
		} else {
			_ = l.conn.SetWriteDeadline(now.Add(m.c.timeout))
			err = req.Write(l.bw)
		}
		if err != nil {
			m.mu.Lock()
			m.failLocked(tg.Endpoint, l, err, stats.ErrNone)
			m.mu.Unlock()
		}
		return nil
	}
}

// dial opens the connection to endpoint e and starts its reader.
func (m *pipeConn) dial(e int) (*pipeLink, error) {
	c := m.c.Client
	ep := c.plan.Endpoints[e]
	conn, connect, hands, err := c.dialer.Dial(ep, []string{"http/1.1"}, nil)
	if err != nil {
		return nil, err
	}
	l := &pipeLink{conn: conn, bw: bufio.NewWriterSize(conn, 16<<10), connect: connect, hands: hands, fresh: true}
	l.src.r = conn
	l.w = &wire{c: c, ep: ep, pr: &dial.Probe{}, conn: conn}
	l.w.src = source{conn: &l.src}
	l.w.br = bufio.NewReaderSize(&l.w.src, wireBuffer)
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		conn.Close()
		return nil, net.ErrClosed
	}
	if old := m.links[e]; old != nil {
		m.failLocked(e, old, errEndedBeforeWrite, stats.ErrClosed)
	}
	m.links[e] = l
	m.mu.Unlock()
	go m.read(e, l)
	return l, nil
}

// Flush writes what Send queued on every connection; a failed write ends
// the connection's requests through Answers.
func (m *pipeConn) Flush() {
	for e := range m.links {
		m.mu.Lock()
		l := m.links[e]
		if l == nil || l.dead || l.bw.Buffered() == 0 {
			m.mu.Unlock()
			continue
		}
		now := time.Now()
		for i := l.q.size - l.queued; i < l.q.size; i++ {
			l.q.at(i).wrote = now
		}
		l.queued = 0
		m.mu.Unlock()
		_ = l.conn.SetWriteDeadline(now.Add(m.c.timeout))
		if err := l.bw.Flush(); err != nil {
			m.mu.Lock()
			m.failLocked(e, l, err, stats.ErrNone)
			m.mu.Unlock()
		}
	}
}

// read is l's reader: it reads the answers in order and gives each to the
// oldest request outstanding, until the connection fails or is dropped.
func (m *pipeConn) read(e int, l *pipeLink) {
	w := l.w
	resp := &fasthttp.Response{}
	for {
		// The next answer's first byte, or (nothing outstanding) the
		// server's close or bytes no request asked for.
		_, err := w.br.Peek(1)
		first := time.Now()
		m.mu.Lock()
		if l.dead {
			m.mu.Unlock()
			return
		}
		if err != nil {
			switch {
			case l.q.size == 0 && !errors.Is(err, io.EOF) && isTimeout(err):
				// A deadline of an answered request: nothing is overdue.
				_ = l.conn.SetReadDeadline(time.Time{})
				m.mu.Unlock()
				continue
			case isTimeout(err) && l.q.front().deadline.After(first):
				// Not the oldest's deadline yet (it moved): read on.
				_ = l.conn.SetReadDeadline(l.q.front().deadline)
				m.mu.Unlock()
				continue
			case l.q.size == 0:
				// The server closed an idle connection: nothing was lost,
				// the next Send dials afresh.
				m.dropLocked(e, l)
				m.mu.Unlock()
				return
			}
			m.failLocked(e, l, pipeReadError(err, &l.src), stats.ErrNone)
			m.mu.Unlock()
			return
		}
		if l.q.size == 0 {
			// Bytes before any request: empty lines are dropped, anything
			// else fails the next request.
			if uerr := w.unasked(); uerr != nil {
				l.unasked = uerr
				m.mu.Unlock()
				return
			}
			m.mu.Unlock()
			continue
		}
		head := l.q.front().head
		m.mu.Unlock()

		resp.Reset()
		resp.SkipBody = head
		resp.Header.DisableNormalizing()
		err = w.readResponse(resp)
		done := time.Now()

		m.mu.Lock()
		if l.dead {
			m.mu.Unlock()
			return
		}
		if err != nil {
			m.failLocked(e, l, pipeReadError(err, &l.src), stats.ErrNone)
			m.mu.Unlock()
			return
		}
		en := l.q.pop()
		if l.q.size > 0 {
			_ = l.conn.SetReadDeadline(l.q.front().deadline)
		} else {
			_ = l.conn.SetReadDeadline(time.Time{})
		}
		if en.deadline.Before(done) {
			// Answered, but too late: a timeout, as the one-at-a-time
			// path's deadline would have made it; the pipeline is still in
			// step.
			m.ans.Done(en.t, m.outcome(&en, first, done, nil, stats.ErrTimeout, fmt.Errorf("answered after the timeout of %v: %w", m.c.timeout, fasthttp.ErrTimeout)))
		} else {
			if m.c.seen != nil {
				m.c.seen(en.t.I, resp)
			}
			m.ans.Done(en.t, m.outcome(&en, first, done, resp, stats.ErrNone, nil))
		}
		if resp.ConnectionClose() {
			m.failLocked(e, l, errServerClosedPipeline, stats.ErrClosed)
			m.mu.Unlock()
			return
		}
		m.mu.Unlock()
	}
}

// errServerClosedPipeline is the outcome of the requests behind an answer
// that closed the connection (Connection: close).
var errServerClosedPipeline = fmt.Errorf("not answered: the server closed the pipelined connection after an earlier answer (Connection: close): %w", fasthttp.ErrConnectionClosed)

// outcome is en's Outcome: resp's status and body bytes and checks, or
// the error.
func (m *pipeConn) outcome(en *pipeEntry, first, done time.Time, resp *fasthttp.Response, kind stats.ErrorKind, err error) load.Outcome {
	out := load.Outcome{Target: en.group, Kind: kind, Err: err}
	out.Phases.Connect, out.Phases.TLS = dial.Micros(en.connect), dial.Micros(en.hands)
	if !en.wrote.IsZero() && !first.IsZero() {
		// The first byte came after the request went out (or it was
		// waiting behind the answer before it).
		if first.Before(en.wrote) {
			first = en.wrote
		}
		out.Phases.TTFB = dial.Micros(first.Sub(en.wrote))
		out.Phases.Transfer = dial.Micros(done.Sub(first))
	}
	if resp == nil {
		return out
	}
	code := resp.StatusCode()
	if code < 100 || code > 599 {
		out.Kind, out.Err = stats.ErrOther, fmt.Errorf("%w %d", request.ErrInvalidStatus, code)
		return out
	}
	out.Code, out.BytesIn = code, int64(len(resp.Body()))
	if x := &m.c.plan.Expect; x.Active() {
		out.Check = x.Check(code, nil)
	}
	return out
}

// pipeReadError is the error of a failed read of an answer, worded as the
// one-at-a-time path words it: the stream's end is a closed connection,
// unless the socket said it was reset.
func pipeReadError(err error, src *noteReader) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		if src.err != nil && dial.Classify(src.err) == stats.ErrReset {
			return src.err
		}
	}
	if errors.Is(err, io.EOF) {
		return fasthttp.ErrConnectionClosed
	}
	if isTimeout(err) && !errors.Is(err, fasthttp.ErrTimeout) {
		return fmt.Errorf("%w: %w", fasthttp.ErrTimeout, err)
	}
	return err
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, fasthttp.ErrTimeout) || errors.Is(err, os.ErrDeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout())
}

// failLocked ends l after err: the oldest request outstanding gets err
// (classified, or kind when set), every one behind it was not answered and
// ends as the connection did (see rest), and the link is closed; the next
// Send dials afresh. m.mu is held.
func (m *pipeConn) failLocked(e int, l *pipeLink, err error, kind stats.ErrorKind) {
	if l.dead {
		return
	}
	if kind == stats.ErrNone {
		kind = classify(err)
	}
	first := true
	for l.q.size > 0 {
		en := l.q.pop()
		if first && err != errServerClosedPipeline {
			m.ans.Done(en.t, m.outcome(&en, time.Time{}, time.Time{}, nil, kind, err))
		} else {
			rk, rerr := behind(kind, err)
			m.ans.Done(en.t, m.outcome(&en, time.Time{}, time.Time{}, nil, rk, rerr))
		}
		first = false
	}
	m.dropLocked(e, l)
}

// behind is the outcome of a request outstanding behind one that failed
// with err (of kind): it was not answered. A timeout, a reset or a close
// ends the connection for all alike and keeps its category; after an
// answer the connection cannot go on from (headers beyond the bound, a body
// too large, a broken response) it counts as closed.
func behind(kind stats.ErrorKind, err error) (stats.ErrorKind, error) {
	switch kind {
	case stats.ErrTimeout:
		return kind, fmt.Errorf("not answered: behind a request that timed out on the pipelined connection, which was dropped: %w", fasthttp.ErrTimeout)
	case stats.ErrReset, stats.ErrClosed:
		if err == errServerClosedPipeline {
			return kind, err
		}
		return kind, fmt.Errorf("not answered: the pipelined connection ended before its answer: %w", err)
	}
	return stats.ErrClosed, fmt.Errorf("not answered: the pipelined connection was dropped after the answer before it failed (%v): %w", err, fasthttp.ErrConnectionClosed)
}

// dropLocked closes l and forgets it. m.mu is held.
func (m *pipeConn) dropLocked(e int, l *pipeLink) {
	l.dead = true
	l.conn.Close()
	if m.links[e] == l {
		m.links[e] = nil
	}
}

// errClosedAwaiting is the outcome of requests still outstanding when the
// connection is closed (after the engine stopped waiting for them).
var errClosedAwaiting = fmt.Errorf("closed by volley while awaiting the answer: %w", fasthttp.ErrConnectionClosed)

// Close answers what is outstanding (as closed) and closes every
// connection. It may be called while Send runs.
func (m *pipeConn) Close() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return
	}
	m.closed = true
	for e, l := range m.links {
		if l == nil {
			continue
		}
		for l.q.size > 0 {
			en := l.q.pop()
			m.ans.Done(en.t, m.outcome(&en, time.Time{}, time.Time{}, nil, stats.ErrClosed, errClosedAwaiting))
		}
		m.dropLocked(e, l)
	}
}
