// Package metrics turns a run's interval snapshots into live metrics: a
// Prometheus scrape endpoint, Prometheus remote write and OTLP. Nothing
// here is on the per-request path: a Sink reads the collector's totals once
// an interval, and each receiver is fed from a goroutine of its own, so a
// receiver that is down or slow costs the run nothing but its own failures.
//
// The names are an interface; the README's "Live metrics" section lists
// them and deploy/grafana/ charts them.
package metrics
