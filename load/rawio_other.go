//go:build !linux

package load

import "net"

// rawIO is the Linux raw socket path; elsewhere net.Conn's calls are used.
type rawIO struct{}

func newRawIO(net.Conn) *rawIO { return nil }

func (*rawIO) read([]byte) (int, error)         { return 0, nil }
func (*rawIO) write([]byte) (int, error)        { return 0, nil }
func (*rawIO) sendWithRead([]byte)              {}
func (*rawIO) takeSent() int                    { return 0 }
func (*rawIO) sendError() error                 { return nil }
func (*rawIO) idlePeek([]byte) (int, int, bool) { return 0, 0, false }
