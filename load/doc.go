// Package load is the engine: it sends a plan's requests or messages at
// their intended times and records each one's outcome. It knows no
// protocol; protocols plug in as a Client.
//
// A Schedule is a pure function from a request's index to its intended send
// time: Constant (evenly spaced at a fixed rate), Ramp (stages of linear
// ramps and holds, by the inverse of the rate's integral) or Poisson
// (exponential gaps from a counter-based hash of the seed and the index,
// through the same inverse). A closed loop may instead follow a Concurrency
// shape: workers beyond the active count park until it grows. A warm-up is a
// first stage whose samples are flagged and kept out of the statistics.
// Shards of one plan on several machines send the indexes i with
// i mod N == K at their global intended times.
//
// Tickets are claimed with an atomic add; when every connection is busy, due
// tickets wait to be claimed: the backlog is a counter, not a queue, and its
// waiting counts in the corrected latency (from the intended time) but not
// in the service latency (from the actual send). Each worker or connection
// records into its own stats.Recorder, without locks.
//
// A Client makes one of two kinds of connection. A Conn carries one request
// at a time: Run gives it a worker goroutine that calls Do(i) and waits. A
// MuxClient's MuxConn carries many (HTTP/2 streams, pipelined HTTP/1.1,
// full-duplex WebSocket): Run gives each connection a sender that hands it
// every due ticket at once while it has a free slot (up to --streams, or the
// server's cap), and the connection reports each answer through Answers,
// recorded against that ticket's intended time. A second interrupt abandons
// what is in flight: each such request is recorded as abandoned, so the
// result still accounts for every request sent.
//
// Protocol packages (load/http1, load/h2, load/ws) are chosen by
// load/protocols and package main; requests are compiled by load/request
// and connections made by load/dial.
package load
