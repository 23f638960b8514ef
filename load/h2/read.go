package h2

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"golang.org/x/net/http2"
)

// netReader is what the read loop's bufio.Reader reads from. bufio calls
// it only when its buffer is empty, that is when the read loop is about to
// wait for the network, which makes it the place to flush what the frames
// just processed queued (the Sends made in OnDone, acks, window updates):
// one write per batch of reads, as an event loop would. It also stamps the
// time each read returned, so a frame's arrival costs no clock read of its
// own, and turns the read deadline we arm for stream timeouts into sweeps.
type netReader struct{ c *Conn }

func (r netReader) Read(p []byte) (int, error) {
	c := r.c
	for {
		c.Flush()
		n, err := c.nc.Read(p)
		if n > 0 {
			c.readAt = time.Now()
			if errors.Is(err, os.ErrDeadlineExceeded) {
				err = nil // the next read sees it again
			}
			return n, err
		}
		if c.looping && c.opt.Timeout > 0 && errors.Is(err, os.ErrDeadlineExceeded) {
			c.sweep(time.Now())
			continue
		}
		return n, err
	}
}

// sweep fails the streams past their deadline and re-arms the read
// deadline for the earliest one left (or disarms it). All streams share one
// timeout, so while answers come in this runs about once per Timeout, not
// per request.
func (c *Conn) sweep(now time.Time) {
	c.mu.Lock()
	c.readAt = now
	var next time.Time
	for i := range c.slots {
		s := &c.slots[i]
		if s.id == 0 || s.sent.IsZero() {
			continue
		}
		if s.deadline.After(now) {
			if next.IsZero() || s.deadline.Before(next) {
				next = s.deadline
			}
			continue
		}
		c.resetLocked(s, http2.ErrCodeCancel)
		tag, r := c.endLocked(s, c.errTimeout)
		c.mu.Unlock()
		c.onDone(tag, r)
		c.mu.Lock()
	}
	c.readDL = next
	c.nc.SetReadDeadline(next)
	drained := c.drained
	c.mu.Unlock()
	if drained {
		c.closeDrained()
	}
}

func (c *Conn) readLoop() {
	defer close(c.done)
	c.looping = true
	var err error
	for err == nil {
		var fh http2.FrameHeader
		fh, err = c.fr.ReadFrameHeader()
		if err != nil {
			if errors.Is(err, http2.ErrFrameTooLarge) {
				err = &ProtocolError{Code: http2.ErrCodeFrameSize, Reason: fmt.Sprintf("a %v frame of %d bytes", fh.Type, fh.Length)}
			} else if ce, ok := err.(http2.ConnectionError); ok {
				err = &ProtocolError{Code: http2.ErrCode(ce), Reason: fmt.Sprint(c.fr.ErrorDetail())}
			}
			break
		}
		switch fh.Type {
		case http2.FrameData:
			err = c.onData(fh)
		case http2.FrameHeaders, http2.FrameContinuation:
			err = c.onHeaders(fh)
		case http2.FrameRSTStream:
			err = c.onReset(fh)
		case http2.FrameWindowUpdate:
			err = c.onWindowUpdate(fh)
		default:
			err = c.onOther(fh)
		}
		if err == nil && c.drainedNow() {
			c.closeDrained()
		}
	}
	c.die(err)
}

// closeDrained ends a connection whose GOAWAY left nothing outstanding.
func (c *Conn) closeDrained() {
	c.Flush()
	c.mu.Lock()
	if c.err == nil {
		c.err = c.goAway
	}
	c.mu.Unlock()
	c.nc.Close()
}

func (c *Conn) drainedNow() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.drained
}

