package loadtest

import (
	"fmt"
	"os/exec"
	"testing"
	"time"
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
	quiet(t, 0)
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

// quiet makes other processes seem to use busy cores during every try.
func quiet(t *testing.T, busy float64) {
	saved := watchOthers
	watchOthers = func() func() float64 { return func() float64 { return busy } }
	t.Cleanup(func() { watchOthers = saved })
}

// TestRetryWaitsForQuiet: misses while other processes keep the machine
// busy are not counted against the try limit, until quietWait has passed;
// after that they are.
func TestRetryWaitsForQuiet(t *testing.T) {
	busy := true
	saved := watchOthers
	watchOthers = func() func() float64 {
		return func() float64 {
			if busy {
				return 1.5
			}
			return 0
		}
	}
	t.Cleanup(func() { watchOthers = saved })
	r := &recorder{}
	tries := 0
	Retry(r, 1, func(miss func(string, ...any)) {
		tries++
		if tries == 2 {
			busy = false // the machine quietens; this try passes
		} else {
			miss("send lag p99 = 7 ms")
		}
	})
	if tries != 2 || len(r.errors) != 0 {
		t.Errorf("%d tries, errors %q; want a busy miss retried and the quiet try passing", tries, r.errors)
	}

	quiet(t, 1.5)
	savedWait := quietWait
	quietWait = 0
	t.Cleanup(func() { quietWait = savedWait })
	r, tries = &recorder{}, 0
	Retry(r, 2, func(miss func(string, ...any)) { tries++; miss("send lag p99 = 7 ms") })
	if tries != 2 || len(r.errors) != 1 {
		t.Errorf("past the wait: %d tries, errors %q; want busy misses counted, 2 tries, failed", tries, r.errors)
	}
}

// TestWatchOthers: a process that spins a core shows as other processes'
// CPU; this one spinning is counted as its own, so it never excuses a miss.
func TestWatchOthers(t *testing.T) {
	if _, _, ok := cpuTicks(); !ok {
		t.Skip("no /proc/stat here")
	}
	_, self0, _ := cpuTicks()
	deadline := time.Now().Add(300 * time.Millisecond)
	for time.Now().Before(deadline) {
	}
	if _, self1, _ := cpuTicks(); self1-self0 < 24 {
		t.Errorf("300 ms spinning here counted %d ticks of this process, want about 30", self1-self0)
	}

	others := watchOthers()
	spin := exec.Command("sh", "-c", "while :; do :; done")
	if err := spin.Start(); err != nil {
		t.Skip(err)
	}
	time.Sleep(500 * time.Millisecond)
	spin.Process.Kill()
	spin.Wait()
	if got := others(); got < 0.6 {
		t.Errorf("a shell spinning a core for 0.5 s counted as %.2f cores of other processes, want about 1", got)
	}
}
