package request

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"volley/stats"
)

// Expect holds the checks every response must pass. The zero value checks
// nothing. Failing a check does not make a response an error: it is counted
// on its own (stats.Checks).
type Expect struct {
	// Status, when non-nil, lists the acceptable status codes (index 100 to
	// 599).
	Status *[600]bool
	// Body, when set, must occur in the response body; BodyRegexp, when
	// set, must match it.
	Body       []byte
	BodyRegexp *regexp.Regexp
}

// Active reports whether any check is set.
func (e *Expect) Active() bool { return e.Status != nil || e.Body != nil || e.BodyRegexp != nil }

// NeedsBody reports whether checking needs the response body.
func (e *Expect) NeedsBody() bool { return e.Body != nil || e.BodyRegexp != nil }

// ParseExpectStatus parses a list such as "200,204" or "2xx,301".
func ParseExpectStatus(s string) (*[600]bool, error) {
	var ok [600]bool
	if strings.TrimSpace(s) == "" {
		return nil, errors.New("empty list: want codes such as 200,204 or classes such as 2xx")
	}
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if len(f) == 3 && (f[1:] == "xx" || f[1:] == "XX") && f[0] >= '1' && f[0] <= '5' {
			base := int(f[0]-'0') * 100
			for c := base; c < base+100; c++ {
				ok[c] = true
			}
			continue
		}
		c, err := strconv.Atoi(f)
		if err != nil || c < 100 || c > 599 {
			return nil, fmt.Errorf("%q: want a status code from 100 to 599 or a class such as 2xx", f)
		}
		ok[c] = true
	}
	return &ok, nil
}

// ParseExpectBody parses a body check: /REGEXP/ is a regular expression,
// anything else a substring.
func ParseExpectBody(s string) ([]byte, *regexp.Regexp, error) {
	if s == "" {
		return nil, nil, errors.New("empty: want a substring or /regexp/")
	}
	if len(s) >= 2 && s[0] == '/' && s[len(s)-1] == '/' {
		re, err := regexp.Compile(s[1 : len(s)-1])
		if err != nil {
			return nil, nil, fmt.Errorf("regexp %s: %w", s, err)
		}
		return nil, re, nil
	}
	return []byte(s), nil, nil
}

// Check returns the failed checks of a response as stats.Check bits.
func (e *Expect) Check(code int, body []byte) uint8 {
	var failed uint8
	if e.Status != nil && (code < 100 || code > 599 || !e.Status[code]) {
		failed |= stats.CheckStatus
	}
	switch {
	case e.Body != nil && !bytes.Contains(body, e.Body):
		failed |= stats.CheckBody
	case e.BodyRegexp != nil && !e.BodyRegexp.Match(body):
		failed |= stats.CheckBody
	}
	return failed
}
