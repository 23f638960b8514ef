package load

import (
	"math"
	"testing"
	"time"

	"volley/load/request"
)

func FuzzConstantOffset(f *testing.F) {
	f.Add(1000.0, int64(5))
	f.Add(MinRate, int64(math.MaxInt64))
	f.Add(0.3, int64(1)<<62)
	f.Add(1e7, int64(99))
	f.Fuzz(func(t *testing.T, rate float64, i int64) {
		c := Config{Spec: request.Spec{Request: request.Request{Method: "GET", URL: "http://127.0.0.1:1/"}}, Rate: rate,
			Connections: 1, Duration: time.Second, Timeout: time.Second}
		if c.Validate() != nil || rate <= 0 || i < 0 || i == math.MaxInt64 {
			return
		}
		s := Constant{Rate: rate}
		a, b := s.Offset(i), s.Offset(i+1)
		if a < 0 || b < a {
			t.Fatalf("rate %v: Offset(%d) = %v, Offset(%d) = %v: want non-negative and non-decreasing", rate, i, a, i+1, b)
		}
	})
}