// die fails every outstanding stream, once, with the connection's error.
func (c *Conn) die(readErr error) {
	var pe *ProtocolError
	if errors.As(readErr, &pe) {
		c.mu.Lock()
		c.wbuf = c.wbuf[:0]
		c.wbuf = appendFrameHeader(c.wbuf, 8, http2.FrameGoAway, 0, 0)
		c.wbuf = append(c.wbuf, 0, 0, 0, 0, byte(pe.Code>>24), byte(pe.Code>>16), byte(pe.Code>>8), byte(pe.Code))
		c.mu.Unlock()
		c.Flush()
	}
	c.mu.Lock()
	if c.err == nil {
		if pe == nil {
			if readErr == io.EOF && c.active > 0 {
				readErr = io.ErrUnexpectedEOF
			}
			readErr = fmt.Errorf("h2: connection lost: %w", readErr)
		}
		c.err = readErr
	}
	err := c.err
	for i := range c.slots {
		s := &c.slots[i]
		if s.id == 0 {
			continue
		}
		tag, r := c.endLocked(s, err)
		r.Done = time.Now()
		c.mu.Unlock()
		c.onDone(tag, r)
		c.mu.Lock()
	}
	c.mu.Unlock()
	c.nc.Close()
}

// payload reads the current frame's n payload bytes into scratch.
func (c *Conn) payload(n uint32) ([]byte, error) {
	if int(n) > cap(c.pbuf) {
		c.pbuf = make([]byte, n)
	}
	p := c.pbuf[:n]
	_, err := io.ReadFull(c.br, p)
	return p, err
}

func (c *Conn) onData(fh http2.FrameHeader) error {
	n := int64(fh.Length)
	data := n
	if fh.Flags.Has(http2.FlagDataPadded) {
		pad, err := c.br.ReadByte()
		if err != nil {
			return err
		}
		if int64(pad) >= n {
			return &ProtocolError{Code: http2.ErrCodeProtocol, Reason: "DATA padding longer than the frame"}
		}
		data = n - 1 - int64(pad)
		n-- // the pad length byte is read; the rest is discarded below
	}
	if _, err := c.br.Discard(int(n)); err != nil {
		return err
	}
	n = int64(fh.Length)

	c.mu.Lock()
	c.connRecvd += n
	if c.connRecvd >= recvWindow/2 {
		c.wbuf = appendWindowUpdate(c.wbuf, 0, uint32(c.connRecvd))
		c.connRecvd = 0
	}
	s := c.arrivedLocked(fh.StreamID)
	if s == nil { // a stream we reset or timed out: its data still counted above
		c.mu.Unlock()
		return nil
	}
	var fail error
	switch {
	case !s.final:
		fail = fmt.Errorf("h2: server sent DATA before the response HEADERS on stream %d", s.id)
		c.resetLocked(s, http2.ErrCodeProtocol)
	default:
		s.body += data
		s.recvd += n
		if c.opt.MaxBody > 0 && s.body > c.opt.MaxBody {
			fail = ErrBodyTooLarge
			c.resetLocked(s, http2.ErrCodeCancel)
		} else if fh.Flags.Has(http2.FlagDataEndStream) {
			fail = c.finishLocked(s)
		} else {
			if s.recvd >= recvWindow/2 {
				c.wbuf = appendWindowUpdate(c.wbuf, s.id, uint32(s.recvd))
				s.recvd = 0
			}
			c.mu.Unlock()
			return nil
		}
	}
	tag, r := c.endLocked(s, fail)
	c.mu.Unlock()
	c.onDone(tag, r)
	return nil
}

// finishLocked checks a stream the server ended; a body that disagrees with
// its content-length is an error (a truncated or padded response).
func (c *Conn) finishLocked(s *stream) error {
	if s.length >= 0 && s.body != s.length && !s.req.head && s.status != 204 && s.status != 304 {
		c.resetLocked(s, http2.ErrCodeProtocol)
		return fmt.Errorf("h2: response body of %d bytes, content-length said %d", s.body, s.length)
	}
	if s.off < len(s.req.body) {
		// A complete response before the whole request body: stop sending
		// it (RFC 9113 8.1).
		c.resetLocked(s, http2.ErrCodeNo)
	}
	return nil
}

// arrivedLocked returns stream id, for a frame of it that has arrived,
// with the time of its first response frame stamped; nil when the stream
// is no longer ours (reset, timed out).
func (c *Conn) arrivedLocked(id uint32) *stream {
	s := c.lookupLocked(id)
	if s != nil && s.first.IsZero() {
		s.first = c.readAt
	}
	return s
}

