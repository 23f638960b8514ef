package bench

import (
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

const (
	// DefaultAddr is the address Start listens on when Config.Addr is empty.
	DefaultAddr = "127.0.0.1:8080"
	// DefaultBodySize is the body size used when Config.BodySize is 0.
	DefaultBodySize = 5
	// NoBody as Config.BodySize makes responses carry an empty body.
	NoBody = -1
	// MaxBodySize bounds Config.BodySize; the body is kept in memory.
	MaxBodySize = 64 << 20

	// StatsPath is the control endpoint answering GET with Stats as JSON.
	StatsPath = "/_volley/stats"
	// ResetPath is the control endpoint whose POST calls Reset.
	ResetPath = "/_volley/reset"

	// ArrivalBucket is the width of one Stats.Arrivals bucket.
	ArrivalBucket = 100 * time.Millisecond
	// MaxArrivalBuckets bounds Stats.Arrivals to ten minutes; later arrivals
	// are counted in Stats.ArrivalsOverflow.
	MaxArrivalBuckets = 6000

	// bodyPattern is repeated to fill response bodies.
	bodyPattern = "hello"
	// maxCode bounds the status codes a StatusMix can hold.
	maxCode = 599
	// notStarted marks an epoch that has not seen a request yet.
	notStarted = math.MinInt64
	// readHeaderTimeout drops clients that never finish a request header.
	readHeaderTimeout = 30 * time.Second
)

// Config configures a Server. The zero value serves "hello" with status 200
// and no added latency on DefaultAddr.
type Config struct {
	// Addr is the host:port to listen on; empty means DefaultAddr. Port 0
	// (":0", "127.0.0.1:0") picks a free port; see Server.URL.
	Addr string
	// Latency is added before each response; the zero value adds none.
	Latency Latency
	// Status chooses each response's code; the zero value always gives 200.
	Status StatusMix
	// BodySize is the number of body bytes per response: 0 means
	// DefaultBodySize, NoBody (any negative value) means an empty body. The
	// body is "hello" repeated and truncated to BodySize bytes, so the default
	// body is exactly "hello". Responses with status 204 or 304 never carry a
	// body.
	BodySize int
	// Stall holds requests arriving in a window; the zero value never stalls.
	Stall Stall
	// WSFault makes the WSPath echo misbehave; the zero value echoes every
	// message. Its drop and close apply to the RTCPath echo too, per data
	// channel. BroadcastRate is the messages per second BroadcastPath pushes
	// to each subscriber, and RTCBroadcastPath on each data channel; 0 means
	// DefaultBroadcastRate.
	WSFault       WSFault
	BroadcastRate float64
	// RTCMaxSessions bounds the WebRTC sessions open at once; offers beyond
	// it are answered 503. 0 means DefaultRTCMaxSessions.
	RTCMaxSessions int
	// TLS, when set, serves HTTPS with this certificate, offering HTTP/2
	// and HTTP/1.1 by ALPN (see NewCertificate).
	TLS *Certificate
	// H2C also serves HTTP/2 over cleartext with prior knowledge (h2c)
	// beside HTTP/1.1.
	H2C bool
	// Faults makes a share of load requests misbehave instead of answering
	// normally; the zero value never faults. See FaultKind.
	Faults FaultMix
	// Seed seeds latency sampling. Each server draws from a pool of sources
	// seeded from Seed, so the set of samples is reproducible while their
	// assignment to concurrent requests is not.
	Seed int64
}

// Stats are the counts a Server has seen since it started or was last reset.
type Stats struct {
	// Total is the number of responses decided: the sum of Codes.
	Total int64 `json:"total"`
	// Codes counts the responses decided by status code ("200": n).
	Codes map[string]int64 `json:"codes"`
	// Arrivals counts the requests arriving in each ArrivalBucketMS bucket
	// since the first request after start or reset, up to the last non-empty
	// bucket and at most MaxArrivalBuckets long.
	Arrivals []int64 `json:"arrivals"`
	// ArrivalBucketMS is the bucket width of Arrivals in milliseconds.
	ArrivalBucketMS int `json:"arrival_bucket_ms"`
	// ArrivalsOverflow counts requests arriving after the last bucket.
	ArrivalsOverflow int64 `json:"arrivals_overflow"`
	// WS counts WebSocket connections and messages (WSPath, BroadcastPath).
	WS WSStats `json:"ws"`
	// RTC counts WebRTC sessions, data channels and messages (RTCPath,
	// RTCBroadcastPath).
	RTC RTCStats `json:"rtc"`
	// Connections counts the connections accepted since the server started
	// or was last reset.
	Connections int64 `json:"connections"`
	// MaxInFlight is the most load requests the server held at once (being
	// answered, or waiting out a latency or a stall): with HTTP/2, the
	// streams a client had open side by side.
	MaxInFlight int64 `json:"max_in_flight"`
	// Protocols counts the load requests by protocol ("HTTP/1.1": n,
	// "HTTP/2.0": n).
	Protocols map[string]int64 `json:"protocols"`
	// Faults counts the load requests answered with each fault ("reset":
	// n). A faulted request is not in Codes, except with the 1xx fault,
	// whose final response is a normal one.
	Faults map[string]int64 `json:"faults,omitempty"`
}

// MaxStreams is the built-in target's SETTINGS_MAX_CONCURRENT_STREAMS.
const MaxStreams = 10000

// Server is the built-in target server. Create one with Start and stop it
// with Close.
type Server struct {
	cfg  Config
	ln   net.Listener
	srv  *http.Server
	url  string
	base time.Time

	body        []byte
	contentType []string
	contentLen  []string

	rngs   sync.Pool
	rngSeq atomic.Uint64

	ep       atomic.Pointer[epoch]
	lastHost atomic.Pointer[string]

	rtc rtcPeers

	// done is closed by Close; held and delayed handlers abort on it.
	done chan struct{}
	// gate and closing stop new handlers from joining handlers once Close
	// has begun waiting for them.
	gate     sync.RWMutex
	closing  bool
	handlers sync.WaitGroup
	// served is closed when the Serve goroutine returns, after which
	// serveErr is set.
	served   chan struct{}
	serveErr error

	closeOnce sync.Once
	closeErr  error
}

// epoch holds the counts and stall state from one start or reset to the next.
type epoch struct {
	// start is the first request's arrival in nanoseconds since Server.base,
	// or notStarted.
	start atomic.Int64
	// seq is the position in the status mix of the next response.
	seq   atomic.Uint64
	codes [maxCode + 1]atomic.Int64
	// faultSeq is the position in the fault mix of the next load request.
	faultSeq atomic.Uint64
	faults   [numFaultKinds]atomic.Int64

	conns      atomic.Int64
	h1, h2     atomic.Int64
	inFlight   atomic.Int64 // load requests being handled now
	maxFlight  atomic.Int64 // the most at once
	arrivals   [MaxArrivalBuckets]atomic.Int64
	lastBucket atomic.Int64
	overflow   atomic.Int64
	ws         wsCounts
	rtc        rtcCounts

	// release is closed when the stall window ends (or the epoch is
	// replaced or the server closed); held requests wait on it.
	release  chan struct{}
	mu       sync.Mutex
	timer    *time.Timer
	released bool
}

func newEpoch() *epoch {
	ep := &epoch{release: make(chan struct{})}
	ep.start.Store(notStarted)
	ep.lastBucket.Store(-1)
	return ep
}

// begin returns the epoch's start, making now the start if this is the
// epoch's first request, in which case it also arms the stall timer.
func (ep *epoch) begin(now int64, st Stall) int64 {
	if start := ep.start.Load(); start != notStarted {
		return start
	}
	if !ep.start.CompareAndSwap(notStarted, now) {
		return ep.start.Load()
	}
	if !st.IsZero() {
		ep.mu.Lock()
		if !ep.released {
			ep.timer = time.AfterFunc(st.end(), ep.releaseHeld)
		}
		ep.mu.Unlock()
	}
	return now
}

// releaseHeld ends the stall for good: held requests proceed and no new
// request is held.
func (ep *epoch) releaseHeld() {
	ep.mu.Lock()
	defer ep.mu.Unlock()
	if ep.released {
		return
	}
	ep.released = true
	if ep.timer != nil {
		ep.timer.Stop()
	}
	close(ep.release)
}

// arrive counts a request arriving offset nanoseconds after the epoch start.
func (ep *epoch) arrive(offset int64) {
	i := offset / int64(ArrivalBucket)
	if i >= MaxArrivalBuckets {
		ep.overflow.Add(1)
		return
	}
	ep.arrivals[i].Add(1)
	for {
		last := ep.lastBucket.Load()
		if i <= last || ep.lastBucket.CompareAndSwap(last, i) {
			return
		}
	}
}

func (ep *epoch) stats() Stats {
	st := Stats{
		Codes:            map[string]int64{},
		Arrivals:         []int64{},
		ArrivalBucketMS:  int(ArrivalBucket / time.Millisecond),
		ArrivalsOverflow: ep.overflow.Load(),
		WS:               ep.ws.stats(),
		RTC:              ep.rtc.stats(),
		Connections:      ep.conns.Load(),
		MaxInFlight:      ep.maxFlight.Load(),
		Protocols:        map[string]int64{},
	}
	if n := ep.h1.Load(); n > 0 {
		st.Protocols["HTTP/1.1"] = n
	}
	if n := ep.h2.Load(); n > 0 {
		st.Protocols["HTTP/2.0"] = n
	}
	for code := range ep.codes {
		if n := ep.codes[code].Load(); n > 0 {
			st.Codes[strconv.Itoa(code)] = n
			st.Total += n
		}
	}
	for _, k := range FaultKinds() {
		if n := ep.faults[k].Load(); n > 0 {
			if st.Faults == nil {
				st.Faults = map[string]int64{}
			}
			st.Faults[k.String()] = n
		}
	}
	last := ep.lastBucket.Load()
	for i := int64(0); i <= last; i++ {
		st.Arrivals = append(st.Arrivals, ep.arrivals[i].Load())
	}
	return st
}

// Start listens on cfg.Addr and serves in a background goroutine until
// Close.
func Start(cfg Config) (*Server, error) {
	if cfg.Addr == "" {
		cfg.Addr = DefaultAddr
	}
	size := cfg.BodySize
	switch {
	case size == 0:
		size = DefaultBodySize
	case size < 0:
		size = 0
	case size > MaxBodySize:
		return nil, fmt.Errorf("body size %d: exceeds %d", cfg.BodySize, MaxBodySize)
	}
	if cfg.Stall.At < 0 || cfg.Stall.For < 0 {
		return nil, fmt.Errorf("stall %+v: durations must not be negative", cfg.Stall)
	}
	if err := cfg.checkWS(); err != nil {
		return nil, err
	}
	if err := cfg.checkRTC(); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("listen on %q: %w", cfg.Addr, err)
	}
	s := &Server{
		cfg:         cfg,
		ln:          ln,
		url:         scheme(cfg) + "://" + dialAddr(ln.Addr()),
		base:        time.Now(),
		body:        makeBody(size),
		contentType: []string{"text/plain"},
		contentLen:  []string{strconv.Itoa(size)},
		done:        make(chan struct{}),
		served:      make(chan struct{}),
	}
	s.rngs.New = func() any {
		return rand.New(rand.NewPCG(uint64(cfg.Seed), s.rngSeq.Add(1)))
	}
	s.ep.Store(newEpoch())
	s.srv = &http.Server{
		Handler:           s,
		ReadHeaderTimeout: readHeaderTimeout,
		ErrorLog:          log.New(io.Discard, "", 0),
		ConnState: func(_ net.Conn, st http.ConnState) {
			if st == http.StateNew {
				s.ep.Load().conns.Add(1)
			}
		},
	}
	// HTTP/2 clients may open many streams on a connection (--streams):
	// the target takes far more than net/http's default of 250.
	s.srv.HTTP2 = &http.HTTP2Config{MaxConcurrentStreams: MaxStreams}
	if cfg.H2C {
		s.srv.Protocols = new(http.Protocols)
		s.srv.Protocols.SetHTTP1(true)
		s.srv.Protocols.SetUnencryptedHTTP2(true)
	}
	serve := s.srv.Serve
	if cfg.TLS != nil {
		s.srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cfg.TLS.TLS}, MinVersion: tls.VersionTLS12}
		serve = func(ln net.Listener) error { return s.srv.ServeTLS(ln, "", "") }
	}
	go func() {
		defer close(s.served)
		if err := serve(ln); !errors.Is(err, http.ErrServerClosed) {
			s.serveErr = err
		}
	}()
	return s, nil
}

