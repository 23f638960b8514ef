package bench

import (
	"strings"
	"testing"
	"time"
)

func TestParseStall(t *testing.T) {
	tests := []struct {
		spec    string
		want    Stall
		wantStr string
	}{
		{"", Stall{}, ""},
		{"at=2s,for=1s", Stall{At: 2 * time.Second, For: time.Second}, "at=2s,for=1s"},
		{"for=1s,at=2s", Stall{At: 2 * time.Second, For: time.Second}, "at=2s,for=1s"},
		{" at = 0s , for = 250ms ", Stall{For: 250 * time.Millisecond}, "at=0s,for=250ms"},
		{"for=1m", Stall{For: time.Minute}, "at=0s,for=1m0s"},
	}
	for _, tc := range tests {
		got, err := ParseStall(tc.spec)
		if err != nil {
			t.Errorf("ParseStall(%q): %v", tc.spec, err)
			continue
		}
		if got != tc.want {
			t.Errorf("ParseStall(%q) = %+v, want %+v", tc.spec, got, tc.want)
		}
		if s := got.String(); s != tc.wantStr {
			t.Errorf("ParseStall(%q).String() = %q, want %q", tc.spec, s, tc.wantStr)
		}
	}
}

func TestParseStallErrors(t *testing.T) {
	tests := []struct {
		spec string
		want string
	}{
		{"2s", `stall "2s": entry "2s": want at=DURATION,for=DURATION`},
		{"at=2s", `stall "at=2s": missing for=DURATION`},
		{"at=2s,for=0s", `stall "at=2s,for=0s": for must be positive`},
		{"at=-1s,for=1s", `stall "at=-1s,for=1s": at: duration "-1s" is negative`},
		{"at=2s,for=x", `stall "at=2s,for=x": for: time: invalid duration`},
		{"at=1s,at=2s,for=1s", `stall "at=1s,at=2s,for=1s": at given more than once`},
		{"for=1s,for=2s", `stall "for=1s,for=2s": for given more than once`},
		{"at=1s,until=2s", `stall "at=1s,until=2s": unknown key "until"`},
		{"at=2562047h,for=2562047h", `stall "at=2562047h,for=2562047h": at+for overflows`},
	}
	for _, tc := range tests {
		_, err := ParseStall(tc.spec)
		if err == nil {
			t.Errorf("ParseStall(%q) succeeded, want error containing %q", tc.spec, tc.want)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseStall(%q) error = %q, want it to contain %q", tc.spec, err, tc.want)
		}
	}
}
