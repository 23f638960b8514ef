package stats

import (
	hdr "github.com/HdrHistogram/hdrhistogram-go"
)

// RTCPhases are the phases of a WebRTC peer connection's setup, in order;
// each has a histogram "rtc.NAME" and a summary in RTC.Setup:
//   - signal: the signalling round trip, from sending the offer to the
//     answer received (201 and its SDP);
//   - ice: from the answer applied to ICE connected;
//   - dtls: from ICE connected to DTLS connected;
//   - channel: from DTLS connected to every data channel open;
//   - total: from the peer connection's intended start to every channel
//     open, gathering the offer's candidates and any wait included.
func RTCPhases() []string { return []string{"signal", "ice", "dtls", "channel", "total"} }

// RTCFailures are the ways a setup fails, each counted in RTC.Failures:
// the signalling answered other than 201 or not at all (signal), its answer
// was no usable SDP (sdp), ICE failed or did not connect in time (ice), DTLS
// failed (dtls), a data channel did not open (channel), or the setup ran
// out of time in another phase (timeout).
func RTCFailures() []string { return []string{"signal", "sdp", "ice", "dtls", "channel", "timeout"} }

// RTC is what only a WebRTC run has: its peer connections' setups.
type RTC struct {
	// Peers counts the peer connections set up, by outcome.
	Peers Handshakes `json:"peers"`
	// Channels is the data channels each peer connection opens.
	Channels int `json:"channels"`
	// Failures counts failed setups by phase (RTCFailures, every one
	// always), FailureSamples holds the first message of each.
	Failures       map[string]int64  `json:"failures"`
	FailureSamples map[string]string `json:"failure_samples"`
	// Setup summarises each phase of the successful setups (RTCPhases), ms.
	Setup map[string]Summary `json:"setup"`
	// Deleted is the sessions ended by a DELETE the server answered 2xx.
	Deleted int64 `json:"deleted"`
	// ChannelsClosed is the data channels the peer closed during the run.
	ChannelsClosed int64 `json:"channels_closed"`
}

// AttachRTC adds the WebRTC part to r: rtc's counts and, from the
// histograms by phase (ns), the setup summaries.
func (r *Result) AttachRTC(rtc RTC, phases map[string]*hdr.Histogram) {
	if r.Histograms == nil {
		r.Histograms = map[string]Hist{}
	}
	for _, p := range RTCPhases() {
		h := phases[p]
		if h == nil {
			h = NewHistogram()
		}
		r.Histograms["rtc."+p] = Hist{h}
	}
	rtc.fill()
	r.RTC = &rtc
	r.RTC.summarize(r.Histograms)
}

// fill gives rtc's maps every key.
func (rtc *RTC) fill() {
	if rtc.Failures == nil {
		rtc.Failures = map[string]int64{}
	}
	for _, f := range RTCFailures() {
		rtc.Failures[f] += 0
	}
	if rtc.FailureSamples == nil {
		rtc.FailureSamples = map[string]string{}
	}
}

// summarize sets the setup summaries from the "rtc.*" histograms.
func (rtc *RTC) summarize(hists map[string]Hist) {
	rtc.Setup = map[string]Summary{}
	for _, p := range RTCPhases() {
		h := hists["rtc."+p].Histogram
		if h == nil {
			h = NewHistogram()
		}
		rtc.Setup[p] = Summarize(h)
	}
}

// addRTC sums the WebRTC part of r, the i-th result merged, into m.
// WebRTC results merge only with WebRTC results.
func addRTC(m *Result, i int, r *Result) error {
	w := r.RTC
	if i == 1 && w != nil {
		m.RTC = &RTC{Channels: w.Channels}
		m.RTC.fill()
	}
	x := m.RTC
	if err := partOfAll(i, x != nil, w != nil, "a WebRTC run"); err != nil || w == nil {
		return err
	}
	x.Peers.Attempted += w.Peers.Attempted
	x.Peers.OK += w.Peers.OK
	x.Peers.Failed += w.Peers.Failed
	addCounts(x.Failures, w.Failures)
	for k, v := range w.FailureSamples {
		if _, ok := x.FailureSamples[k]; !ok && v != "" {
			x.FailureSamples[k] = v
		}
	}
	x.Deleted += w.Deleted
	x.ChannelsClosed += w.ChannelsClosed
	return nil
}
