// Package redact hides secrets in what volley prints and writes: the
// values of secret headers (Authorization, Cookie, ...) and query
// parameters (token, api_key, ...), URL userinfo, and the secret values of
// the run's own request wherever they appear, error messages included.
package redact
