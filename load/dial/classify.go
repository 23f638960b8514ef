package dial

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"os"
	"strings"
	"syscall"

	"volley/stats"
)

// Classify maps a transport error to its category. An error in err's chain
// that has an ErrorKind method (a protocol's own errors: a reset stream, a
// body beyond the limit) names its category itself; anything else is told
// by what the network, TLS and the system report.
func Classify(err error) stats.ErrorKind {
	if err == nil {
		return stats.ErrNone
	}
	var own interface{ ErrorKind() stats.ErrorKind }
	if errors.As(err, &own) {
		return own.ErrorKind()
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
	switch {
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
	case errors.Is(err, os.ErrDeadlineExceeded):
		return stats.ErrTimeout
	case errors.As(err, &netErr) && netErr.Timeout():
		return stats.ErrTimeout
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
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

// ProtocolError is an answer that breaks HTTP in a way volley refuses:
// headers beyond the bound, header lines ending in bare LFs, bytes that no
// request asked for. It counts in the protocol category. (A response that
// cannot be parsed at all, a status outside 100..599 among them, stays in
// the other category.)
type ProtocolError struct{ Err error }

func (e ProtocolError) Error() string { return e.Err.Error() }

func (e ProtocolError) Unwrap() error { return e.Err }

// ErrorKind counts the error as a protocol error.
func (e ProtocolError) ErrorKind() stats.ErrorKind { return stats.ErrProtocol }
