package load

import (
	"strings"
	"testing"
	"time"
)

// TestParseStartAtRefusesThePast: a start time days or hours back (a stale
// pod, local time written as UTC) is refused with how far back it is; one a
// few seconds back (a shard started late) is accepted.
func TestParseStartAtRefusesThePast(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	for _, c := range []struct{ v, want string }{
		{"2020-01-01T00:00:00Z", "2520 days in the past"},
		{"2026-11-25T09:00:00Z", "3h in the past"},
		{"2026-11-25T11:58:30Z", "1m30s in the past"},
	} {
		_, err := ParseStartAt(c.v, now)
		if err == nil {
			t.Errorf("ParseStartAt(%q) accepted a start %v before now", c.v, now.Sub(mustTime(t, c.v)))
			continue
		}
		if msg := err.Error(); !strings.Contains(msg, c.want) || !strings.Contains(msg, c.v) {
			t.Errorf("ParseStartAt(%q): %q, want the time and %q", c.v, msg, c.want)
		}
	}
	for _, v := range []string{"2026-11-25T11:59:30Z", "2026-11-25T11:59:00Z", "2026-11-25T12:00:00Z"} {
		if got, err := ParseStartAt(v, now); err != nil || !got.Equal(mustTime(t, v)) {
			t.Errorf("ParseStartAt(%q) = %v, %v; want it accepted (at most %v late)", v, got, err, MaxStartLate)
		}
	}
}

func mustTime(t *testing.T, v string) time.Time {
	t.Helper()
	tm, err := time.Parse(time.RFC3339, v)
	if err != nil {
		t.Fatal(err)
	}
	return tm
}
