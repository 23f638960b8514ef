package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// readmeJSON returns the first ```json block of README.md after heading,
// parsed.
func readmeJSON(t *testing.T, heading string) map[string]any {
	t.Helper()
	b, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, after, ok := strings.Cut(string(b), "\n"+heading+"\n")
	if !ok {
		t.Fatalf("README.md has no heading %q", heading)
	}
	_, block, ok := strings.Cut(after, "```json\n")
	if !ok {
		t.Fatalf("README.md has no ```json block after %q", heading)
	}
	block, _, _ = strings.Cut(block, "```")
	var v map[string]any
	if err := json.Unmarshal([]byte(block), &v); err != nil {
		t.Fatalf("the JSON block after %q does not parse: %v", heading, err)
	}
	return v
}

// keyPaths lists every key path of v with the JSON type at it
// ("latency.corrected.p50 number"); the entries of a list are described
// together, as path[].
func keyPaths(prefix string, v any, into map[string]bool) {
	switch x := v.(type) {
	case map[string]any:
		into[prefix+" object"] = true
		for k, e := range x {
			keyPaths(strings.TrimPrefix(prefix+"."+k, "."), e, into)
		}
	case []any:
		into[prefix+" list"] = true
		for _, e := range x {
			keyPaths(prefix+"[]", e, into)
		}
	case string:
		into[prefix+" string"] = true
	case float64:
		into[prefix+" number"] = true
	case bool:
		into[prefix+" bool"] = true
	case nil:
		into[prefix+" null"] = true
	}
}

// sameKeys fails t with the key paths in one of doc and real but not in
// the other.
func sameKeys(t *testing.T, what string, doc, real any) {
	t.Helper()
	d, r := map[string]bool{}, map[string]bool{}
	keyPaths("", doc, d)
	keyPaths("", real, r)
	var missing, extra []string
	for k := range r {
		if !d[k] {
			missing = append(missing, k)
		}
	}
	for k := range d {
		if !r[k] {
			extra = append(extra, k)
		}
	}
	sort.Strings(missing)
	sort.Strings(extra)
	if len(missing)+len(extra) > 0 {
		t.Errorf("%s: the README's block and a real result differ\n  in the result only: %s\n  in the README only: %s",
			what, strings.Join(missing, ", "), strings.Join(extra, ", "))
	}
}

// resultJSON runs volley with args and --out json=..., and returns the
// result as parsed JSON.
func resultJSON(t *testing.T, dir string, args ...string) map[string]any {
	t.Helper()
	path := filepath.Join(dir, fmt.Sprintf("r%d.json", len(args)))
	r := runCLI(t, append(args, "-q", "--out", "json="+path)...)
	if r.code != 0 {
		t.Fatalf("volley %s: exit %d: %s", strings.Join(args, " "), r.code, r.stderr)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var v map[string]any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

// TestREADMEResultSchema: the README's JSON result parses, and its keys
// (and the type at each) are exactly those of a real result of the run it
// names; the WebSocket section's keys are those of a real WebSocket run. A
// key added, renamed or left out on either side fails here.
func TestREADMEResultSchema(t *testing.T) {
	srv := startBench(t, benchOpts{})
	dir := t.TempDir()
	targets := filepath.Join(dir, "targets.txt")
	if err := os.WriteFile(targets, []byte(fmt.Sprintf(
		`{"name": "home", "method": "GET", "url": "%[1]s/", "weight": 3}
{"name": "api", "method": "POST", "url": "%[1]s/api", "body": "{\"id\":1}", "weight": 1}
`, srv.URL())), 0o644); err != nil {
		t.Fatal(err)
	}
	real := resultJSON(t, dir, "run", "--targets", targets, "-c", "4", "--stages", "1s:100", "--warmup", "200ms",
		"--expect-status", "2xx", "--follow-redirects", "2", "--threshold", "p99<250ms", "--seed", "7")
	sameKeys(t, "## JSON result", readmeJSON(t, "## JSON result"), real)

	ws := resultJSON(t, dir, "run", "-r", "200", "-c", "4", "-n", "400", "ws"+strings.TrimPrefix(srv.URL(), "http")+"/ws")
	doc := readmeJSON(t, "## WebSocket")
	for k := range doc {
		sameKeys(t, "## WebSocket: "+k, doc[k], ws[k])
	}
	if len(doc) < 3 {
		t.Errorf("the WebSocket block holds %d keys, want messages, ws and histograms", len(doc))
	}
}
