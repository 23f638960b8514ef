package bench

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"math"
	"mime"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/datachannel"
	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/logging"
	"github.com/pion/webrtc/v4"

	"volley/internal/rtcflow"
)

const (
	// RTCPath takes WebRTC offers (POST, application/sdp, WHIP-shaped as in
	// RFC 9725 but carrying a data channel) and answers with a peer that
	// echoes every message on every data channel the client opens (in band,
	// not pre-negotiated), after the configured latency and stall, subject
	// to the WSFault's drop and close.
	RTCPath = "/rtc"
	// RTCBroadcastPath takes offers like RTCPath, but its peer pushes
	// {"seq":N,"ts_ns":T} text messages on every data channel the client
	// opens, as BroadcastPath does on a WebSocket.
	RTCBroadcastPath = "/rtc/broadcast"
	// DefaultRTCMaxSessions bounds the open sessions when
	// Config.RTCMaxSessions is 0.
	DefaultRTCMaxSessions = 10_000

	// sdpType is the media type of offers and answers.
	sdpType = "application/sdp"
	// rtcMaxOffer bounds an offer's size; real ones are a few KiB.
	rtcMaxOffer = 64 << 10
	// rtcMaxMessage is the largest data channel message the peer takes, as
	// its answer says (a=max-message-size): SCTP's receive window (1 MiB in
	// pion), since a message must fit whole in the window to be read.
	rtcMaxMessage = 1 << 20
	// rtcReadBuffer is a channel's first read buffer; it doubles as larger
	// messages arrive, up to rtcMaxMessage.
	rtcReadBuffer = wsBuffer
	// rtcGatherWait bounds ICE gathering before an answer; with host
	// candidates on one socket it takes well under a millisecond.
	rtcGatherWait = 10 * time.Second
	// rtcConnectWait ends a session whose client never connects, so that
	// abandoned offers do not hold a slot until the server closes.
	rtcConnectWait = 30 * time.Second
	// rtcUDPBuffer is the socket buffer asked for the shared UDP socket,
	// which carries every session's packets.
	rtcUDPBuffer = 4 << 20
)

// RTCStats are the WebRTC counts of Stats.
type RTCStats struct {
	// Offered is the POSTs on RTCPath and RTCBroadcastPath, Answered those
	// answered 201 with a session, Connected the sessions whose ICE and DTLS
	// connected and Deleted those ended by DELETE.
	Offered   int64 `json:"offered"`
	Answered  int64 `json:"answered"`
	Connected int64 `json:"connected"`
	Deleted   int64 `json:"deleted"`
	// Open is the sessions answered since the start or reset that are still
	// open: ended neither by DELETE, nor by the client's leaving, nor by
	// never connecting within 30 s.
	Open int64 `json:"open"`
	// Channels is the data channels the clients opened.
	Channels int64 `json:"channels"`
	// Received is the messages the echo read, Echoed those it answered and
	// Dropped those it left unanswered on purpose (WSFault).
	Received int64 `json:"received"`
	Echoed   int64 `json:"echoed"`
	Dropped  int64 `json:"dropped"`
	// Pushed is the messages RTCBroadcastPath sent.
	Pushed int64 `json:"pushed"`
}

// rtcCounts are an epoch's WebRTC counts.
type rtcCounts struct {
	offered, answered, connected, deleted, open atomic.Int64
	channels, received, echoed, dropped, pushed atomic.Int64
}

func (c *rtcCounts) stats() RTCStats {
	return RTCStats{
		Offered: c.offered.Load(), Answered: c.answered.Load(), Connected: c.connected.Load(),
		Deleted: c.deleted.Load(), Open: c.open.Load(), Channels: c.channels.Load(),
		Received: c.received.Load(), Echoed: c.echoed.Load(), Dropped: c.dropped.Load(),
		Pushed: c.pushed.Load(),
	}
}

// rtcPeers holds a server's WebRTC sessions and what they share: one UDP
// socket for every session's ICE, DTLS and SCTP traffic, one certificate
// and one configured API. They are made with the first offer, so a server
// that never sees one holds no UDP port.
type rtcPeers struct {
	mu       sync.Mutex
	api      *webrtc.API
	udp      net.PacketConn
	mux      ice.UDPMux
	cert     webrtc.Certificate
	sessions map[string]*rtcSession // by Location
	closed   bool
	// running counts the goroutines the sessions started (channel loops and
	// endings); Close waits for them.
	running sync.WaitGroup
}

