package stats

import "time"

// ErrorKind classifies a transport error: a request that got no HTTP response.
type ErrorKind uint8

// Transport error categories. ErrNone means the request got a response.
const (
	ErrNone ErrorKind = iota
	ErrTimeout
	ErrRefused
	ErrReset
	ErrDNS
	ErrTLS
	ErrClosed
	ErrBodyTooLarge
	ErrOther
	// ErrHandshake: a WebSocket upgrade was refused or answered by something
	// that is not a WebSocket server.
	ErrHandshake
	// ErrProtocol: the peer broke its protocol: an invalid WebSocket frame,
	// an HTTP response that cannot be parsed, or bytes no request asked for.
	ErrProtocol
	// ErrLocal: the generator itself ran out (descriptors, ephemeral ports),
	// not the target: the request never reached it.
	ErrLocal
	// ErrAbandoned: the request was in flight when a second interrupt told
	// volley to stop waiting; its answer, if any came, was not awaited.
	ErrAbandoned
	// ErrClockSkew: a subscribed message stamped later than it arrived (the
	// server's clock is ahead): its latency cannot be known.
	ErrClockSkew
	numErrorKinds
)

// NumErrorKinds is the number of error categories including ErrNone.
const NumErrorKinds = int(numErrorKinds)

var errorKindNames = [...]string{"", "timeout", "refused", "reset", "dns", "tls", "closed", "body_too_large", "other",
	"handshake", "protocol", "local", "abandoned", "clock_skew"}

// String returns the category's name as used in reports and JSON.
func (k ErrorKind) String() string {
	if int(k) < len(errorKindNames) {
		return errorKindNames[k]
	}
	return "other"
}

// ErrorKinds lists the real error categories in report order.
func ErrorKinds() []ErrorKind {
	return []ErrorKind{ErrTimeout, ErrRefused, ErrReset, ErrDNS, ErrTLS, ErrClosed, ErrBodyTooLarge, ErrOther,
		ErrHandshake, ErrProtocol, ErrLocal, ErrAbandoned, ErrClockSkew}
}

// Class is a status class (1xx..5xx), ClassError for transport errors, or
// ClassAnswered for answers that carry no HTTP status (messages).
type Class uint8

// Classes in report order.
const (
	Class1xx Class = iota
	Class2xx
	Class3xx
	Class4xx
	Class5xx
	ClassError
	// ClassAnswered is an answer without an HTTP status: a message's echo,
	// or a message received subscribing (code Answered, no error).
	ClassAnswered
	numClasses
)

// NumClasses counts the five status classes, ClassError and ClassAnswered.
const NumClasses = int(numClasses)

var classNames = [...]string{"1xx", "2xx", "3xx", "4xx", "5xx", "error", "answered"}

// String returns "1xx".."5xx", "error" or "answered".
func (c Class) String() string { return classNames[c] }

// StatusClasses lists the five HTTP status classes.
func StatusClasses() []Class { return []Class{Class1xx, Class2xx, Class3xx, Class4xx, Class5xx} }

// ClassOf returns the class of a sample: its status class, ClassError for
// a transport error, or ClassAnswered for an answered message (code
// Answered). Other codes outside 100..599 count as ClassError.
func ClassOf(code int, kind ErrorKind) Class {
	switch {
	case kind != ErrNone:
		return ClassError
	case code == Answered:
		return ClassAnswered
	case code < 100 || code > 599:
		return ClassError
	}
	return Class(code/100 - 1)
}

// LateThreshold is how far behind its intended time a send must be to count
// as late.
const LateThreshold = time.Millisecond

// Sample is the outcome of one request. It is a plain value: recording it
// copies 56 bytes and allocates nothing.
type Sample struct {
	// Done is when the request completed, in nanoseconds since the run's start.
	Done int64
	// Corrected is completion minus the intended send time (ns).
	Corrected int64
	// Service is completion minus the actual send time (ns).
	Service int64
	// BytesIn is the response size as read (status line, headers and body).
	BytesIn int64
	// Code is the HTTP status code, or 0 for a transport error.
	Code uint16
	// Err is the transport error category, ErrNone for a response.
	Err ErrorKind
	// Target is the index of the request template (0 for a single target).
	Target uint8
	// Warmup marks a request of the warm-up: it is counted apart and kept
	// out of every statistic.
	Warmup bool
	// Check holds the checks the response failed (CheckStatus, CheckBody);
	// 0 when it passed them or none were asked for.
	Check uint8
	// First is the status of the first response when redirects were
	// followed; 0 when none was.
	First uint16
	// Phases is where the time went, as far as the client could observe.
	Phases Phases
}

// Lag is how late the request was sent: actual send minus intended (ns).
func (s *Sample) Lag() int64 { return s.Corrected - s.Service }
