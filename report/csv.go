package report

import (
	"encoding/csv"
	"io"
	"strconv"

	"volley/stats"
)

// CSVHeader names the columns of the csv format.
var CSVHeader = []string{
	"t_s", "dur_s", "requests", "errors", "transport_errors", "rps",
	"1xx", "2xx", "3xx", "4xx", "5xx",
	"p50_ms", "p90_ms", "p99_ms", "max_ms", "service_p99_ms",
}

// CSV writes the time series, one row per interval: its start and length in
// seconds since the run started, the requests that ended in it, the errors
// among them (transport errors, 4xx and 5xx), the transport errors alone,
// the rate, the count per status class, and the corrected latency
// percentiles and the service-time p99 in milliseconds.
func CSV(w io.Writer, r *stats.Result) error {
	cw := csv.NewWriter(w)
	_ = cw.Write(CSVHeader)
	f := func(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
	for _, p := range r.Series {
		var responses int64
		row := []string{f(p.T), f(p.Dur), strconv.FormatInt(p.Requests, 10), strconv.FormatInt(p.Errors, 10), "", f(p.RPS)}
		for _, c := range stats.StatusClasses() {
			n := p.Status[c.String()]
			responses += n
			row = append(row, strconv.FormatInt(n, 10))
		}
		row[4] = strconv.FormatInt(p.Requests-responses, 10)
		row = append(row, f(p.P50), f(p.P90), f(p.P99), f(p.Max), f(p.ServiceP99))
		if err := cw.Write(row); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}
