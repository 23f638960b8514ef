package h2

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"net"
	"os"
	"sync"
	"time"

	"golang.org/x/net/http2"
)

// Options configures a Conn.
type Options struct {
	// Streams is how many streams we want in flight; at least 1. The
	// effective cap is the lower of it and the server's
	// SETTINGS_MAX_CONCURRENT_STREAMS (see Limit).
	Streams int
	// MaxBody is the largest response body accepted; 0 means no limit. A
	// larger one (or a larger content-length) fails its stream with
	// ErrBodyTooLarge and cancels it.
	MaxBody int64
	// MaxHeaderBytes is the largest response header block, counted as
	// SETTINGS_MAX_HEADER_LIST_SIZE does (name + value + 32 per field) and
	// announced as that setting; 0 means 64 KiB. A larger block fails its
	// stream with ErrHeaderTooLarge and resets it.
	MaxHeaderBytes int
	// Timeout, when positive, fails a stream with a timeout error wrapping
	// os.ErrDeadlineExceeded when it is not complete this long after its
	// HEADERS were written, and resets it. It also bounds a write that
	// makes no progress (the connection then fails), and NewConn's wait
	// for the server's SETTINGS (10 s when zero).
	Timeout time.Duration
	// OnDone is called once per successful Send, in completion order, on
	// the connection's read loop goroutine; it may call Send (which the
	// read loop flushes before it next waits for the network). It must not
	// block: every stream of the connection waits while it runs. Required.
	OnDone func(tag uint64, r Result)
}

// Result is how one stream ended.
type Result struct {
	// Status is the final response status; 0 when Err is set.
	Status int
	// BodyBytes counts the response body's bytes (DATA payload, padding
	// excluded), also those received before an error.
	BodyBytes int64
	// Err is nil for a complete response. Otherwise it is one of this
	// package's errors (ResetError, *GoAwayError, ErrBodyTooLarge, ...), a
	// timeout wrapping os.ErrDeadlineExceeded, or the connection's error
	// wrapping the network error, so errors.Is and errors.As classify it.
	Err error
	// Sent is when the write carrying the stream's HEADERS began;
	// FirstByte when the read that delivered the stream's first response
	// frame returned; Done when the one that delivered END_STREAM (or the
	// error) did. Sent is zero if the stream failed before it was written.
	Sent, FirstByte, Done time.Time
}

// Window sizes we announce, as h2load does: large enough that a server
// never waits for a WINDOW_UPDATE, which we send once half is consumed.
const (
	recvWindow     = 1<<30 - 1
	maxReadFrame   = 1 << 20
	headerTable    = 4096 // the default SETTINGS_HEADER_TABLE_SIZE: not announced
	maxStreamID    = 1<<31 - 1
	defaultHeaders = 64 << 10
	readBufSize    = 32 << 10
)

// Conn is one HTTP/2 client connection carrying many concurrent streams.
// Send, Flush, Free, Limit and Close may be called from any goroutine,
// including from OnDone; the common case, one goroutine, is uncontended.
// The Conn owns the net.Conn it was given.
type Conn struct {
	nc     net.Conn
	opt    Options
	onDone func(uint64, Result)
	done   chan struct{}

	// Read loop only.
	br        *bufio.Reader
	fr        *http2.Framer
	readAt    time.Time // when the latest read from nc returned
	pbuf      []byte    // payload scratch
	hblock    []byte    // header block spanning CONTINUATION frames
	hstream   uint32    // its stream
	hend      bool      // its HEADERS frame had END_STREAM
	dec       *headerDecoder
	sink      func(name, value []byte)
	fStatus   int   // :status of the block being decoded (0: none)
	fLength   int64 // its content-length (-1: none)
	fBad      bool  // it had a malformed :status or content-length
	connRecvd int64 // DATA bytes not yet returned to the connection window
	looping   bool  // the read loop runs: read timeouts are sweeps, not failures

	mu         sync.Mutex
	slots      []stream // ring indexed by (id>>1)&mask; id 0 marks a free slot
	mask       uint32
	nextID     uint32
	active     int
	limit      int
	byServer   bool // limit came from SETTINGS_MAX_CONCURRENT_STREAMS
	peerWindow int64
	connWindow int64 // our send window on the connection
	peerFrame  int   // SETTINGS_MAX_FRAME_SIZE of the server
	wbuf       []byte
	spare      []byte
	writing    bool
	unsent     []uint32 // streams queued since the last write began
	blocked    []uint32 // streams whose request body waits for window
	err        error    // set once: the connection takes no more streams
	goAway     *GoAwayError
	exhausted  bool
	drained    bool // after GOAWAY, nothing left: close the connection
	readDL     time.Time
	writeDL    time.Time
	errTimeout error
}

