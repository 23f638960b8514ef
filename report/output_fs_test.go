package report

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// TestWriteFileReplacesAtomically: a reader that opened the old file before
// the rewrite still reads the old bytes whole, which only a rename gives
// (a write in place with O_TRUNC would show it the new ones, or a part).
func TestWriteFileReplacesAtomically(t *testing.T) {
	path := filepath.Join(t.TempDir(), "r.json")
	old := bytes.Repeat([]byte("old "), 4096)
	if err := os.WriteFile(path, old, 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := WriteFile(path, []byte("new")); err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(f)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, old) {
		t.Errorf("the old file's reader saw %d bytes starting %q, want the old %d bytes", len(got), got[:min(len(got), 8)], len(old))
	}
	if b, _ := os.ReadFile(path); string(b) != "new" {
		t.Errorf("path holds %q, want %q", b, "new")
	}
}

// TestWriteFileFollowsSymlink: the file a symlink names is replaced, and the
// symlink stays a symlink, also when it dangles or chains.
func TestWriteFileFollowsSymlink(t *testing.T) {
	dir := t.TempDir()
	sub := filepath.Join(dir, "sub")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	target := filepath.Join(sub, "target.json")
	if err := os.WriteFile(target, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link.json")
	chain := filepath.Join(dir, "chain.json")
	dangling := filepath.Join(dir, "dangling.json")
	for _, l := range [][2]string{{"sub/target.json", link}, {"link.json", chain}, {"sub/new.json", dangling}} {
		if err := os.Symlink(l[0], l[1]); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct{ write, file string }{
		{link, target}, {chain, target}, {dangling, filepath.Join(sub, "new.json")},
	} {
		if err := WriteFile(tc.write, []byte("via "+filepath.Base(tc.write))); err != nil {
			t.Fatalf("WriteFile(%s): %v", tc.write, err)
		}
		if b, err := os.ReadFile(tc.file); err != nil || string(b) != "via "+filepath.Base(tc.write) {
			t.Errorf("%s holds %q (%v), want what was written through %s", tc.file, b, err, tc.write)
		}
		if fi, err := os.Lstat(tc.write); err != nil || fi.Mode()&os.ModeSymlink == 0 {
			t.Errorf("%s is no longer a symlink (%v)", tc.write, err)
		}
	}
	if left, _ := filepath.Glob(filepath.Join(dir, ".*tmp-*")); len(left) > 0 {
		t.Errorf("temporary files left beside the links: %v", left)
	}
}

// TestWriteFileKeepsMode: a 0600 file stays 0600 when rewritten; a new one
// is 0644.
func TestWriteFileKeepsMode(t *testing.T) {
	dir := t.TempDir()
	secret := filepath.Join(dir, "secret.json")
	if err := os.WriteFile(secret, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(secret, 0o600); err != nil {
		t.Fatal(err)
	}
	fresh := filepath.Join(dir, "fresh.json")
	for _, p := range []string{secret, fresh} {
		if err := WriteFile(p, []byte("y")); err != nil {
			t.Fatal(err)
		}
	}
	for p, want := range map[string]os.FileMode{secret: 0o600, fresh: 0o644} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm(); got != want {
			t.Errorf("%s: mode %o, want %o", filepath.Base(p), got, want)
		}
	}
}

// TestWriteFileFifo: a named pipe is written into, not replaced by a file.
func TestWriteFileFifo(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "pipe")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	got := make(chan []byte, 1)
	go func() {
		f, err := os.Open(fifo)
		if err != nil {
			got <- nil
			return
		}
		defer f.Close()
		b, _ := io.ReadAll(f)
		got <- b
	}()
	if err := (Output{Format: "json", Path: fifo}).Check(); err != nil {
		t.Fatalf("Check on a fifo: %v", err)
	}
	if err := WriteFile(fifo, []byte(`{"ok":true}`)); err != nil {
		t.Fatalf("WriteFile on a fifo: %v", err)
	}
	select {
	case b := <-got:
		if string(b) != `{"ok":true}` {
			t.Errorf("the reader got %q", b)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the fifo's reader got nothing")
	}
	fi, err := os.Lstat(fifo)
	if err != nil || fi.Mode()&os.ModeNamedPipe == 0 {
		t.Errorf("%s is no longer a named pipe (mode %v, %v)", fifo, fi.Mode(), err)
	}
}

// TestWriteFileDevice: a device is written in place and its errors are
// returned: /dev/full fails with "no space left", /dev/null stays a device.
// Neither is replaced, and nothing is created in /dev.
func TestWriteFileDevice(t *testing.T) {
	for _, dev := range []string{"/dev/null", "/dev/full"} {
		if fi, err := os.Stat(dev); err != nil || fi.Mode()&os.ModeCharDevice == 0 {
			t.Skipf("%s is not a character device here", dev)
		}
	}
	before, _ := filepath.Glob("/dev/.*")
	if err := WriteFile("/dev/null", []byte("x")); err != nil {
		t.Errorf("WriteFile(/dev/null): %v", err)
	}
	err := WriteFile("/dev/full", []byte("x"))
	if err == nil || !bytes.Contains([]byte(err.Error()), []byte("no space left")) {
		t.Errorf("WriteFile(/dev/full) = %v, want 'no space left on device'", err)
	}
	if err := (Output{Format: "json", Path: "/dev/null"}).Check(); err != nil {
		t.Errorf("Check(/dev/null): %v", err)
	}
	for _, dev := range []string{"/dev/null", "/dev/full"} {
		if fi, err := os.Stat(dev); err != nil || fi.Mode()&os.ModeCharDevice == 0 {
			t.Errorf("%s is no longer a character device", dev)
		}
	}
	if after, _ := filepath.Glob("/dev/.*"); len(after) != len(before) {
		t.Errorf("files appeared in /dev: %v, before %v", after, before)
	}
}

// TestSameFile: one file spelled two ways (relative and absolute, or
// through a symlink) is the same output; two files are not.
func TestSameFile(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	if err := os.Symlink("real.json", filepath.Join(dir, "alias.json")); err != nil {
		t.Fatal(err)
	}
	out := func(p string) Output { return Output{Format: "json", Path: p} }
	for _, tc := range []struct {
		a, b string
		same bool
	}{
		{"same.json", filepath.Join(dir, "same.json"), true},
		{"./x/../same.json", "same.json", true},
		{"alias.json", "real.json", true},
		{"a.json", "b.json", false},
		{"-", "-", false}, // stdout twice is refused elsewhere, with its own message
	} {
		if got := out(tc.a).SameFile(out(tc.b)); got != tc.same {
			t.Errorf("SameFile(%s, %s) = %v, want %v", tc.a, tc.b, got, tc.same)
		}
	}
	if err := os.WriteFile("real.json", nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if !out("alias.json").SameFile(out(filepath.Join(dir, "real.json"))) {
		t.Error("an existing file and a symlink to it are not the same output")
	}
}
