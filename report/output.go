package report

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"volley/stats"
)

// Renderer writes a result in one format.
type Renderer interface {
	Render(w io.Writer, r *stats.Result) error
}

// RendererFunc adapts a function to Renderer.
type RendererFunc func(w io.Writer, r *stats.Result) error

// Render calls f.
func (f RendererFunc) Render(w io.Writer, r *stats.Result) error { return f(w, r) }

var _ Renderer = RendererFunc(nil)

// Formats returns the renderers by format name.
func Formats() map[string]Renderer {
	return map[string]Renderer{
		"json": RendererFunc(func(w io.Writer, r *stats.Result) error { return r.WriteJSON(w) }),
		"text": RendererFunc(Text),
		"html": RendererFunc(HTML),
	}
}

// FormatNames lists the known formats, sorted.
func FormatNames() []string {
	var names []string
	for k := range Formats() {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}

// Output is one --out FORMAT=PATH request.
type Output struct {
	Format string
	Path   string
	r      Renderer
}

// ParseOutput parses "FORMAT=PATH".
func ParseOutput(s string) (Output, error) {
	f, p, ok := strings.Cut(s, "=")
	if !ok || f == "" || p == "" {
		return Output{}, fmt.Errorf("output %q: want FORMAT=PATH, e.g. json=result.json", s)
	}
	r, ok := Formats()[f]
	if !ok {
		return Output{}, fmt.Errorf("output %q: unknown format %q (known: %s)", s, f, strings.Join(FormatNames(), ", "))
	}
	return Output{Format: f, Path: p, r: r}, nil
}

// Check verifies, before a run, that the output's directory exists and is
// writable, so a bad path is reported before any load is sent.
func (o Output) Check() error {
	dir := filepath.Dir(o.Path)
	f, err := os.CreateTemp(dir, ".volley-check-*")
	if err != nil {
		return fmt.Errorf("output %s=%s: cannot write there: %w", o.Format, o.Path, err)
	}
	name := f.Name()
	f.Close()
	return os.Remove(name)
}

// Write renders r and writes it to the output's path whole.
func (o Output) Write(r *stats.Result) error {
	var buf bytes.Buffer
	if err := o.r.Render(&buf, r); err != nil {
		return fmt.Errorf("output %s=%s: %w", o.Format, o.Path, err)
	}
	if err := WriteFile(o.Path, buf.Bytes()); err != nil {
		return fmt.Errorf("output %s=%s: %w", o.Format, o.Path, err)
	}
	return nil
}

// WriteFile writes data to path atomically: a temporary file in the same
// directory, synced, then renamed over path. Readers see the old file or the
// whole new one, never a part.
func WriteFile(path string, data []byte) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp, 0o644)
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
	}
	return err
}
