package request

import (
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

func TestParseTargets(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "body.json"), []byte(`{"a":1}`), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		in   string
		want []Target
	}{
		{"plain, one", "GET http://h/a\n",
			[]Target{{Name: "GET http://h/a", Request: Request{Method: "GET", URL: "http://h/a"}, Weight: 1}}},
		{"plain, headers, body, comments, blank lines",
			"# a comment\n\nPOST http://h:8080/x?y=1\nContent-Type: application/json\nX-A:  b c \n@body.json\n\n\nGET http://h/z\nHost: other\n",
			[]Target{
				{Name: "POST http://h:8080/x?y=1", Request: Request{Method: "POST", URL: "http://h:8080/x?y=1",
					Headers: []Header{{"Content-Type", "application/json"}, {"X-A", "b c"}}, Body: []byte(`{"a":1}`)}, Weight: 1},
				{Name: "GET http://h/z", Request: Request{Method: "GET", URL: "http://h/z", Headers: []Header{{"Host", "other"}}}, Weight: 1},
			}},
		{"plain, name and weight directives, no blank line between",
			"# name: login\n# weight: 3\nPOST http://h/login\nGET http://h/home\n# weight: 2\n",
			[]Target{
				{Name: "login", Request: Request{Method: "POST", URL: "http://h/login"}, Weight: 3},
				{Name: "GET http://h/home", Request: Request{Method: "GET", URL: "http://h/home"}, Weight: 2},
			}},
		{"json lines",
			`{"name":"a","method":"PUT","url":"https://h/a","headers":{"X-B":"1","X-A":["2","3"]},"body":"hi","weight":5}` + "\n" +
				"# comment\n\n" + `{"url":"http://h/b","body_file":"body.json"}` + "\n",
			[]Target{
				{Name: "a", Request: Request{Method: "PUT", URL: "https://h/a", Headers: []Header{{"X-B", "1"}, {"X-A", "2"}, {"X-A", "3"}}, Body: []byte("hi")}, Weight: 5},
				{Name: "GET http://h/b", Request: Request{Method: "GET", URL: "http://h/b", Body: []byte(`{"a":1}`)}, Weight: 1},
			}},
		{"templates kept for compiling", "GET http://h/{{seq}}?r={{rand 1 9}}\n",
			[]Target{{Name: "GET http://h/{{seq}}?r={{rand 1 9}}", Request: Request{Method: "GET", URL: "http://h/{{seq}}?r={{rand 1 9}}"}, Weight: 1}}},
		{"plain after a byte-order mark", "\ufeffGET http://h/a\n",
			[]Target{{Name: "GET http://h/a", Request: Request{Method: "GET", URL: "http://h/a"}, Weight: 1}}},
		{"json lines after a byte-order mark", "\ufeff" + `{"method":"PUT","url":"http://h/a"}` + "\n",
			[]Target{{Name: "PUT http://h/a", Request: Request{Method: "PUT", URL: "http://h/a"}, Weight: 1}}},
		{"a space in the URL, kept for escaping on the wire", "GET http://h/a b?c=d e\n",
			[]Target{{Name: "GET http://h/a b?c=d e", Request: Request{Method: "GET", URL: "http://h/a b?c=d e"}, Weight: 1}}},
		{"token methods", "M-SEARCH http://h/\n\nPROPFIND http://h/\n",
			[]Target{
				{Name: "M-SEARCH http://h/", Request: Request{Method: "M-SEARCH", URL: "http://h/"}, Weight: 1},
				{Name: "PROPFIND http://h/", Request: Request{Method: "PROPFIND", URL: "http://h/"}, Weight: 1},
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseTargets(strings.NewReader(tc.in), dir)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got  %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func TestParseTargetsErrors(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", "no targets"},
		{"# only a comment\n", "no targets"},
		{"GET\n", "line 1: \"GET\": want METHOD URL"},
		{"GET ftp://h/\n", "line 1: url"},
		{"GET http://h/\nBad Header: x\n", "line 2: header"},
		{"GET http://h/\nnocolon\n", "line 2: header"},
		{"GET http://h/\n@missing.bin\n", "line 2: body file"},
		{"GET http://h/\n# weight: 0\n", "line 2: # weight"},
		{"# name: x\n", "belongs to no target"},
		{`{"url":"http://h/","weight":0}`, "line 1: weight 0"},
		{`{"url":"http://h/","bogus":1}`, `line 1: json: unknown field "bogus"`},
		{`{"url":"http://h/","headers":{"X":1}}`, "want a string or a list of strings"},
		{`{"url":"http://h/","body":"a","body_file":"b"}`, "give one, not both"},
		{"{\"url\":\"http://h/\"}\n{\"url\":", "line 2"},
		{`{"url":"http://h/","method":"G T"}`, "method"},
		{"G\u00c9T http://h/\n", `line 1: method "GÉT": want a token`},
		{"GET http://h/\n\n\ufeffPOST http://h/\n", `line 3: method "\ufeffPOST": want a token`},
		{`{"url":"http://h/","method":"G\u00e9T"}`, `line 1: method "GéT": want a token`},
		{`{"url":"http://h/","method":"GET\u0000"}`, `line 1: method "GET\x00": want a token`},
		{`{"url":"http://h/","method":"GE(T"}`, `line 1: method "GE(T": want a token`},
	} {
		_, err := ParseTargets(strings.NewReader(tc.in), t.TempDir())
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseTargets(%q) = %v, want an error containing %q", tc.in, err, tc.want)
		}
	}
}

// FuzzParseTargets: parsing never panics, and what it accepts is valid:
// every target has a method, a checkable URL and a weight in range.
func FuzzParseTargets(f *testing.F) {
	f.Add("GET http://h/a\nX: y\n\nPOST http://h/b\n")
	f.Add(`{"name":"a","url":"http://h/","headers":{"A":["1","2"]},"weight":3}`)
	f.Add("# name: n\n# weight: 2\nGET https://h:1/{{seq}}\n")
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, in string) {
		ts, err := ParseTargets(strings.NewReader(in), dir)
		if err != nil {
			return
		}
		for _, tg := range ts {
			if tg.Method == "" || tg.Name == "" || tg.Weight < 1 || tg.Weight > MaxWeight {
				t.Fatalf("accepted an invalid target %+v from %q", tg, in)
			}
			for _, h := range tg.Headers {
				if checkHeader(h) != nil {
					t.Fatalf("accepted an invalid header %+v from %q", h, in)
				}
			}
		}
	})
}

