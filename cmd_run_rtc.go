package main

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/pion/webrtc/v4"
	"github.com/spf13/cobra"

	"volley/load"
	"volley/load/rtc"
	"volley/report"
)

// rtcOptions are the WebRTC flags of `volley run`; the messages are the
// message flags' (wsOptions).
type rtcOptions struct {
	on             bool
	channels       int
	label          string
	unordered      bool
	maxRetransmits int
	maxPacketLife  time.Duration
	iceServers     []string
	icePorts       string
	udpMux         bool

	cfg rtc.Config // set by check
}

// rtcFlags are the flags that mean something for --webrtc only.
var rtcFlags = []string{"channels", "label", "unordered", "max-retransmits", "max-packet-life", "ice-server", "ice-ports", "udp-mux"}

func (r *rtcOptions) addFlags(cmd *cobra.Command) {
	f := cmd.Flags()
	f.BoolVar(&r.on, "webrtc", false, "WebRTC: URL is a WHIP-shaped signalling endpoint (POST offer, 201 + Location + answer, DELETE); messages go over data channels; -c counts peer connections")
	f.IntVar(&r.channels, "channels", 1, "WebRTC: data channels per peer connection")
	f.StringVar(&r.label, "label", rtc.DefaultLabel, "WebRTC: the data channels' label")
	f.BoolVar(&r.unordered, "unordered", false, "WebRTC: unordered data channels")
	r.maxRetransmits = -1
	f.IntVar(&r.maxRetransmits, "max-retransmits", -1, "WebRTC: partially reliable channels: at most N retransmissions of a message (-1 = reliable)")
	f.DurationVar(&r.maxPacketLife, "max-packet-life", 0, "WebRTC: partially reliable channels: retransmit a message for at most D (0 = reliable)")
	f.StringArrayVar(&r.iceServers, "ice-server", nil, "WebRTC: STUN or TURN server, stun:HOST:PORT or turn:USER:PASSWORD@HOST:PORT (repeatable; credentials never shown)")
	f.StringVar(&r.icePorts, "ice-ports", "", "WebRTC: UDP ports of host candidates, MIN-MAX")
	f.BoolVar(&r.udpMux, "udp-mux", false, "WebRTC: every peer connection on one UDP socket (the server must give each session its own port)")
}

// check validates the WebRTC flags and builds the configuration from them
// and the message flags' w.
func (r *rtcOptions) check(cfg *load.Config, w *wsOptions, changed func(string) bool) error {
	if !r.on {
		for _, name := range rtcFlags {
			if changed(name) {
				return usageErrorf("--%s: only with --webrtc", name)
			}
		}
		return nil
	}
	c := rtc.Config{
		Mode: w.cfg.Mode, Match: w.cfg.Match, Payload: w.cfg.Payload, Binary: w.cfg.Binary,
		ConnectRate: w.cfg.ConnectRate, Channels: r.channels, Label: r.label, Unordered: r.unordered,
		MaxPacketLife: r.maxPacketLife, UDPMux: r.udpMux,
	}
	switch {
	case r.channels < 1 || r.channels > 1024:
		return usageErrorf("--channels %d: want 1 to 1024 per peer connection", r.channels)
	case r.maxRetransmits < -1 || r.maxRetransmits > 65535:
		return usageErrorf("--max-retransmits %d: want 0 to 65535 (-1 = reliable)", r.maxRetransmits)
	case r.maxRetransmits >= 0 && r.maxPacketLife > 0:
		return usageErrorf("--max-retransmits and --max-packet-life: give one; a channel is partially reliable one way")
	case r.maxPacketLife < 0 || r.maxPacketLife > 65535*time.Millisecond:
		return usageErrorf("--max-packet-life %v: want 1ms to 65.535s", r.maxPacketLife)
	}
	if r.maxRetransmits >= 0 {
		n := uint16(r.maxRetransmits)
		c.MaxRetransmits = &n
	}
	if r.icePorts != "" {
		lo, hi, ok := strings.Cut(r.icePorts, "-")
		a, err1 := strconv.ParseUint(lo, 10, 16)
		b, err2 := strconv.ParseUint(hi, 10, 16)
		if !ok || err1 != nil || err2 != nil || a == 0 || a > b {
			return usageErrorf("--ice-ports %q: want MIN-MAX, 1 <= MIN <= MAX <= 65535", r.icePorts)
		}
		c.PortMin, c.PortMax = uint16(a), uint16(b)
	}
	for _, s := range r.iceServers {
		srv, err := parseICEServer(s)
		if err != nil {
			return usageErrorf("--ice-server: %w", err)
		}
		c.ICEServers = append(c.ICEServers, srv)
	}
	// The engine's connections are the data channels; the offer is POSTed.
	cfg.Connections *= r.channels
	if !changed("method") {
		cfg.Request.Method = "POST"
	}
	r.cfg = c
	return nil
}

// parseICEServer reads stun:HOST:PORT or turn:USER:PASSWORD@HOST:PORT
// (turns: for TURN over TLS; ?transport=tcp as the URL says). An error
// never shows the password.
func parseICEServer(s string) (webrtc.ICEServer, error) {
	scheme, rest, ok := strings.Cut(s, ":")
	switch {
	case !ok || rest == "":
		return webrtc.ICEServer{}, fmt.Errorf("%q: want stun:HOST:PORT or turn:USER:PASSWORD@HOST:PORT", redactICE(s))
	case scheme != "stun" && scheme != "stuns" && scheme != "turn" && scheme != "turns":
		return webrtc.ICEServer{}, fmt.Errorf("%q: scheme %q, want stun, stuns, turn or turns", redactICE(s), scheme)
	}
	srv := webrtc.ICEServer{}
	if creds, host, ok := strings.Cut(rest, "@"); ok {
		user, pass, _ := strings.Cut(creds, ":")
		u, err1 := url.PathUnescape(user)
		p, err2 := url.PathUnescape(pass)
		if err1 != nil || err2 != nil || u == "" {
			return webrtc.ICEServer{}, fmt.Errorf("%q: credentials: want USER:PASSWORD@", redactICE(s))
		}
		srv.Username, srv.Credential, rest = u, p, host
	}
	if strings.HasPrefix(scheme, "turn") && srv.Username == "" {
		return webrtc.ICEServer{}, fmt.Errorf("%q: a TURN server needs USER:PASSWORD@", redactICE(s))
	}
	srv.URLs = []string{scheme + ":" + rest}
	return srv, nil
}

// redactICE hides the credentials of an --ice-server value.
func redactICE(s string) string {
	scheme, rest, _ := strings.Cut(s, ":")
	if _, host, ok := strings.Cut(rest, "@"); ok {
		return scheme + ":REDACTED@" + host
	}
	return s
}

// client sets up the peer connections (paced by --connect-rate) for a
// plan; the client adds the WebRTC counts to the result.
func (r *rtcOptions) client(ctx context.Context, cfg load.Config, progress bool, stderr io.Writer) (load.Client, error) {
	c, err := rtc.NewClient(cfg, r.cfg)
	if err != nil {
		return nil, usageError{flagName(err)}
	}
	// No more peers than messages: a channel beyond them would send none.
	channels := int64(cfg.Connections)
	if cfg.Requests > 0 {
		channels = min(channels, cfg.Requests)
	}
	n := c.Peers(int(channels))
	if progress {
		notice(stderr, "setting up %s", report.Plural(int64(n), "peer connection"))
	}
	c.Open(ctx, n)
	return c.Engine(), nil
}