// rtcSession is one peer connection and the resource that names it.
type rtcSession struct {
	location  string
	broadcast bool
	fault     WSFault
	rate      float64
	skew      time.Duration

	pc *webrtc.PeerConnection
	// done is closed when the session ends; its waits abort on it.
	done      chan struct{}
	connected atomic.Bool
	// Guarded by rtcPeers.mu: openIn is the epoch that counted the session
	// open, ended says the session has ended, timer ends it unconnected.
	openIn *epoch
	ended  bool
	timer  *time.Timer
}

// RTCAddr returns the address of the UDP socket every WebRTC session
// shares, or "" before the first offer.
func (s *Server) RTCAddr() string {
	p := &s.rtc
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.udp == nil {
		return ""
	}
	return p.udp.LocalAddr().String()
}

// startRTC makes what the sessions share; the caller holds p.mu.
func (s *Server) startRTC() error {
	p := &s.rtc
	host, _, err := net.SplitHostPort(s.ln.Addr().String())
	if err != nil {
		return err
	}
	udp, err := net.ListenPacket("udp", net.JoinHostPort(host, "0"))
	if err != nil {
		return fmt.Errorf("listen for WebRTC on %s: %w", host, err)
	}
	if uc, ok := udp.(*net.UDPConn); ok {
		_ = uc.SetReadBuffer(rtcUDPBuffer)
		_ = uc.SetWriteBuffer(rtcUDPBuffer)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		udp.Close()
		return err
	}
	cert, err := webrtc.GenerateCertificate(key)
	if err != nil {
		udp.Close()
		return err
	}
	// Like the HTTP server's ErrorLog, the peers log nothing.
	logs := &logging.DefaultLoggerFactory{Writer: io.Discard, DefaultLogLevel: logging.LogLevelDisabled}
	mux := webrtc.NewICEUDPMux(logs.NewLogger("ice"), udp)

	var se webrtc.SettingEngine
	se.LoggerFactory = logs
	se.SetICEUDPMux(mux)
	// Host candidates only, loopback included, so that a server on
	// 127.0.0.1 is reachable; no mDNS, which would open a socket per peer.
	se.SetIncludeLoopbackCandidate(true)
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4, webrtc.NetworkTypeUDP6})
	// Detached channels are read and written by the session's own loops;
	// a write waits only while its channel holds rtcflow.Max unsent.
	se.DetachDataChannels()
	se.SetSCTPMaxMessageSize(rtcMaxMessage)

	p.api = webrtc.NewAPI(
		webrtc.WithSettingEngine(se),
		// Data channels only: no codecs and no RTP interceptors, which
		// would cost goroutines and memory per peer.
		webrtc.WithMediaEngine(&webrtc.MediaEngine{}),
		webrtc.WithInterceptorRegistry(&interceptor.Registry{}),
	)
	p.udp, p.mux, p.cert = udp, mux, *cert
	p.sessions = map[string]*rtcSession{}
	return nil
}

// serveRTC answers a POST on RTCPath or RTCBroadcastPath with a new
// session; any other request there is answered as a load request. The
// query may override the fault (?fault=SPEC, drop and close only) on
// RTCPath and the rate (?rate=N) and clock skew (?skew=D) on
// RTCBroadcastPath, as on the WebSocket paths.
func (s *Server) serveRTC(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		s.serveLoad(w, r)
		return
	}
	s.ep.Load().rtc.offered.Add(1)
	sess, err := s.rtcOptions(r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != sdpType {
		w.Header().Set("Accept-Post", sdpType)
		http.Error(w, "want Content-Type: "+sdpType, http.StatusUnsupportedMediaType)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, rtcMaxOffer+1))
	if err != nil {
		return // the client is gone
	}
	if len(body) > rtcMaxOffer {
		http.Error(w, "offer larger than "+strconv.Itoa(rtcMaxOffer)+" bytes", http.StatusRequestEntityTooLarge)
		return
	}
	offer := webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: string(body)}
	if err := checkOffer(offer); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	code, err := s.openRTC(sess)
	if err != nil {
		http.Error(w, err.Error(), code)
		return
	}
	answer, code, err := s.answerRTC(r, sess, offer)
	if err != nil {
		s.endRTC(sess)
		http.Error(w, err.Error(), code)
		return
	}
	h := w.Header()
	h.Set("Content-Type", sdpType)
	h.Set("Location", sess.location)
	w.WriteHeader(http.StatusCreated)
	_, _ = io.WriteString(w, answer)
}

