// Package report presents a stats.Result: the text report for people, the
// JSON result for machines, a self-contained HTML page with charts (the
// uPlot library and the page's assets are embedded from assets/), and the
// live progress line. Renderers write to
// an io.Writer; WriteFile writes any renderer's output whole (temporary file,
// then rename).
package report
