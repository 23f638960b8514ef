// Package rtcflow bounds the bytes a data channel holds unsent.
//
// pion's blocking write (SettingEngine.EnableDataChannelBlockWrite) makes
// each write wait until SCTP's writer has taken the one before, so a burst
// of messages leaves one message per packet, each a wake-up later than the
// last: 1000 echoes released at once went out in about 1450 UDP sends with
// their SACKs (about 130 without it), and the 600th came back 15 to 18 ms
// later. Writing without the blocking write, and
// waiting only while the channel holds Max bytes unsent, lets SCTP bundle a
// burst into few packets while memory stays bounded.
package rtcflow

import (
	"net"
	"os"
	"time"

	"github.com/pion/webrtc/v4"
)

// Max is the most a channel holds unsent before a write waits: one message
// of the largest size either side takes.
const Max = 1 << 20

// Gate holds writes to one data channel while it holds Max bytes unsent.
type Gate struct {
	dc  *webrtc.DataChannel
	low chan struct{} // a send each time the unsent bytes fall to Max/2
}

// New makes dc's gate; it takes dc's buffered-amount-low callback.
func New(dc *webrtc.DataChannel) *Gate {
	g := &Gate{dc: dc, low: make(chan struct{}, 1)}
	dc.SetBufferedAmountLowThreshold(Max / 2)
	dc.OnBufferedAmountLow(func() {
		select {
		case g.low <- struct{}{}:
		default:
		}
	})
	return g
}

// Wait returns nil once the channel holds less than Max bytes unsent,
// os.ErrDeadlineExceeded at the deadline (never, if zero), and
// net.ErrClosed when done is closed.
func (g *Gate) Wait(deadline time.Time, done <-chan struct{}) error {
	var expired <-chan time.Time
	for g.dc.BufferedAmount() >= Max {
		if expired == nil && !deadline.IsZero() {
			t := time.NewTimer(time.Until(deadline))
			defer t.Stop()
			expired = t.C
		}
		select {
		case <-g.low:
		case <-expired:
			return os.ErrDeadlineExceeded
		case <-done:
			return net.ErrClosed
		}
	}
	return nil
}
