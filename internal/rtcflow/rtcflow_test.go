package rtcflow_test

import (
	"errors"
	"os"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"volley/internal/rtcflow"
	"volley/internal/rtctest"
)

// pair connects two peer connections on loopback and returns the
// offerer's open channel; onMessage gets what the answerer receives.
func pair(t *testing.T, onMessage func(webrtc.DataChannelMessage)) *webrtc.DataChannel {
	t.Helper()
	newPC := func() *webrtc.PeerConnection {
		pc, err := rtctest.ClientAPI.NewPeerConnection(webrtc.Configuration{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = pc.Close() })
		return pc
	}
	a, b := newPC(), newPC()
	b.OnDataChannel(func(dc *webrtc.DataChannel) { dc.OnMessage(onMessage) })
	dc, err := a.CreateDataChannel("flow", nil)
	if err != nil {
		t.Fatal(err)
	}
	open := make(chan struct{})
	dc.OnOpen(func() { close(open) })
	complete := func(pc *webrtc.PeerConnection, sd webrtc.SessionDescription) webrtc.SessionDescription {
		gathered := webrtc.GatheringCompletePromise(pc)
		if err := pc.SetLocalDescription(sd); err != nil {
			t.Fatal(err)
		}
		<-gathered
		return *pc.LocalDescription()
	}
	offer, err := a.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.SetRemoteDescription(complete(a, offer)); err != nil {
		t.Fatal(err)
	}
	answer, err := b.CreateAnswer(nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.SetRemoteDescription(complete(b, answer)); err != nil {
		t.Fatal(err)
	}
	select {
	case <-open:
	case <-time.After(10 * time.Second):
		t.Fatal("the data channel did not open")
	}
	return dc
}

// TestGateBoundsUnsent: a peer that stops reading fills SCTP's window; the
// writer's gate then holds writes at Max bytes unsent (and gives up at the
// deadline) instead of letting the channel's buffer grow, and lets them
// through again once the peer reads.
func TestGateBoundsUnsent(t *testing.T) {
	stuck := make(chan struct{})
	got := make(chan int, 1024)
	dc := pair(t, func(m webrtc.DataChannelMessage) {
		<-stuck
		got <- len(m.Data)
	})
	gate := rtcflow.New(dc)
	msg := make([]byte, 64<<10)
	sent := 0
	for {
		err := gate.Wait(time.Now().Add(200*time.Millisecond), nil)
		if errors.Is(err, os.ErrDeadlineExceeded) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if err := dc.Send(msg); err != nil {
			t.Fatal(err)
		}
		sent++
		if b := dc.BufferedAmount(); b > rtcflow.Max+uint64(len(msg)) {
			t.Fatalf("%d bytes unsent after %d writes; the gate lets at most %d + one message through", b, sent, rtcflow.Max)
		}
		if sent > 1000 {
			t.Fatal("64 MiB written to a peer that reads nothing: the gate never held a write")
		}
	}
	// SCTP's window takes up to 1 MiB more before the peer's reader
	// stalls, so more than Max went out before the gate held.
	if sent*len(msg) <= rtcflow.Max {
		t.Fatalf("the gate held after %d writes of %d bytes, before the channel held %d unsent", sent, len(msg), rtcflow.Max)
	}
	close(stuck)
	if err := gate.Wait(time.Now().Add(10*time.Second), nil); err != nil {
		t.Fatalf("the peer reads again, but the gate still holds: %v (%d unsent)", err, dc.BufferedAmount())
	}
	for range sent {
		select {
		case n := <-got:
			if n != len(msg) {
				t.Fatalf("a message of %d bytes arrived, want %d", n, len(msg))
			}
		case <-time.After(10 * time.Second):
			t.Fatal("not every message written arrived")
		}
	}
}
