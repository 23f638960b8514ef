// Package field names the setting of a load plan that an error is about,
// so that a command line can name the flag that sets it without reading
// the message.
package field

import (
	"errors"
	"fmt"
)

// Error is an error about one setting of a plan. Name is the setting's
// path in load.Config ("Rate", "Request.Headers", "Conn.Proxy"), with the
// value after a dot where the value picks the flag ("Conn.Protocol.h2c").
type Error struct {
	Name string
	Err  error
}

func (e *Error) Error() string { return e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an Error about the setting name.
func Errorf(name, format string, args ...any) error {
	return &Error{Name: name, Err: fmt.Errorf(format, args...)}
}

// Wrap returns err as an Error about the setting name (nil for nil). The
// outermost name wins: a target's header is named as the targets file.
func Wrap(name string, err error) error {
	if err == nil {
		return nil
	}
	return &Error{Name: name, Err: err}
}

// Of is the name of the setting err is about, or "" if it names none.
func Of(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Name
	}
	return ""
}
