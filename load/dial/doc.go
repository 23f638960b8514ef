// Package dial makes the connections every protocol sends on, and says what
// went wrong when one fails.
//
// A Dialer connects to an Endpoint the way Options say: TCP or a unix
// socket, optionally through an HTTP CONNECT proxy, then TLS (verified by
// default, with the server name, CAs, client certificates and ALPN the run
// asks for). It counts every byte both ways and, with a Probe, observes the
// connect and handshake times and the first write and read of a request.
// On Linux a plain TCP connection also gets a RawIO: reads and writes on
// the socket itself, and a request sent by the read that awaits its answer
// (one system call less per request).
//
// Classify maps a transport error to its stats category. Errors that know
// their category (a protocol's own, such as ProtocolError) say so through
// an ErrorKind method; the rest are told by what the network, TLS and the
// system report.
package dial
