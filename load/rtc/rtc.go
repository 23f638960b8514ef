package rtc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/logging"
	"github.com/pion/webrtc/v4"

	"volley/load"
	"volley/load/dial"
	"volley/load/field"
	"volley/load/message"
	"volley/load/request"
	"volley/stats"
)

// Config is the WebRTC part of a plan.
type Config struct {
	// Mode, Match, Payload and Binary are the messages', as for WebSocket.
	Mode    message.Mode
	Match   message.Match
	Payload []byte
	Binary  bool
	// ConnectRate paces the peer connections Open sets up (per second); 0
	// sets them up as fast as they complete, openParallel at a time.
	ConnectRate float64
	// Channels is the data channels per peer connection (0 means 1), each
	// labelled Label ("volley" when empty).
	Channels int
	Label    string
	// Unordered lets a channel deliver messages out of order;
	// MaxRetransmits (when not nil) or MaxPacketLife (when not 0) make it
	// partially reliable.
	Unordered      bool
	MaxRetransmits *uint16
	MaxPacketLife  time.Duration
	// ICEServers are STUN and TURN servers for real networks; none are
	// needed on loopback, where host candidates connect.
	ICEServers []webrtc.ICEServer
	// PortMin and PortMax bound the UDP ports of host candidates (0: any).
	PortMin, PortMax uint16
	// UDPMux puts every peer connection on one UDP socket instead of one
	// socket each.
	UDPMux bool
}

// DefaultLabel is a data channel's label when Config.Label is empty.
const DefaultLabel = "volley"

// MaxMessage bounds a message read on a data channel: it must fit whole in
// the receive window of SCTP, which is 1 MiB.
const MaxMessage = 1 << 20

// openParallel bounds the setups Open runs at once.
const openParallel = 64

// udpBuffer is the socket buffer asked for the one socket of UDPMux.
const udpBuffer = 4 << 20

// readBuffer is a channel's first read buffer; it doubles as larger
// messages arrive, up to the read limit.
const readBuffer = 16 << 10

// Client sets up WebRTC peer connections by the WHIP-shaped signalling of
// URL (a POST of the offer answered 201 with a Location and the answer, a
// DELETE of the Location at the end) and runs messages over their data
// channels. Each data channel is one of the engine's connections: with
// Config.Channels K, a peer connection carries K of them.
type Client struct {
	cfg      Config
	url      *url.URL
	header   http.Header
	http     *http.Client
	api      *webrtc.API
	udp      net.PacketConn // the shared socket with UDPMux
	timeout  time.Duration
	readMax  int
	streams  int
	epoch    time.Time
	tmpl     *message.Template
	channels int

	in, out atomic.Int64

	mu     sync.Mutex
	ready  []*channel // channels set up by Open that no connection took yet
	muxes  []*message.Mux
	subs   []*message.Subscriber
	peers  []*peer // every peer connection made, for the DELETE at the end
	counts stats.RTC
	phases map[string]*hdr.Histogram
}

// NewClient checks cfg and rc and makes a client; it connects nothing.
func NewClient(cfg load.Config, rc Config) (*Client, error) {
	u, err := request.ParseTargetURL(cfg.Request.URL)
	if err != nil {
		return nil, err
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, field.Errorf("Request.URL", "url %q: WebRTC signalling is HTTP: want an http:// or https:// URL", cfg.Request.URL)
	}
	if cfg.Request.Method != "" && cfg.Request.Method != http.MethodPost && cfg.Request.Method != http.MethodGet {
		return nil, field.Errorf("Request.Method", "method %q: WebRTC signalling POSTs the offer", cfg.Request.Method)
	}
	if len(cfg.Request.Body) > 0 {
		return nil, field.Errorf("Request.Body", "body: WebRTC signalling sends the offer; give the message with --message")
	}
	if len(cfg.Targets) > 0 {
		return nil, field.Errorf("Targets", "targets: a WebRTC run has one signalling URL")
	}
	if err := connOptions(&cfg); err != nil {
		return nil, err
	}
	switch {
	case rc.ConnectRate < 0 || rc.ConnectRate != rc.ConnectRate:
		return nil, fmt.Errorf("connect rate %v: must be 0 or positive", rc.ConnectRate)
	case rc.Channels < 0 || rc.Channels > 1024:
		return nil, fmt.Errorf("channels %d: want 1 to 1024 per peer connection", rc.Channels)
	case rc.MaxRetransmits != nil && rc.MaxPacketLife > 0:
		return nil, errors.New("max retransmits and max packet life: give one; a channel is partially reliable one way")
	case rc.MaxPacketLife < 0 || rc.MaxPacketLife > 65535*time.Millisecond:
		return nil, fmt.Errorf("max packet life %v: want 1ms to 65.535s", rc.MaxPacketLife)
	case rc.PortMin > rc.PortMax:
		return nil, fmt.Errorf("ice ports %d-%d: want MIN <= MAX", rc.PortMin, rc.PortMax)
	case rc.Mode == message.Subscribe && cfg.Rate > 0:
		return nil, field.Errorf("Rate", "rate %v: subscribing channels only listen; leave the rate at 0", cfg.Rate)
	}
	if rc.Channels == 0 {
		rc.Channels = 1
	}
	if rc.Label == "" {
		rc.Label = DefaultLabel
	}
	c := &Client{
		cfg: rc, url: u, header: http.Header{}, timeout: cfg.Timeout, streams: message.Streams(&cfg),
		epoch: time.Now(), channels: rc.Channels, readMax: MaxMessage, phases: map[string]*hdr.Histogram{},
	}
	if cfg.MaxBody > 0 && cfg.MaxBody < MaxMessage {
		c.readMax = cfg.MaxBody
	}
	for _, p := range stats.RTCPhases() {
		c.phases[p] = stats.NewHistogram()
	}
	c.counts.Channels = rc.Channels
	for _, h := range cfg.Request.Headers {
		c.header.Add(h.Key, h.Value)
	}
	if !rc.Binary && rc.Mode != message.Subscribe {
		if c.tmpl, err = message.CompileTemplate(rc.Payload, cfg.Data, cfg.Seed, cfg.DataRandom, rc.Match); err != nil {
			return nil, err
		}
	}
	c.http = signallingClient(&cfg, u, &c.in, &c.out)
	if err := c.makeAPI(); err != nil {
		return nil, err
	}
	return c, nil
}

