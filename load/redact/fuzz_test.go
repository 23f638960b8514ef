package redact

import (
	"strings"
	"testing"
)

func FuzzRedact(f *testing.F) {
	f.Add("tok-123456", "Authorization: Bearer tok-123456 and http://u:p@h/ and Set-Cookie: a=b")
	f.Add("abcd", "abcdabcdab")
	f.Add("s3cr", `"HTTP/1.1 200 OK\r\ncookie: s3cr\r\n"`)
	f.Add("wxyz", "\u212a\u212a\u212a Cookie: wxyz")
	f.Fuzz(func(t *testing.T, secret, text string) {
		r := New("http://127.0.0.1/", []Field{{"Authorization", secret}})
		once := r.String(text)
		if twice := r.String(once); twice != once {
			t.Fatalf("not idempotent: %q -> %q -> %q", text, once, twice)
		}
		// A secret that shares no byte with the replacement cannot show
		// through it.
		if len(secret) >= minSecretLen && !strings.ContainsAny(secret, Redacted) &&
			strings.Contains(once, secret) {
			t.Fatalf("secret %q shows in %q (from %q)", secret, once, text)
		}
	})
}
