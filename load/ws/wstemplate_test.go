package ws

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"volley/bench"
	"volley/bench/benchtest"
	"volley/load"
	"volley/load/request"
)

// TestWSTemplateMessages: a message may hold the request templates; each
// message is rendered anew and still carries its id where {{id}} stands.
func TestWSTemplateMessages(t *testing.T) {
	data, err := request.ReadData(strings.NewReader("user\nann\nbob\n"))
	if err != nil {
		t.Fatal(err)
	}
	cfg := &load.Config{Spec: request.Spec{Data: data}, Seed: 7}
	tmpl, err := compileWSTemplate([]byte(`{"id":"{{id}}","n":{{seq}},"r":{{rand 1 9}},"u":"{{csv.user}}","k":"{{uuid}}"}`), cfg, MatchID)
	if err != nil || tmpl == nil {
		t.Fatalf("compile: %v, %v", tmpl, err)
	}
	f := &wsFrame{idAt: -1, tmpl: tmpl}
	re := regexp.MustCompile(`^\{"id":"([0-9a-f]{16})","n":(\d+),"r":[1-9],"u":"(ann|bob)","k":"[0-9a-f-]{36}"\}$`)
	var prevUUID string
	for _, i := range []int64{0, 1, 41} {
		msg := string(f.build(i))
		m := re.FindStringSubmatch(msg)
		if m == nil {
			t.Fatalf("message %d = %s, not the rendered template", i, msg)
		}
		if m[1] != strings.Repeat("0", 14)+map[int64]string{0: "00", 1: "01", 41: "29"}[i] {
			t.Errorf("message %d carries id %s", i, m[1])
		}
		if want := []string{"ann", "bob"}[i%2]; m[3] != want {
			t.Errorf("message %d: csv row %s, want %s (in turn)", i, m[3], want)
		}
		if !f.matches([]byte(msg)) || f.matches([]byte(strings.Replace(msg, m[1], "ffffffffffffffff", 1))) {
			t.Errorf("message %d: its echo must match and another id must not", i)
		}
		uuid := msg[strings.LastIndex(msg, `"k":"`)+5 : len(msg)-2]
		if uuid == prevUUID {
			t.Errorf("message %d repeats the uuid %s", i, uuid)
		}
		prevUUID = uuid
	}
	if tmpl, _ := compileWSTemplate([]byte(`{"id":"{{id}}"}`), cfg, MatchID); tmpl != nil {
		t.Error("a message with only {{id}} needs no template")
	}
	if _, err := compileWSTemplate([]byte(`{{nope}}`), cfg, MatchID); err == nil {
		t.Error("an unknown action was accepted")
	}
	// Without {{id}} the id goes in front, as for plain messages.
	tmpl, _ = compileWSTemplate([]byte(`n={{seq}}`), cfg, MatchID)
	f = &wsFrame{idAt: -1, tmpl: tmpl}
	if got := string(f.build(3)); !regexp.MustCompile(`^0{15}3 n=\d+$`).MatchString(got) {
		t.Errorf("message without {{id}} = %q, want the id header in front", got)
	}
}

// TestWSTemplateEndToEnd: templated messages against the echo server are
// all answered and matched.
func TestWSTemplateEndToEnd(t *testing.T) {
	srv := benchtest.Start(t, bench.Config{})
	res := runWS(t, load.Config{Spec: request.Spec{Request: request.Request{URL: wsURL(srv, bench.WSPath)}}, Rate: 500, Connections: 5, Duration: 400 * time.Millisecond},
		Config{Payload: []byte(`{"id":"{{id}}","seq":{{seq}},"at":{{now_unix_ms}}}`)})
	st := srv.Stats().WS
	if m := res.Messages; m.Sent != 200 || m.Received != 200 || st.Echoed != 200 || m.Unanswered != 0 {
		t.Errorf("sent %d received %d unanswered %d, server echoed %d; want 200 answered", m.Sent, m.Received, m.Unanswered, st.Echoed)
	}
}