// connOptions refuses the settings of cfg that have no meaning for WebRTC
// rather than ignore them. The signalling is HTTP/1.1 and takes the TLS,
// proxy and unix-socket options.
func connOptions(cfg *load.Config) error {
	o := &cfg.Conn
	switch {
	case cfg.Expect.Status != nil:
		return field.Errorf("Expect", "expect status: applies to HTTP responses, not data channel messages")
	case cfg.Expect.Active():
		return field.Errorf("Expect", "expect body: applies to HTTP response bodies, not data channel messages")
	case o.Protocol != dial.HTTP1:
		return fmt.Errorf("protocol %s: WebRTC signalling is HTTP/1.1", o.Protocol)
	case o.FollowRedirects > 0:
		return field.Errorf("Conn.FollowRedirects", "follow redirects %d: the signalling answer must be 201 itself", o.FollowRedirects)
	case o.Compressed:
		return errors.New("compressed: applies to HTTP responses; data channel messages are not compressed")
	case o.NoKeepAlive:
		return errors.New("no keepalive: a peer connection carries every message of its channels")
	}
	return o.Validate()
}

// signallingClient posts offers and deletes sessions through volley's
// dialler, so that --cacert, --insecure, --servername, client certificates,
// --proxy and --unix-socket apply as for HTTP.
func signallingClient(cfg *load.Config, u *url.URL, in, out *atomic.Int64) *http.Client {
	d := dial.NewDialer(&cfg.Conn, cfg.Timeout, in, out)
	ep := dial.EndpointOf(u)
	conn := func(alpn []string) func(context.Context, string, string) (net.Conn, error) {
		return func(context.Context, string, string) (net.Conn, error) {
			c, _, _, err := d.Dial(ep, alpn, nil)
			return c, err
		}
	}
	return &http.Client{
		Timeout: cfg.Timeout,
		Transport: &http.Transport{
			DialContext: conn(nil), DialTLSContext: conn([]string{"http/1.1"}),
			MaxIdleConnsPerHost: openParallel, ForceAttemptHTTP2: false,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// makeAPI makes the WebRTC API every peer connection shares: data channels
// only (no codecs, no RTP interceptors, which cost goroutines per peer),
// detached so that volley reads and writes them itself, host candidates
// with loopback included and no mDNS, and the UDP sockets as Config says.
func (c *Client) makeAPI() error {
	logs := &logging.DefaultLoggerFactory{Writer: io.Discard, DefaultLogLevel: logging.LogLevelDisabled}
	var se webrtc.SettingEngine
	se.LoggerFactory = logs
	se.SetIncludeLoopbackCandidate(true)
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4, webrtc.NetworkTypeUDP6})
	se.DetachDataChannels()
	se.SetSCTPMaxMessageSize(MaxMessage)
	if c.cfg.PortMin > 0 || c.cfg.PortMax > 0 {
		if err := se.SetEphemeralUDPPortRange(c.cfg.PortMin, c.cfg.PortMax); err != nil {
			return fmt.Errorf("ice ports %d-%d: %w", c.cfg.PortMin, c.cfg.PortMax, err)
		}
	}
	if c.cfg.UDPMux {
		udp, err := net.ListenPacket("udp", net.JoinHostPort(localIPToward(c.url.Hostname()), "0"))
		if err != nil {
			return fmt.Errorf("udp mux: %w", err)
		}
		// Every peer's packets arrive on this one socket: a burst of echoes
		// must not overflow its buffer.
		if uc, ok := udp.(*net.UDPConn); ok {
			_ = uc.SetReadBuffer(udpBuffer)
			_ = uc.SetWriteBuffer(udpBuffer)
		}
		c.udp = udp
		se.SetICEUDPMux(webrtc.NewICEUDPMux(logs.NewLogger("ice"), udp))
	}
	c.api = webrtc.NewAPI(
		webrtc.WithSettingEngine(se),
		webrtc.WithMediaEngine(&webrtc.MediaEngine{}),
		webrtc.WithInterceptorRegistry(&interceptor.Registry{}),
	)
	return nil
}

// localIPToward is the local address the system routes to host from (a
// UDP "connection" sends nothing), where the one socket of UDPMux listens:
// a socket on every address gathers candidates it cannot demultiplex. It
// is "" (every address) when host does not resolve.
func localIPToward(host string) string {
	c, err := net.Dial("udp", net.JoinHostPort(host, "9"))
	if err != nil {
		return ""
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).IP.String()
}

// since is the time on the client's clock, ns.
func (c *Client) since() int64 { return int64(time.Since(c.epoch)) }

// frame returns a new channel's message frame.
func (c *Client) frame() *message.Frame { return message.FrameFor(c.tmpl, c.cfg.Payload, c.cfg.Match) }

// Open sets up n peer connections before the run (each with its
// channels), so that the schedule starts on open channels: paced at
// ConnectRate per second if set, else as fast as they complete, the
// intended start of setup j being j/ConnectRate. Failed setups are counted;
// their channels are set up again on their first message. Open returns
// early when ctx ends.
func (c *Client) Open(ctx context.Context, n int) {
	got := make([][]*channel, n)
	load.Paced(ctx, n, c.cfg.ConnectRate, openParallel, func(j int, intended time.Time) {
		if p, err := c.setup(ctx, intended, c.channels); err == nil {
			got[j] = p.channels
		}
	})
	c.mu.Lock()
	for _, chs := range got {
		c.ready = append(c.ready, chs...)
	}
	c.mu.Unlock()
}

// Peers is how many peer connections n engine connections (data
// channels) take.
func (c *Client) Peers(n int) int { return (n + c.channels - 1) / c.channels }

// Engine returns what runs the plan: echoing, a MuxClient whose
// connections are data channels, each carrying up to Config.Streams
// messages awaiting their echo; subscribing, c itself, a Conn per channel.
func (c *Client) Engine() load.Client {
	if c.cfg.Mode == message.Echo {
		return muxClient{c}
	}
	return c
}

// errEchoNeedsEngine refuses NewConn in echo mode.
var errEchoNeedsEngine = errors.New("webrtc echo runs full duplex on the multiplexed path: run Client.Engine()")

// NewConn hands out a subscribing channel set up by Open, or one whose peer
// connection is set up on its first wait. Echo channels are made by
// Engine's NewMuxConn.
func (c *Client) NewConn() (load.Conn, error) {
	if c.cfg.Mode == message.Echo {
		return nil, errEchoNeedsEngine
	}
	sub := message.NewSubscriber(dialer{c}, c.timeout)
	c.mu.Lock()
	c.subs = append(c.subs, sub)
	ch := c.takeLocked()
	c.mu.Unlock()
	if ch != nil {
		sub.Attach(ch)
	}
	return sub, nil
}

// takeLocked takes a channel that Open set up, or returns nil when none is
// left. c.mu is held.
func (c *Client) takeLocked() *channel {
	if len(c.ready) == 0 {
		return nil
	}
	ch := c.ready[0]
	c.ready = c.ready[1:]
	return ch
}

// Protocol names what the run spoke, for the result.
func (c *Client) Protocol() string { return "WebRTC data channels" }

// BytesOut is the bytes written so far: the signalling's requests and the
// messages (their payload; SCTP, DTLS and UDP framing not counted); BytesIn
// likewise the bytes read.
func (c *Client) BytesOut() int64 { return c.out.Load() }
func (c *Client) BytesIn() int64  { return c.in.Load() }

// Close ends the peer connections that are still up: each session is
// DELETEd at its Location, then closed.
func (c *Client) Close() {
	c.mu.Lock()
	ready, peers := c.ready, c.peers
	c.ready = nil
	c.mu.Unlock()
	for _, ch := range ready {
		ch.Close(nil)
	}
	var wg sync.WaitGroup
	for _, p := range peers {
		wg.Go(p.end)
	}
	wg.Wait()
	if c.udp != nil {
		_ = c.udp.Close()
	}
	c.http.CloseIdleConnections()
}

// Stats returns the message counts, the WebRTC counts and the setup
// histograms by phase. Call it after Close.
func (c *Client) Stats() (stats.Messages, stats.RTC, map[string]*hdr.Histogram) {
	c.mu.Lock()
	muxes, subs := c.muxes, c.subs
	c.mu.Unlock()
	// Outside c.mu: a channel notes how it ended under its Mux's lock.
	m := message.Tally(c.cfg.Mode, c.cfg.Match, muxes, subs)
	c.mu.Lock()
	defer c.mu.Unlock()
	phases := make(map[string]*hdr.Histogram, len(c.phases))
	for k, h := range c.phases {
		phases[k] = hdr.Import(h.Export())
	}
	r := c.counts
	r.Failures, r.FailureSamples = maps.Clone(c.counts.Failures), maps.Clone(c.counts.FailureSamples)
	return m, r, phases
}

// Attach adds the run's messages and WebRTC counts to res (see Stats).
func (c *Client) Attach(res *stats.Result) {
	m, r, phases := c.Stats()
	message.Attach(res, m)
	res.AttachRTC(r, phases)
}

// noteFailure counts a failed setup by phase, with its first message.
func (c *Client) noteFailure(err *SetupError) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.counts.Peers.Failed++
	if c.counts.Failures == nil {
		c.counts.Failures = map[string]int64{}
		c.counts.FailureSamples = map[string]string{}
	}
	c.counts.Failures[err.Phase]++
	if _, ok := c.counts.FailureSamples[err.Phase]; !ok {
		c.counts.FailureSamples[err.Phase] = err.Error()
	}
}

