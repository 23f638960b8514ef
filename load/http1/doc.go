// Package http1 is volley's HTTP/1.1 client.
//
// Client keeps one connection per worker and endpoint and writes requests
// and reads responses on it itself (fasthttp's request and response types,
// without its connection pool), one request in flight at a time; requests
// without templates are built once per worker. Nothing is allocated per
// request. Redirects to other hosts go through fasthttp.HostClient.
// PipelineClient sends up to --streams requests back to back on each
// connection (HTTP/1.1 pipelining, idempotent methods only) and pairs the
// answers with them in order.
//
// Responses are held to HTTP: a status outside 100..599, headers beyond
// --max-header, bare LF line endings and bytes no request asked for are
// errors, not answers.
package http1
