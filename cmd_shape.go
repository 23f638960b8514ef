package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"volley/load"
)

// shapeOptions are the flags that shape a run's load over time: stages,
// arrival process and warm-up.
type shapeOptions struct {
	stages  string
	arrival string
	warmup  time.Duration
	tick    time.Duration
}

func (o *shapeOptions) register(f *pflag.FlagSet) {
	f.StringVar(&o.stages, "stages", "", "load shape DURATION:RATE or DURATION:FROM-TO, comma-separated (e.g. 30s:0-1000,2m:1000,30s:1000-0); with -r 0, connection counts")
	f.StringVar(&o.arrival, "arrival", "uniform", "open-loop arrivals: uniform (evenly spaced) or poisson (exponential gaps, same mean rate)")
	f.DurationVar(&o.warmup, "warmup", 0, "send at the first stage's (or the constant) rate for this long first, and keep it out of the statistics")
	f.DurationVar(&o.tick, "tick", load.DefaultTick, "open-loop pacing grid: requests due within one tick go out together at its start, on one timer wake-up; 0 gives every request a timer of its own (exact spacing, more CPU)")
}

// apply adds the shape to cfg, which holds the other flags' values. Flag
// combinations that cannot mean what the user wants are usage errors.
func (o *shapeOptions) apply(cfg *load.Config, f *pflag.FlagSet) error {
	arr, err := load.ParseArrival(o.arrival)
	if err != nil {
		return usageErrorf("--arrival: %w", err)
	}
	// --seed (with the request options) seeds Poisson gaps too.
	cfg.Arrival, cfg.Warmup, cfg.Tick = arr, o.warmup, o.tick
	if arr == load.ArrivalPoisson && cfg.Shard.Of() > 1 && !f.Changed("seed") {
		return usageErrorf("--shard with --arrival poisson: give --seed, the same on every shard, so that they share one schedule")
	}
	if o.warmup < 0 {
		return usageErrorf("--warmup %v: must not be negative", o.warmup)
	}
	if f.Changed("stages") {
		st, err := load.ParseStages(o.stages)
		if err != nil {
			return usageErrorf("--stages %q: %w", o.stages, err)
		}
		if f.Changed("duration") {
			return usageErrorf("--stages and --duration: the stages set the run's length (%v); drop --duration", load.StagesDuration(st))
		}
		cfg.Duration = 0
		cfg.Stages = st
		if f.Changed("rate") {
			if cfg.Rate > 0 {
				return usageErrorf("--stages and --rate %v: the stages set the rate; give -r 0 to make them connection counts", cfg.Rate)
			}
			if f.Changed("connections") {
				return usageErrorf("--stages with -r 0 and --connections: the stages set the connection counts; drop --connections")
			}
			cfg.StageConnections = true
			peak := 0.0
			for _, s := range st {
				peak = max(peak, s.From, s.To)
			}
			cfg.Connections = max(int(peak), 1)
		}
	}
	if err := cfg.Validate(); err != nil {
		return usageError{shapeFlagName(err)}
	}
	return nil
}

// shapeFlagName names the flag behind a shape validation error.
func shapeFlagName(err error) error {
	msg := err.Error()
	for prefix, flag := range map[string]string{
		"stages: ": "--stages: ", "arrival poisson: ": "--arrival poisson: ",
		"warmup: ": "--warmup: ", "warmup ": "--warmup ", "tick ": "--tick ",
	} {
		if strings.HasPrefix(msg, prefix) {
			return fmt.Errorf("%s%s", flag, strings.TrimPrefix(msg, prefix))
		}
	}
	return flagName(err)
}
