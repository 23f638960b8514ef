package stats

// Message modes, as Messages.Mode.
const (
	MessageModeEcho      = "echo"      // send messages and time their echoes
	MessageModeSubscribe = "subscribe" // only listen; latency from the server's timestamp
)

// Answered is the code a message protocol records for a message that was
// answered (its echo arrived, or, subscribing, a timestamped message was
// received): an answer in no HTTP status class (ClassAnswered), counted as
// completed in every tally. It is no HTTP status (those are 100..599) and
// not 0, which a response without a status gives (an error).
const Answered = 1

// Messages is the message part of a Result, for any protocol that sends
// messages rather than requests (WebSocket today): how answers were told
// apart and what came back.
type Messages struct {
	// Mode is MessageModeEcho or MessageModeSubscribe; Match ("id" or
	// "fifo") says how echoes were matched to messages.
	Mode  string `json:"mode"`
	Match string `json:"match"`
	// Sent is the messages written to a connection; Received the echoes
	// matched to them (subscribing: the timestamped messages received whose
	// latency was recorded).
	Sent     int64 `json:"sent"`
	Received int64 `json:"received"`
	// Unanswered is the messages sent whose echo did not arrive within the
	// timeout or before the connection ended.
	Unanswered int64 `json:"unanswered"`
	// Unmatched is the messages received that were not the awaited echo
	// (another id; subscribing, no timestamp, or stamped before the run
	// began listening); they are skipped.
	Unmatched int64 `json:"unmatched"`
	// Missed is, subscribing, the gaps in the server's "seq" numbers.
	Missed int64 `json:"missed"`
	// ClockSkew is, subscribing, the messages stamped later than volley
	// received them: the server's clock is ahead, so their latency is
	// unknown. They are not in Received, their latency is not recorded (a
	// latency of 0 would be made up), and each counts as an error (other).
	// ClockSkewMaxMs is how far ahead the furthest one was stamped (ms).
	ClockSkew      int64   `json:"clock_skew"`
	ClockSkewMaxMs float64 `json:"clock_skew_max_ms"`
}

// UnansweredRate is the share of sent messages left unanswered.
func (m Messages) UnansweredRate() float64 {
	if m.Sent == 0 {
		return 0
	}
	return float64(m.Unanswered) / float64(m.Sent)
}
