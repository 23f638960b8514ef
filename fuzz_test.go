package main

import (
	"context"
	"strings"
	"testing"
	"time"
)

// FuzzRunFlags feeds arbitrary values to the numeric, duration and header
// flags of volley run. Whatever they are, volley either rejects them as a
// usage error (exit 2, one line naming the input) or runs: one request to a
// .invalid name, which fails at once without leaving the machine (exit 0).
func FuzzRunFlags(f *testing.F) {
	f.Add("1000", "50", "10s", "10s", "1048576", "X-A: b")
	f.Add("0", "1", "0", "1ns", "0", "Host: h")
	f.Add("1e-300", "1e12", "9999999999h", "-1s", "-1", ": v")
	f.Add("NaN", "0x10", "1h1m1s1ms1us1ns", "2562047h", "99999999999999999999", "Authorization Bearer x")
	f.Add("Inf", "100001", "-0s", "0.5ms", "1", "K:\x00")
	f.Fuzz(func(t *testing.T, rate, conns, dur, timeout, maxBody, header string) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		var stdout, stderr strings.Builder
		args := []string{"run", "-q", "-n", "1", "-r", rate, "-c", conns, "-d", dur, "-t", timeout,
			"--max-body", maxBody, "-H", header, "http://volley-fuzz.invalid:8080/"}
		code := run(ctx, args, nil, &stdout, &stderr)
		switch code {
		case exitOK:
			if stderr.Len() != 0 {
				t.Fatalf("volley %q: exit 0 with stderr %q", args, stderr.String())
			}
		case exitUsage:
			msg := stderr.String()
			if !strings.HasPrefix(msg, "volley: ") || strings.Count(msg, "\n") != 1 {
				t.Fatalf("volley %q: usage error %q, want one line starting with \"volley: \"", args, msg)
			}
		default:
			t.Fatalf("volley %q: exit %d, want 0 or 2; stderr %q", args, code, stderr.String())
		}
	})
}
