package rtc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/pion/datachannel"
	"github.com/pion/webrtc/v4"

	"volley/internal/rtcflow"
	"volley/load"
	"volley/load/message"
	"volley/stats"
)

// peer is one peer connection and the session that names it.
type peer struct {
	c        *Client
	pc       *webrtc.PeerConnection
	location string
	channels []*channel

	mu   sync.Mutex
	live int // channels not yet closed
	once sync.Once
}

// release notes that one of p's channels is closed; the last one ends p.
func (p *peer) release() {
	p.mu.Lock()
	p.live--
	last := p.live == 0
	p.mu.Unlock()
	if last {
		p.end()
	}
}

// end DELETEs p's session and closes the peer connection, once.
func (p *peer) end() {
	p.once.Do(func() {
		if p.location != "" && p.c.remove(p.location) {
			p.c.mu.Lock()
			p.c.counts.Deleted++
			p.c.mu.Unlock()
		}
		_ = p.pc.Close()
	})
}

// event is a state reached, closed once however often it is reported.
type event struct {
	once sync.Once
	ch   chan struct{}
}

func newEvent() *event              { return &event{ch: make(chan struct{})} }
func (e *event) fire()              { e.once.Do(func() { close(e.ch) }) }
func (e *event) c() <-chan struct{} { return e.ch }

// setup makes a peer connection with k data channels, intended to start at
// intended, and records its phases or its failure.
func (c *Client) setup(ctx context.Context, intended time.Time, k int) (*peer, error) {
	c.mu.Lock()
	c.counts.Peers.Attempted++
	c.mu.Unlock()
	p, ph, err := c.connect(ctx, k)
	if err != nil {
		var se *SetupError
		if !errors.As(err, &se) {
			se = &SetupError{Phase: "timeout", Err: err}
		}
		c.noteFailure(se)
		return nil, se
	}
	ph.total = time.Since(intended)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.counts.Peers.OK++
	c.peers = append(c.peers, p)
	for name, d := range map[string]time.Duration{"signal": ph.signal, "ice": ph.ice, "dtls": ph.dtls, "channel": ph.channel, "total": ph.total} {
		stats.RecordHandshake(c.phases[name], int64(d))
	}
	return p, nil
}

// phases are the durations of a setup's phases (see stats.RTCPhases).
type phases struct{ signal, ice, dtls, channel, total time.Duration }

// connect sets up one peer connection: the offer with every candidate
// gathered, the signalling round trip, the answer applied, then ICE, DTLS
// and the data channels, all within the timeout.
func (c *Client) connect(ctx context.Context, k int) (*peer, phases, error) {
	var ph phases
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	pc, err := c.api.NewPeerConnection(webrtc.Configuration{ICEServers: c.cfg.ICEServers})
	if err != nil {
		return nil, ph, &SetupError{Phase: "sdp", Err: err}
	}
	p := &peer{c: c, pc: pc, live: k}
	done := false
	defer func() {
		if !done {
			p.end()
		}
	}()
	iceUp, iceFailed, connected, failed := newEvent(), newEvent(), newEvent(), newEvent()
	pc.OnICEConnectionStateChange(func(s webrtc.ICEConnectionState) {
		switch s {
		case webrtc.ICEConnectionStateConnected, webrtc.ICEConnectionStateCompleted:
			iceUp.fire()
		case webrtc.ICEConnectionStateFailed:
			iceFailed.fire()
		}
	})
	pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		switch s {
		case webrtc.PeerConnectionStateConnected:
			connected.fire()
		case webrtc.PeerConnectionStateFailed, webrtc.PeerConnectionStateClosed:
			failed.fire()
		}
	})
	init := c.channelInit()
	opened := make(chan *channel, k)
	for range k {
		dc, err := pc.CreateDataChannel(c.cfg.Label, &init)
		if err != nil {
			return nil, ph, &SetupError{Phase: "channel", Err: err}
		}
		ch := &channel{c: c, peer: p, dc: dc, gate: rtcflow.New(dc), text: !c.cfg.Binary, rbuf: make([]byte, min(readBuffer, c.readMax))}
		dc.OnOpen(func() {
			ch.rw, ch.err = dc.DetachWithDeadline()
			opened <- ch
		})
	}
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		return nil, ph, &SetupError{Phase: "sdp", Err: err}
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(offer); err != nil {
		return nil, ph, &SetupError{Phase: "sdp", Err: err}
	}
	select {
	case <-gathered:
	case <-ctx.Done():
		return nil, ph, &SetupError{Phase: "timeout", Err: fmt.Errorf("gathering candidates took more than %v", c.timeout)}
	}
	sent := time.Now()
	answer, loc, err := c.signal(ctx, pc.LocalDescription().SDP)
	if err != nil {
		return nil, ph, err
	}
	p.location = loc
	answered := time.Now()
	ph.signal = answered.Sub(sent)
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: answer}); err != nil {
		return nil, ph, &SetupError{Phase: "sdp", Err: fmt.Errorf("answer: %w", err)}
	}
	wait := func(e *event, phase, what string) error {
		select {
		case <-e.c():
			return nil
		case <-iceFailed.c():
			return &SetupError{Phase: "ice", Err: errors.New("ICE failed: no candidate pair connected")}
		case <-failed.c():
			return &SetupError{Phase: phase, Err: fmt.Errorf("the peer connection failed before %s", what)}
		case <-ctx.Done():
			return &SetupError{Phase: phase, Err: fmt.Errorf("%s not within %v of the setup's start", what, c.timeout)}
		}
	}
	if err := wait(iceUp, "ice", "ICE connected"); err != nil {
		return nil, ph, err
	}
	iceAt := time.Now()
	ph.ice = iceAt.Sub(answered)
	if err := wait(connected, "dtls", "DTLS connected"); err != nil {
		return nil, ph, err
	}
	dtlsAt := time.Now()
	ph.dtls = dtlsAt.Sub(iceAt)
	for len(p.channels) < k {
		select {
		case ch := <-opened:
			if ch.err != nil {
				return nil, ph, &SetupError{Phase: "channel", Err: ch.err}
			}
			p.channels = append(p.channels, ch)
		case <-failed.c():
			return nil, ph, &SetupError{Phase: "channel", Err: errors.New("the peer connection failed before its data channels opened")}
		case <-ctx.Done():
			return nil, ph, &SetupError{Phase: "channel", Err: fmt.Errorf("%d of %d data channels open after %v", len(p.channels), k, c.timeout)}
		}
	}
	ph.channel = time.Since(dtlsAt)
	done = true
	return p, ph, nil
}

