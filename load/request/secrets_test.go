package request

import (
	"strings"
	"testing"
)

func TestParseErrorsHideSecrets(t *testing.T) {
	for _, raw := range []string{
		"http://user:s3cretpw@127.0.0.1:99999/",
		"http://user:s3cretpw@[::1/",
		"ftp://user:s3cretpw@host/",
		"user:s3cretpw@host",
		"http://user:s3cretpw@/",
	} {
		_, err := ParseTargetURL(raw)
		if err == nil {
			t.Errorf("ParseTargetURL(%q) succeeded", raw)
			continue
		}
		if strings.Contains(err.Error(), "s3cretpw") {
			t.Errorf("ParseTargetURL(%q) error shows the password: %v", raw, err)
		}
	}
	for _, h := range []string{"Authorization Bearer s3cretpw", "cookie s3cretpw", "Set-Cookie=s3cretpw"} {
		_, err := ParseHeader(h)
		if err == nil || strings.Contains(err.Error(), "s3cretpw") {
			t.Errorf("ParseHeader(%q) error %v: want an error that hides the value", h, err)
		}
	}
}
