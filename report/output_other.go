//go:build !unix

package report

import (
	"io/fs"
	"os"
)

// writable reports whether path can be opened for writing.
func writable(path string) error {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	return f.Close()
}

// keepOwner does nothing where files have no Unix owner.
func keepOwner(string, fs.FileInfo) {}
