package http1

import (
	"strings"
	"testing"
	"time"

	"volley/internal/race"
	"volley/load"
	"volley/load/request"
	"volley/stats"
)

// TestTargetsAndTemplatesAllocateNothing: picking among several targets,
// rendering templates (URL, header, body, data rows) and checking the
// response allocate nothing per request once the connection is up.
func TestTargetsAndTemplatesAllocateNothing(t *testing.T) {
	if race.Enabled {
		t.Skip("allocation counts are not meaningful under the race detector")
	}
	url := cannedServer(t)
	data, err := request.ReadData(strings.NewReader("user\nann\nbob\n"))
	if err != nil {
		t.Fatal(err)
	}
	st, _ := request.ParseExpectStatus("200")
	cfg := load.Config{Spec: request.Spec{Targets: []request.Target{
		{Name: "static", Request: request.Request{Method: "GET", URL: url + "/s", Headers: []request.Header{{Key: "X-A", Value: "1"}}}, Weight: 2},
		{Name: "tmpl", Request: request.Request{Method: "POST", URL: url + "/u/{{csv.user}}?n={{seq}}&r={{rand 1 9}}",
			Headers: []request.Header{{Key: "X-Id", Value: "{{uuid}}"}, {Key: "X-T", Value: "{{now_unix_ms}}"}}, Body: []byte(`{"at":"{{now}}"}`)}, Weight: 1},
	}, Data: data, Random: true, Expect: request.Expect{Status: st, Body: []byte("hello")}},

		Seed:        3,
		Connections: 1, Requests: 1, Timeout: 5 * time.Second, MaxBody: 1 << 20,
	}
	client, err := NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := client.NewConn()
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	rec := stats.NewRecorder(4096)
	for i := range int64(16) { // connect and warm the buffers
		conn.Do(i)
	}
	i := int64(16)
	allocs := testing.AllocsPerRun(2000, func() {
		out := conn.Do(i)
		if out.Code != 200 || out.Check != 0 {
			t.Fatalf("status %d, check %d, err %v", out.Code, out.Check, out.Err)
		}
		rec.Record(stats.Sample{Done: i, Code: uint16(out.Code), Target: out.Target, Phases: out.Phases})
		i++
		if i%4000 == 0 {
			t.Fatal("ring would overflow")
		}
	})
	if allocs != 0 {
		t.Errorf("per-request path with targets and templates allocates %.2f times per request, want 0", allocs)
	}
}
