package ws

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"volley/load"
	"volley/stats"
)

// DefaultStreams is the most messages awaiting their echo on one
// connection of an open-loop echo run when Config.Streams is 0: no practical
// bound, so that every message goes out at its intended time.
const DefaultStreams = 100_000

// wsStreams is the in-flight bound per connection for cfg: Config.Streams
// when given; otherwise DefaultWSStreams in an open loop, and 1 in a closed
// loop, where each connection sends its next message when the previous echo
// arrives (a closed loop with 100000 in flight would be a flood, not a
// measurement).
func wsStreams(cfg *load.Config) int {
	switch {
	case cfg.Streams > 0:
		return cfg.Streams
	case cfg.Open():
		return DefaultStreams
	}
	return 1
}

// wsTablePrealloc is how many outstanding messages a connection's table
// holds before it first grows (it doubles as needed, up to the streams).
const wsTablePrealloc = 32

// wsMuxClient is a WSClient in echo mode seen as a MuxClient: the engine
// runs it on its multiplexed path, many messages in flight per connection.
type wsMuxClient struct{ *Client }

var (
	_ load.MuxClient = wsMuxClient{}
	_ load.MuxConn   = (*wsMuxConn)(nil)
)

// Streams is the most messages awaiting their echo on one connection.
func (c wsMuxClient) Streams() int { return c.streams }

