// Package h2 is a lean HTTP/2 client connection for load generation: one
// connection carrying many concurrent streams, at a CPU cost per request
// close to nghttp2's h2load.
//
// The caller dials (h2c with prior knowledge, or TLS that negotiated "h2")
// and hands the net.Conn to NewConn. A Request is encoded once into an
// EncodedRequest, whose HEADERS frame is copied onto the wire with only the
// stream id patched in. Send queues a stream; Flush writes everything
// queued in one system call. Responses are read by one goroutine per
// connection, which calls Options.OnDone once per stream, in completion
// order, with the status, body size, timestamps and any error. OnDone may
// Send again: a closed loop keeps S streams busy with no goroutine switch
// per request, and the read loop flushes those Sends once per batch of
// reads, just before it waits for the network.
//
// Nothing is allocated per request in steady state: stream state lives in
// a ring indexed by stream id (ids that would collide are skipped, which
// HTTP/2 allows), frame headers are parsed in place, DATA is discarded
// without copying, and response headers are decoded by our own HPACK
// decoder, which looks only at :status and content-length and keeps its
// dynamic table in reused buffers (hpack.Decoder allocates a string per
// literal it emits). Stream timeouts share one deadline per connection: a
// read deadline armed for the earliest stream, so a busy connection
// arms it about once per Timeout instead of once per request.
//
// It is not a general HTTP/2 client: no redirects, no response bodies
// handed to the caller (only counted), no server push, no priorities.
package h2
