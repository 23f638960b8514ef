package request

import (
	"strings"
	"testing"
)

func FuzzParseHeader(f *testing.F) {
	for _, s := range []string{
		"Key: Value", "Host: example.test", "X-Empty:", ":v", "NoColon", "Bad Name: x", "K: a\r\nb",
		"Authorization: Bearer abc", "  Spaced  :  value  ", "K:v:w", "ключ: v", "K: \x00",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		h, err := ParseHeader(s)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "header ") {
				t.Fatalf("ParseHeader(%q) error %q does not start with \"header \"", s, err)
			}
			return
		}
		if h.Key == "" || strings.ContainsAny(h.Key, " \t\r\n:") || strings.ContainsAny(h.Value, "\r\n\x00") {
			t.Fatalf("ParseHeader(%q) = %+v: invalid header accepted", s, h)
		}
		back, err := ParseHeader(h.Key + ": " + h.Value)
		if err != nil || back != h {
			t.Fatalf("ParseHeader(%q) = %+v; round trip gives %+v, %v", s, h, back, err)
		}
		if err := checkHeader(h); err != nil {
			t.Fatalf("ParseHeader(%q) = %+v, which Validate rejects: %v", s, h, err)
		}
	})
}

func FuzzParseTargetURL(f *testing.F) {
	for _, s := range []string{
		"http://127.0.0.1:8080/", "https://example.test/a?b=c#d", "http://[::1]:80/", "http://h:0/",
		"http://h:65536/", "ftp://h/", "127.0.0.1:80", "http://", "http://[::1", "http://u:p@h/", "http://%zz/",
	} {
		f.Add(s, "pw")
	}
	f.Fuzz(func(t *testing.T, s, password string) {
		u, err := ParseTargetURL(s)
		if err == nil {
			if u.Scheme != "http" && u.Scheme != "https" || u.Hostname() == "" {
				t.Fatalf("ParseTargetURL(%q) accepted scheme %q host %q", s, u.Scheme, u.Hostname())
			}
			if _, err := Compile(&Spec{Request: Request{Method: "GET", URL: s}}, 0); err != nil {
				// Templates are the plan's to judge ("{{" anywhere in the
				// URL starts one); its error must still name the URL.
				if !strings.Contains(err.Error(), "template") || !strings.HasPrefix(err.Error(), "url ") {
					t.Fatalf("ParseTargetURL(%q) accepted a URL the plan rejects: %v", s, err)
				}
			}
		} else if !strings.HasPrefix(err.Error(), "url ") {
			t.Fatalf("ParseTargetURL(%q) error %q does not start with \"url \"", s, err)
		}
		// A password in the userinfo never shows in an error: the error is
		// the same whatever the password (of plain characters) is.
		if password == "" || strings.Trim(password, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~") != "" {
			return
		}
		_, err1 := ParseTargetURL("http://user:" + password + "@" + s)
		_, err2 := ParseTargetURL("http://user:" + strings.Repeat("Q", len(password)) + "@" + s)
		if (err1 == nil) != (err2 == nil) || err1 != nil && err1.Error() != err2.Error() {
			t.Fatalf("ParseTargetURL of %q with password %q: error %v, with another password %v: the password shows", s, password, err1, err2)
		}
	})
}