// channelInit is every data channel's settings: ordered unless Unordered,
// and partially reliable when MaxRetransmits or MaxPacketLife says.
func (c *Client) channelInit() webrtc.DataChannelInit {
	ordered := !c.cfg.Unordered
	init := webrtc.DataChannelInit{Ordered: &ordered, MaxRetransmits: c.cfg.MaxRetransmits}
	if c.cfg.MaxPacketLife > 0 {
		ms := uint16(c.cfg.MaxPacketLife / time.Millisecond)
		init.MaxPacketLifeTime = &ms
	}
	return init
}

// errTooLarge is a message larger than the read limit (--max-body, at most
// MaxMessage).
var errTooLarge = errors.New("webrtc: message larger than the read limit")

// channel is one open data channel: a link of its Mux.
type channel struct {
	c    *Client
	peer *peer
	dc   *webrtc.DataChannel
	rw   datachannel.ReadWriteCloserDeadliner
	gate *rtcflow.Gate // writes wait only while SCTP holds rtcflow.Max unsent
	err  error         // from detaching it
	mux  *message.Mux
	text bool
	rbuf []byte
	once sync.Once
}

var _ message.Link = (*channel)(nil)

func (ch *channel) WriteMessage(msg []byte, deadline time.Time) error {
	if err := ch.gate.Wait(deadline, nil); err != nil {
		return err
	}
	n, err := ch.rw.WriteDataChannel(msg, ch.text)
	ch.c.out.Add(int64(n))
	return err
}

func (ch *channel) SetReadDeadline(t time.Time) error { return ch.rw.SetReadDeadline(t) }

// ReadMessage reads the next message, growing the buffer for a larger one
// up to the read limit; a passed read deadline goes to the Mux (Expire)
// and the read goes on.
func (ch *channel) ReadMessage() ([]byte, error) {
	for {
		n, _, err := ch.rw.ReadDataChannel(ch.rbuf)
		switch {
		case err == nil:
			ch.c.in.Add(int64(n))
			return ch.rbuf[:n], nil
		case errors.Is(err, io.ErrShortBuffer):
			if len(ch.rbuf) >= ch.c.readMax {
				return nil, errTooLarge
			}
			ch.rbuf = make([]byte, min(2*len(ch.rbuf), ch.c.readMax))
		case errors.Is(err, os.ErrDeadlineExceeded) && ch.mux != nil:
			if !ch.mux.Expire(ch, err) {
				return nil, err
			}
		default:
			return nil, err
		}
	}
}

// Close closes the channel; the last of a peer connection's ends it.
func (ch *channel) Close(error) {
	ch.once.Do(func() {
		if ch.rw != nil {
			_ = ch.rw.Close()
		}
		ch.peer.release()
	})
}

// muxClient is a Client seen as a MuxClient: the engine's connections are
// data channels, many messages in flight on each.
type muxClient struct{ *Client }

var _ load.MuxClient = muxClient{}

// Streams is the most messages awaiting their echo on one channel.
func (c muxClient) Streams() int { return c.streams }

// NewMuxConn hands out a channel set up by Open, or one whose peer
// connection is set up on its first message.
func (c muxClient) NewMuxConn(a load.Answers) (load.MuxConn, error) {
	m := message.NewMux(message.MuxConfig{
		Answers: a, Dialer: dialer{c.Client}, Frame: c.frame(), Match: c.cfg.Match,
		Streams: c.streams, Timeout: c.timeout, Epoch: c.epoch,
	})
	c.mu.Lock()
	c.muxes = append(c.muxes, m)
	ch := c.takeLocked()
	c.mu.Unlock()
	if ch != nil {
		ch.mux = m
		if err := m.Attach(ch); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// dialer sets up a peer connection with one channel for a Mux whose
// channel is gone (or never came up).
type dialer struct{ c *Client }

func (d dialer) Dial(ctx context.Context, m *message.Mux) (message.Link, error) {
	p, err := d.c.setup(ctx, time.Now(), 1)
	if err != nil {
		return nil, err
	}
	ch := p.channels[0]
	ch.mux = m
	return ch, nil
}

func (d dialer) Classify(err error) stats.ErrorKind { return Classify(err) }

// Failed counts a channel the peer closed.
func (d dialer) Failed(err error) {
	if Classify(err) == stats.ErrClosed {
		d.c.mu.Lock()
		d.c.counts.ChannelsClosed++
		d.c.mu.Unlock()
	}
}