// stream is one stream's state; slots are reused, never reallocated.
type stream struct {
	id       uint32
	final    bool // the final (non-1xx) response HEADERS arrived
	queued   bool // in blocked
	tag      uint64
	status   int
	body     int64
	length   int64 // content-length, -1 when absent
	recvd    int64 // DATA bytes not yet returned to the stream window
	sendWin  int64
	off      int // request body bytes queued
	req      *EncodedRequest
	sent     time.Time
	first    time.Time
	deadline time.Time
}

var _ io.Reader = netReader{}

// NewConn starts HTTP/2 on c, which is already connected (h2c with prior
// knowledge, or TLS that negotiated "h2"): it writes the preface, our
// SETTINGS and a connection WINDOW_UPDATE, waits for the server's SETTINGS
// (so that Limit is known before the first Send), and starts the read loop.
// On error c is closed.
func NewConn(c net.Conn, o Options) (*Conn, error) {
	if o.Streams < 1 {
		c.Close()
		return nil, fmt.Errorf("h2: Options.Streams is %d; it must be at least 1", o.Streams)
	}
	if o.OnDone == nil {
		c.Close()
		return nil, errors.New("h2: Options.OnDone is required")
	}
	if o.MaxHeaderBytes <= 0 {
		o.MaxHeaderBytes = defaultHeaders
	}
	ring := 1 << bits.Len(uint(2*o.Streams-1)) // a power of two >= 2*Streams
	ring = max(ring, 16)
	cn := &Conn{
		nc:         c,
		opt:        o,
		onDone:     o.OnDone,
		done:       make(chan struct{}),
		pbuf:       make([]byte, 4096),
		dec:        newLazyDecoder(headerTable, o.MaxHeaderBytes),
		slots:      make([]stream, ring),
		mask:       uint32(ring - 1),
		nextID:     1,
		limit:      o.Streams,
		peerWindow: 65535,
		connWindow: 65535,
		peerFrame:  16384,
		wbuf:       make([]byte, 0, 16<<10),
		spare:      make([]byte, 0, 16<<10),
		unsent:     make([]uint32, 0, o.Streams),
		blocked:    make([]uint32, 0, o.Streams),
		errTimeout: fmt.Errorf("h2: stream not complete %v after it was sent: %w", o.Timeout, os.ErrDeadlineExceeded),
	}
	cn.sink = cn.field
	cn.br = bufio.NewReaderSize(netReader{cn}, readBufSize)
	cn.fr = http2.NewFramer(io.Discard, cn.br) // reads only: we build frames ourselves
	cn.fr.SetMaxReadFrameSize(maxReadFrame)

	if err := cn.handshake(); err != nil {
		c.Close()
		return nil, err
	}
	go cn.readLoop()
	return cn, nil
}

func (c *Conn) handshake() error {
	b := append(c.wbuf, http2.ClientPreface...)
	settings := [...]http2.Setting{
		{ID: http2.SettingEnablePush, Val: 0},
		{ID: http2.SettingInitialWindowSize, Val: recvWindow},
		{ID: http2.SettingMaxFrameSize, Val: maxReadFrame},
		{ID: http2.SettingMaxHeaderListSize, Val: uint32(c.opt.MaxHeaderBytes)},
	}
	b = appendFrameHeader(b, 6*len(settings), http2.FrameSettings, 0, 0)
	for _, s := range settings {
		b = append(b, byte(s.ID>>8), byte(s.ID), byte(s.Val>>24), byte(s.Val>>16), byte(s.Val>>8), byte(s.Val))
	}
	b = appendWindowUpdate(b, 0, recvWindow-65535)
	wait := c.opt.Timeout
	if wait <= 0 {
		wait = 10 * time.Second
	}
	c.nc.SetDeadline(time.Now().Add(wait))
	if _, err := c.nc.Write(b); err != nil {
		return fmt.Errorf("h2: writing the connection preface: %w", err)
	}
	c.wbuf = b[:0]
	f, err := c.fr.ReadFrame()
	if err != nil {
		return fmt.Errorf("h2: waiting for the server's SETTINGS: %w", err)
	}
	sf, ok := f.(*http2.SettingsFrame)
	if !ok || sf.IsAck() {
		return fmt.Errorf("h2: server's first frame is %v, not SETTINGS: is it an HTTP/2 server?", f.Header().Type)
	}
	c.mu.Lock()
	err = c.applySettingsLocked(sf)
	c.mu.Unlock()
	if err != nil {
		return err
	}
	c.nc.SetDeadline(time.Time{})
	return nil
}