// rtcOptions returns a session with the options of the server and of the
// request's query.
func (s *Server) rtcOptions(r *http.Request) (*rtcSession, error) {
	sess := &rtcSession{
		broadcast: r.URL.Path == RTCBroadcastPath,
		fault:     WSFault{Drop: s.cfg.WSFault.Drop, Close: s.cfg.WSFault.Close},
		rate:      s.cfg.BroadcastRate,
		done:      make(chan struct{}),
	}
	if sess.rate <= 0 {
		sess.rate = DefaultBroadcastRate
	}
	q := r.URL.Query()
	if spec := q.Get("fault"); spec != "" {
		f, err := ParseWSFault(spec)
		if err != nil {
			return nil, err
		}
		if f.End != EndFrame || f.Code != 0 {
			return nil, fmt.Errorf("ws fault %q: a data channel only closes: code, abrupt, reset and invalid apply to %s", spec, WSPath)
		}
		sess.fault = f
	}
	if v := q.Get("rate"); v != "" {
		rt, err := ParseBroadcastRate(v)
		if err != nil {
			return nil, err
		}
		sess.rate = rt
	}
	if v := q.Get("skew"); v != "" {
		d, err := ParseClockSkew(v)
		if err != nil {
			return nil, err
		}
		sess.skew = d
	}
	return sess, nil
}

// checkOffer reports why offer cannot open a data channel, if it cannot.
func checkOffer(offer webrtc.SessionDescription) error {
	parsed, err := offer.Unmarshal()
	if err != nil {
		return fmt.Errorf("offer is not SDP: %w", err)
	}
	for _, m := range parsed.MediaDescriptions {
		if m.MediaName.Media == "application" {
			return nil
		}
	}
	return errors.New("offer has no data channel (no m=application line)")
}

// openRTC gives sess a slot and a Location, or says with a status code why
// it cannot have one.
func (s *Server) openRTC(sess *rtcSession) (int, error) {
	p := &s.rtc
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return http.StatusServiceUnavailable, errors.New("server closing")
	}
	if p.api == nil {
		if err := s.startRTC(); err != nil {
			return http.StatusInternalServerError, err
		}
	}
	limit := s.cfg.RTCMaxSessions
	if limit == 0 {
		limit = DefaultRTCMaxSessions
	}
	if len(p.sessions) >= limit {
		return http.StatusServiceUnavailable, fmt.Errorf("%d WebRTC sessions open, the most this server takes", limit)
	}
	path := RTCPath
	if sess.broadcast {
		path = RTCBroadcastPath
	}
	sess.location = path + "/" + rand.Text()
	p.sessions[sess.location] = sess
	return 0, nil
}

// answerRTC makes the session's peer connection, applies offer and returns
// the complete answer, with its ICE candidates.
func (s *Server) answerRTC(r *http.Request, sess *rtcSession, offer webrtc.SessionDescription) (string, int, error) {
	p := &s.rtc
	pc, err := p.api.NewPeerConnection(webrtc.Configuration{Certificates: []webrtc.Certificate{p.cert}})
	if err != nil {
		return "", http.StatusInternalServerError, err
	}
	p.mu.Lock()
	sess.pc = pc
	ended := sess.ended
	p.mu.Unlock()
	if ended {
		_ = pc.GracefulClose()
		return "", http.StatusServiceUnavailable, errors.New("server closing")
	}
	pc.OnDataChannel(func(dc *webrtc.DataChannel) {
		dc.OnOpen(func() { s.openChannel(sess, dc) })
	})
	pc.OnConnectionStateChange(func(st webrtc.PeerConnectionState) {
		switch st {
		case webrtc.PeerConnectionStateConnected:
			if sess.connected.CompareAndSwap(false, true) {
				s.ep.Load().rtc.connected.Add(1)
			}
		case webrtc.PeerConnectionStateFailed, webrtc.PeerConnectionStateClosed:
			// A peer connection must not be closed gracefully from its own
			// callback.
			p.spawn(func() { s.endRTC(sess) })
		}
	})
	if err := pc.SetRemoteDescription(offer); err != nil {
		return "", http.StatusBadRequest, fmt.Errorf("offer not applicable: %w", err)
	}
	answer, err := pc.CreateAnswer(nil)
	if err != nil {
		return "", http.StatusBadRequest, fmt.Errorf("no answer to the offer: %w", err)
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(answer); err != nil {
		return "", http.StatusInternalServerError, err
	}
	tm := time.NewTimer(rtcGatherWait)
	defer tm.Stop()
	select {
	case <-gathered:
	case <-tm.C:
		return "", http.StatusInternalServerError, errors.New("ICE gathering did not complete")
	case <-s.done:
		return "", http.StatusServiceUnavailable, errors.New("server closing")
	case <-r.Context().Done():
		return "", http.StatusServiceUnavailable, r.Context().Err()
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if sess.ended {
		return "", http.StatusServiceUnavailable, errors.New("server closing")
	}
	ep := s.ep.Load()
	sess.openIn = ep
	ep.rtc.open.Add(1)
	// Count before answering, so a client that has its answer sees it.
	ep.rtc.answered.Add(1)
	sess.timer = time.AfterFunc(rtcConnectWait, func() {
		if !sess.connected.Load() {
			p.spawn(func() { s.endRTC(sess) })
		}
	})
	return pc.LocalDescription().SDP, 0, nil
}

// serveRTCSession answers a request on a session's Location: DELETE ends
// the session (404 if there is none); PATCH, which would carry trickled
// candidates or an ICE restart, is refused with 405, since offers come
// complete; anything else is a load request.
func (s *Server) serveRTCSession(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodDelete:
		p := &s.rtc
		p.mu.Lock()
		sess := p.sessions[r.URL.Path]
		delete(p.sessions, r.URL.Path)
		p.mu.Unlock()
		if sess == nil {
			http.Error(w, "no such WebRTC session", http.StatusNotFound)
			return
		}
		s.endRTC(sess)
		s.ep.Load().rtc.deleted.Add(1)
		w.WriteHeader(http.StatusOK)
	case http.MethodPatch:
		w.Header().Set("Allow", http.MethodDelete)
		http.Error(w, "no trickle ICE or ICE restart: send a complete offer", http.StatusMethodNotAllowed)
	default:
		s.serveLoad(w, r)
	}
}

// spawn runs f in a goroutine that Close waits for, unless Close has begun
// (it then ends every session itself).
func (p *rtcPeers) spawn(f func()) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return
	}
	p.running.Add(1)
	go func() {
		defer p.running.Done()
		f()
	}()
}

