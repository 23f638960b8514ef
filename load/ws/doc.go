// Package ws is volley's WebSocket client (RFC 6455).
//
// Client opens one connection per worker (paced by --connect-rate) through
// the shared dialler, so TLS, proxy and unix-socket options work as they do
// for HTTP. In echo mode, message i carries i as its id (or nothing, with
// --match fifo) and goes out at its intended time whatever echoes are
// outstanding on its connection: the engine's multiplexed path (Engine), with
// echoes matched back to their messages by id. In subscribe mode connections
// only listen, and each pushed message's latency is measured from the
// timestamp the server put in it. The messages, their ids, matching and
// the table of those awaiting their echo are package message's, shared
// with every message protocol.
package ws
