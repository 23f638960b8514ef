package main

import (
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"volley/bench"
)

// newServeCmd returns "volley serve", which runs the built-in target server
// until interrupted.
func newServeCmd(stdout, stderr io.Writer) *cobra.Command {
	var (
		addr     string
		latency  string
		status   string
		bodySize int
		stall    string
		seed     uint64
		wsFault  string
		bcRate   float64
		tlsOn    bool
		caOut    string
		h2c      bool
		faults   []string
	)
	cmd := &cobra.Command{
		Use:   "serve [flags]",
		Short: "Run the built-in target server",
		Long: `serve runs volley's built-in HTTP target server until interrupted (Ctrl-C or
SIGTERM). Every path answers with a status from --status after a latency drawn
from --latency, with a body of --body-size bytes ("hello" repeated) and
Content-Type: text/plain. With --tls it serves HTTPS (HTTP/2 and HTTP/1.1 by
ALPN) with a certificate made at start by an authority made for this server
alone; --h2c adds HTTP/2 over cleartext.

--latency SPEC, latency added to every response (default none):
  5ms                 fixed
  uniform:1ms-9ms     uniform between MIN and MAX
  normal:5ms,1ms      normal MEAN,STDEV, truncated at 0
  lognormal:2ms,0.5   lognormal MEDIAN,SIGMA
  exp:2ms             exponential with that MEAN

--status MIX, status codes as CODE or CODE:WEIGHT,... (default 200): codes
are 200..599, weights positive integers. Codes are interleaved evenly: every
run of sum(weights) responses holds exactly WEIGHT of each code.

--stall at=START,for=LENGTH holds every request arriving in that window,
measured from the first request (after start or reset), until it ends.

--fault KIND[:RATE] misbehaves on a share RATE of load requests (a fraction
or a percentage; default every request). Repeatable; the rates add up to at
most 1. Faults are interleaved evenly, so reset:0.1 over 1000 requests resets
exactly 100.
  reset            TCP RST instead of a response
  close            close the connection without a byte
  close-mid-body   send half the declared body, close
  garbage          bytes that are not HTTP, close
  slow             a byte every 10ms, then close
  hang             never answer (until the client or the server closes)
  huge             a 1 GiB body (beyond --max-body)
  bad-chunked      a chunk size that is not hex
  bad-status-line  a status code that is not a number
  1xx              100 and 103 before the final response

WebSocket endpoints (an upgrade request; anything else is answered like
every other path):
  /ws             echo: each message comes back unchanged, in order, after
                  --latency and held by --stall; ?fault=SPEC overrides
                  --ws-fault for one connection
  /ws/broadcast   pushes {"seq":N,"ts_ns":T} text messages, message N
                  intended at N/rate s after the upgrade and stamped with
                  that time in Unix nanoseconds, sent after --latency and
                  --stall; ?rate=N overrides --broadcast-rate

WebRTC endpoints (a POST of a complete SDP offer with a data channel,
answered 201 with a Location to DELETE and the answer; one UDP port for all):
  /rtc            echo on every data channel the client opens, after
                  --latency and held by --stall; --ws-fault's drop and close
                  apply per channel
  /rtc/broadcast  pushes {"seq":N,"ts_ns":T} on every channel, as
                  /ws/broadcast does

--ws-fault SPEC makes the /ws echo misbehave:
  drop=10              no echo for every 10th message
  close=100,code=1011  after 100 echoes, a close frame 1011 on the next
                       message
  close=5,abrupt       ... a TCP close, no close frame
  close=5,reset        ... a TCP reset
  close=5,invalid      ... an invalid frame

Control endpoints (neither counted, delayed nor stalled):
  GET  /_volley/stats   responses by status code, faults injected and
                        arrivals per 100 ms, JSON
  POST /_volley/reset   zero the counts and re-arm the stall (204)`,
		Example: `  volley serve
  volley serve --addr 127.0.0.1:9000 --latency exp:2ms --status 200:99,500:1
  volley serve --latency 1ms --stall at=2s,for=1s --fault reset:0.1
  volley serve --ws-fault drop=100 --broadcast-rate 1000
  volley serve --tls --cacert-out ca.pem --addr 127.0.0.1:8443`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usageErrorf("serve: unexpected argument %q", args[0])
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg := bench.Config{Addr: addr, Seed: int64(seed)}
			var err error
			if cfg.Latency, err = bench.ParseLatency(latency); err != nil {
				return usageErrorf("--latency: %w", err)
			}
			if cfg.Status, err = bench.ParseStatusMix(status); err != nil {
				return usageErrorf("--status: %w", err)
			}
			if cfg.Stall, err = bench.ParseStall(stall); err != nil {
				return usageErrorf("--stall: %w", err)
			}
			if cfg.WSFault, err = bench.ParseWSFault(wsFault); err != nil {
				return usageErrorf("--ws-fault: %w", err)
			}
			if !(bcRate > 0) || bcRate > bench.MaxBroadcastRate {
				return usageErrorf("--broadcast-rate %v: want messages per second, more than 0 and at most %d", bcRate, bench.MaxBroadcastRate)
			}
			cfg.BroadcastRate = bcRate
			if cfg.Faults, err = bench.ParseFaults(faults); err != nil {
				return usageErrorf("--fault: %w", err)
			}
			switch {
			case bodySize < 0 || bodySize > bench.MaxBodySize:
				return usageErrorf("--body-size: %d out of range 0..%d", bodySize, bench.MaxBodySize)
			case bodySize == 0:
				cfg.BodySize = bench.NoBody
			default:
				cfg.BodySize = bodySize
			}

			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			switch {
			case caOut != "" && !tlsOn:
				return usageErrorf("--cacert-out: needs --tls")
			case h2c && tlsOn:
				return usageErrorf("--h2c: is cleartext; with --tls, HTTP/2 is negotiated by ALPN")
			case h2c:
				cfg.H2C = true
			case tlsOn:
				host, _, _ := net.SplitHostPort(addr)
				cert, err := bench.NewCertificate(host)
				if err != nil {
					return fmt.Errorf("serve: %w", err)
				}
				if caOut != "" {
					if err := os.WriteFile(caOut, cert.CAPEM, 0o644); err != nil {
						return usageErrorf("--cacert-out: %w", err)
					}
				}
				cfg.TLS = &cert
			}
			srv, err := bench.Start(cfg)
			if err != nil {
				return fmt.Errorf("serve: %w", err)
			}
			fmt.Fprintf(stderr, "volley serve: listening on %s\n", srv.URL())
			<-ctx.Done()
			if err := srv.Close(); err != nil {
				return fmt.Errorf("serve: close %s: %w", srv.URL(), err)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.SortFlags = false
	f.StringVar(&addr, "addr", bench.DefaultAddr, "`HOST:PORT` to listen on; port 0 picks a free port, printed on startup")
	f.StringVar(&latency, "latency", "", "latency `SPEC` added to every response: 5ms, uniform:1ms-9ms, normal:5ms,1ms, lognormal:2ms,0.5, exp:2ms")
	f.StringVar(&status, "status", "200", "status `MIX`: CODE or CODE:WEIGHT,... e.g. 200:90,404:5,500:5")
	bodySize = bench.DefaultBodySize
	f.Var(sizeValue{&bodySize}, "body-size", "response body size (bytes, or with a unit: 64KiB; 0 for none; 204 and 304 never have one)")
	f.StringVar(&stall, "stall", "", "stall `SPEC` at=START,for=LENGTH: hold requests arriving in that window")
	f.Uint64Var(&seed, "seed", 1, "seed `N` for latency sampling")
	f.StringVar(&wsFault, "ws-fault", "", "/ws echo fault `SPEC`: drop=N, close=N[,code=C|,abrupt|,reset|,invalid]")
	bcRate = bench.DefaultBroadcastRate
	f.Var(rateValue{&bcRate}, "broadcast-rate", "messages per second /ws/broadcast pushes to each subscriber, N or N/s")
	f.BoolVar(&tlsOn, "tls", false, "serve HTTPS (HTTP/2 and HTTP/1.1) with a certificate made at start")
	f.StringVar(&caOut, "cacert-out", "", "with --tls, write the CA certificate (PEM) to this `FILE`")
	f.BoolVar(&h2c, "h2c", false, "also serve HTTP/2 over cleartext (h2c)")
	f.StringArrayVar(&faults, "fault", nil, "fault `KIND[:RATE]` (repeatable): reset, close, close-mid-body, garbage, slow, hang, huge, bad-chunked, bad-status-line, 1xx")
	return cmd
}
