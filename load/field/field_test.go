package field

import (
	"errors"
	"fmt"
	"testing"
)

// TestOf: the name survives wrapping by fmt.Errorf, the outermost name
// wins, and an error of no setting has none.
func TestOf(t *testing.T) {
	inner := Errorf("Request.Headers", "header %q: empty name", "")
	for _, tc := range []struct {
		err  error
		name string
	}{
		{inner, "Request.Headers"},
		{fmt.Errorf("compile: %w", inner), "Request.Headers"},
		{Wrap("Targets", fmt.Errorf("target 2 (b): %w", inner)), "Targets"},
		{errors.New("connection refused"), ""},
		{Wrap("Rate", nil), ""},
	} {
		if got := Of(tc.err); got != tc.name {
			t.Errorf("Of(%v) = %q, want %q", tc.err, got, tc.name)
		}
	}
	if Wrap("Rate", nil) != nil {
		t.Error("Wrap of nil is not nil")
	}
	if got := Errorf("Rate", "rate %v: must be positive", -1).Error(); got != "rate -1: must be positive" {
		t.Errorf("message %q, want the message alone", got)
	}
}