// Send queues HEADERS (and as much of the body as the windows allow) for a
// new stream carrying req; tag comes back in OnDone. It does not write:
// call Flush, or let the read loop flush when Send is called from OnDone.
// It fails without queueing anything with ErrNoSlot when Free() is 0,
// ErrExhausted when stream ids ran out, *GoAwayError after the server's
// GOAWAY, or the connection's error once it is closed or lost; OnDone is
// called exactly once for every Send that returned nil.
func (c *Conn) Send(req *EncodedRequest, tag uint64) error {
	c.mu.Lock()
	switch {
	case c.err != nil:
		err := c.err
		c.mu.Unlock()
		return err
	case c.goAway != nil:
		c.mu.Unlock()
		return c.goAway
	case c.exhausted:
		c.mu.Unlock()
		return ErrExhausted
	case c.active >= c.limit:
		c.mu.Unlock()
		return ErrNoSlot
	}
	id := c.nextID
	for c.slots[(id>>1)&c.mask].id != 0 {
		id += 2 // skipping an id is allowed; it keeps lookups one index
	}
	if id > maxStreamID {
		c.exhausted = true
		c.mu.Unlock()
		return ErrExhausted
	}
	c.nextID = id + 2
	s := &c.slots[(id>>1)&c.mask]
	*s = stream{id: id, tag: tag, length: -1, sendWin: c.peerWindow, req: req}
	c.active++
	c.wbuf = req.appendTo(c.wbuf, id)
	c.unsent = append(c.unsent, id)
	if len(req.body) > 0 {
		c.writeBodyLocked(s)
	}
	c.mu.Unlock()
	return nil
}

// Flush writes everything queued in one write. If another goroutine is
// writing, it leaves the bytes to that writer, which loops until nothing is
// queued, so the read loop never waits behind another writer.
func (c *Conn) Flush() error {
	c.mu.Lock()
	if c.writing || c.err != nil {
		err := c.err
		c.mu.Unlock()
		return err
	}
	c.writing = true
	var werr error
	for len(c.wbuf) > 0 && c.err == nil {
		buf := c.wbuf
		c.wbuf, c.spare = c.spare[:0], nil
		c.stampLocked(time.Now())
		c.mu.Unlock()
		_, werr = c.nc.Write(buf)
		c.mu.Lock()
		c.spare = buf[:0]
		if werr != nil {
			werr = fmt.Errorf("h2: write: %w", werr)
			if c.err == nil {
				c.err = werr
			}
			break
		}
	}
	c.writing = false
	c.mu.Unlock()
	if werr != nil {
		c.nc.Close() // the read loop then fails every stream with c.err
	}
	return werr
}

// stampLocked marks the streams in the write about to begin as sent and
// arms the deadlines.
func (c *Conn) stampLocked(now time.Time) {
	t := c.opt.Timeout
	for _, id := range c.unsent {
		if s := c.lookupLocked(id); s != nil {
			s.sent = now
			if t > 0 {
				s.deadline = now.Add(t)
				if c.readDL.IsZero() {
					c.readDL = s.deadline
					c.nc.SetReadDeadline(c.readDL)
				}
			}
		}
	}
	c.unsent = c.unsent[:0]
	if t > 0 && now.Add(t/2).After(c.writeDL) {
		c.writeDL = now.Add(t)
		c.nc.SetWriteDeadline(c.writeDL)
	}
}

// Free is the number of streams Send may open now: 0 once the connection
// is closed, lost, drained by GOAWAY or out of stream ids.
func (c *Conn) Free() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil || c.goAway != nil || c.exhausted {
		return 0
	}
	return max(c.limit-c.active, 0)
}

// Limit is the effective cap on concurrent streams, and whether it is the
// server's SETTINGS_MAX_CONCURRENT_STREAMS (lower than Options.Streams)
// rather than ours, so a report can say the server capped it.
func (c *Conn) Limit() (n int, byServer bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.limit, c.byServer
}

// Close closes the connection. Streams still outstanding then fail with
// ErrClosed, through OnDone on the read loop; Done is closed after the last
// of them. Close may be called from OnDone, and more than once.
func (c *Conn) Close() error {
	c.mu.Lock()
	if c.err == nil {
		c.err = ErrClosed
	}
	c.mu.Unlock()
	err := c.nc.Close()
	if errors.Is(err, net.ErrClosed) {
		err = nil
	}
	return err
}