func (c *Conn) onHeaders(fh http2.FrameHeader) error {
	p, err := c.payload(fh.Length)
	if err != nil {
		return err
	}
	if fh.Type == http2.FrameHeaders {
		if fh.StreamID%2 == 0 {
			return &ProtocolError{Code: http2.ErrCodeProtocol, Reason: fmt.Sprintf("HEADERS on even stream %d", fh.StreamID)}
		}
		pad := 0
		if fh.Flags.Has(http2.FlagHeadersPadded) {
			if len(p) == 0 {
				return &ProtocolError{Code: http2.ErrCodeProtocol, Reason: "short padded HEADERS"}
			}
			pad = int(p[0])
			p = p[1:]
		}
		if fh.Flags.Has(http2.FlagHeadersPriority) {
			if len(p) < 5 {
				return &ProtocolError{Code: http2.ErrCodeProtocol, Reason: "short HEADERS priority"}
			}
			p = p[5:]
		}
		if pad > len(p) {
			return &ProtocolError{Code: http2.ErrCodeProtocol, Reason: "HEADERS padding longer than the frame"}
		}
		p = p[:len(p)-pad]
		c.hstream = fh.StreamID
		c.hend = fh.Flags.Has(http2.FlagHeadersEndStream)
		c.hblock = c.hblock[:0]
	}
	block := p
	if !fh.Flags.Has(http2.FlagHeadersEndHeaders) || len(c.hblock) > 0 {
		// The Framer checked that CONTINUATION follows for this stream.
		c.hblock = append(c.hblock, p...)
		if len(c.hblock) > 4*c.opt.MaxHeaderBytes+maxReadFrame {
			return &ProtocolError{Code: http2.ErrCodeEnhanceYourCalm, Reason: fmt.Sprintf("header block of more than %d bytes", len(c.hblock))}
		}
		if !fh.Flags.Has(http2.FlagHeadersEndHeaders) {
			return nil
		}
		block = c.hblock
	}

	c.fStatus, c.fLength, c.fBad = 0, -1, false
	size, err := c.dec.decode(block, c.sink)
	c.hblock = c.hblock[:0]
	if err != nil {
		return &ProtocolError{Code: http2.ErrCodeCompression, Reason: err.Error()}
	}

	c.mu.Lock()
	s := c.arrivedLocked(c.hstream)
	if s == nil {
		c.mu.Unlock()
		return nil
	}
	var fail error
	switch {
	case size > c.opt.MaxHeaderBytes:
		fail = ErrHeaderTooLarge
		c.resetLocked(s, http2.ErrCodeProtocol)
	case s.final: // trailers
		if !c.hend {
			fail = fmt.Errorf("h2: server sent a second HEADERS without END_STREAM on stream %d", s.id)
			c.resetLocked(s, http2.ErrCodeProtocol)
		} else {
			fail = c.finishLocked(s)
		}
	case c.fBad || c.fStatus < 100 || c.fStatus == 101:
		fail = fmt.Errorf("h2: response HEADERS on stream %d without a valid :status", s.id)
		c.resetLocked(s, http2.ErrCodeProtocol)
	case c.fStatus < 200: // interim response: wait for the final one
		if c.hend {
			fail = fmt.Errorf("h2: interim response %d ended stream %d", c.fStatus, s.id)
			c.resetLocked(s, http2.ErrCodeProtocol)
			break
		}
		c.mu.Unlock()
		return nil
	default:
		s.final = true
		s.status = c.fStatus
		s.length = c.fLength
		if c.opt.MaxBody > 0 && s.length > c.opt.MaxBody && !s.req.head {
			fail = ErrBodyTooLarge
			c.resetLocked(s, http2.ErrCodeCancel)
		} else if !c.hend {
			c.mu.Unlock()
			return nil
		} else {
			fail = c.finishLocked(s)
		}
	}
	tag, r := c.endLocked(s, fail)
	c.mu.Unlock()
	c.onDone(tag, r)
	return nil
}

// field looks at the two response fields we use.
func (c *Conn) field(name, value []byte) {
	switch string(name) {
	case ":status":
		if c.fStatus != 0 || len(value) != 3 {
			c.fBad = true
			return
		}
		v, ok := atoi(value)
		c.fStatus = int(v)
		c.fBad = c.fBad || !ok
	case "content-length":
		v, ok := atoi(value)
		if !ok || (c.fLength >= 0 && c.fLength != v) {
			c.fBad = true
			return
		}
		c.fLength = v
	}
}