func TestPickerInterleavesExactly(t *testing.T) {
	p, err := newPicker([]int{5, 3, 2}, false, 0)
	if err != nil {
		t.Fatal(err)
	}
	got := ""
	for i := range int64(10) {
		got += strconv.Itoa(p.pick(i))
	}
	// Smooth weighted round robin: each exactly its weight per period,
	// spread out rather than in runs.
	if got != "0120010210" {
		t.Errorf("one period of weights 5,3,2 = %s, want 0120010210", got)
	}
	for i := range int64(10) {
		if p.pick(i+10*1234567) != p.pick(i) {
			t.Fatal("the pick is not periodic in the request index")
		}
	}
	// Weights are reduced by their common divisor.
	q, _ := newPicker([]int{200, 100}, false, 0)
	if len(q.table) != 3 {
		t.Errorf("weights 200,100: table of %d, want 3", len(q.table))
	}
	// Random picks honour the weights in expectation and are reproducible.
	r, _ := newPicker([]int{3, 1}, true, 7)
	r2, _ := newPicker([]int{3, 1}, true, 7)
	n := [2]int{}
	for i := range int64(100000) {
		k := r.pick(i)
		if k != r2.pick(i) {
			t.Fatal("random picks differ for the same seed")
		}
		n[k]++
	}
	if n[0] < 74000 || n[0] > 76000 {
		t.Errorf("random picks with weights 3,1: %v, want about 75000/25000", n)
	}
	if _, err := newPicker([]int{MaxWeight, MaxWeight - 1, MaxWeight - 2, MaxWeight - 3, MaxWeight - 4}, false, 0); err == nil {
		t.Error("a sum of weights beyond the table limit must be refused")
	}
}

func TestParseExpect(t *testing.T) {
	st, err := ParseExpectStatus("200, 3xx,404")
	if err != nil || !st[200] || !st[301] || !st[399] || !st[404] || st[201] || st[400] {
		t.Errorf("ParseExpectStatus: %v", err)
	}
	for _, bad := range []string{"", "99", "600", "6xx", "2x", "ok"} {
		if _, err := ParseExpectStatus(bad); err == nil {
			t.Errorf("ParseExpectStatus(%q): want an error", bad)
		}
	}
	if sub, re, err := ParseExpectBody("/a(b/"); err == nil || sub != nil || re != nil {
		t.Errorf("bad regexp accepted")
	}
	if sub, re, _ := ParseExpectBody("/x"); string(sub) != "/x" || re != nil {
		t.Errorf("\"/x\" is a substring, got %q %v", sub, re)
	}
}

// TestTooManyNamesGiveTotalsOnly: beyond stats.MaxTargets distinct names
// there is no breakdown (and every sample goes to group 0), not an error.
func TestTooManyNamesGiveTotalsOnly(t *testing.T) {
	var ts []Target
	for i := range 300 {
		ts = append(ts, Target{Request: Request{Method: "GET", URL: "http://h/" + strconv.Itoa(i)}, Weight: 1})
	}
	spec := Spec{Targets: ts}
	groups, names, err := Groups(&spec)
	if err != nil || groups != nil || names != 300 {
		t.Errorf("Groups = %d groups, %d names, %v; want none, 300, nil", len(groups), names, err)
	}
	for i := range ts {
		ts[i].Name = "all"
	}
	ts[0].Name = "first"
	groups, names, _ = Groups(&spec)
	if len(groups) != 2 || names != 2 || groups[1].Weight != 299 {
		t.Errorf("two names over 300 targets: %+v", groups)
	}
}
