package load

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"os"
	"strings"
	"syscall"

	"github.com/valyala/fasthttp"

	"volley/load/h2"
	"volley/stats"
)

// Classify maps a transport error to its category.
func Classify(err error) stats.ErrorKind {
	if err == nil {
		return stats.ErrNone
	}
	var (
		dnsErr   *net.DNSError
		recErr   tls.RecordHeaderError
		alertErr tls.AlertError
		certErr  *tls.CertificateVerificationError
		unkAuth  x509.UnknownAuthorityError
		hostErr  x509.HostnameError
		invErr   x509.CertificateInvalidError
		netErr   net.Error
	)
	var (
		h2Reset    h2.ResetError
		h2Protocol *h2.ProtocolError
	)
	switch {
	case errors.Is(err, fasthttp.ErrBodyTooLarge), errors.Is(err, h2.ErrBodyTooLarge):
		return stats.ErrBodyTooLarge
	case errors.Is(err, h2.ErrHeaderTooLarge), errors.As(err, &h2Protocol):
		return stats.ErrProtocol
	case errors.As(err, &h2Reset):
		return stats.ErrReset // RST_STREAM from the server
	case errors.Is(err, syscall.EMFILE), errors.Is(err, syscall.ENFILE), errors.Is(err, syscall.EADDRNOTAVAIL):
		// Out of descriptors or ephemeral ports: the generator's own
		// limit, not the target's fault.
		return stats.ErrLocal
	case errors.As(err, &dnsErr):
		return stats.ErrDNS
	case errors.Is(err, syscall.ECONNREFUSED):
		return stats.ErrRefused
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE), errors.Is(err, syscall.ECONNABORTED):
		return stats.ErrReset
	case errors.As(err, &recErr), errors.As(err, &alertErr), errors.As(err, &certErr),
		errors.As(err, &unkAuth), errors.As(err, &hostErr), errors.As(err, &invErr):
		return stats.ErrTLS
	case errors.Is(err, fasthttp.ErrTimeout), errors.Is(err, fasthttp.ErrDialTimeout),
		errors.Is(err, os.ErrDeadlineExceeded), errors.Is(err, fasthttp.ErrNoFreeConns):
		return stats.ErrTimeout
	case errors.As(err, &netErr) && netErr.Timeout():
		return stats.ErrTimeout
	case errors.Is(err, fasthttp.ErrConnectionClosed), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, net.ErrClosed):
		return stats.ErrClosed
	}
	msg := err.Error()
	switch {
	case strings.Contains(msg, "tls:"), strings.Contains(msg, "x509:"):
		return stats.ErrTLS
	case strings.Contains(msg, "timeout"), strings.Contains(msg, "timed out"):
		return stats.ErrTimeout
	case strings.Contains(msg, "connection reset"):
		return stats.ErrReset
	case strings.Contains(msg, "closed"):
		return stats.ErrClosed
	}
	return stats.ErrOther
}