// NewMuxConn hands out a connection opened by Open, or one that connects on
// its first message; its echoes are answered through a.
func (c wsMuxClient) NewMuxConn(a load.Answers) (load.MuxConn, error) {
	m := &wsMuxConn{
		c: c.Client, ans: a, frame: c.frame(), typ: websocket.TextMessage,
		idAt: -1, fifo: c.cfg.Match == MatchFIFO,
	}
	if c.cfg.Binary {
		m.typ = websocket.BinaryMessage
	}
	if m.frame.tmpl == nil {
		m.idAt = m.frame.idAt
	}
	m.out.init(min(c.streams, wsTablePrealloc), !m.fifo)
	c.mu.Lock()
	c.muxes = append(c.muxes, m)
	var ws *websocket.Conn
	if len(c.ready) > 0 {
		ws = c.ready[0]
		c.ready = c.ready[1:]
	}
	c.mu.Unlock()
	if ws != nil {
		if _, err := m.attach(ws); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// wsMuxConn is one full-duplex echo connection: Send writes a message at
// once whatever is outstanding; a reader goroutine per underlying
// connection matches each echo to its message (by id through an index of
// the outstanding ids, or in send order with fifo) and answers it. Messages
// outstanding in send order are also the order in which they time out, as
// every one has the same timeout: the read deadline is kept at or before
// the oldest one's, so no timer per message is needed.
//
// Send is called by the engine's sender for the connection only; Close may
// be called from any goroutine, also while Send runs. mu guards every
// field below it and is held while an answer is given, so that each
// message is answered exactly once.
type wsMuxConn struct {
	c     *Client
	ans   load.Answers
	frame *wsFrame // the sender's
	typ   int
	idAt  int // where the id stands in every message; -1 when it moves (templates) or with fifo
	fifo  bool

	mu     sync.Mutex
	link   *wsLink // nil when not connected
	closed bool
	out    wsOutstanding
	armed  bool // link's read deadline is set (at or before the oldest's)

	sent, received, unanswered, unmatched int64
}

// wsLink is one opened WebSocket connection of a wsMuxConn, with its reader's
// buffer.
type wsLink struct {
	ws   *websocket.Conn
	nc   *wsNetConn
	rbuf []byte
}

// wsNetConn is the network connection under a WebSocket connection. While a
// wsMuxConn reads through it, a read deadline does not end the read: the
// messages overdue are answered as timeouts, the deadline moves to the next
// oldest and the read goes on, so that gorilla/websocket (which treats any
// read error, a deadline included, as the end of the connection) never
// sees it.
type wsNetConn struct {
	net.Conn
	m *wsMuxConn // set before the reader starts; nil for the handshake and subscribers
	l *wsLink
}

func (c *wsNetConn) Read(b []byte) (int, error) {
	for {
		n, err := c.Conn.Read(b)
		if err == nil || c.m == nil || !errors.Is(err, os.ErrDeadlineExceeded) {
			return n, err
		}
		if !c.m.expire(c.l, err) {
			return n, err
		}
		if n > 0 {
			return n, nil
		}
	}
}

// Cap is 0: a WebSocket connection sets no bound of its own.
func (m *wsMuxConn) Cap() int { return 0 }

// errEndedBeforeSend is the outcome of a message whose connection, just
// opened for it, ended before it could be written.
var errEndedBeforeSend = errors.New("websocket: the connection ended before the message was sent")

// Send writes message t.I at once, opening the connection first if it is
// not open (the handshake counts in the message's latency). A failed
// handshake or write is answered through Answers with its WebSocket error
// category; Send returns an error only after Close.
func (m *wsMuxConn) Send(t *load.Ticket) error {
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
				m.ans.Done(t, load.Outcome{Kind: Classify(err), Err: err})
				m.mu.Unlock()
				return nil
			}
		}
		msg := m.frame.build(t.I)
		now := m.c.since()
		due := now + int64(m.c.timeout)
		m.mu.Lock()
		if m.link != l {
			closed := m.closed
			if !closed && attempt > 0 {
				m.ans.Done(t, load.Outcome{Kind: stats.ErrClosed, Err: errEndedBeforeSend})
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
		k := m.out.add(t, due)
		if !m.armed {
			_ = l.nc.SetReadDeadline(m.c.epoch.Add(time.Duration(due)))
			m.armed = true
		}
		m.sent++
		m.mu.Unlock()
		_ = l.ws.SetWriteDeadline(m.c.epoch.Add(time.Duration(due)))
		if err := l.ws.WriteMessage(m.typ, msg); err != nil {
			m.mu.Lock()
			if m.out.e[k].t == t {
				// Nothing says it went out: an error, not unanswered.
				m.out.remove(k)
				m.sent--
				m.ans.Done(t, load.Outcome{Kind: Classify(err), Err: err})
			}
			m.failLocked(l, err)
			m.mu.Unlock()
		}
		return nil
	}
}

// open makes a new connection with the client's handshake and starts its
// reader.
func (m *wsMuxConn) open() (*wsLink, error) {
	ws, err := m.c.handshake(context.Background())
	if err != nil {
		return nil, err
	}
	return m.attach(ws)
}

// attach makes ws m's connection and starts its reader.
func (m *wsMuxConn) attach(ws *websocket.Conn) (*wsLink, error) {
	nc, ok := ws.UnderlyingConn().(*wsNetConn)
	if !ok {
		_ = ws.Close()
		return nil, errors.New("websocket: connection not dialled by volley")
	}
	l := &wsLink{ws: ws, nc: nc, rbuf: make([]byte, wsReadBuffer)}
	nc.m, nc.l = m, l
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		_ = ws.Close()
		return nil, net.ErrClosed
	}
	m.link, m.armed = l, false
	m.mu.Unlock()
	go m.read(l)
	return l, nil
}

// read is l's reader: it matches every message received to the message it
// echoes, until the connection fails or is replaced.
func (m *wsMuxConn) read(l *wsLink) {
	for {
		n, err := l.read()
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
			k = m.out.head
		} else {
			k = m.out.match(l.rbuf[:n], m.idAt)
		}
		if k < 0 {
			m.unmatched++
		} else {
			t := m.out.e[k].t
			m.out.remove(k)
			m.received++
			m.ans.Done(t, load.Outcome{Code: stats.Answered, BytesIn: int64(n)})
		}
		m.mu.Unlock()
	}
}

// read reads one data message into l.rbuf, growing it if need be, and
// returns its length.
func (l *wsLink) read() (int, error) {
	_, r, err := l.ws.NextReader()
	if err != nil {
		return 0, err
	}
	n := 0
	for {
		if n == len(l.rbuf) {
			l.rbuf = append(l.rbuf, make([]byte, len(l.rbuf))...)
		}
		k, err := r.Read(l.rbuf[n:])
		n += k
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return n, err
		}
	}
}

