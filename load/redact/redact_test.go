package redact

import (
	"strings"
	"testing"

	"volley/stats"
)

func TestRedactorString(t *testing.T) {
	r := New("http://alice:pa55word@127.0.0.1:8080/x",
		[]Field{
			{"Authorization", "Bearer tok-123456"},
			{"cookie", "a=1; session=sess-abcdef"},
			{"X-Plain", "visible-value"},
		})
	cases := []struct{ in, want string }{
		{"http://alice:pa55word@127.0.0.1:8080/x", "http://REDACTED@127.0.0.1:8080/x"},
		{`Get "https://u@h/p?q=1#f": EOF`, `Get "https://REDACTED@h/p?q=1#f": EOF`},
		{"no secrets here: http://127.0.0.1/a@b", "no secrets here: http://127.0.0.1/a@b"},
		{"token tok-123456 leaked", "token REDACTED leaked"},
		{"the bare credential sess-abcdef", "the bare credential REDACTED"},
		{"password pa55word alone", "password REDACTED alone"},
		{"basic YWxpY2U6cGE1NXdvcmQ=", "basic REDACTED"},
		// Header lines, raw and as fasthttp quotes a response dump.
		{"Set-Cookie: id=xyz; Path=/\r\nServer: t", "Set-Cookie: REDACTED\r\nServer: t"},
		{`contents: "HTTP/1.1 200 OK\r\nset-cookie: id=xyz\r\nProxy-Authorization: Basic Zm9v\r\n"`,
			`contents: "HTTP/1.1 200 OK\r\nset-cookie: REDACTED\r\nProxy-Authorization: REDACTED\r\n"`},
		{"X-Cookie: fine, cookies are fine, Cookie jar", "X-Cookie: fine, cookies are fine, Cookie jar"},
		{"X-Plain: visible-value", "X-Plain: visible-value"},
	}
	for _, c := range cases {
		if got := r.String(c.in); got != c.want {
			t.Errorf("String(%q)\n got %q\nwant %q", c.in, got, c.want)
		}
	}
	// Without a request only the patterns apply.
	var zero *Redactor
	if got := zero.String("Cookie: x=1 via http://u:p@h/"); got != "Cookie: REDACTED" {
		t.Errorf("nil Redactor: %q", got)
	}
}

func TestRedactorResult(t *testing.T) {
	url, headers := "https://bob:hunter22@example.test/", []Field{{"Authorization", "Basic c2VjcmV0"}}
	res := &stats.Result{
		Target:       stats.Target{URL: url, Method: "GET"},
		ErrorSamples: map[string]string{"other": `bad response "Set-Cookie: k=v\r\n" to Basic c2VjcmV0`},
	}
	New(url, headers).Result(res)
	if res.Target.URL != "https://REDACTED@example.test/" {
		t.Errorf("target URL %q", res.Target.URL)
	}
	for _, secret := range []string{"hunter22", "bob", "c2VjcmV0", "k=v"} {
		if strings.Contains(res.ErrorSamples["other"]+res.Target.URL, secret) {
			t.Errorf("%q still shows in %q / %q", secret, res.Target.URL, res.ErrorSamples["other"])
		}
	}
}

// TestRedactNonASCII checks text whose lower-case form has another length
// (the Kelvin sign shrinks, dotted capital I grows): offsets must stay right.
func TestRedactNonASCII(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"\u212a\u212a Cookie: a=1", "\u212a\u212a Cookie: REDACTED"},
		{"\u0130\u0130\u0130 Set-Cookie: x\r\n", "\u0130\u0130\u0130 Set-Cookie: REDACTED\r\n"},
		{"\xff\xfeauthorization: Basic QQ==", "\xff\xfeauthorization: REDACTED"},
	} {
		if got := (*Redactor)(nil).String(c.in); got != c.want {
			t.Errorf("String(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

// TestRedactQueryParams: the values of secret query parameters are hidden
// wherever a URL shows them, and the request's own values wherever they
// occur; other parameters, and names that merely contain a secret one, stay.
func TestRedactQueryParams(t *testing.T) {
	r := New("http://127.0.0.1:8080/x?page=2&access_token=tok%2F99999&q=visible", nil)
	cases := []struct{ in, want string }{
		{"http://127.0.0.1:8080/x?page=2&access_token=tok%2F99999&q=visible",
			"http://127.0.0.1:8080/x?page=2&access_token=REDACTED&q=visible"},
		{`Get "http://h/p?API_KEY=k1234#frag": EOF`, `Get "http://h/p?API_KEY=REDACTED#frag": EOF`},
		{"GET /s?sig=abc&X-Amz-Signature=deadbeef HTTP/1.1", "GET /s?sig=REDACTED&X-Amz-Signature=REDACTED HTTP/1.1"},
		{"the decoded token tok/99999 alone", "the decoded token REDACTED alone"},
		{"http://h/?tokenize=1&monkey=2&key=", "http://h/?tokenize=1&monkey=2&key="},
		{"http://h/?q=visible", "http://h/?q=visible"},
	}
	for _, c := range cases {
		if got := r.String(c.in); got != c.want {
			t.Errorf("String(%q)\n got %q\nwant %q", c.in, got, c.want)
		}
	}
	res := &stats.Result{Target: stats.Target{URL: "https://api.test/v1?key=AIzaSECRET&n=1"}}
	(&Redactor{}).Result(res)
	if res.Target.URL != "https://api.test/v1?key=REDACTED&n=1" {
		t.Errorf("target URL %q", res.Target.URL)
	}
}
