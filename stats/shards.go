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
	var set ShardSet
	for i, r := range rs {
		if err := set.Add(names[i], r); err != nil {
			return err
		}
	}
	return set.Check()
}

// ShardSet checks, one result at a time, what CheckShards checks, keeping
// only a few facts per result (its name and shard index), so that results
// can be merged as they are read. The zero value is an empty set.
type ShardSet struct {
	first      string // name of the first result
	firstShard string // name and shard ("K/N") of the first shard seen
	shardOf    string
	nonShard   string // name of the first result that is no shard
	plan       string
	of         int
	seen       map[int]string // shard index -> name
}

// Add records the result r, named name, and fails as soon as it cannot
// belong with the earlier ones: a shard among non-shards (or the reverse),
// another plan or shard count, or a shard index already seen.
func (s *ShardSet) Add(name string, r *Result) error {
	if s.first == "" {
		s.first = name
	}
	if r.Shard == "" {
		if s.firstShard != "" {
			return fmt.Errorf("%s is not a shard, %s is: merge shards of one plan only", name, s.firstShard)
		}
		if s.nonShard == "" {
			s.nonShard = name
		}
		return nil
	}
	if s.nonShard != "" {
		return fmt.Errorf("%s is not a shard, %s is: merge shards of one plan only", s.nonShard, name)
	}
	k, n, err := parseShard(r.Shard)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	if s.firstShard == "" {
		s.firstShard, s.shardOf, s.plan, s.of = name, r.Shard, r.Plan, n
		s.seen = map[int]string{}
	}
	if r.Plan != s.plan {
		return fmt.Errorf("%s has plan %s, %s has plan %s: these are not shards of the same plan "+
			"(URL, method, headers, body, rate, duration, requests, shard count and start time must match)",
			name, r.Plan, s.firstShard, s.plan)
	}
	if n != s.of {
		return fmt.Errorf("%s is shard %s, %s is shard %s: shard counts differ", name, r.Shard, s.firstShard, s.shardOf)
	}
	if prev, dup := s.seen[k]; dup {
		return fmt.Errorf("duplicate shard %d/%d: %s and %s", k, n, prev, name)
	}
	s.seen[k] = name
	return nil
}

// Check fails when the shards added leave an index of their plan missing.
// A set without shards passes.
func (s *ShardSet) Check() error {
	if s.firstShard == "" {
		return nil
	}
	var missing []string
	for k := range s.of {
		if _, ok := s.seen[k]; !ok {
			missing = append(missing, fmt.Sprintf("%d/%d", k, s.of))
		}
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		return fmt.Errorf("missing shard(s) %s: got %d of %d", strings.Join(missing, ", "), len(s.seen), s.of)
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