// expire answers the messages on l that are overdue as timeouts
// (unanswered) and moves the read deadline to the oldest left. It reports
// whether l is still m's connection, so that its read goes on.
func (m *wsMuxConn) expire(l *wsLink, err error) bool {
	now := m.c.since()
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.link != l {
		return false
	}
	for k := m.out.head; k >= 0 && m.out.e[k].due <= now; k = m.out.head {
		t := m.out.e[k].t
		m.out.remove(k)
		m.unanswered++
		m.ans.Done(t, load.Outcome{Kind: stats.ErrTimeout, Err: err})
	}
	if k := m.out.head; k >= 0 {
		_ = l.nc.SetReadDeadline(m.c.epoch.Add(time.Duration(m.out.e[k].due)))
		m.armed = true
	} else {
		_ = l.nc.SetReadDeadline(time.Time{})
		m.armed = false
	}
	return true
}

// failLocked ends l after err, unless it has ended already: it counts how
// it ended (the close code), answers every message outstanding on it with
// err's category (each unanswered), and closes it; the next Send opens a
// new connection. m.mu is held.
func (m *wsMuxConn) failLocked(l *wsLink, err error) {
	if m.link != l {
		return
	}
	m.link, m.armed = nil, false
	kind := Classify(err)
	var ce *websocket.CloseError
	switch {
	case errors.As(err, &ce):
		m.c.noteClose(ce.Code)
	case kind == stats.ErrProtocol:
		m.c.noteClose(websocket.CloseProtocolError)
	case kind == stats.ErrReset || kind == stats.ErrClosed:
		m.c.noteClose(websocket.CloseAbnormalClosure)
	}
	m.failAllLocked(load.Outcome{Kind: kind, Err: err})
	_ = l.ws.Close()
}

// failAllLocked answers every outstanding message with out, each
// unanswered. m.mu is held.
func (m *wsMuxConn) failAllLocked(out load.Outcome) {
	for k := m.out.head; k >= 0; k = m.out.head {
		t := m.out.e[k].t
		m.out.remove(k)
		m.unanswered++
		m.ans.Done(t, out)
	}
}

// errClosedByVolley is the outcome of messages still awaiting their echo
// when the connection is closed (after the engine stopped waiting for them).
var errClosedByVolley = errors.New("websocket: closed by volley while awaiting the echo")

// Close answers what is outstanding (as closed, unanswered), sends a normal
// close frame and closes the connection. It may be called while Send runs.
func (m *wsMuxConn) Close() {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return
	}
	m.closed = true
	l := m.link
	m.link, m.armed = nil, false
	m.failAllLocked(load.Outcome{Kind: stats.ErrClosed, Err: errClosedByVolley})
	m.mu.Unlock()
	if l != nil {
		closeWS(l.ws)
	}
}

// counts returns the connection's message counts.
func (m *wsMuxConn) counts() (sent, received, unanswered, unmatched int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.sent, m.received, m.unanswered, m.unmatched
}

// wsOutstanding is a connection's messages awaiting their echo: entries
// kept in a list in send order (the oldest first, which is also the order
// of their timeouts), reused through a free list, and with --match id an
// index from id to entry. It grows on demand and then allocates nothing.
type wsOutstanding struct {
	e          []wsPending
	free       []int32
	head, tail int32 // -1 when empty
	byID       wsIndex
	ids        bool
}

// wsPending is one message awaiting its echo; t is nil when the entry is
// free.
type wsPending struct {
	t          *load.Ticket
	due        int64 // when it times out, ns since the client's epoch
	prev, next int32
}

func (o *wsOutstanding) init(n int, ids bool) {
	n = max(n, 1)
	o.e = make([]wsPending, 0, n)
	o.free = make([]int32, 0, n)
	o.head, o.tail, o.ids = -1, -1, ids
	if ids {
		o.byID.init(2 * n)
	}
}

// add appends t, timing out at due, and returns its entry.
func (o *wsOutstanding) add(t *load.Ticket, due int64) int32 {
	var k int32
	if n := len(o.free); n > 0 {
		k = o.free[n-1]
		o.free = o.free[:n-1]
	} else {
		k = int32(len(o.e))
		o.e = append(o.e, wsPending{})
		if o.ids && 2*len(o.e) > len(o.byID.vals) {
			o.byID.grow()
		}
	}
	o.e[k] = wsPending{t: t, due: due, prev: o.tail, next: -1}
	if o.tail >= 0 {
		o.e[o.tail].next = k
	} else {
		o.head = k
	}
	o.tail = k
	if o.ids {
		o.byID.put(t.I, k)
	}
	return k
}