func scheme(cfg Config) string {
	if cfg.TLS != nil {
		return "https"
	}
	return "http"
}

// makeBody returns size bytes of bodyPattern repeated.
func makeBody(size int) []byte {
	b := make([]byte, size)
	for i := range b {
		b[i] = bodyPattern[i%len(bodyPattern)]
	}
	return b
}

// dialAddr returns the listener address a client can dial: an unspecified
// host (0.0.0.0 or ::) becomes 127.0.0.1.
func dialAddr(a net.Addr) string {
	host, port, err := net.SplitHostPort(a.String())
	if err != nil {
		return a.String()
	}
	if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}

// URL returns the base URL clients should use, "http://HOST:PORT" (https
// with TLS); a server
// listening on all interfaces is reached through 127.0.0.1.
func (s *Server) URL() string { return s.url }

// Addr returns the address the server listens on as the listener reports it
// (for ":0", something like "[::]:41234"); see URL for a dialable form.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// LastHost returns the Host header of the most recent request other than
// the control endpoints, or "" before the first one.
func (s *Server) LastHost() string {
	if h := s.lastHost.Load(); h != nil {
		return *h
	}
	return ""
}

// Stats returns the counts since the server started or was last reset.
func (s *Server) Stats() Stats { return s.ep.Load().stats() }

