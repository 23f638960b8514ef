package load

import (
	"fmt"
	"math"
	"time"

	"volley/load/field"
	"volley/stats"
)

// Arrival is how open-loop requests are spaced in time.
type Arrival uint8

// Arrival processes.
const (
	// ArrivalUniform spaces requests evenly (by the integral of the rate).
	ArrivalUniform Arrival = iota
	// ArrivalPoisson draws exponential gaps at the same mean rate.
	ArrivalPoisson
)

// ParseArrival parses "uniform" or "poisson".
func ParseArrival(s string) (Arrival, error) {
	switch s {
	case "uniform", "":
		return ArrivalUniform, nil
	case "poisson":
		return ArrivalPoisson, nil
	}
	return ArrivalUniform, fmt.Errorf("arrival %q: want uniform or poisson", s)
}

// String returns "uniform" or "poisson".
func (a Arrival) String() string {
	if a == ArrivalPoisson {
		return "poisson"
	}
	return "uniform"
}

// Open reports whether the plan is open loop: a rate or stages of rates.
func (c *Config) Open() bool {
	return c.Rate > 0 || (len(c.Stages) > 0 && !c.StageConnections)
}

// validateShape checks the stages, arrival and warm-up settings.
func (c *Config) validateShape() error {
	if len(c.Stages) > 0 {
		if c.Rate > 0 {
			return field.Errorf("Stages", "stages: the stages set the rate; give rate 0 for stages of connections")
		}
		if err := checkStages(c.Stages, c.StageConnections); err != nil {
			return field.Wrap("Stages", err)
		}
		if c.StageConnections && c.Connections < peak(c.Stages) {
			return field.Errorf("Connections", "connections %d: fewer than the stages' peak %d", c.Connections, peak(c.Stages))
		}
	} else if c.StageConnections {
		return field.Errorf("Stages", "stages: connection stages given without stages")
	}
	if c.Arrival == ArrivalPoisson && !c.Open() {
		return field.Errorf("Arrival", "arrival poisson: needs an open-loop run (a rate or stages of rates)")
	}
	if c.Arrival > ArrivalPoisson {
		return field.Errorf("Arrival", "arrival %d: unknown", c.Arrival)
	}
	if c.Warmup < 0 {
		return field.Errorf("Warmup", "warmup %v: must not be negative", c.Warmup)
	}
	if c.Warmup > 0 {
		if c.warmLevel() == 0 {
			return field.Errorf("Warmup", "warmup: the first stage starts at 0, so a warm-up would send nothing; start the stages above 0 or drop the warm-up")
		}
		if c.Requests > 0 && !c.Open() {
			return field.Errorf("Warmup", "warmup: a closed-loop warm-up needs a run bounded by time, not by a request count")
		}
	}
	return nil
}

// peak is the largest value of the stages.
func peak(stages []Stage) int {
	m := 0.0
	for _, s := range stages {
		m = max(m, s.From, s.To)
	}
	return int(m)
}

// warmLevel is the rate (open loop) or connection count (closed loop) of the
// warm-up: where the measured run starts.
func (c *Config) warmLevel() float64 {
	if len(c.Stages) > 0 {
		return c.Stages[0].From
	}
	if c.Rate > 0 {
		return c.Rate
	}
	return float64(c.Connections)
}

// shapeStages returns the stages including the warm-up as a first stage, cut
// to Duration when both are set.
func (c *Config) shapeStages() []Stage {
	var out []Stage
	if c.Warmup > 0 {
		v := c.warmLevel()
		out = append(out, Stage{Duration: c.Warmup, From: v, To: v})
	}
	if c.Duration <= 0 || StagesDuration(c.Stages) <= c.Duration {
		return append(out, c.Stages...)
	}
	left := c.Duration
	for _, s := range c.Stages {
		if left <= 0 {
			break
		}
		if s.Duration > left {
			x := left.Seconds() / s.Duration.Seconds()
			s = Stage{Duration: left, From: s.From, To: s.From + (s.To-s.From)*x}
		}
		out = append(out, s)
		left -= s.Duration
	}
	return out
}

