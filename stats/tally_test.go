package stats

import (
	"testing"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
)

const ms1 = int64(time.Millisecond)

func TestClassOf(t *testing.T) {
	for _, c := range []struct {
		code int
		kind ErrorKind
		want Class
	}{
		{100, ErrNone, Class1xx},
		{199, ErrNone, Class1xx},
		{200, ErrNone, Class2xx},
		{204, ErrNone, Class2xx},
		{301, ErrNone, Class3xx},
		{404, ErrNone, Class4xx},
		{503, ErrNone, Class5xx},
		{599, ErrNone, Class5xx},
		{0, ErrNone, ClassError},
		{1, ErrNone, ClassAnswered}, // an answered message (Answered)
		{1, ErrTimeout, ClassError},
		{99, ErrNone, ClassError},
		{600, ErrNone, ClassError},
		{0, ErrTimeout, ClassError},
		{200, ErrBodyTooLarge, ClassError},
	} {
		if got := ClassOf(c.code, c.kind); got != c.want {
			t.Errorf("ClassOf(%d, %v) = %v, want %v", c.code, c.kind, got, c.want)
		}
	}
	if got := ErrorKind(200).String(); got != "other" {
		t.Errorf("unknown kind prints %q, want other", got)
	}
	if len(ErrorKinds()) != NumErrorKinds-1 {
		t.Errorf("ErrorKinds lists %d kinds, want %d", len(ErrorKinds()), NumErrorKinds-1)
	}
}

func TestTallyCounts(t *testing.T) {
	tl := NewTally()
	add := func(n int, s Sample) {
		for range n {
			tl.Add(&s)
		}
	}
	add(70, Sample{Corrected: 2 * ms1, Service: 2 * ms1, BytesIn: 100, Code: 200})
	add(5, Sample{Corrected: 3 * ms1, Service: 3 * ms1, BytesIn: 10, Code: 201})
	add(4, Sample{Corrected: 1 * ms1, Service: 1 * ms1, Code: 302})
	add(3, Sample{Corrected: 1 * ms1, Service: 1 * ms1, Code: 404})
	add(2, Sample{Corrected: 50 * ms1, Service: 50 * ms1, Code: 503})
	add(1, Sample{Corrected: 1 * ms1, Service: 1 * ms1, Code: 101})
	add(6, Sample{Corrected: 1000 * ms1, Service: 1000 * ms1, Err: ErrTimeout})
	add(2, Sample{Corrected: 1 * ms1, Service: 1 * ms1, Err: ErrRefused})
	add(1, Sample{Corrected: 1 * ms1, Service: 1 * ms1, Code: 200, Err: ErrBodyTooLarge})
	add(1, Sample{Corrected: 1 * ms1, Service: 1 * ms1, Code: 0}) // no code, no error kind

	if tl.Requests != 95 {
		t.Errorf("Requests = %d, want 95", tl.Requests)
	}
	if tl.Completed != 85 {
		t.Errorf("Completed = %d, want 85", tl.Completed)
	}
	wantClass := [NumClasses]int64{Class1xx: 1, Class2xx: 75, Class3xx: 4, Class4xx: 3, Class5xx: 2, ClassError: 10}
	if tl.Classes != wantClass {
		t.Errorf("Classes = %v, want %v", tl.Classes, wantClass)
	}
	for code, want := range map[int]int64{200: 70, 201: 5, 302: 4, 404: 3, 503: 2, 101: 1, 0: 0} {
		if tl.Codes[code] != want {
			t.Errorf("Codes[%d] = %d, want %d", code, tl.Codes[code], want)
		}
	}
	var codeSum int64
	for _, n := range tl.Codes {
		codeSum += n
	}
	if codeSum != tl.Completed {
		t.Errorf("codes add to %d, want Completed %d", codeSum, tl.Completed)
	}
	wantErr := [NumErrorKinds]int64{ErrTimeout: 6, ErrRefused: 2, ErrBodyTooLarge: 1}
	if tl.Errors != wantErr {
		t.Errorf("Errors = %v, want %v", tl.Errors, wantErr)
	}
	if tl.BytesIn != 70*100+5*10 {
		t.Errorf("BytesIn = %d, want %d", tl.BytesIn, 70*100+5*10)
	}

	// Corrected and Service hold responses only; transport errors are kept
	// apart so that a timeout does not pass for a slow response.
	if n := tl.Corrected.TotalCount(); n != 85 {
		t.Errorf("Corrected holds %d values, want 85", n)
	}
	if n := tl.Service.TotalCount(); n != 85 {
		t.Errorf("Service holds %d values, want 85", n)
	}
	checkNear(t, "Corrected max", Quantile(tl.Corrected, 100), 50, hdrTol)
	if n := tl.SendLag.TotalCount(); n != 95 {
		t.Errorf("SendLag holds %d values, want every request (95)", n)
	}
	for c := Class(0); c < numClasses; c++ {
		for _, h := range [...]struct {
			name string
			n    int64
		}{{"ClassCorrected", count(tl.ClassCorrected[c])}, {"ClassService", count(tl.ClassService[c])}} {
			if h.n != wantClass[c] {
				t.Errorf("%s[%v] holds %d values, want %d", h.name, c, h.n, wantClass[c])
			}
		}
	}
	if tl.ClassCorrected[Class1xx] == nil || tl.ClassCorrected[Class3xx] == nil {
		t.Error("class histograms of seen classes not created")
	}
	checkNear(t, "error-class max", Quantile(tl.ClassCorrected[ClassError], 100), 1000, hdrTol)
	checkNear(t, "5xx p50", Quantile(tl.ClassCorrected[Class5xx], 50), 50, hdrTol)
	if tl.Late != 0 || tl.Saturated != 0 {
		t.Errorf("Late = %d, Saturated = %d; want 0, 0", tl.Late, tl.Saturated)
	}
}

