package ws

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"syscall"
	"testing"
	"volley/stats"

	"github.com/gorilla/websocket"
)

// TestClassifyWS maps the errors gorilla/websocket and the network give to
// their categories.
func TestClassifyWS(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want stats.ErrorKind
	}{
		{nil, stats.ErrNone},
		{&HandshakeError{Status: 404, StatusText: "404 Not Found", Err: websocket.ErrBadHandshake}, stats.ErrHandshake},
		{&HandshakeError{Err: &net.OpError{Op: "dial", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}}, stats.ErrRefused},
		{&HandshakeError{Err: io.ErrUnexpectedEOF}, stats.ErrHandshake},
		{&websocket.CloseError{Code: 1011, Text: "bye"}, stats.ErrClosed},
		{fmt.Errorf("read: %w", websocket.ErrReadLimit), stats.ErrBodyTooLarge},
		{errors.New("websocket: unknown opcode 3"), stats.ErrProtocol},
		{errors.New("something else"), stats.ErrOther},
	} {
		if got := Classify(tc.err); got != tc.want {
			t.Errorf("ClassifyWS(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}
