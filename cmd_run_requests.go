package main

import (
	"crypto/rand"
	"crypto/tls"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/spf13/pflag"

	"volley/load"
	"volley/load/dial"
	"volley/load/request"
)

// requestOptions are the flags of `volley run` that shape requests and
// connections: targets files, templates, checks, protocol and TLS.
type requestOptions struct {
	targets        string
	seed           uint64
	data           string
	dataOrder      string
	expectStatus   string
	expectBody     string
	http2          bool
	h2c            bool
	insecure       bool
	cacert         string
	cert           string
	key            string
	serverName     string
	noKeepAlive    bool
	unixSocket     string
	proxy          string
	followRedirect int
	compressed     bool
	maxHeader      int

	flags *pflag.FlagSet
}

func (o *requestOptions) register(f *pflag.FlagSet) {
	o.flags = f
	f.StringVar(&o.targets, "targets", "", "send the requests of this targets file (plain HTTP or JSON lines; - for stdin) instead of URL")
	f.Uint64Var(&o.seed, "seed", 0, "seed everything random: pick targets at random (default: interleave by weight), {{rand}}, {{uuid}}, random --data rows and --arrival poisson gaps; without it a random seed is drawn and recorded")
	f.StringVar(&o.data, "data", "", "CSV file (header row first) whose rows feed {{csv.COLUMN}} templates")
	f.StringVar(&o.dataOrder, "data-order", "round-robin", "order of --data rows: round-robin or random")
	f.StringVar(&o.expectStatus, "expect-status", "", "check every response's status, e.g. 200,204 or 2xx; failures count as check_failed")
	f.StringVar(&o.expectBody, "expect-body", "", "check every response body contains this text, or matches /REGEXP/")
	f.BoolVar(&o.http2, "http2", false, "speak HTTP/2 over TLS (ALPN; falls back to HTTP/1.1 if the server declines)")
	f.BoolVar(&o.h2c, "h2c", false, "speak HTTP/2 over cleartext (prior knowledge) to an http:// URL")
	f.BoolVar(&o.insecure, "insecure", false, "do not verify the server's TLS certificate")
	f.StringVar(&o.cacert, "cacert", "", "verify the server's certificate against these PEM certificate authorities")
	f.StringVar(&o.cert, "cert", "", "client certificate (PEM), with --key")
	f.StringVar(&o.key, "key", "", "client certificate's private key (PEM), with --cert")
	f.StringVar(&o.serverName, "servername", "", "TLS server name to send (SNI) and verify, instead of the URL's host")
	f.BoolVar(&o.noKeepAlive, "no-keepalive", false, "open a new connection for every request")
	f.StringVar(&o.unixSocket, "unix-socket", "", "connect to this unix socket instead of the URL's host")
	f.StringVar(&o.proxy, "proxy", "", "tunnel every connection through this HTTP proxy with CONNECT (http://HOST:PORT)")
	f.IntVar(&o.followRedirect, "follow-redirects", 0, "follow up to N redirects (default 0: a 3xx is counted as such)")
	f.BoolVar(&o.compressed, "compressed", false, "ask for compressed responses (Accept-Encoding: gzip, deflate, br over HTTP/1.1; gzip over HTTP/2) and decompress them for --expect-body")
	o.maxHeader = load.DefaultMaxHeader
	f.Var(sizeValue{&o.maxHeader}, "max-header", "largest response header block, status line to blank line (4KiB to 16MiB; over HTTP/2 the header list size); larger ones count as protocol errors")
}

// apply completes cfg (whose Request holds --method, --header and --body)
// with the targets, templates, checks and connection options. stdin serves
// --targets -.
func (o *requestOptions) apply(cfg *load.Config, target string, stdin io.Reader) error {
	if o.maxHeader < load.MinMaxHeader || o.maxHeader > load.MaxMaxHeader {
		return usageErrorf("--max-header: %d bytes: want 4KiB to 16MiB", o.maxHeader)
	}
	cfg.MaxHeader = o.maxHeader
	if o.flags.Changed("seed") {
		cfg.Seed, cfg.Random = o.seed, true
	} else {
		// Random template values differ from run to run unless seeded.
		var b [8]byte
		_, _ = rand.Read(b[:])
		cfg.Seed = binary.LittleEndian.Uint64(b[:])
	}
	if o.data != "" {
		f, err := os.Open(o.data)
		if err != nil {
			return usageErrorf("--data: %w", err)
		}
		d, err := request.ReadData(f)
		f.Close()
		if err != nil {
			return usageErrorf("--data: %s: %w", o.data, err)
		}
		cfg.Data = d
	}
	switch o.dataOrder {
	case "round-robin", "rr":
	case "random":
		cfg.DataRandom = true
	default:
		return usageErrorf("--data-order: %q: want round-robin or random", o.dataOrder)
	}
	if o.targets != "" {
		if target != "" {
			return usageErrorf("--targets: give a URL argument or --targets, not both")
		}
		if o.flags.Changed("method") || o.flags.Changed("body") || o.flags.Changed("body-file") {
			return usageErrorf("--targets: --method, --body and --body-file apply to a single URL; set them in the targets file")
		}
		var (
			r   io.Reader = stdin
			dir string
		)
		if o.targets != "-" {
			f, err := os.Open(o.targets)
			if err != nil {
				return usageErrorf("--targets: %w", err)
			}
			defer f.Close()
			r, dir = f, filepath.Dir(o.targets)
		}
		ts, err := request.ParseTargets(r, dir)
		if err != nil {
			return usageErrorf("--targets: %s: %w", o.targets, err)
		}
		// --header applies to every target, before the target's own.
		for i := range ts {
			ts[i].Headers = append(append([]request.Header(nil), cfg.Request.Headers...), ts[i].Headers...)
		}
		cfg.Targets = ts
		cfg.Request = request.Request{}
	} else if _, err := request.ParseTargetURL(target); err != nil {
		return usageError{err}
	}

	if o.expectStatus != "" {
		st, err := request.ParseExpectStatus(o.expectStatus)
		if err != nil {
			return usageErrorf("--expect-status: %w", err)
		}
		cfg.Expect.Status = st
	}
	if o.flags.Changed("expect-body") {
		sub, re, err := request.ParseExpectBody(o.expectBody)
		if err != nil {
			return usageErrorf("--expect-body: %w", err)
		}
		cfg.Expect.Body, cfg.Expect.BodyRegexp = sub, re
	}
	return o.applyConn(&cfg.Conn)
}

