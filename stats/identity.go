package stats

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
)

// Identity fingerprints the run a result records: its start time, plan,
// shard, target, length and every count. Two files with the same identity
// hold the same run (a copy under another name, or one file given twice),
// so merging both would count its requests twice. Rendering a result again
// (volley report --out json=...) keeps its identity: thresholds and the
// encoding of histograms are left out.
func (r *Result) Identity() string {
	id := struct {
		Started     string
		Plan, Shard string
		Target      Target
		Mode        string
		DurationS   float64
		Connections int
		Parts       int
		Requests    Requests
		Status      map[string]int64
		Codes       map[string]int64
		Errors      map[string]int64
		Bytes       Bytes
		Corrected   int64
		Min, Max    int64
	}{
		Started: r.Started.UTC().Format("2006-01-02T15:04:05.999999999Z"), Plan: r.Plan, Shard: r.Shard,
		Target: r.Target, Mode: r.Mode, DurationS: r.DurationS, Connections: r.Connections, Parts: r.Parts,
		Requests: r.Requests, Status: r.Status, Codes: r.Codes, Errors: r.Errors, Bytes: r.Bytes,
	}
	if h := r.Histograms["corrected"].Histogram; h != nil {
		id.Corrected, id.Min, id.Max = h.TotalCount(), h.Min(), h.Max()
	}
	b, _ := json.Marshal(id) // maps marshal in key order: stable
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:16])
}
