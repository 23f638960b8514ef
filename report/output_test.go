package report

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"volley/stats"
)

func TestParseOutput(t *testing.T) {
	o, err := ParseOutput("json=out/result.json")
	if err != nil || o.Format != "json" || o.Path != "out/result.json" {
		t.Errorf("ParseOutput = %+v, %v", o, err)
	}
	// Only the first = separates format and path.
	if o, err := ParseOutput("text=a=b.txt"); err != nil || o.Format != "text" || o.Path != "a=b.txt" {
		t.Errorf("ParseOutput(text=a=b.txt) = %+v, %v", o, err)
	}
	for _, c := range []struct{ in, want string }{
		{"result.json", "FORMAT=PATH"},
		{"=result.json", "FORMAT=PATH"},
		{"json=", "FORMAT=PATH"},
		{"xml=result.xml", `unknown format "xml"`},
		{"JSON=r.json", `unknown format "JSON"`},
	} {
		_, err := ParseOutput(c.in)
		if err == nil {
			t.Errorf("ParseOutput(%q) accepted", c.in)
			continue
		}
		if msg := err.Error(); !strings.Contains(msg, `"`+c.in+`"`) || !strings.Contains(msg, c.want) {
			t.Errorf("ParseOutput(%q) error %q: want it to name the input and say %q", c.in, msg, c.want)
		}
	}
	_, err = ParseOutput("xml=r.xml")
	for _, f := range FormatNames() {
		if !strings.Contains(err.Error(), f) {
			t.Errorf("unknown-format error %q does not list %q", err, f)
		}
	}
	if got := strings.Join(FormatNames(), ","); got != "csv,hgrm,hgrm-service,hlog,html,json,junit,md,text" {
		t.Errorf("FormatNames = %s, want every format, sorted", got)
	}
}

func TestOutputCheck(t *testing.T) {
	dir := t.TempDir()
	o, err := ParseOutput("json=" + filepath.Join(dir, "r.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := o.Check(); err != nil {
		t.Errorf("Check of a writable directory: %v", err)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Errorf("Check left %d files behind", len(ents))
	}
	// A path that is a directory cannot take the output file.
	o, err = ParseOutput("text=" + dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := o.Check(); err == nil {
		t.Error("Check passed for a path that is a directory")
	}
	missing := filepath.Join(dir, "no", "such", "dir", "r.json")
	o, err = ParseOutput("json=" + missing)
	if err != nil {
		t.Fatal(err)
	}
	err = o.Check()
	if err == nil {
		t.Fatal("Check passed for a missing directory")
	}
	if !strings.Contains(err.Error(), "json="+missing) {
		t.Errorf("Check error %q does not name the output", err)
	}
}

// listDir returns the names in dir.
func listDir(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}

func TestWriteFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "report.txt")
	if err := WriteFile(path, []byte("first\n")); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(path, []byte("second\n")); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil || string(b) != "second\n" {
		t.Errorf("file holds %q, %v; want the second write", b, err)
	}
	if names := listDir(t, dir); len(names) != 1 || names[0] != "report.txt" {
		t.Errorf("directory holds %v, want only report.txt (no temporary files)", names)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o644 {
		t.Errorf("mode %v, %v; want 0644", fi.Mode().Perm(), err)
	}
}

func TestWriteFileRenameFails(t *testing.T) {
	dir := t.TempDir()
	// The target is a non-empty directory: the rename cannot replace it.
	target := filepath.Join(dir, "out")
	if err := os.Mkdir(target, 0o755); err != nil {
		t.Fatal(err)
	}
	old := filepath.Join(target, "keep.txt")
	if err := os.WriteFile(old, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(target, []byte("new")); err == nil {
		t.Fatal("WriteFile over a directory succeeded")
	}
	if b, err := os.ReadFile(old); err != nil || string(b) != "old" {
		t.Errorf("old content %q, %v; want it intact", b, err)
	}
	if names := listDir(t, dir); len(names) != 1 || names[0] != "out" {
		t.Errorf("directory holds %v after a failed write, want only out (temporary file removed)", names)
	}

	// A missing directory fails before anything is written.
	if err := WriteFile(filepath.Join(dir, "nope", "r.json"), []byte("x")); err == nil {
		t.Error("WriteFile into a missing directory succeeded")
	}
}

func TestOutputWrite(t *testing.T) {
	res := openStallResult()
	dir := t.TempDir()
	for _, f := range FormatNames() {
		path := filepath.Join(dir, "r."+f)
		o, err := ParseOutput(f + "=" + path)
		if err != nil {
			t.Fatal(err)
		}
		if err := o.Write(res, io.Discard); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		var want bytes.Buffer
		if err := Formats()[f].Render(&want, res); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(b, want.Bytes()) {
			t.Errorf("%s: file differs from the renderer's output", f)
		}
	}
	back, err := stats.ReadResult(bytes.NewReader(mustRead(t, filepath.Join(dir, "r.json"))))
	if err != nil {
		t.Fatalf("json output does not read back: %v", err)
	}
	if back.Requests != res.Requests || back.Latency != res.Latency {
		t.Errorf("json output read back as %+v, want %+v", back.Requests, res.Requests)
	}

	o, err := ParseOutput("text=" + filepath.Join(dir, "missing", "r.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if err := o.Write(res, io.Discard); err == nil || !strings.Contains(err.Error(), "text=") {
		t.Errorf("Write to a missing directory: %v, want an error naming the output", err)
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestOutputToStdout(t *testing.T) {
	o, err := ParseOutput("json=-")
	if err != nil {
		t.Fatal(err)
	}
	if err := o.Check(); err != nil {
		t.Fatalf("Check of stdout output: %v", err)
	}
	res := &stats.Result{Schema: stats.Schema, Histograms: map[string]stats.Hist{}}
	var out bytes.Buffer
	if err := o.Write(res, &out); err != nil {
		t.Fatal(err)
	}
	back, err := stats.ReadResult(&out)
	if err != nil || back.Schema != stats.Schema {
		t.Fatalf("stdout output does not read back as a result: %v", err)
	}
	if _, err := os.Stat("-"); err == nil {
		t.Error(`a file named "-" was written`)
	}
}