// Length is how long the run sends, warm-up included; 0 for a run bounded
// only by its request count.
func (c *Config) Length() time.Duration {
	if len(c.Stages) > 0 {
		return StagesDuration(c.shapeStages())
	}
	if c.Duration == 0 {
		return 0
	}
	return c.Warmup + c.Duration
}

// measuredLength is how long the measured part is planned to send.
func (c *Config) measuredLength() time.Duration {
	if l := c.Length(); l > 0 {
		return l - c.Warmup
	}
	return 0
}

// PlannedRate is the mean target rate of the measured part of an open-loop
// run (its planned requests over its length); 0 for a closed loop.
func (c *Config) PlannedRate() float64 {
	switch {
	case c.Rate > 0:
		return c.Rate
	case len(c.Stages) == 0 || c.StageConnections:
		return 0
	}
	p := newProfile(c.shapeStages())
	d := c.measuredLength()
	if d <= 0 {
		return 0
	}
	return (p.total - p.count(c.Warmup)) / d.Seconds()
}

// workers is the number of workers (and connections) the run starts.
func (c *Config) workers() int {
	n := c.Connections
	if c.StageConnections {
		n = max(peak(c.Stages), 1)
	}
	if c.Requests > 0 && int64(n) > c.Requests {
		n = int(c.Requests)
	}
	return n
}

// schedule returns the open-loop schedule (nil for a closed loop), and the
// closed-loop connection shape (nil unless stages of connections are given).
func (c *Config) schedule() (Schedule, *Concurrency, error) {
	if !c.Open() {
		if !c.StageConnections {
			return nil, nil, nil
		}
		cc := NewConcurrency(c.shapeStages())
		return nil, &cc, nil
	}
	if c.Arrival == ArrivalPoisson {
		var st []Stage
		if len(c.Stages) > 0 {
			st = c.shapeStages()
		} else if c.Duration > 0 {
			st = []Stage{{Duration: c.Warmup + c.Duration, From: c.Rate, To: c.Rate}}
		}
		limit := c.Requests
		p, err := NewPoisson(st, c.Rate, limit, c.Seed)
		if err != nil {
			return nil, nil, err
		}
		if limit > 0 && c.Warmup > 0 {
			// The count bounds the measured requests: rebuild with room for
			// the warm-up's.
			w := warmCount(p, c.Warmup)
			if p, err = NewPoisson(st, c.Rate, limit+w, c.Seed); err != nil {
				return nil, nil, err
			}
		}
		return p, nil, nil
	}
	if len(c.Stages) > 0 {
		return NewRamp(c.shapeStages()), nil, nil
	}
	return Constant{Rate: c.Rate}, nil, nil
}

