//go:build !linux

package dial

import "net"

// rawIO is the Linux raw socket path; elsewhere net.Conn's calls are used.
type RawIO struct{}

func newRawIO(net.Conn) *RawIO { return nil }

func (*RawIO) read([]byte) (int, error)         { return 0, nil }
func (*RawIO) write([]byte) (int, error)        { return 0, nil }
func (*RawIO) SendWithRead([]byte)              {}
func (*RawIO) takeSent() int                    { return 0 }
func (*RawIO) SendError() error                 { return nil }
func (*RawIO) IdlePeek([]byte) (int, int, bool) { return 0, 0, false }
