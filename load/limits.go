package load

import (
	"fmt"
	"net/url"
)

// descriptorMargin is what a run needs besides its workers' descriptors:
// stdio, the runtime's poller (its epoll and wake-up descriptors), the
// pacer's timer, output files written at the end, a body or targets file,
// the DNS resolver's sockets and a redial that opens a socket before the
// old one is gone.
const descriptorMargin = 64

// DescriptorsNeeded estimates the file descriptors cfg holds open at most:
// for every worker, a socket per endpoint it may keep alive (one per
// distinct scheme and host of its targets) and, when it paces itself on a
// timer of its own (open loop without a tick grid, or stages of
// connections), that timer's descriptor; plus descriptorMargin.
func DescriptorsNeeded(cfg Config) int {
	n := cfg.workers()
	if mine := cfg.Shard.Requests(cfg.Requests); cfg.Requests > 0 && int64(n) > mine {
		n = max(int(mine), 1)
	}
	perWorker := endpointCount(cfg)
	if (cfg.Open() && cfg.Tick == 0) || cfg.StageConnections {
		perWorker++
	}
	return n*perWorker + descriptorMargin
}

// endpointCount is how many distinct scheme://host pairs the plan sends to,
// at least 1: a worker keeps one connection to each.
func endpointCount(cfg Config) int {
	if len(cfg.Targets) == 0 {
		return 1
	}
	seen := map[string]bool{}
	for _, t := range cfg.Targets {
		key := t.URL
		if u, err := url.Parse(t.URL); err == nil {
			key = u.Scheme + "://" + u.Host
		}
		seen[key] = true
	}
	return max(len(seen), 1)
}

// descriptorError says which setting decides the descriptor count, how
// many it needs and what the limit is.
func descriptorError(cfg Config, need int, limit uint64) error {
	if cfg.StageConnections {
		return fmt.Errorf("--stages: %d connections need about %d file descriptors, the limit is %d (ulimit -n); raise it or lower the stages' peak",
			cfg.workers(), need, limit)
	}
	return fmt.Errorf("--connections %d: needs about %d file descriptors, the limit is %d (ulimit -n); raise it or lower -c",
		cfg.Connections, need, limit)
}
