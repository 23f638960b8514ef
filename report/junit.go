package report

import (
	"encoding/xml"
	"fmt"
	"io"
	"strconv"
	"time"

	"volley/stats"
)

// JUnit XML, in the shape CI systems (GitHub, GitLab, Jenkins) read: one
// testsuite per run, one testcase per threshold.
type (
	JUnitSuites struct {
		XMLName  xml.Name     `xml:"testsuites"`
		Name     string       `xml:"name,attr"`
		Tests    int          `xml:"tests,attr"`
		Failures int          `xml:"failures,attr"`
		Errors   int          `xml:"errors,attr"`
		Time     string       `xml:"time,attr"`
		Suites   []JUnitSuite `xml:"testsuite"`
	}
	JUnitSuite struct {
		Name       string          `xml:"name,attr"`
		Tests      int             `xml:"tests,attr"`
		Failures   int             `xml:"failures,attr"`
		Errors     int             `xml:"errors,attr"`
		Skipped    int             `xml:"skipped,attr"`
		Time       string          `xml:"time,attr"`
		Timestamp  string          `xml:"timestamp,attr"`
		Properties []JUnitProperty `xml:"properties>property"`
		Cases      []JUnitCase     `xml:"testcase"`
		SystemOut  string          `xml:"system-out,omitempty"`
	}
	JUnitProperty struct {
		Name  string `xml:"name,attr"`
		Value string `xml:"value,attr"`
	}
	JUnitCase struct {
		Name      string        `xml:"name,attr"`
		Classname string        `xml:"classname,attr"`
		Time      string        `xml:"time,attr"`
		Failure   *JUnitFailure `xml:"failure,omitempty"`
		SystemOut string        `xml:"system-out,omitempty"`
	}
	JUnitFailure struct {
		Message string `xml:"message,attr"`
		Type    string `xml:"type,attr"`
		Text    string `xml:",chardata"`
	}
)

// JUnit writes the threshold outcomes (Result.Thresholds) as JUnit XML: one
// testcase per threshold, named by its expression, failing with a message
// such as "p99 = 312 ms, want < 250 ms". The suite's properties describe
// the run. A run without thresholds gives a suite without testcases.
func JUnit(w io.Writer, r *stats.Result) error {
	secs := strconv.FormatFloat(r.DurationS, 'f', 3, 64)
	suite := JUnitSuite{
		Name:      fmt.Sprintf("volley %s %s", r.Target.Method, r.Target.URL),
		Time:      secs,
		Timestamp: r.Started.UTC().Format(time.RFC3339),
		Properties: []JUnitProperty{
			{"mode", r.Mode},
			{"connections", strconv.Itoa(r.Connections)},
			{"rate.target", strconv.FormatFloat(r.Rate.Target, 'f', -1, 64)},
			{"rate.achieved", strconv.FormatFloat(r.Rate.Achieved, 'f', 1, 64)},
			{"requests", strconv.FormatInt(r.Requests.Total, 10)},
			{"errors", strconv.FormatInt(r.Requests.Errors, 10)},
			{"latency.p99_ms", strconv.FormatFloat(r.Latency.Corrected.P99, 'f', -1, 64)},
		},
	}
	if r.Interrupted {
		suite.Properties = append(suite.Properties, JUnitProperty{"interrupted", "true"})
	}
	if r.Aborted != "" {
		suite.Properties = append(suite.Properties, JUnitProperty{"aborted", r.Aborted})
	}
	for _, o := range r.Thresholds {
		c := JUnitCase{Name: o.Threshold, Classname: "volley.thresholds", Time: "0", SystemOut: o.Message}
		if !o.Pass {
			c.Failure = &JUnitFailure{Message: o.Message, Type: "threshold", Text: o.Message}
			suite.Failures++
		}
		suite.Cases = append(suite.Cases, c)
	}
	suite.Tests = len(suite.Cases)
	doc := JUnitSuites{Name: "volley", Tests: suite.Tests, Failures: suite.Failures, Time: secs, Suites: []JUnitSuite{suite}}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}
