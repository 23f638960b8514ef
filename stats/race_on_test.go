//go:build race

package stats

// raceEnabled reports whether the race detector is on; allocation counts
// are meaningless under it.
const raceEnabled = true
