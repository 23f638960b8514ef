package load_test

import (
	"volley/internal/loadtest"
	"volley/load/protocols"
)

// runWith and runPlan run a plan through the client the protocol table
// chooses, as the run command would.
var (
	runWith = loadtest.Runner(protocols.NewClient).With
	runPlan = loadtest.Runner(protocols.NewClient).Defaults
)