// endRTC ends a session once: its slot is freed, its waits abort and its
// peer connection closes, which ends its channel loops.
func (s *Server) endRTC(sess *rtcSession) {
	p := &s.rtc
	p.mu.Lock()
	if p.sessions[sess.location] == sess {
		delete(p.sessions, sess.location)
	}
	if sess.ended {
		p.mu.Unlock()
		return
	}
	sess.ended = true
	pc, openIn := sess.pc, sess.openIn
	if sess.timer != nil {
		sess.timer.Stop()
	}
	p.mu.Unlock()
	close(sess.done)
	if openIn != nil {
		openIn.rtc.open.Add(-1)
	}
	if pc != nil {
		_ = pc.GracefulClose()
	}
}

// closeRTC ends every session and waits for their goroutines, then closes
// the shared socket. Close calls it once no handler can open a session.
func (s *Server) closeRTC() error {
	p := &s.rtc
	p.mu.Lock()
	p.closed = true
	sessions := make([]*rtcSession, 0, len(p.sessions))
	for _, sess := range p.sessions {
		sessions = append(sessions, sess)
	}
	p.mu.Unlock()
	var ending sync.WaitGroup
	for _, sess := range sessions {
		ending.Go(func() { s.endRTC(sess) })
	}
	ending.Wait()
	p.running.Wait()
	if p.mux == nil {
		return nil
	}
	// Closing the mux closes the socket too.
	return p.mux.Close()
}

// openChannel runs a data channel the client opened, in the goroutine that
// announced it open, until the channel or the session ends.
func (s *Server) openChannel(sess *rtcSession, dc *webrtc.DataChannel) {
	ch, err := dc.DetachWithDeadline()
	if err != nil {
		_ = dc.Close()
		return
	}
	p := &s.rtc
	p.mu.Lock()
	if sess.ended || p.closed {
		p.mu.Unlock()
		_ = ch.Close()
		return
	}
	p.running.Add(1)
	p.mu.Unlock()
	defer p.running.Done()
	defer ch.Close()
	s.ep.Load().rtc.channels.Add(1)
	gate := rtcflow.New(dc)
	if sess.broadcast {
		s.pushRTC(sess, ch, gate)
		return
	}
	s.echoRTC(sess, ch, gate)
}

// readRTC reads one message into buf, which grows (up to rtcMaxMessage)
// for a larger one.
func readRTC(ch datachannel.ReadWriteCloserDeadliner, buf []byte) ([]byte, bool, error) {
	for {
		n, isString, err := ch.ReadDataChannel(buf)
		if errors.Is(err, io.ErrShortBuffer) && len(buf) < rtcMaxMessage {
			buf = make([]byte, min(2*len(buf), rtcMaxMessage))
			continue
		}
		if err != nil {
			return buf, false, err
		}
		return buf[:n], isString, nil
	}
}