// atoi parses a non-negative decimal of at most 18 digits.
func atoi(b []byte) (int64, bool) {
	if len(b) == 0 || len(b) > 18 {
		return 0, false
	}
	var v int64
	for _, d := range b {
		if d < '0' || d > '9' {
			return 0, false
		}
		v = v*10 + int64(d-'0')
	}
	return v, true
}

func (c *Conn) onReset(fh http2.FrameHeader) error {
	if fh.Length != 4 || fh.StreamID == 0 {
		return &ProtocolError{Code: http2.ErrCodeFrameSize, Reason: "malformed RST_STREAM"}
	}
	p, err := c.payload(4)
	if err != nil {
		return err
	}
	code := http2.ErrCode(binary.BigEndian.Uint32(p))
	c.mu.Lock()
	s := c.lookupLocked(fh.StreamID)
	if s == nil {
		c.mu.Unlock()
		return nil
	}
	if s.first.IsZero() {
		s.first = c.readAt
	}
	tag, r := c.endLocked(s, ResetError(code))
	c.mu.Unlock()
	c.onDone(tag, r)
	return nil
}

func (c *Conn) onWindowUpdate(fh http2.FrameHeader) error {
	if fh.Length != 4 {
		return &ProtocolError{Code: http2.ErrCodeFrameSize, Reason: "malformed WINDOW_UPDATE"}
	}
	p, err := c.payload(4)
	if err != nil {
		return err
	}
	incr := int64(binary.BigEndian.Uint32(p) & 0x7fffffff)
	c.mu.Lock()
	defer c.mu.Unlock()
	if fh.StreamID == 0 {
		if incr == 0 || c.connWindow+incr > maxStreamID {
			return &ProtocolError{Code: http2.ErrCodeFlowControl, Reason: "bad connection WINDOW_UPDATE"}
		}
		c.connWindow += incr
	} else if s := c.lookupLocked(fh.StreamID); s != nil {
		s.sendWin += incr
	}
	if len(c.blocked) > 0 {
		c.unblockLocked()
	}
	return nil
}

// onOther handles the rare frames through the Framer's own parsing.
func (c *Conn) onOther(fh http2.FrameHeader) error {
	f, err := c.fr.ReadFrameForHeader(fh)
	if err != nil {
		if ce, ok := err.(http2.ConnectionError); ok {
			return &ProtocolError{Code: http2.ErrCode(ce), Reason: fmt.Sprint(c.fr.ErrorDetail())}
		}
		return err
	}
	switch f := f.(type) {
	case *http2.SettingsFrame:
		if f.IsAck() {
			return nil
		}
		c.mu.Lock()
		defer c.mu.Unlock()
		return c.applySettingsLocked(f)
	case *http2.PingFrame:
		if !f.IsAck() {
			c.mu.Lock()
			c.wbuf = appendFrameHeader(c.wbuf, 8, http2.FramePing, http2.FlagPingAck, 0)
			c.wbuf = append(c.wbuf, f.Data[:]...)
			c.mu.Unlock()
		}
	case *http2.GoAwayFrame:
		c.onGoAway(f)
	case *http2.PushPromiseFrame:
		return &ProtocolError{Code: http2.ErrCodeProtocol, Reason: "PUSH_PROMISE though we disabled push"}
	}
	return nil
}

// onGoAway fails the streams the server will not process and refuses new
// ones; the others run to completion, then the connection is closed.
func (c *Conn) onGoAway(f *http2.GoAwayFrame) {
	c.mu.Lock()
	g := &GoAwayError{LastStreamID: f.LastStreamID, Code: f.ErrCode, Debug: string(f.DebugData())}
	if c.goAway == nil || g.LastStreamID < c.goAway.LastStreamID {
		c.goAway = g
	}
	g = c.goAway
	for i := range c.slots {
		s := &c.slots[i]
		if s.id == 0 || s.id <= g.LastStreamID {
			continue
		}
		tag, r := c.endLocked(s, g)
		c.mu.Unlock()
		c.onDone(tag, r)
		c.mu.Lock()
	}
	if c.active == 0 {
		c.drained = true
	}
	c.mu.Unlock()
}
