package report

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"volley/stats"
)

// Renderer writes a result in one format.
//
// A renderer reads everything from the Result, including the outcomes of
// the thresholds evaluated against it (Result.Thresholds), so a new format
// (such as an HTML report) slots in by implementing Render and adding one
// entry to the formats table below; --out, volley report --format and the
// atomic file writing then work for it unchanged.
type Renderer interface {
	Render(w io.Writer, r *stats.Result) error
}

// RendererFunc adapts a function to Renderer.
type RendererFunc func(w io.Writer, r *stats.Result) error

// Render calls f.
func (f RendererFunc) Render(w io.Writer, r *stats.Result) error { return f(w, r) }

var _ Renderer = RendererFunc(nil)

// Format is one output format.
type Format struct {
	Name     string
	Doc      string
	Renderer Renderer
}

// formats lists every output format.
var formats = []Format{
	{"text", "the report for people, with the thresholds", RendererFunc(TextWithThresholds)},
	{"json", "the full result (" + stats.Schema + "); volley report and compare read it", RendererFunc(func(w io.Writer, r *stats.Result) error { return r.WriteJSON(w) })},
	{"md", "a Markdown summary for pull requests and job summaries", RendererFunc(Markdown)},
	{"hgrm", "HdrHistogram percentile distribution of corrected latency (ms)", Hgrm(false)},
	{"hgrm-service", "the same for service time", Hgrm(true)},
	{"hlog", "HdrHistogram interval log v1.3, 1 s intervals, Tag= per status class (ns)", RendererFunc(Hlog)},
	{"csv", "the per-second time series", RendererFunc(CSV)},
	{"junit", "JUnit XML, one testcase per threshold", RendererFunc(JUnit)},
	{"html", "a self-contained HTML page with charts, readable offline", RendererFunc(HTML)},
}

// Formats returns the renderers by format name.
func Formats() map[string]Renderer {
	m := make(map[string]Renderer, len(formats))
	for _, f := range formats {
		m[f.Name] = f.Renderer
	}
	return m
}

// FormatList returns the formats in documentation order.
func FormatList() []Format { return append([]Format(nil), formats...) }

