package http1

import (
	"volley/internal/loadtest"
	"volley/load"
)

// runWith and runPlan run a plan through this package's client.
var (
	runner  = loadtest.Runner(func(c load.Config) (load.Client, error) { return NewClient(c) })
	runWith = runner.With
	runPlan = runner.Defaults
)
