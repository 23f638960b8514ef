package bench

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// FaultKind is a way the server misbehaves instead of answering normally.
type FaultKind uint8

// Fault kinds. FaultNone answers normally.
const (
	FaultNone FaultKind = iota
	// FaultReset aborts the connection with a TCP RST instead of answering.
	FaultReset
	// FaultClose closes the connection (FIN) without answering.
	FaultClose
	// FaultCloseMidBody sends the header and half the declared body, then
	// closes the connection.
	FaultCloseMidBody
	// FaultGarbage answers with bytes that are not HTTP, then closes.
	FaultGarbage
	// FaultSlow sends a well-formed response one byte every SlowByteInterval,
	// then closes the connection.
	FaultSlow
	// FaultHang never answers; the connection stays open until the client
	// closes it or the server is closed.
	FaultHang
	// FaultHuge declares and streams a body of HugeBodySize bytes, beyond
	// any sensible client limit.
	FaultHuge
	// FaultBadChunked sends a chunked body whose chunk size is not hex, then
	// closes.
	FaultBadChunked
	// FaultBadStatusLine sends a status line whose code is not a number,
	// then closes.
	FaultBadStatusLine
	// Fault1xx sends interim 100 and 103 responses before the final one; the
	// final response is a normal one and is counted in Stats.Codes.
	Fault1xx
	numFaultKinds
)

const (
	// SlowByteInterval is the pause between two bytes of a FaultSlow
	// response.
	SlowByteInterval = 10 * time.Millisecond
	// HugeBodySize is the body length a FaultHuge response declares: 1 GiB,
	// beyond the default --max-body of volley run (64 MiB).
	HugeBodySize = 1 << 30
	// faultRateUnit is the resolution of fault rates: 0.0001 (0.01%).
	faultRateUnit = 10_000
)

// String returns the kind's name as --fault spells it ("" for FaultNone).
func (k FaultKind) String() string {
	switch k {
	case FaultNone:
		return ""
	case FaultReset:
		return "reset"
	case FaultClose:
		return "close"
	case FaultCloseMidBody:
		return "close-mid-body"
	case FaultGarbage:
		return "garbage"
	case FaultSlow:
		return "slow"
	case FaultHang:
		return "hang"
	case FaultHuge:
		return "huge"
	case FaultBadChunked:
		return "bad-chunked"
	case FaultBadStatusLine:
		return "bad-status-line"
	case Fault1xx:
		return "1xx"
	}
	return "fault(" + strconv.Itoa(int(k)) + ")"
}

// FaultKinds lists the real fault kinds in documentation order.
func FaultKinds() []FaultKind {
	ks := make([]FaultKind, 0, numFaultKinds-1)
	for k := FaultNone + 1; k < numFaultKinds; k++ {
		ks = append(ks, k)
	}
	return ks
}

// Fault is one --fault KIND[:RATE]: Rate is the share of load requests that
// get the fault, in (0, 1] with a resolution of 0.0001.
type Fault struct {
	Kind FaultKind
	Rate float64
}

// ParseFault parses "KIND" or "KIND:RATE". RATE is a fraction (0.1) or a
// percentage (10%) of requests; it defaults to 1 (every request).
func ParseFault(s string) (Fault, error) {
	spec := strings.TrimSpace(s)
	name, rate, hasRate := strings.Cut(spec, ":")
	name = strings.TrimSpace(name)
	f := Fault{Rate: 1}
	for k := FaultNone + 1; k < numFaultKinds; k++ {
		if k.String() == name {
			f.Kind = k
		}
	}
	if f.Kind == FaultNone {
		names := make([]string, 0, numFaultKinds-1)
		for _, k := range FaultKinds() {
			names = append(names, k.String())
		}
		return Fault{}, fmt.Errorf("fault %q: unknown kind %q; want one of %s", s, name, strings.Join(names, ", "))
	}
	if !hasRate {
		return f, nil
	}
	units, err := parseFaultRate(strings.TrimSpace(rate))
	if err != nil {
		return Fault{}, fmt.Errorf("fault %q: rate %q: %w", s, rate, err)
	}
	f.Rate = float64(units) / faultRateUnit
	return f, nil
}

