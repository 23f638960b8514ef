//go:build !race

package race

// Enabled reports whether the binary was built with the race detector, under
// which allocation counts and timings mean nothing.
const Enabled = false
