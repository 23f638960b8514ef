//go:build linux

package load

import (
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
)

// setSoftNOFILE lowers the soft descriptor limit for this test and puts the
// old limits back when it ends.
func setSoftNOFILE(t *testing.T, cur uint64) syscall.Rlimit {
	t.Helper()
	var old syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &old); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &old); err != nil {
			t.Errorf("restoring RLIMIT_NOFILE: %v", err)
		}
	})
	low := old
	low.Cur = cur
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &low); err != nil {
		t.Fatal(err)
	}
	return old
}

func TestDescriptorsNeeded(t *testing.T) {
	for _, c := range []struct {
		name string
		cfg  Config
		want int
	}{
		{"closed loop", Config{Connections: 1000}, 1000 + descriptorMargin},
		{"open loop on the tick grid", Config{Connections: 1000, Rate: 100, Tick: 1000000}, 1000 + descriptorMargin},
		{"open loop, a timer each", Config{Connections: 1000, Rate: 100}, 2000 + descriptorMargin},
		{"stages of connections", Config{StageConnections: true, Stages: []Stage{{Duration: 1e9, From: 100000, To: 100000}}},
			200000 + descriptorMargin},
		{"capped by the request count", Config{Connections: 1000, Requests: 10}, 10 + descriptorMargin},
	} {
		if got := DescriptorsNeeded(c.cfg); got != c.want {
			t.Errorf("%s: DescriptorsNeeded = %d, want %d", c.name, got, c.want)
		}
	}
}

// TestFitDescriptorsRaisesSoftLimit: a soft limit below the plan's need is
// raised when the hard limit allows.
func TestFitDescriptorsRaisesSoftLimit(t *testing.T) {
	old := setSoftNOFILE(t, 128)
	cfg := Config{Connections: 1000, Rate: 100}
	need := DescriptorsNeeded(cfg)
	if old.Max != ^uint64(0) && old.Max < uint64(need) {
		t.Skipf("hard limit %d is below the %d this test needs", old.Max, need)
	}
	if err := FitDescriptors(cfg); err != nil {
		t.Fatalf("FitDescriptors with hard limit %d: %v", old.Max, err)
	}
	var now syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &now); err != nil {
		t.Fatal(err)
	}
	if now.Cur < uint64(need) {
		t.Errorf("soft limit %d after FitDescriptors, want at least %d", now.Cur, need)
	}
}

// TestFitDescriptorsRefusesAboveHardLimit lowers the hard limit, which an
// unprivileged process cannot raise again, in a child process: the test
// binary run again with VOLLEY_TEST_LOW_HARD_NOFILE set.
func TestFitDescriptorsRefusesAboveHardLimit(t *testing.T) {
	if os.Getenv("VOLLEY_TEST_LOW_HARD_NOFILE") == "1" {
		lim := syscall.Rlimit{Cur: 256, Max: 256}
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
			t.Fatal(err)
		}
		if err := FitDescriptors(Config{Connections: 100}); err != nil {
			t.Errorf("-c 100 under 256 descriptors: %v", err)
		}
		for _, cfg := range []Config{
			{Connections: 1000},
			{StageConnections: true, Stages: []Stage{{Duration: 1e9, From: 100000, To: 100000}}},
		} {
			if err := FitDescriptors(cfg); err != nil {
				os.Stdout.WriteString("refused: " + err.Error() + "\n")
			}
		}
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestFitDescriptorsRefusesAboveHardLimit$", "-test.v")
	cmd.Env = append(os.Environ(), "VOLLEY_TEST_LOW_HARD_NOFILE=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	for _, want := range []string{
		"refused: --connections 1000: needs about 1064 file descriptors, the limit is 256 (ulimit -n); raise it or lower -c",
		"refused: --stages: 100000 connections need about 200064 file descriptors, the limit is 256 (ulimit -n)",
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("child output lacks %q:\n%s", want, out)
		}
	}
}
