// Package loadtest runs load plans in tests the way the run command does,
// so that the engine's and each protocol's tests read one kind of result.
package loadtest

import (
	"context"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"volley/internal/race"
	"volley/load"
	"volley/load/request"
	"volley/stats"
)

// Defaults fills what a test plan leaves unset and a run would not: method
// GET, a 5 s timeout, a 1 MiB body bound.
func Defaults(cfg load.Config) load.Config {
	if cfg.Request.Method == "" {
		cfg.Request.Method = "GET"
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 5 * time.Second
	}
	if cfg.MaxBody == 0 {
		cfg.MaxBody = 1 << 20
	}
	return cfg
}

// Run runs cfg with client until the plan ends or ctx is done, as the run
// command does (load.Execute), and returns the result. It closes client.
func Run(t testing.TB, ctx context.Context, cfg load.Config, client load.Client) *stats.Result {
	t.Helper()
	defer client.Close()
	res, err := load.Execute(ctx, load.Execution{Config: cfg}, client)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// Runner runs plans through the clients one constructor makes (a
// protocol's, or the protocol table's).
type Runner func(load.Config) (load.Client, error)

// With runs cfg as Run does, through a client r makes for it.
func (r Runner) With(t testing.TB, ctx context.Context, cfg load.Config) *stats.Result {
	t.Helper()
	client, err := r(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return Run(t, ctx, cfg, client)
}

// Defaults is With after Defaults fills in what cfg leaves unset.
func (r Runner) Defaults(t testing.TB, ctx context.Context, cfg load.Config) *stats.Result {
	t.Helper()
	return r.With(t, ctx, Defaults(cfg))
}

// Plan is a closed-loop plan of n requests to url over conns connections,
// with the Defaults.
func Plan(url string, conns int, n int64) load.Config {
	return Defaults(load.Config{Spec: request.Spec{Request: request.Request{URL: url}}, Connections: conns, Requests: n})
}

// Retry runs try up to n times, until one passes its timing checks. On a
// shared machine a timing check can miss because another process held the
// CPU for a few milliseconds; a broken feature misses on every try. A try
// reports a miss through miss (counts and other exact checks fail the test
// at once, through t). The misses of a try that is retried are logged; those
// of the last try fail the test.
//
// A try that missed while other processes kept the machine busy (go test
// runs packages side by side) does not count: Retry waits for the machine
// to quieten, for up to quietWait, and tries again.
func Retry(t testing.TB, n int, try func(miss func(format string, args ...any))) {
	t.Helper()
	start := time.Now()
	for i := 1; ; {
		var misses []string
		others := watchOthers()
		try(func(format string, args ...any) { misses = append(misses, fmt.Sprintf(format, args...)) })
		if len(misses) == 0 {
			return
		}
		if busy := others(); busy > busyCores && time.Since(start) < quietWait {
			t.Logf("missed while other processes used %.1f cores: %s; trying again on a quieter machine", busy, strings.Join(misses, "; "))
			time.Sleep(time.Second)
			continue
		}
		for _, m := range misses {
			if i == n {
				t.Error(m)
			} else {
				t.Logf("try %d of %d: %s; trying again", i, n, m)
			}
		}
		if i == n {
			return
		}
		i++
	}
}

// busyCores is how much CPU other processes may use during a try (in
// cores, averaged over it) for its misses to count.
const busyCores = 0.3

// quietWait bounds how long Retry waits for a quiet machine.
var quietWait = 3 * time.Minute

// watchOthers starts measuring the CPU that processes other than this one
// use; the function it returns gives their average in cores since then
// (0 where the system does not say).
var watchOthers = func() func() float64 {
	busy0, self0, ok := cpuTicks()
	t0 := time.Now()
	return func() float64 {
		busy1, self1, ok1 := cpuTicks()
		if !ok || !ok1 {
			return 0
		}
		wall := time.Since(t0).Seconds() * clockTicks
		return float64((busy1-busy0)-(self1-self0)) / wall
	}
}

// clockTicks is the unit of /proc's CPU times (USER_HZ), 100 on Linux.
const clockTicks = 100

// cpuTicks reads the CPU time all processes and this one have used, in
// clock ticks, from /proc.
func cpuTicks() (busy, self int64, ok bool) {
	stat, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0, false
	}
	line, _, _ := strings.Cut(string(stat), "\n")
	f := strings.Fields(line) // cpu user nice system idle iowait irq softirq steal
	if len(f) < 9 || f[0] != "cpu" {
		return 0, 0, false
	}
	for _, k := range []int{1, 2, 3, 6, 7, 8} {
		v, _ := strconv.ParseInt(f[k], 10, 64)
		busy += v
	}
	me, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		return 0, 0, false
	}
	// The command name may hold spaces; the fields after it are plain.
	_, rest, _ := strings.Cut(string(me), ") ")
	g := strings.Fields(rest) // state ppid ... utime(12th) stime(13th)
	if len(g) < 13 {
		return 0, 0, false
	}
	u, _ := strconv.ParseInt(g[11], 10, 64)
	st, _ := strconv.ParseInt(g[12], 10, 64)
	return busy, u + st, true
}

// CheckStall checks the corrected percentiles of a 6 s run at a steady
// rate whose target froze for 1 s from 2 s on: a message or request due at
// s in the freeze is answered at about 3 s, so corrected latency is
// uniform on (0, 1 s] for 1/6 of them and p90 / p99 / p99.9 are 400 / 940
// / 994 ms; each within 3% + slack ms. Send lag p99 must stay under 5 ms:
// nothing waited in volley. Misses go to miss (see Retry); under the race
// detector timing is logged only.
func CheckStall(t testing.TB, res *stats.Result, slack float64, miss func(string, ...any)) {
	t.Helper()
	c := res.Latency.Corrected
	t.Logf("corrected p50 %.1f p90 %.1f p99 %.1f p99.9 %.1f ms; service p99 %.1f ms; send lag p50 %.3f p99 %.3f max %.3f ms; late %d",
		c.P50, c.P90, c.P99, c.P999, res.Latency.Service.P99, res.SendLag.P50, res.SendLag.P99, res.SendLag.Max, res.Requests.Late)
	if race.Enabled {
		t.Log("timing not checked under the race detector (it slows client and server alike)")
		return
	}
	for _, tc := range []struct {
		name      string
		got, want float64 // ms
	}{{"p90", c.P90, 400}, {"p99", c.P99, 940}, {"p99.9", c.P999, 994}} {
		if tol := 0.03*tc.want + slack; math.Abs(tc.got-tc.want) > tol {
			miss("corrected %s = %.1f ms, want %.0f ± %.1f ms", tc.name, tc.got, tc.want, tol)
		}
	}
	if lag := res.SendLag.P99; lag > 5 {
		miss("send lag p99 = %.2f ms, want under 5 ms: messages waited in volley", lag)
	}
}
