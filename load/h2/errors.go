package h2

import (
	"errors"
	"fmt"
	"net"

	"golang.org/x/net/http2"

	"volley/stats"
)

var (
	// ErrNoSlot is Send's answer when every stream slot is in use: wait
	// for an OnDone, or use another connection.
	ErrNoSlot = errors.New("h2: no free stream slot")
	// ErrExhausted is Send's answer once stream ids would pass 2^31-1: the
	// connection can open no more streams and the caller should redial.
	ErrExhausted = errors.New("h2: stream ids exhausted; open a new connection")
	// ErrClosed fails the streams outstanding when Close is called, and
	// every Send after it. It wraps net.ErrClosed.
	ErrClosed = fmt.Errorf("h2: connection closed: %w", net.ErrClosed)
	// ErrBodyTooLarge fails a stream whose response body (or its declared
	// content-length) exceeds Options.MaxBody; the stream is cancelled.
	ErrBodyTooLarge error = &limitError{"h2: response body exceeds the limit", stats.ErrBodyTooLarge}
	// ErrHeaderTooLarge fails a stream whose response header block decodes
	// to more than Options.MaxHeaderBytes; the stream is reset.
	ErrHeaderTooLarge error = &limitError{"h2: response header block exceeds the limit", stats.ErrProtocol}
)

// limitError is a bound the response passed; it names its category.
type limitError struct {
	msg  string
	kind stats.ErrorKind
}

func (e *limitError) Error() string { return e.msg }

// ErrorKind is the category the error is counted in.
func (e *limitError) ErrorKind() stats.ErrorKind { return e.kind }

// ResetError fails a stream the server reset with RST_STREAM; the value is
// the HTTP/2 error code the server gave (REFUSED_STREAM means the server
// did not process the request, so retrying it is safe).
type ResetError http2.ErrCode

var _ error = ResetError(0)

func (e ResetError) Error() string {
	return "h2: stream reset by server: " + http2.ErrCode(e).String()
}

// ErrorKind counts a reset stream as a reset.
func (e ResetError) ErrorKind() stats.ErrorKind { return stats.ErrReset }

// GoAwayError fails the streams a server's GOAWAY left unprocessed (ids
// above LastStreamID) and every Send after it. Those requests never
// reached a handler, so they are safe to retry on a new connection. It
// wraps ErrClosed (and so net.ErrClosed) for classification.
type GoAwayError struct {
	LastStreamID uint32
	Code         http2.ErrCode
	Debug        string
}

var _ error = (*GoAwayError)(nil)

func (e *GoAwayError) Error() string {
	s := fmt.Sprintf("h2: connection closed by server (GOAWAY %v, last stream %d)", e.Code, e.LastStreamID)
	if e.Debug != "" {
		s += ": " + e.Debug
	}
	return s
}

func (e *GoAwayError) Unwrap() error { return ErrClosed }

// ProtocolError ends the connection when the server breaks HTTP/2 in a way
// that leaves the connection's state unknown (a connection error, RFC 9113
// 5.4.1); we send GOAWAY with Code before closing.
type ProtocolError struct {
	Code   http2.ErrCode
	Reason string
}

var _ error = (*ProtocolError)(nil)

// ErrorKind counts a broken connection as a protocol error.
func (e *ProtocolError) ErrorKind() stats.ErrorKind { return stats.ErrProtocol }

func (e *ProtocolError) Error() string {
	return fmt.Sprintf("h2: server broke the protocol (%v): %s", e.Code, e.Reason)
}