// parseFaultRate parses a fraction or percentage into units of 1/faultRateUnit.
func parseFaultRate(s string) (int64, error) {
	scale := 1.0
	if p, ok := strings.CutSuffix(s, "%"); ok {
		s, scale = strings.TrimSpace(p), 0.01
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, fmt.Errorf("want a fraction such as 0.1 or a percentage such as 10%%")
	}
	v *= scale
	if v <= 0 || v > 1 {
		return 0, fmt.Errorf("out of range: want more than 0 and at most 1 (100%%)")
	}
	units := math.Round(v * faultRateUnit)
	if math.Abs(units-v*faultRateUnit) > 1e-6 || units < 1 {
		return 0, fmt.Errorf("finer than the resolution of 0.0001 (0.01%%)")
	}
	return int64(units), nil
}

// String returns the fault in the form ParseFault accepts.
func (f Fault) String() string {
	if f.Rate >= 1 {
		return f.Kind.String()
	}
	return f.Kind.String() + ":" + strconv.FormatFloat(f.Rate, 'f', -1, 64)
}

// FaultMix chooses which load requests get which fault. The zero value
// never faults. Build one with NewFaultMix or ParseFaults.
//
// Faults are interleaved evenly, like a StatusMix: over every run of Period
// consecutive requests, each fault occurs exactly Rate×Period times, so
// `reset:0.1` over 1000 requests resets exactly 100 of them.
type FaultMix struct {
	faults []Fault
	// cycle is one period of the sequence of kinds (FaultNone included).
	cycle []uint16
}

// ParseFaults parses --fault values, one fault per value.
func ParseFaults(specs []string) (FaultMix, error) {
	faults := make([]Fault, 0, len(specs))
	for _, s := range specs {
		f, err := ParseFault(s)
		if err != nil {
			return FaultMix{}, err
		}
		faults = append(faults, f)
	}
	return NewFaultMix(faults)
}

// NewFaultMix combines faults: each kind at most once, rates summing to at
// most 1; the rest of the requests are answered normally.
func NewFaultMix(faults []Fault) (FaultMix, error) {
	if len(faults) == 0 {
		return FaultMix{}, nil
	}
	entries := make([]codeWeight, 0, len(faults)+1)
	seen := map[FaultKind]bool{}
	var total int
	for _, f := range faults {
		if f.Kind == FaultNone || f.Kind >= numFaultKinds {
			return FaultMix{}, fmt.Errorf("fault %d: unknown kind", f.Kind)
		}
		if seen[f.Kind] {
			return FaultMix{}, fmt.Errorf("fault %s given more than once", f.Kind)
		}
		seen[f.Kind] = true
		units := int(math.Round(f.Rate * faultRateUnit))
		if units < 1 || units > faultRateUnit {
			return FaultMix{}, fmt.Errorf("fault %s: rate %v out of range 0.0001..1", f.Kind, f.Rate)
		}
		total += units
		entries = append(entries, codeWeight{code: int(f.Kind), weight: units})
	}
	if total > faultRateUnit {
		return FaultMix{}, fmt.Errorf("fault rates add up to %v, more than 1 (every request)", float64(total)/faultRateUnit)
	}
	if rest := faultRateUnit - total; rest > 0 {
		entries = append(entries, codeWeight{code: int(FaultNone), weight: rest})
	}
	cycle, err := smoothCycle(entries)
	if err != nil {
		return FaultMix{}, err
	}
	return FaultMix{faults: append([]Fault(nil), faults...), cycle: cycle}, nil
}

// IsZero reports whether the mix never faults.
func (m FaultMix) IsZero() bool { return len(m.faults) == 0 }

// Faults returns the faults of the mix as given.
func (m FaultMix) Faults() []Fault { return append([]Fault(nil), m.faults...) }

// Period returns the length of one cycle: over any Period consecutive
// requests each fault occurs exactly Rate×Period times.
func (m FaultMix) Period() int {
	if len(m.cycle) == 0 {
		return 1
	}
	return len(m.cycle)
}

// At returns the fault of load request number i (0-based since the server
// started or was reset).
func (m FaultMix) At(i uint64) FaultKind {
	if len(m.cycle) == 0 {
		return FaultNone
	}
	return FaultKind(m.cycle[i%uint64(len(m.cycle))])
}

// String returns the faults as comma-separated --fault values.
func (m FaultMix) String() string {
	parts := make([]string, len(m.faults))
	for i, f := range m.faults {
		parts[i] = f.String()
	}
	return strings.Join(parts, ",")
}