func (o *requestOptions) applyConn(c *dial.Options) error {
	switch {
	case o.http2 && o.h2c:
		return usageErrorf("--http2 and --h2c: give one, not both")
	case o.http2:
		c.Protocol = dial.HTTP2
	case o.h2c:
		c.Protocol = dial.H2C
	}
	c.Insecure, c.ServerName = o.insecure, o.serverName
	if o.cacert != "" {
		pool, err := dial.LoadCertPool(o.cacert)
		if err != nil {
			return usageErrorf("--cacert: %w", err)
		}
		c.RootCAs = pool
	}
	switch {
	case (o.cert == "") != (o.key == ""):
		return usageErrorf("--cert and --key: give both or neither")
	case o.cert != "":
		pair, err := tls.LoadX509KeyPair(o.cert, o.key)
		if err != nil {
			return usageErrorf("--cert/--key: %w", err)
		}
		c.Certificates = []tls.Certificate{pair}
	}
	c.NoKeepAlive, c.UnixSocket, c.Compressed = o.noKeepAlive, o.unixSocket, o.compressed
	if o.unixSocket != "" {
		if st, err := os.Stat(o.unixSocket); err != nil {
			return usageErrorf("--unix-socket: %w", err)
		} else if st.Mode()&os.ModeSocket == 0 {
			return usageErrorf("--unix-socket: %s is not a socket", o.unixSocket)
		}
	}
	if o.proxy != "" {
		u, err := url.Parse(o.proxy)
		if err != nil || u.Scheme != "http" || u.Host == "" {
			return usageErrorf("--proxy: %q: want http://HOST:PORT", o.proxy)
		}
		c.Proxy = u
	}
	if o.followRedirect < 0 || o.followRedirect > dial.MaxRedirects {
		return usageErrorf("--follow-redirects: %d: want 0 to %d", o.followRedirect, dial.MaxRedirects)
	}
	c.FollowRedirects = o.followRedirect
	return nil
}

// sizeValue is a flag holding a byte count written as a plain number or
// with a unit: 512, 64KiB, 10MB, 1GiB (KB, MB, GB are powers of 1000; KiB,
// MiB, GiB and K, M, G powers of 1024).
type sizeValue struct{ n *int }

var _ pflag.Value = sizeValue{}

// String writes the size as Set reads it back: with the largest binary
// unit that divides it (64MiB), else in bytes.
func (s sizeValue) String() string {
	if s.n == nil {
		return "0"
	}
	n := *s.n
	switch {
	case n >= 1<<30 && n%(1<<30) == 0:
		return strconv.Itoa(n>>30) + "GiB"
	case n >= 1<<20 && n%(1<<20) == 0:
		return strconv.Itoa(n>>20) + "MiB"
	case n >= 1<<10 && n%(1<<10) == 0:
		return strconv.Itoa(n>>10) + "KiB"
	}
	return strconv.Itoa(n)
}

func (s sizeValue) Type() string { return "size" }

func (s sizeValue) Set(v string) error {
	t := strings.TrimSpace(v)
	num := strings.TrimRightFunc(t, func(r rune) bool { return r < '0' || r > '9' })
	unit := strings.TrimSpace(t[len(num):])
	mult, ok := map[string]int64{"": 1, "B": 1, "K": 1 << 10, "KiB": 1 << 10, "KB": 1000,
		"M": 1 << 20, "MiB": 1 << 20, "MB": 1000 * 1000, "G": 1 << 30, "GiB": 1 << 30, "GB": 1000 * 1000 * 1000}[unit]
	n, err := strconv.ParseInt(num, 10, 64)
	if !ok || err != nil || num == "" || n < 0 {
		return fmt.Errorf("%q: want a byte count such as 1048576, 64KiB or 10MB", v)
	}
	if n > math.MaxInt32/mult {
		return fmt.Errorf("%q: at most 2 GiB", v)
	}
	*s.n = int(n * mult)
	return nil
}

// rateValue is a flag of events per second: every rate flag takes "100"
// or "100/s" and keeps a float64. Ranges are checked where the rate is
// used.
type rateValue struct{ r *float64 }

var _ pflag.Value = rateValue{}

func (v rateValue) String() string {
	if v.r == nil {
		return "0"
	}
	return strconv.FormatFloat(*v.r, 'g', -1, 64)
}

func (v rateValue) Type() string { return "rate" }

func (v rateValue) Set(s string) error {
	r, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(s), "/s"), 64)
	if err != nil || r != r {
		return fmt.Errorf("want a number per second, e.g. 100 or 100/s")
	}
	*v.r = r
	return nil
}
