package metrics

import (
	"math"

	"google.golang.org/protobuf/encoding/protowire"
)

// The remote write 1.0 messages, encoded by hand with protowire: the
// module that holds their generated types (prometheus/prometheus) pulls in
// a newer gorilla/websocket than volley's, which costs the WebSocket
// message path an allocation per message (TestWSMessagePathAllocs).
// Field numbers are those of prometheus/prompb's types.proto.

// rwLabel is a prompb.Label.
type rwLabel struct{ name, value string }

// rwSeries is a prompb.TimeSeries with one sample or one histogram.
type rwSeries struct {
	labels []rwLabel // sorted by name, __name__ first
	value  float64
	hist   *rwHistogram
	ts     int64 // ms
}

// rwHistogram is a prompb.Histogram with integer counts.
type rwHistogram struct {
	count  uint64
	sum    float64
	schema int32
	spans  []Span
	deltas []int64
}

// appendWriteRequest encodes a prompb.WriteRequest of series.
func appendWriteRequest(b []byte, series []rwSeries) []byte {
	for i := range series {
		b = protowire.AppendTag(b, 1, protowire.BytesType)
		b = protowire.AppendBytes(b, appendSeries(nil, &series[i]))
	}
	return b
}

func appendSeries(b []byte, s *rwSeries) []byte {
	for _, l := range s.labels {
		var m []byte
		m = protowire.AppendTag(m, 1, protowire.BytesType)
		m = protowire.AppendString(m, l.name)
		m = protowire.AppendTag(m, 2, protowire.BytesType)
		m = protowire.AppendString(m, l.value)
		b = protowire.AppendTag(b, 1, protowire.BytesType)
		b = protowire.AppendBytes(b, m)
	}
	if s.hist == nil {
		var m []byte
		m = protowire.AppendTag(m, 1, protowire.Fixed64Type)
		m = protowire.AppendFixed64(m, math.Float64bits(s.value))
		m = protowire.AppendTag(m, 2, protowire.VarintType)
		m = protowire.AppendVarint(m, uint64(s.ts))
		b = protowire.AppendTag(b, 2, protowire.BytesType)
		return protowire.AppendBytes(b, m)
	}
	h := s.hist
	var m []byte
	m = protowire.AppendTag(m, 1, protowire.VarintType) // count_int: a oneof, sent even when 0
	m = protowire.AppendVarint(m, h.count)
	m = protowire.AppendTag(m, 3, protowire.Fixed64Type)
	m = protowire.AppendFixed64(m, math.Float64bits(h.sum))
	m = protowire.AppendTag(m, 4, protowire.VarintType)
	m = protowire.AppendVarint(m, protowire.EncodeZigZag(int64(h.schema)))
	m = protowire.AppendTag(m, 5, protowire.Fixed64Type) // zero_threshold 0
	m = protowire.AppendFixed64(m, 0)
	m = protowire.AppendTag(m, 6, protowire.VarintType) // zero_count_int 0
	m = protowire.AppendVarint(m, 0)
	for _, sp := range h.spans {
		var sm []byte
		sm = protowire.AppendTag(sm, 1, protowire.VarintType)
		sm = protowire.AppendVarint(sm, protowire.EncodeZigZag(int64(sp.Offset)))
		sm = protowire.AppendTag(sm, 2, protowire.VarintType)
		sm = protowire.AppendVarint(sm, uint64(sp.Length))
		m = protowire.AppendTag(m, 11, protowire.BytesType)
		m = protowire.AppendBytes(m, sm)
	}
	if len(h.deltas) > 0 {
		var packed []byte
		for _, d := range h.deltas {
			packed = protowire.AppendVarint(packed, protowire.EncodeZigZag(d))
		}
		m = protowire.AppendTag(m, 12, protowire.BytesType)
		m = protowire.AppendBytes(m, packed)
	}
	m = protowire.AppendTag(m, 15, protowire.VarintType)
	m = protowire.AppendVarint(m, uint64(s.ts))
	b = protowire.AppendTag(b, 4, protowire.BytesType)
	return protowire.AppendBytes(b, m)
}
