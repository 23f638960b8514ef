package stats

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// CheckShards verifies that results meant to be merged as the shards of one
// plan fit together: when any of them is a shard, all must be shards of the
// same plan (fingerprint) and count N, and together hold every index 0..N-1
// exactly once. names label the results in errors (file names).
func CheckShards(rs []*Result, names []string) error {
	anyShard := false
	for _, r := range rs {
		if r.Shard != "" {
			anyShard = true
		}
	}
	if !anyShard {
		return nil
	}
	of := -1
	seen := map[int]string{}
	for i, r := range rs {
		if r.Shard == "" {
			return fmt.Errorf("%s is not a shard, %s is: merge shards of one plan only", names[i], names[0])
		}
		k, n, err := parseShard(r.Shard)
		if err != nil {
			return fmt.Errorf("%s: %w", names[i], err)
		}
		if r.Plan != rs[0].Plan {
			return fmt.Errorf("%s has plan %s, %s has plan %s: these are not shards of the same plan "+
				"(URL, method, headers, body, rate, duration, requests, shard count and start time must match)",
				names[i], r.Plan, names[0], rs[0].Plan)
		}
		if of >= 0 && n != of {
			return fmt.Errorf("%s is shard %s, %s is shard %s: shard counts differ", names[i], r.Shard, names[0], rs[0].Shard)
		}
		of = n
		if prev, dup := seen[k]; dup {
			return fmt.Errorf("duplicate shard %d/%d: %s and %s", k, n, prev, names[i])
		}
		seen[k] = names[i]
	}
	var missing []string
	for k := range of {
		if _, ok := seen[k]; !ok {
			missing = append(missing, fmt.Sprintf("%d/%d", k, of))
		}
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		return fmt.Errorf("missing shard(s) %s: got %d of %d", strings.Join(missing, ", "), len(seen), of)
	}
	return nil
}

func parseShard(s string) (k, n int, err error) {
	a, b, ok := strings.Cut(s, "/")
	if ok {
		var e1, e2 error
		k, e1 = strconv.Atoi(a)
		n, e2 = strconv.Atoi(b)
		ok = e1 == nil && e2 == nil && n > 0 && k >= 0 && k < n
	}
	if !ok {
		return 0, 0, fmt.Errorf("shard %q: want K/N", s)
	}
	return k, n, nil
}
