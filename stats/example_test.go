package stats_test

import (
	"fmt"

	"volley/stats"
)

// Summarize turns a histogram of nanosecond latencies into the millisecond
// statistics a report shows. Values are exact to 3 significant digits.
func ExampleSummarize() {
	h := stats.NewHistogram()
	// 1000 requests: 1 ms, 2 ms, ..., 1000 ms.
	for i := int64(1); i <= 1000; i++ {
		_ = h.RecordValue(i * 1_000_000)
	}
	s := stats.Summarize(h)
	fmt.Printf("count %d\n", s.Count)
	fmt.Printf("p50 %.3g ms, p90 %.3g ms, p99 %.3g ms, max %.4g ms\n", s.P50, s.P90, s.P99, s.Max)
	fmt.Printf("mean %.4g ms\n", s.Mean)
	fmt.Printf("p99.5 %.3g ms\n", stats.Quantile(h, 99.5))
	// Output:
	// count 1000
	// p50 500 ms, p90 900 ms, p99 990 ms, max 1000 ms
	// mean 500.5 ms
	// p99.5 995 ms
}