// SetupError is a failed peer connection setup: the phase that failed
// (stats.RTCFailures) and why. Status is the signalling's HTTP status when
// it answered other than 201.
type SetupError struct {
	Phase  string
	Status int
	Err    error
}

func (e *SetupError) Error() string { return "webrtc " + e.Phase + ": " + e.Err.Error() }
func (e *SetupError) Unwrap() error { return e.Err }

// Classify maps a WebRTC error to its category: a signalling request that
// got no answer as dial.Classify says, any other failed setup as
// handshake, a channel the peer closed as closed.
func Classify(err error) stats.ErrorKind {
	if err == nil {
		return stats.ErrNone
	}
	var se *SetupError
	if errors.As(err, &se) {
		if se.Phase == "signal" && se.Status == 0 {
			if k := dial.Classify(se.Err); k != stats.ErrOther && k != stats.ErrClosed {
				return k
			}
		}
		if se.Phase == "timeout" {
			return stats.ErrTimeout
		}
		return stats.ErrHandshake
	}
	if errors.Is(err, errTooLarge) {
		return stats.ErrBodyTooLarge
	}
	if errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) || errors.Is(err, io.ErrClosedPipe) {
		return stats.ErrClosed
	}
	return dial.Classify(err)
}

// locationOf resolves a Location header against the signalling URL.
func (c *Client) locationOf(loc string) (string, error) {
	u, err := c.url.Parse(loc)
	if err != nil {
		return "", err
	}
	return u.String(), nil
}

