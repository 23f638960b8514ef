package request

import (
	"strings"
	"testing"
	"volley/internal/race"
)

func TestTemplateCompileErrors(t *testing.T) {
	data, _ := ReadData(strings.NewReader("a\n1\n"))
	for _, tc := range []struct{ in, want string }{
		{"{{seq", "not closed"},
		{"{{}}", "empty action"},
		{"{{nope}}", `unknown action "nope"`},
		{"{{rand 1}}", "want rand MIN MAX"},
		{"{{rand 5 1}}", "greater than MAX"},
		{"{{rand a b}}", "integers"},
		{"{{seq 1}}", "no arguments"},
		{"{{csv.b}}", `column "b": not in the data file`},
		{`{{"unterminated}}`, "not closed"},
	} {
		var salt uint64
		_, err := CompileTemplate(tc.in, data, &salt)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("compileTemplate(%q) = %v, want an error containing %q", tc.in, err, tc.want)
		}
	}
	var salt uint64
	if _, err := CompileTemplate("{{csv.a}}", nil, &salt); err == nil || !strings.Contains(err.Error(), "--data") {
		t.Errorf("csv without data: %v", err)
	}
	// Scheme and host must be literal.
	for _, u := range []string{"http://h{{seq}}/", "http://h:8{{seq}}/", "{{\"http\"}}x://h/"} {
		if _, err := Compile(&Spec{Request: Request{Method: "GET", URL: u}}, 0); err == nil {
			t.Errorf("url %q: want an error", u)
		}
	}
}

// BenchmarkTemplateRender renders a URL, header and body with every kind of
// action; allocation must stay at zero per request.
func BenchmarkTemplateRender(b *testing.B) {
	data, _ := ReadData(strings.NewReader("user\nann\nbob\n"))
	var salt uint64
	tmpl, err := CompileTemplate(`/u/{{csv.user}}?seq={{seq}}&r={{rand 1 100}}&id={{uuid}}&t={{now_unix_ms}}&at={{now}}`, data, &salt)
	if err != nil {
		b.Fatal(err)
	}
	p := &Plan{seed: 1, data: data}
	buf := make([]byte, 0, 256)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		env := p.Env(int64(i))
		buf = tmpl.AppendTo(buf[:0], &env)
	}
}

func TestTemplateRenderAllocatesNothing(t *testing.T) {
	if race.Enabled {
		t.Skip("allocation counts are not meaningful under the race detector")
	}
	res := testing.Benchmark(BenchmarkTemplateRender)
	if a := res.AllocsPerOp(); a != 0 {
		t.Errorf("rendering allocates %d times per request, want 0", a)
	}
}

// FuzzTemplate: compiling never panics; text without actions renders as
// itself; what compiles renders without panicking, the same way twice.
func FuzzTemplate(f *testing.F) {
	f.Add("/a/{{seq}}?r={{rand -5 5}}&id={{uuid}}")
	f.Add(`{{"{{"}} {{now}} {{now_unix}} {{now_unix_ms}} {{csv.a}}`)
	f.Add("plain text")
	data, _ := ReadData(strings.NewReader("a,b\n1,2\n3,4\n"))
	f.Fuzz(func(t *testing.T, in string) {
		var salt uint64
		tmpl, err := CompileTemplate(in, data, &salt)
		if err != nil {
			return
		}
		p := &Plan{seed: 9, data: data}
		env := p.Env(12345)
		out := tmpl.AppendTo(nil, &env)
		if !strings.Contains(in, "{{") && string(out) != in {
			t.Fatalf("%q rendered as %q", in, out)
		}
		if !strings.Contains(in, "now") {
			env2 := p.Env(12345)
			if again := tmpl.AppendTo(nil, &env2); string(again) != string(out) {
				t.Fatalf("%q rendered %q then %q", in, out, again)
			}
		}
	})
}