// warmCount is the number of requests a schedule sends before w: the first
// index due at or after w.
func warmCount(s Schedule, w time.Duration) int64 {
	if w <= 0 {
		return 0
	}
	lo, hi := int64(0), int64(1)
	for s.Offset(hi) < w {
		lo, hi = hi, hi*2
		if hi > 1<<62 {
			return hi
		}
	}
	for lo < hi {
		mid := lo + (hi-lo)/2
		if s.Offset(mid) < w {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return lo
}

// Phase describes where a run is at t since its start (warm-up included),
// for the progress line: "warm-up", "stage 2/3", or "" for an unshaped run,
// with the target rate (open loop) or connection count (closed loop) at t.
func (c *Config) Phase(t time.Duration) (label string, target float64) {
	if t < c.Warmup {
		return "warm-up", c.warmLevel()
	}
	if len(c.Stages) == 0 {
		if c.Rate > 0 {
			return "", c.Rate
		}
		return "", float64(c.Connections)
	}
	st := c.shapeStages()
	var start time.Duration
	k := 0
	for i, s := range st {
		if c.Warmup > 0 && i == 0 {
			start += s.Duration
			continue
		}
		k++
		if t < start+s.Duration || i == len(st)-1 {
			x := min(max((t-start).Seconds()/s.Duration.Seconds(), 0), 1)
			v := s.From + (s.To-s.From)*x
			if c.StageConnections {
				v = math.Floor(v + 0.5)
			}
			return fmt.Sprintf("stage %d/%d", k, len(c.Stages)), v
		}
		start += s.Duration
	}
	return "", 0
}

// Concurrency is a closed-loop shape: how many connections are active over
// time. Worker w (counting from 0) sends while Active > w and waits (without
// spinning) otherwise. It is safe for concurrent use.
type Concurrency struct {
	stages []Stage
	starts []time.Duration
	end    time.Duration
}

// NewConcurrency returns the shape of stages whose values are connection
// counts.
func NewConcurrency(stages []Stage) Concurrency {
	c := Concurrency{stages: stages, starts: make([]time.Duration, len(stages))}
	for i, s := range stages {
		c.starts[i] = c.end
		c.end += s.Duration
	}
	return c
}

// level is the unrounded connection count at d.
func (c *Concurrency) level(d time.Duration) float64 {
	for i, s := range c.stages {
		if d < c.starts[i]+s.Duration {
			x := max(d-c.starts[i], 0).Seconds() / s.Duration.Seconds()
			return s.From + (s.To-s.From)*x
		}
	}
	return 0
}

// Active returns the number of active connections at d: the stage's value
// at d, rounded to the nearest whole number; 0 from the end on.
func (c *Concurrency) Active(d time.Duration) int {
	return int(math.Floor(c.level(d) + 0.5))
}

// NextActive returns the earliest offset at or after d at which worker w is
// active, or the end if it never is again.
func (c *Concurrency) NextActive(w int, d time.Duration) time.Duration {
	need := float64(w) + 0.5 // Active > w ⇔ level ≥ w + ½
	for i, s := range c.stages {
		start, end := c.starts[i], c.starts[i]+s.Duration
		if end <= d {
			continue
		}
		t0 := max(d, start)
		if c.level(t0) >= need {
			return t0
		}
		if s.To > s.From {
			x := (need - s.From) / (s.To - s.From) * s.Duration.Seconds()
			t := start + time.Duration(math.Ceil(x*1e9))
			if t < end {
				return max(t, t0)
			}
		}
	}
	return c.end
}

// Duration returns the shape's length.
func (c *Concurrency) Duration() time.Duration { return c.end }

// Describe fills in what a result says about the plan: the target rate (the
// mean planned rate of the measured part; 0 for a closed loop), the
// connections, the shape (stages and arrival) and the warm-up.
func (c *Config) Describe(m *stats.Meta) {
	m.Rate = c.PlannedRate()
	m.Connections = c.Connections
	if c.StageConnections {
		m.Connections = max(peak(c.Stages), 1)
	}
	m.Warmup = c.Warmup
	m.Seed = c.Seed
	if c.Rate > 0 || (len(c.Stages) > 0 && !c.StageConnections) {
		m.Tick = c.Tick
	}
	if len(c.Stages) == 0 && c.Arrival == ArrivalUniform {
		m.Shape = nil
		return
	}
	sh := &stats.Shape{Unit: "req/s", Arrival: c.Arrival.String()}
	if c.StageConnections {
		sh.Unit = "connections"
	}
	st := c.shapeStages()
	if c.Warmup > 0 && len(st) > 0 {
		st = st[1:]
	}
	for _, s := range st {
		sh.Stages = append(sh.Stages, stats.Stage{DurationS: s.Duration.Seconds(), From: s.From, To: s.To})
	}
	m.Shape = sh
}

// RateAt is the rate this process is asked to send at d after the run's
// start (warm-up included), in requests per second: the stage's rate, or
// the fixed rate, as this shard's share; 0 for a closed loop.
func (c *Config) RateAt(d time.Duration) float64 {
	if !c.Open() {
		return 0
	}
	rate := c.Rate
	if len(c.Stages) > 0 {
		rate = NewRamp(c.shapeStages()).RateAt(d)
	}
	return rate / float64(c.Shard.Of())
}
