//go:build !linux

package bench

import "errors"

// ErrBacklogUnsupported is returned by FullBacklog where a connect to a
// full accept queue cannot be made to hang.
var ErrBacklogUnsupported = errors.New("cannot make a connect hang here")

// FullBacklog is Linux-only; elsewhere it returns ErrBacklogUnsupported.
func FullBacklog() (addr string, close func(), err error) {
	return "", nil, ErrBacklogUnsupported
}
