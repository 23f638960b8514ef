package bench

import (
	"fmt"
	"math"
	"strings"
	"time"
)

// Stall is a window in which the server holds requests, measured from the
// first request after the server starts or is reset. A request arriving in
// [first+At, first+At+For) is held until first+At+For and then answered
// normally (after its latency). The zero value (For == 0) never stalls.
type Stall struct {
	At, For time.Duration
}

// ParseStall parses a stall spec "at=2s,for=1s" (keys in any order; at
// defaults to 0, for is required and must be positive). The empty string
// yields the zero value, which never stalls.
func ParseStall(s string) (Stall, error) {
	spec := strings.TrimSpace(s)
	if spec == "" {
		return Stall{}, nil
	}
	var st Stall
	var haveAt, haveFor bool
	for _, part := range strings.Split(spec, ",") {
		key, val, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return Stall{}, fmt.Errorf("stall %q: entry %q: want at=DURATION,for=DURATION", s, part)
		}
		key = strings.TrimSpace(key)
		if key != "at" && key != "for" {
			return Stall{}, fmt.Errorf("stall %q: unknown key %q; want at=DURATION,for=DURATION", s, key)
		}
		d, err := parseNonNegDuration(val)
		if err != nil {
			return Stall{}, fmt.Errorf("stall %q: %s: %w", s, key, err)
		}
		switch key {
		case "at":
			if haveAt {
				return Stall{}, fmt.Errorf("stall %q: at given more than once", s)
			}
			haveAt, st.At = true, d
		case "for":
			if haveFor {
				return Stall{}, fmt.Errorf("stall %q: for given more than once", s)
			}
			haveFor, st.For = true, d
		}
	}
	if !haveFor {
		return Stall{}, fmt.Errorf("stall %q: missing for=DURATION", s)
	}
	if st.For == 0 {
		return Stall{}, fmt.Errorf("stall %q: for must be positive", s)
	}
	if st.At > math.MaxInt64-st.For {
		return Stall{}, fmt.Errorf("stall %q: at+for overflows", s)
	}
	return st, nil
}

// IsZero reports whether st never stalls.
func (st Stall) IsZero() bool { return st.For <= 0 }

// String returns the spec in the form ParseStall accepts; the zero value is
// "".
func (st Stall) String() string {
	if st.IsZero() {
		return ""
	}
	return "at=" + st.At.String() + ",for=" + st.For.String()
}

// end returns At+For.
func (st Stall) end() time.Duration { return st.At + st.For }