// Reset zeroes the counts, restarts the status mix cycle and re-arms the
// stall, whose window is then measured from the first request after Reset.
// Requests held by the previous stall are released at once, and responses
// to requests that arrived before Reset are not counted after it.
func (s *Server) Reset() {
	s.ep.Swap(newEpoch()).releaseHeld()
}

// Close stops the listener, closes every connection and WebRTC peer
// connection, aborts requests that are held by the stall or waiting out
// their latency (their clients get no response and they are not counted),
// and waits for all handlers and peers to return.
// Close is idempotent; it returns the first error from closing or serving.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		s.gate.Lock()
		s.closing = true
		s.gate.Unlock()
		close(s.done)
		err := s.srv.Close()
		<-s.served
		s.handlers.Wait()
		rtcErr := s.closeRTC()
		s.ep.Load().releaseHeld()
		s.closeErr = errors.Join(err, s.serveErr, rtcErr)
	})
	return s.closeErr
}

// enter registers a handler with Close; it reports false once Close began.
func (s *Server) enter() bool {
	s.gate.RLock()
	defer s.gate.RUnlock()
	if s.closing {
		return false
	}
	s.handlers.Add(1)
	return true
}

// ServeHTTP answers the control endpoints and, on every other path, the
// configured response.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !s.enter() {
		panic(http.ErrAbortHandler)
	}
	defer s.handlers.Done()
	switch r.URL.Path {
	case StatsPath:
		s.serveStats(w, r)
	case ResetPath:
		s.serveReset(w, r)
	case WSPath, BroadcastPath:
		s.serveWS(w, r)
	case RTCPath, RTCBroadcastPath:
		s.serveRTC(w, r)
	default:
		if strings.HasPrefix(r.URL.Path, RTCPath+"/") {
			s.serveRTCSession(w, r)
			return
		}
		s.serveLoad(w, r)
	}
}

