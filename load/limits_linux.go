//go:build linux

package load

import (
	"syscall"

	"golang.org/x/sys/unix"
)

// FitDescriptors makes room for the file descriptors cfg needs (see
// DescriptorsNeeded) before any is opened, so that a plan too big for the
// process fails at once with a usage error, instead of part-way through
// connecting ("timerfd: too many open files") or as a run whose requests
// fail for want of a socket. It raises the soft RLIMIT_NOFILE as far as the
// hard limit allows, and returns an error naming --connections (or
// --stages) and both numbers when even the hard limit is too low. Callers
// map the error to exit code 2.
func FitDescriptors(cfg Config) error {
	need := DescriptorsNeeded(cfg)
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return nil // nothing known to check against; the run will tell
	}
	if lim.Cur >= uint64(need) {
		return nil
	}
	if lim.Max != unix.RLIM_INFINITY && lim.Max < uint64(need) {
		return descriptorError(cfg, need, lim.Max)
	}
	raised := lim
	raised.Cur = lim.Max
	if lim.Max == unix.RLIM_INFINITY {
		// The kernel caps the soft limit at fs.nr_open: ask for what is needed.
		raised.Cur = uint64(need)
	}
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &raised); err != nil {
		raised.Cur = uint64(need)
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &raised); err != nil {
			return descriptorError(cfg, need, lim.Cur)
		}
	}
	return nil
}
