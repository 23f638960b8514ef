//go:build unix

package report

import (
	"io/fs"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// writable reports whether this process may write path.
func writable(path string) error { return unix.Access(path, unix.W_OK) }

// keepOwner gives tmp the owner of the file it replaces, where that is
// another user's (only root may): a root CI job rewriting a user's file
// leaves it the user's.
func keepOwner(tmp string, old fs.FileInfo) {
	st, ok := old.Sys().(*syscall.Stat_t)
	if ok && (int(st.Uid) != os.Geteuid() || int(st.Gid) != os.Getegid()) {
		_ = os.Chown(tmp, int(st.Uid), int(st.Gid)) // best effort
	}
}
