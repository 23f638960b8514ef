package report

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"volley/stats"
)

func TestProgress(t *testing.T) {
	var b bytes.Buffer
	p := NewProgress(&b, 10*time.Second, 0)
	p.Update(stats.Progress{Elapsed: 5 * time.Second, Requests: 4321, Errors: 7, LastRPS: 987.6, LastP99: 12.34})
	out := b.String()
	for _, want := range []string{"4321 req", "987 req/s", "p99 12.3ms", "errors 7", "500/1000"} {
		if !strings.Contains(out, want) {
			t.Errorf("progress line %q lacks %q", out, want)
		}
	}
	// A request bound that is further along wins.
	b.Reset()
	p = NewProgress(&b, 10*time.Second, 5000)
	p.Update(stats.Progress{Elapsed: time.Second, Requests: 4000})
	if !strings.Contains(b.String(), "800/1000") {
		t.Errorf("progress %q, want 800/1000 (4000 of 5000 requests)", b.String())
	}
	p.Finish()
}
