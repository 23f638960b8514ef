package message

import (
	"regexp"
	"strings"
	"testing"

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
	tmpl, err := CompileTemplate([]byte(`{"id":"{{id}}","n":{{seq}},"r":{{rand 1 9}},"u":"{{csv.user}}","k":"{{uuid}}"}`), cfg.Data, cfg.Seed, cfg.DataRandom, MatchID)
	if err != nil || tmpl == nil {
		t.Fatalf("compile: %v, %v", tmpl, err)
	}
	f := &Frame{idAt: -1, tmpl: tmpl}
	re := regexp.MustCompile(`^\{"id":"([0-9a-f]{16})","n":(\d+),"r":[1-9],"u":"(ann|bob)","k":"[0-9a-f-]{36}"\}$`)
	var prevUUID string
	for _, i := range []int64{0, 1, 41} {
		msg := string(f.Build(i))
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
		if !f.Matches([]byte(msg)) || f.Matches([]byte(strings.Replace(msg, m[1], "ffffffffffffffff", 1))) {
			t.Errorf("message %d: its echo must match and another id must not", i)
		}
		uuid := msg[strings.LastIndex(msg, `"k":"`)+5 : len(msg)-2]
		if uuid == prevUUID {
			t.Errorf("message %d repeats the uuid %s", i, uuid)
		}
		prevUUID = uuid
	}
	if tmpl, _ := CompileTemplate([]byte(`{"id":"{{id}}"}`), cfg.Data, cfg.Seed, cfg.DataRandom, MatchID); tmpl != nil {
		t.Error("a message with only {{id}} needs no template")
	}
	if _, err := CompileTemplate([]byte(`{{nope}}`), cfg.Data, cfg.Seed, cfg.DataRandom, MatchID); err == nil {
		t.Error("an unknown action was accepted")
	}
	// Without {{id}} the id goes in front, as for plain messages.
	tmpl, _ = CompileTemplate([]byte(`n={{seq}}`), cfg.Data, cfg.Seed, cfg.DataRandom, MatchID)
	f = &Frame{idAt: -1, tmpl: tmpl}
	if got := string(f.Build(3)); !regexp.MustCompile(`^0{15}3 n=\d+$`).MatchString(got) {
		t.Errorf("message without {{id}} = %q, want the id header in front", got)
	}
}