// remove takes entry k out.
func (o *wsOutstanding) remove(k int32) {
	p := &o.e[k]
	if p.prev >= 0 {
		o.e[p.prev].next = p.next
	} else {
		o.head = p.next
	}
	if p.next >= 0 {
		o.e[p.next].prev = p.prev
	} else {
		o.tail = p.prev
	}
	if o.ids {
		o.byID.del(p.t.I)
	}
	*p = wsPending{}
	o.free = append(o.free, k)
}

// match returns the entry of the outstanding message whose id msg holds:
// at at first (where the message had it), else anywhere (a server that
// wraps the message), or -1.
func (o *wsOutstanding) match(msg []byte, at int) int32 {
	if at >= 0 && len(msg) >= at+idLen {
		if id, ok := parseHexID(msg[at : at+idLen]); ok {
			if k := o.byID.get(id); k >= 0 {
				return k
			}
		}
	}
	run := 0
	for i, b := range msg {
		if !isLowerHex(b) {
			run = 0
			continue
		}
		if run++; run >= idLen {
			id, _ := parseHexID(msg[i+1-idLen : i+1])
			if k := o.byID.get(id); k >= 0 {
				return k
			}
		}
	}
	return -1
}

func isLowerHex(b byte) bool { return '0' <= b && b <= '9' || 'a' <= b && b <= 'f' }

// parseHexID parses idLen lowercase hex digits, as putHexID writes them.
func parseHexID(b []byte) (int64, bool) {
	var v uint64
	for _, c := range b[:idLen] {
		switch {
		case '0' <= c && c <= '9':
			v = v<<4 | uint64(c-'0')
		case 'a' <= c && c <= 'f':
			v = v<<4 | uint64(c-'a'+10)
		default:
			return 0, false
		}
	}
	return int64(v), true
}

// wsIndex maps message ids to entries: open addressing with linear probing
// and backward-shift deletion (no tombstones), so that a steady state of
// inserts and deletes never rehashes. Its size is a power of two.
type wsIndex struct {
	keys  []int64
	vals  []int32 // -1: empty
	shift uint
}

func (x *wsIndex) init(n int) {
	size := 8
	for size < n {
		size *= 2
	}
	x.keys = make([]int64, size)
	x.vals = make([]int32, size)
	for i := range x.vals {
		x.vals[i] = -1
	}
	x.shift = 64
	for s := size; s > 1; s /= 2 {
		x.shift--
	}
}

// home is id's first slot (Fibonacci hashing: ids of one connection are
// spaced by the connection count).
func (x *wsIndex) home(id int64) int { return int((uint64(id) * 0x9e3779b97f4a7c15) >> x.shift) }

func (x *wsIndex) grow() {
	keys, vals := x.keys, x.vals
	x.init(2 * len(vals))
	for i, v := range vals {
		if v >= 0 {
			x.put(keys[i], v)
		}
	}
}

func (x *wsIndex) put(id int64, v int32) {
	mask := len(x.vals) - 1
	i := x.home(id)
	for x.vals[i] >= 0 {
		i = (i + 1) & mask
	}
	x.keys[i], x.vals[i] = id, v
}

func (x *wsIndex) get(id int64) int32 {
	mask := len(x.vals) - 1
	for i := x.home(id); x.vals[i] >= 0; i = (i + 1) & mask {
		if x.keys[i] == id {
			return x.vals[i]
		}
	}
	return -1
}

func (x *wsIndex) del(id int64) {
	mask := len(x.vals) - 1
	i := x.home(id)
	for x.vals[i] >= 0 && x.keys[i] != id {
		i = (i + 1) & mask
	}
	if x.vals[i] < 0 {
		return
	}
	// Shift back the entries after i that may not skip the hole.
	for j := (i + 1) & mask; x.vals[j] >= 0; j = (j + 1) & mask {
		if h := x.home(x.keys[j]); (j-h)&mask >= (j-i)&mask {
			x.keys[i], x.vals[i] = x.keys[j], x.vals[j]
			i = j
		}
	}
	x.vals[i] = -1
}
