package loadtest

import (
	"fmt"
	"testing"
)

// recorder is a testing.TB that keeps what Retry reports.
type recorder struct {
	testing.TB
	errors, logs []string
}

func (r *recorder) Helper()                      {}
func (r *recorder) Error(args ...any)            { r.errors = append(r.errors, fmt.Sprint(args...)) }
func (r *recorder) Logf(format string, a ...any) { r.logs = append(r.logs, fmt.Sprintf(format, a...)) }

// TestRetry: a check that misses every try fails the test with the last
// try's misses; one that passes on a later try does not; a passing first
// try is not repeated.
func TestRetry(t *testing.T) {
	for _, tc := range []struct {
		name      string
		missUntil int // tries that miss
		tries     int
		failed    bool
	}{
		{"always misses", 99, 3, true},
		{"passes on the second try", 1, 2, false},
		{"passes at once", 0, 1, false},
	} {
		r := &recorder{}
		tries := 0
		Retry(r, 3, func(miss func(string, ...any)) {
			tries++
			if tries <= tc.missUntil {
				miss("p99 = %d ms on try %d", 900, tries)
			}
		})
		if tries != tc.tries || (len(r.errors) > 0) != tc.failed {
			t.Errorf("%s: %d tries, errors %q; want %d tries, failed %v", tc.name, tries, r.errors, tc.tries, tc.failed)
		}
		if tc.failed && (len(r.errors) != 1 || r.errors[0] != "p99 = 900 ms on try 3") {
			t.Errorf("%s: errors %q, want the last try's miss", tc.name, r.errors)
		}
	}
}
