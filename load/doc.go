// Package load generates load: schedules, the worker pool and protocol
// clients.
//
// A Schedule is a pure function from a request's index to its intended send
// time. Run starts one worker per connection; each claims the next ticket
// with an atomic add, waits until the ticket is due (if it is early), sends
// the request and records one stats.Sample into its own stats.Recorder.
// Latency is measured from the intended time ("corrected") and from the
// actual send ("service"). When every connection is busy, due tickets simply
// wait to be claimed: the backlog is a counter, not a queue, and its waiting
// is counted in the corrected latency.
//
// What a request sends is compiled once into a plan: the targets (from
// Config.Request, or a targets file read by ParseTargets), their templates
// (see Template) and a picker that maps the request index to a target by
// weight. Conn.Do(i) picks, renders into the worker's own buffers and sends;
// requests without templates are prebuilt per worker. NewClient chooses the
// protocol client: HTTPClient (fasthttp, HTTP/1.1, the default and fastest)
// or H2Client (golang.org/x/net/http2, HTTP/2 over TLS or h2c). Both dial
// through one dialer (TCP or unix socket, CONNECT proxy, TLS) that observes
// the connect and handshake phases.
//
// Schedules: Constant (evenly spaced at a fixed rate), Ramp (stages of
// linear ramps and holds, by the inverse of the rate's integral) and Poisson
// (exponential gaps from a counter-based hash of the seed and the index,
// through the same inverse). A closed loop may instead follow a Concurrency
// shape: workers beyond the active count park until it grows. A warm-up is a
// first stage whose samples are flagged and kept out of the statistics.
//
// Protocols plug in as a Client that makes one Conn per worker. HTTPClient
// sends HTTP/1.1 requests through fasthttp. WSClient (ws.go) keeps one
// WebSocket connection per worker: Do(i) sends message i, which carries i as
// its id, and waits for its echo, so a message rate gets the same schedule,
// corrected latency and tallies as a request rate. In subscribe mode Do waits
// for the next pushed message and reports its latency from the timestamp in
// it (Outcome.Measured).
package load