// Done is closed when the read loop has ended: the connection is closed or
// lost and every outstanding stream has had its OnDone.
func (c *Conn) Done() <-chan struct{} { return c.done }

// Err is why the connection takes no more streams (nil while it does).
func (c *Conn) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// lookupLocked finds a live stream by id.
func (c *Conn) lookupLocked(id uint32) *stream {
	s := &c.slots[(id>>1)&c.mask]
	if s.id != id || id == 0 {
		return nil
	}
	return s
}

// writeBodyLocked queues as much of s's request body as the stream and
// connection windows allow, with END_STREAM on the last DATA frame, and
// keeps s in blocked while some is left.
func (c *Conn) writeBodyLocked(s *stream) {
	body := s.req.body
	for s.off < len(body) {
		n := min(len(body)-s.off, c.peerFrame)
		n = int(min(int64(n), s.sendWin, c.connWindow))
		if n <= 0 {
			break
		}
		var flags http2.Flags
		if s.off+n == len(body) {
			flags = http2.FlagDataEndStream
		}
		c.wbuf = appendFrameHeader(c.wbuf, n, http2.FrameData, flags, s.id)
		c.wbuf = append(c.wbuf, body[s.off:s.off+n]...)
		s.off += n
		s.sendWin -= int64(n)
		c.connWindow -= int64(n)
	}
	if s.off < len(body) && !s.queued {
		s.queued = true
		c.blocked = append(c.blocked, s.id)
	}
}

// unblockLocked resumes the request bodies waiting for window, in order.
func (c *Conn) unblockLocked() {
	kept := c.blocked[:0]
	for _, id := range c.blocked {
		s := c.lookupLocked(id)
		if s == nil || !s.queued {
			continue
		}
		s.queued = false
		c.writeBodyLocked(s)
		if s.queued {
			kept = append(kept, id)
		}
	}
	c.blocked = kept
}

// endLocked frees s and returns what OnDone must be told; the caller calls
// OnDone after unlocking, so that OnDone can Send into the freed slot.
func (c *Conn) endLocked(s *stream, err error) (uint64, Result) {
	r := Result{BodyBytes: s.body, Err: err, Sent: s.sent, FirstByte: s.first, Done: c.readAt}
	if err == nil {
		r.Status = s.status
	}
	tag := s.tag
	if s.queued {
		for i, id := range c.blocked {
			if id == s.id {
				c.blocked = append(c.blocked[:i], c.blocked[i+1:]...)
				break
			}
		}
	}
	*s = stream{}
	c.active--
	if c.goAway != nil && c.active == 0 {
		c.drained = true
	}
	return tag, r
}

// resetLocked queues RST_STREAM for s.
func (c *Conn) resetLocked(s *stream, code http2.ErrCode) {
	c.wbuf = appendFrameHeader(c.wbuf, 4, http2.FrameRSTStream, 0, s.id)
	c.wbuf = append(c.wbuf, byte(code>>24), byte(code>>16), byte(code>>8), byte(code))
}

func appendWindowUpdate(b []byte, id uint32, n uint32) []byte {
	b = appendFrameHeader(b, 4, http2.FrameWindowUpdate, 0, id)
	return append(b, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
}

// applySettingsLocked takes in a SETTINGS frame from the server and queues
// its acknowledgement.
func (c *Conn) applySettingsLocked(f *http2.SettingsFrame) error {
	err := f.ForeachSetting(func(s http2.Setting) error {
		if err := s.Valid(); err != nil {
			return &ProtocolError{Code: http2.ErrCodeProtocol, Reason: err.Error()}
		}
		switch s.ID {
		case http2.SettingMaxConcurrentStreams:
			c.limit = min(c.opt.Streams, int(min(s.Val, 1<<30)))
			c.byServer = int(s.Val) < c.opt.Streams
		case http2.SettingInitialWindowSize:
			delta := int64(s.Val) - c.peerWindow
			c.peerWindow = int64(s.Val)
			for i := range c.slots {
				if c.slots[i].id != 0 {
					c.slots[i].sendWin += delta
				}
			}
		case http2.SettingMaxFrameSize:
			c.peerFrame = int(s.Val)
		}
		return nil
	})
	if err != nil {
		return err
	}
	c.wbuf = appendFrameHeader(c.wbuf, 0, http2.FrameSettings, http2.FlagSettingsAck, 0)
	c.unblockLocked()
	return nil
}