// signal posts the offer and returns the answer and the session's
// location.
func (c *Client) signal(ctx context.Context, offer string) (answer, location string, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url.String(), strings.NewReader(offer))
	if err != nil {
		return "", "", &SetupError{Phase: "signal", Err: err}
	}
	for k, vs := range c.header {
		req.Header[k] = vs
	}
	req.Header.Set("Content-Type", "application/sdp")
	resp, err := c.http.Do(req)
	if err != nil {
		return "", "", &SetupError{Phase: "signal", Err: err}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return "", "", &SetupError{Phase: "signal", Err: err}
	}
	if resp.StatusCode != http.StatusCreated {
		return "", "", &SetupError{Phase: "signal", Status: resp.StatusCode,
			Err: fmt.Errorf("answered %s, want 201 Created (%s)", resp.Status, clip(bytes.TrimSpace(body), 60))}
	}
	loc := resp.Header.Get("Location")
	if loc == "" {
		return "", "", &SetupError{Phase: "signal", Status: resp.StatusCode, Err: errors.New("201 without a Location header")}
	}
	if location, err = c.locationOf(loc); err != nil {
		return "", "", &SetupError{Phase: "signal", Status: resp.StatusCode, Err: fmt.Errorf("location %q: %w", loc, err)}
	}
	return string(body), location, nil
}

func clip(b []byte, n int) string {
	if len(b) > n {
		return string(b[:n]) + "…"
	}
	return string(b)
}

// remove sends the DELETE that ends a session at location.
func (c *Client) remove(location string) bool {
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodDelete, location, nil)
	if err != nil {
		return false
	}
	for k, vs := range c.header {
		req.Header[k] = vs
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return false
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode >= 200 && resp.StatusCode < 300
}