func (s *Server) serveStats(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	body, err := json.Marshal(s.Stats())
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	_, _ = w.Write(append(body, '\n'))
}

func (s *Server) serveReset(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	s.Reset()
	w.WriteHeader(http.StatusNoContent)
}

// serveLoad answers a load request: it counts the arrival, holds the request
// through the stall, waits out the sampled latency and answers with the next
// status of the mix.
func (s *Server) serveLoad(w http.ResponseWriter, r *http.Request) {
	now := int64(time.Since(s.base))
	if h := s.lastHost.Load(); h == nil || *h != r.Host {
		host := r.Host
		s.lastHost.Store(&host)
	}
	ep := s.ep.Load()
	if r.ProtoMajor == 2 {
		ep.h2.Add(1)
	} else {
		ep.h1.Add(1)
	}
	n := ep.inFlight.Add(1)
	for m := ep.maxFlight.Load(); n > m; m = ep.maxFlight.Load() {
		if ep.maxFlight.CompareAndSwap(m, n) {
			break
		}
	}
	defer ep.inFlight.Add(-1)
	offset := max(now-ep.begin(now, s.cfg.Stall), 0)
	ep.arrive(offset)

	if r.Body != nil && r.Body != http.NoBody {
		// Read the whole request body so the connection can be reused.
		_, _ = io.Copy(io.Discard, r.Body)
	}
	if st := s.cfg.Stall; !st.IsZero() && offset >= int64(st.At) && offset < int64(st.end()) {
		select {
		case <-ep.release:
		case <-s.done:
			panic(http.ErrAbortHandler)
		case <-r.Context().Done():
			panic(http.ErrAbortHandler)
		}
	}
	if d := s.sampleLatency(); d > 0 {
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-s.done:
			t.Stop()
			panic(http.ErrAbortHandler)
		case <-r.Context().Done():
			t.Stop()
			panic(http.ErrAbortHandler)
		}
	}

	fault := FaultNone
	if !s.cfg.Faults.IsZero() {
		fault = s.cfg.Faults.At(ep.faultSeq.Add(1) - 1)
		if fault != FaultNone {
			ep.faults[fault].Add(1)
		}
	}
	if fault != FaultNone && fault != Fault1xx {
		s.serveFault(w, fault)
		return
	}

	var code int
	if s.cfg.Status.Period() == 1 {
		code = s.cfg.Status.at(0)
	} else {
		code = s.cfg.Status.at(ep.seq.Add(1) - 1)
	}
	// Count before writing, so a client that has read its response sees it
	// in the stats.
	ep.codes[code].Add(1)

	if fault == Fault1xx {
		writeInterim(w)
	}
	h := w.Header()
	h["Content-Type"] = s.contentType
	if code == http.StatusNoContent || code == http.StatusNotModified {
		w.WriteHeader(code)
		return
	}
	h["Content-Length"] = s.contentLen
	w.WriteHeader(code)
	if len(s.body) > 0 {
		_, _ = w.Write(s.body)
	}
}

// sampleLatency draws the latency of one response.
func (s *Server) sampleLatency() time.Duration {
	l := s.cfg.Latency
	if !l.random() {
		return l.Sample(nil)
	}
	r := s.rngs.Get().(*rand.Rand)
	d := l.Sample(r)
	s.rngs.Put(r)
	return d
}
