//go:build !linux

package load

import "testing"

func fullBacklog(t *testing.T) string {
	t.Skip("filling a listener's accept queue is only done on Linux")
	return ""
}
