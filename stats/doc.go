// Package stats records request outcomes and turns them into a Result.
//
// It is the leaf of volley's data flow: the load generator writes one Sample
// per request into a per-worker Recorder (a single-producer ring, no lock and
// no allocation), a Collector drains every Recorder into HDR histograms, exact
// tallies and a per-second series, and freezes them into a Result that the
// report package renders. stats knows nothing of HTTP beyond status codes.
//
// Latencies are int64 nanoseconds. Every histogram shares one geometry
// (1 µs to 1 h, 3 significant digits) so that histograms from different runs,
// workers or machines add exactly.
//
// A Result also describes its load shape (Shape) and warm-up (Warmup, whose
// requests no other figure includes), and an SLO judges a Result on a
// latency percentile or its error rate (volley find-max's steps).
package stats
