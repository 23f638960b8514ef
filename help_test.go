package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"volley/bench"
	"volley/bench/benchtest"
)

// commands are every command whose help is checked, "" for the root.
var commands = []string{"", "run", "serve", "demo", "report", "compare", "merge", "find-max"}

// TestHelpGolden keeps every command's --help in testdata/help, so that a
// flag that drifts (a default, a type, a description) shows in review;
// -update rewrites the files. Every line fits 80 columns.
func TestHelpGolden(t *testing.T) {
	for _, name := range commands {
		args := []string{"--help"}
		file := "volley.txt"
		if name != "" {
			args = []string{name, "--help"}
			file = name + ".txt"
		}
		r := runCLI(t, args...)
		if r.code != 0 || r.stderr != "" {
			t.Fatalf("volley %s: exit %d, stderr %q", strings.Join(args, " "), r.code, r.stderr)
		}
		for i, l := range strings.Split(r.stdout, "\n") {
			if n := utf8.RuneCountInString(l); n > 80 {
				t.Errorf("volley %s: line %d is %d columns: %q", strings.Join(args, " "), i+1, n, l)
			}
		}
		checkGolden(t, filepath.Join("testdata", "help", file), r.stdout)
	}
}

// TestHelpExamples runs every example of every command's help as a user
// would paste it, against servers the test starts (their addresses put in
// for the ones the examples name) and with the files the examples read
// made in a temporary directory. A long run is interrupted after a moment
// (exit 130, partial report): what is checked is that no example is
// refused (exit 2) or fails (exit 1).
func TestHelpExamples(t *testing.T) {
	srv := startBench(t, benchOpts{})
	cert, _ := benchtest.Certificate(t)
	tlsSrv := benchtest.Start(t, bench.Config{TLS: &cert})
	dir := t.TempDir()
	t.Chdir(dir)
	t.Setenv("GITHUB_STEP_SUMMARY", filepath.Join(dir, "summary.md"))
	write := func(name, content string) {
		t.Helper()
		if err := os.WriteFile(name, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("targets.txt", "GET "+srv.URL()+"/\n")
	write("ca.pem", string(cert.CAPEM))
	result := func(path string, extra ...string) {
		t.Helper()
		r := runCLI(t, append(append([]string{"run", "-n", "200", "-c", "2", "-q", "--out", "json=" + path}, extra...), srv.URL()+"/")...)
		if r.code != 0 {
			t.Fatalf("fixture %s: exit %d: %s", path, r.code, r.stderr)
		}
	}
	result("result.json")
	result("base.json")
	result("new.json")
	for _, d := range []string{"base", "new", "baseline", "candidate"} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
		result(filepath.Join(d, "1.json"))
	}
	for k := range 4 {
		result(fmt.Sprintf("shard-%d.json", k), "--shard", fmt.Sprintf("%d/4", k))
	}

	addrs := strings.NewReplacer(
		"http://127.0.0.1:8080", srv.URL(),
		"ws://127.0.0.1:8080", "ws"+strings.TrimPrefix(srv.URL(), "http"),
		"https://127.0.0.1:8443", tlsSrv.URL(),
		"--addr 127.0.0.1:9000", "--addr 127.0.0.1:0",
		"--addr 127.0.0.1:8443", "--addr 127.0.0.1:0",
	)
	ran := 0
	for _, name := range commands[1:] {
		root := newRootCmd(nil, &bytes.Buffer{}, &bytes.Buffer{})
		cmd, _, err := root.Find([]string{name})
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range exampleLines(cmd.Example) {
			words, stdoutFile, err := shellWords(addrs.Replace(line))
			if err != nil {
				t.Fatalf("example %q: %v", line, err)
			}
			if len(words) < 2 || words[0] != "volley" {
				t.Fatalf("example %q does not run volley", line)
			}
			args := expandGlobs(t, words[1:])
			if name == "serve" && !strings.Contains(line, "--addr") {
				args = append(args, "--addr", "127.0.0.1:0") // 8080 may be taken here
			}
			ctx, cancel := context.WithTimeout(context.Background(), 400*time.Millisecond)
			var stdout, stderr bytes.Buffer
			code := run(ctx, args, nil, &stdout, &stderr)
			cancel()
			if stdoutFile != "" {
				if err := os.WriteFile(stdoutFile, stdout.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			switch code {
			case exitOK, exitThresholds, exitRegression, exitInterrupted:
			default:
				t.Errorf("example %q: exit %d\n%s", line, code, stderr.String())
			}
			ran++
		}
	}
	if ran < 20 {
		t.Errorf("ran %d examples, want every one (at least 20)", ran)
	}
}

// exampleLines splits a help's examples into commands, joining lines
// continued with a backslash.
func exampleLines(examples string) []string {
	var out []string
	cur := ""
	for _, l := range strings.Split(examples, "\n") {
		l = strings.TrimSpace(l)
		if l == "" {
			continue
		}
		if strings.HasSuffix(l, `\`) {
			cur += strings.TrimSuffix(l, `\`) + " "
			continue
		}
		out = append(out, cur+l)
		cur = ""
	}
	return out
}

// shellWords splits a command line as a POSIX shell would for the
// examples' needs: single and double quotes, and an output redirection
// (> or >> FILE), whose file it returns. Variables in double quotes are
// expanded from the environment.
func shellWords(line string) (words []string, stdoutFile string, err error) {
	var cur strings.Builder
	inWord, redirect := false, false
	flush := func() {
		if !inWord {
			return
		}
		if redirect {
			stdoutFile = cur.String()
		} else {
			words = append(words, cur.String())
		}
		cur.Reset()
		inWord = false
	}
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case c == ' ':
			flush()
		case c == '\'':
			j := strings.IndexByte(line[i+1:], '\'')
			if j < 0 {
				return nil, "", fmt.Errorf("unclosed '")
			}
			cur.WriteString(line[i+1 : i+1+j])
			inWord, i = true, i+1+j
		case c == '"':
			j := strings.IndexByte(line[i+1:], '"')
			if j < 0 {
				return nil, "", fmt.Errorf("unclosed \"")
			}
			cur.WriteString(os.ExpandEnv(line[i+1 : i+1+j]))
			inWord, i = true, i+1+j
		case c == '>':
			flush()
			redirect = true
			if i+1 < len(line) && line[i+1] == '>' {
				i++
			}
		default:
			cur.WriteByte(c)
			inWord = true
		}
	}
	flush()
	return words, stdoutFile, nil
}

// expandGlobs expands the unquoted shell patterns of args (shard-*.json).
func expandGlobs(t *testing.T, args []string) []string {
	var out []string
	for _, a := range args {
		if strings.ContainsAny(a, "*?[") && !strings.Contains(a, "/") && strings.HasSuffix(a, ".json") {
			m, err := filepath.Glob(a)
			if err != nil || len(m) == 0 {
				t.Fatalf("pattern %q matches nothing", a)
			}
			out = append(out, m...)
			continue
		}
		out = append(out, a)
	}
	return out
}
