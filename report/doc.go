// Package report presents a stats.Result: the text report for people, the
// JSON result for machines, and the live progress line. Renderers write to
// an io.Writer; WriteFile writes any renderer's output whole (temporary file,
// then rename).
package report
