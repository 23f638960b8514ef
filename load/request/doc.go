// Package request is what a run sends, as HTTP defines a request: method,
// URL, headers and body, one of them or several targets picked by weight
// (ParseTargets reads a targets file), with {{...}} templates (Template) fed
// by CSV data (ReadData), and the checks answers must pass (Expect).
//
// A Spec is compiled once into a Plan that every worker shares: each target
// ready to render into a worker's own buffers without allocating, the
// endpoints to dial, and the target groups for the per-target breakdown.
// Plan.Pick maps a request's index to its target, by an interleaving table
// or at random from the seed, so that the same index always sends the same
// request however many machines share the run.
package request