func count(h *hdr.Histogram) int64 {
	if h == nil {
		return 0
	}
	return h.TotalCount()
}

func TestTallyLateBoundary(t *testing.T) {
	tl := NewTally()
	for _, lag := range []int64{0, ms1 - 1, ms1, ms1 + 1, 5 * ms1, -3 * ms1} {
		s := Sample{Corrected: 10*ms1 + lag, Service: 10 * ms1, Code: 200}
		tl.Add(&s)
	}
	// Only lags strictly above 1 ms count: ms1+1 and 5 ms.
	if tl.Late != 2 {
		t.Errorf("Late = %d, want 2 (lag > 1ms)", tl.Late)
	}
	checkNear(t, "SendLag max", Quantile(tl.SendLag, 100), 5, hdrTol)
	// A negative lag (clock skew) is recorded as zero, not dropped.
	if n := tl.SendLag.TotalCount(); n != 6 {
		t.Errorf("SendLag holds %d values, want 6", n)
	}
	if tl.Saturated != 0 {
		t.Errorf("Saturated = %d, want 0", tl.Saturated)
	}
}

func TestTallySaturation(t *testing.T) {
	tl := NewTally()
	hour := int64(time.Hour)
	samples := []Sample{
		{Corrected: 2 * hour, Service: 2 * hour, Code: 200},                  // stuck response
		{Corrected: 3 * hour, Service: ms1, Code: 200},                       // sent 3h late
		{Corrected: hour + 1, Service: hour + 1, Err: ErrTimeout},            // error class
		{Corrected: hour, Service: hour, Code: 200},                          // exactly 1h: in range
		{Corrected: 5 * ms1, Service: 5 * ms1, Code: 200},                    // normal
		{Corrected: 90 * time.Minute.Nanoseconds(), Service: ms1, Code: 500}, // lag > 1h
	}
	for i := range samples {
		tl.Add(&samples[i])
	}
	// Every request with a latency beyond the histograms' range is counted
	// once, however many of its histograms it lands in.
	if tl.Saturated != 4 {
		t.Errorf("Saturated = %d, want 4 (one per request beyond 1h)", tl.Saturated)
	}
	// Clamped, not dropped: every value is in the histograms, at 1h at most.
	if n := tl.Corrected.TotalCount(); n != 5 {
		t.Errorf("Corrected holds %d values, want 5", n)
	}
	if n := tl.SendLag.TotalCount(); n != 6 {
		t.Errorf("SendLag holds %d values, want 6", n)
	}
	if n := count(tl.ClassCorrected[ClassError]); n != 1 {
		t.Errorf("error-class histogram holds %d values, want 1", n)
	}
	checkNear(t, "Corrected max", Quantile(tl.Corrected, 100), 3.6e6, hdrTol)
	checkNear(t, "SendLag max", Quantile(tl.SendLag, 100), 3.6e6, hdrTol)
	checkNear(t, "error max", Quantile(tl.ClassCorrected[ClassError], 100), 3.6e6, hdrTol)
	if Quantile(tl.Corrected, 100) > 3.6e6*(1+hdrTol) {
		t.Errorf("Corrected max %v ms beyond the 1h clamp", Quantile(tl.Corrected, 100))
	}
}
