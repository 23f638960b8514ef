package main

import (
	"io"

	"github.com/spf13/cobra"
)

func newMergeCmd(stdout, stderr io.Writer) *cobra.Command {
	return reportCmd(stdout, stderr, &cobra.Command{
		Use:   "merge [flags] RESULT.json...",
		Short: "Merge sharded results exactly and judge thresholds on the whole",
		Long: `Merge results written by 'volley run --shard K/N --out json=FILE' into one.

Histograms are added bucket by bucket (same range and precision everywhere,
never averaging percentiles), counts are summed, and the per-second series are
summed by time since the shared start. Thresholds are evaluated once, on the
merged whole; the exit code is 99 if one fails.

The shards must be of one plan: the same URL, method, headers, body, rate,
duration, request count, shard count and start time (the plan fingerprint in
each result). A missing or duplicate shard, a result of another plan, or
the same result given twice (under any name), is an error (exit 2). Files
are read and merged one at a time, so merging many costs little memory.
Files that are not shards are merged as parts of one run that ran side by
side, as 'volley report' does.`,
		Example: `  volley merge shard-0.json shard-1.json shard-2.json shard-3.json \
      --out json=merged.json
  volley merge shard-*.json --threshold 'p99<250ms' --out junit=volley.xml`,
	}, 1)
}