// FormatNames lists the known formats, sorted.
func FormatNames() []string {
	var names []string
	for k := range Formats() {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}

// Render writes r in the named format.
func Render(w io.Writer, format string, r *stats.Result) error {
	rd, ok := Formats()[format]
	if !ok {
		return fmt.Errorf("unknown format %q (known: %s)", format, strings.Join(FormatNames(), ", "))
	}
	return rd.Render(w, r)
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

// Check verifies, before a run, that the output can be written: a new or
// regular file's directory exists and is writable; a pipe or device is
// writable. A bad path is so reported before any load is sent.
func (o Output) Check() error {
	if o.Path == Stdout {
		return nil
	}
	fi, err := os.Stat(o.Path)
	switch {
	case err == nil && fi.IsDir():
		return fmt.Errorf("output %s=%s: is a directory, want a file path", o.Format, o.Path)
	case err == nil && !fi.Mode().IsRegular():
		// Written in place, as it is: nothing is created beside it.
		if err := writable(o.Path); err != nil {
			return fmt.Errorf("output %s=%s: not writable: %w", o.Format, o.Path, err)
		}
		return nil
	}
	final, err := finalPath(o.Path)
	if err != nil {
		return fmt.Errorf("output %s=%s: %w", o.Format, o.Path, err)
	}
	dir := filepath.Dir(final)
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return fmt.Errorf("output %s=%s: directory %s does not exist", o.Format, o.Path, dir)
	}
	f, err := os.CreateTemp(dir, ".volley-check-*")
	if err != nil {
		return fmt.Errorf("output %s=%s: cannot write in %s: %w", o.Format, o.Path, dir, errors.Unwrap(err))
	}
	name := f.Name()
	f.Close()
	return os.Remove(name)
}

// SameFile reports whether o and p write the same file, however each is
// spelled (relative or absolute, through a symlink or not).
func (o Output) SameFile(p Output) bool {
	if o.Path == Stdout || p.Path == Stdout {
		return false
	}
	a, aerr := os.Stat(o.Path)
	b, berr := os.Stat(p.Path)
	if aerr == nil && berr == nil {
		return os.SameFile(a, b)
	}
	return fileKey(o.Path) == fileKey(p.Path)
}

// fileKey names the file a path would create: its final path with the
// directory's links resolved.
func fileKey(path string) string {
	final, err := finalPath(path)
	if err != nil {
		final = path
	}
	dir, err := filepath.EvalSymlinks(filepath.Dir(final))
	if err != nil {
		dir = filepath.Dir(final)
	}
	if abs, err := filepath.Abs(dir); err == nil {
		dir = abs
	}
	return filepath.Join(dir, filepath.Base(final))
}

// Stdout as an output's path writes it to standard output (after the text
// report, if that is printed): useful where only a process's output is
// collected, such as a container's log.
const Stdout = "-"

// Write renders r and writes it to the output's path whole; an output to
// Stdout is written, whole, to stdout.
func (o Output) Write(r *stats.Result, stdout io.Writer) error {
	var buf bytes.Buffer
	if err := o.r.Render(&buf, r); err != nil {
		return fmt.Errorf("output %s=%s: %w", o.Format, o.Path, err)
	}
	return o.WriteBytes(buf.Bytes(), stdout)
}

// WriteBytes writes data, rendered already, where o goes: to stdout, or
// whole to its file (WriteFile).
func (o Output) WriteBytes(data []byte, stdout io.Writer) error {
	if o.Path == Stdout {
		if _, err := stdout.Write(data); err != nil {
			return fmt.Errorf("output %s to stdout: %w", o.Format, err)
		}
		return nil
	}
	if err := WriteFile(o.Path, data); err != nil {
		return fmt.Errorf("output %s=%s: %w", o.Format, o.Path, err)
	}
	return nil
}

// WriteFile writes data to path whole. A new or regular file is replaced
// atomically: a temporary file beside it, synced, then renamed over it, so
// that readers see the old file or the whole new one, never a part; an
// existing file keeps its mode (and, for root, its owner). A symlink is
// followed, and the file it names is replaced, never the link. A pipe, a
// device or any other file that is not regular is written in place, as it
// is, and its write errors are returned (--out json=/dev/full fails).
func WriteFile(path string, data []byte) error {
	fi, err := os.Stat(path)
	switch {
	case err == nil && fi.IsDir():
		return errors.New("is a directory")
	case err == nil && !fi.Mode().IsRegular():
		return writeInPlace(path, data)
	case err != nil && !errors.Is(err, fs.ErrNotExist):
		return err
	}
	final, err := finalPath(path)
	if err != nil {
		return err
	}
	return replaceFile(final, data, fi)
}

// maxLinks bounds how many symlinks finalPath follows, as the kernel does.
const maxLinks = 40

// finalPath follows path while it is a symlink (dangling or not) and returns
// the path of the file it ends at, which may not exist yet.
func finalPath(path string) (string, error) {
	p := path
	for range maxLinks {
		fi, err := os.Lstat(p)
		if errors.Is(err, fs.ErrNotExist) {
			return p, nil
		}
		if err != nil {
			return "", err
		}
		if fi.Mode()&fs.ModeSymlink == 0 {
			return p, nil
		}
		target, err := os.Readlink(p)
		if err != nil {
			return "", err
		}
		if !filepath.IsAbs(target) {
			target = filepath.Join(filepath.Dir(p), target)
		}
		p = target
	}
	return "", fmt.Errorf("more than %d symlinks", maxLinks)
}

// writeInPlace writes data into an existing file that is not regular.
func writeInPlace(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// replaceFile writes data to a temporary file beside path and renames it
// over path. old is path's FileInfo if it exists (nil if not): its mode
// and owner carry over.
func replaceFile(path string, data []byte, old fs.FileInfo) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
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
	mode := fs.FileMode(0o644)
	if old != nil {
		mode = old.Mode().Perm()
		keepOwner(tmp, old)
	}
	if err == nil {
		err = os.Chmod(tmp, mode)
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
	}
	return err
}

// StepSummaryLimit is the most GitHub shows of one step's job summary.
const StepSummaryLimit = 1 << 20

// AppendStepSummary appends md to the file named by GITHUB_STEP_SUMMARY,
// if that variable is set, keeping the file under StepSummaryLimit: when
// md would not fit, a one-line note is appended instead. It reports
// whether it wrote anything.
func AppendStepSummary(getenv func(string) string, md []byte) (bool, error) {
	path := getenv("GITHUB_STEP_SUMMARY")
	if path == "" {
		return false, nil
	}
	var size int64
	if fi, err := os.Stat(path); err == nil {
		size = fi.Size()
	}
	if size+int64(len(md)) >= StepSummaryLimit {
		md = []byte("\n> volley: summary left out: the job summary would exceed 1 MiB.\n")
		if size+int64(len(md)) >= StepSummaryLimit {
			return false, nil
		}
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return false, fmt.Errorf("GITHUB_STEP_SUMMARY: %w", err)
	}
	_, err = f.Write(md)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return false, fmt.Errorf("GITHUB_STEP_SUMMARY: %w", err)
	}
	return true, nil
}
