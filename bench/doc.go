// Package bench implements volley's built-in target server, the one behind
// "volley serve" and "volley demo".
//
// The server answers every path with a configurable status code mix
// (ParseStatusMix), after a configurable latency drawn from a distribution
// (ParseLatency), with a body of a fixed size. A stall (ParseStall) holds every
// request that arrives inside a time window until the window ends, which is
// how coordinated omission is demonstrated.
//
// The server counts the responses it decides, by status code, and the
// requests arriving in each 100 ms bucket, so tests and demos can compare what
// a load generator claims with what the server saw. Two control endpoints
// are neither counted, delayed nor stalled:
//
//	GET  /_volley/stats   the Stats as JSON
//	POST /_volley/reset   zero the counts and re-arm the stall; answers 204
//
// WebSocket upgrades on /ws get an echo (with the same latency and stall,
// and the faults of WSFault) and on /ws/broadcast a stream of timestamped
// messages; Stats.WS counts their connections and messages.
//
// WebRTC data channels get the same two services. A client POSTs a complete
// SDP offer (application/sdp, no trickle ICE) to /rtc or /rtc/broadcast and
// gets 201 with the answer and a Location that a DELETE ends; the peer
// echoes, or pushes timestamped messages, on every data channel the client
// opens. Every session's ICE, DTLS and SCTP traffic goes through one UDP
// socket (Server.RTCAddr) with host candidates only; Stats.RTC counts the
// sessions, channels and messages.
//
// The server uses net/http. Per-request work is kept small: counters are
// atomics, nothing is logged per request, and the stall uses one shared
// timer and channel however many requests it holds.
package bench
