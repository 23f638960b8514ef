package protocols

import "volley/internal/loadtest"

// runWith and runPlan run a plan through the client the table chooses.
var (
	runWith = loadtest.Runner(NewClient).With
	runPlan = loadtest.Runner(NewClient).Defaults
)