// echoRTC answers the messages of one channel, one at a time, in order, as
// the WebSocket echo does; close=N closes the channel on the message after
// the N-th echo.
func (s *Server) echoRTC(sess *rtcSession, ch datachannel.ReadWriteCloserDeadliner, gate *rtcflow.Gate) {
	var (
		buf    = make([]byte, rtcReadBuffer)
		n      int // messages received
		echoed int
		tm     *time.Timer
	)
	f := sess.fault
	for {
		msg, isString, err := readRTC(ch, buf)
		if err != nil {
			return
		}
		buf = msg[:cap(msg)]
		now := int64(time.Since(s.base))
		ep := s.ep.Load()
		offset := max(now-ep.begin(now, s.cfg.Stall), 0)
		ep.rtc.received.Add(1)
		n++
		if f.Close > 0 && echoed >= f.Close {
			return
		}
		if f.Drop > 0 && n%f.Drop == 0 {
			ep.rtc.dropped.Add(1)
			continue
		}
		if !s.holdRTC(ep, offset, sess.done) {
			return
		}
		if d := s.sampleLatency(); d > 0 && !sleep(&tm, d, s.done, sess.done) {
			return
		}
		// Count before writing, so a client that has read its echo sees it.
		ep.rtc.echoed.Add(1)
		if gate.Wait(time.Now().Add(wsWriteWait), sess.done) != nil {
			return
		}
		if _, err := ch.WriteDataChannel(msg, isString); err != nil {
			return
		}
		echoed++
	}
}

// holdRTC holds a message that arrived offset after the epoch start through
// the stall; it reports false if the server or the session (gone) ended
// first.
func (s *Server) holdRTC(ep *epoch, offset int64, gone <-chan struct{}) bool {
	st := s.cfg.Stall
	if st.IsZero() || offset < int64(st.At) || offset >= int64(st.end()) {
		return true
	}
	select {
	case <-ep.release:
		return true
	case <-s.done:
	case <-gone:
	}
	return false
}

// pushRTC pushes {"seq":N,"ts_ns":T} text messages on one channel as
// broadcast does on a WebSocket: message N intended at N/rate seconds after
// the channel opened and stamped with that time (plus the session's skew),
// sent after the latency and held by the stall.
func (s *Server) pushRTC(sess *rtcSession, ch datachannel.ReadWriteCloserDeadliner, gate *rtcflow.Gate) {
	// Read (and discard) what the client sends, so that the channel's
	// closing is noticed.
	gone := make(chan struct{})
	go func() {
		defer close(gone)
		buf := make([]byte, rtcReadBuffer)
		for {
			msg, _, err := readRTC(ch, buf)
			if err != nil {
				return
			}
			buf = msg[:cap(msg)]
		}
	}()
	// The reader ends when the client answers the channel's closing, or
	// when the session ends and its SCTP association with it; wait for it,
	// so that Close, which waits for this loop, waits for the reader too.
	defer func() {
		_ = ch.Close()
		<-gone
	}()
	start := time.Now()
	var (
		tm  *time.Timer
		buf []byte
	)
	for seq := int64(0); ; seq++ {
		due := start.Add(time.Duration(math.Floor(float64(seq) * 1e9 / sess.rate)))
		if d := time.Until(due); d > 0 && !sleep(&tm, d, s.done, gone) {
			return
		}
		now := int64(time.Since(s.base))
		ep := s.ep.Load()
		offset := max(now-ep.begin(now, s.cfg.Stall), 0)
		if !s.holdRTC(ep, offset, gone) {
			return
		}
		if d := s.sampleLatency(); d > 0 && !sleep(&tm, d, s.done, gone) {
			return
		}
		buf = append(buf[:0], `{"seq":`...)
		buf = strconv.AppendInt(buf, seq, 10)
		buf = append(buf, `,"ts_ns":`...)
		buf = strconv.AppendInt(buf, due.Add(sess.skew).UnixNano(), 10)
		buf = append(buf, '}')
		ep.rtc.pushed.Add(1)
		if gate.Wait(time.Now().Add(wsWriteWait), gone) != nil {
			return
		}
		if _, err := ch.WriteDataChannel(buf, true); err != nil {
			return
		}
	}
}

// checkRTC validates the WebRTC settings of a Config.
func (cfg *Config) checkRTC() error {
	if cfg.RTCMaxSessions < 0 {
		return fmt.Errorf("rtc max sessions %d: want 0 (default %d) or more", cfg.RTCMaxSessions, DefaultRTCMaxSessions)
	}
	return nil
}
