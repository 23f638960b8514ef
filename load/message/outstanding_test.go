package message

import (
	"fmt"
	"testing"
	"volley/load"
)

// TestOutstandingTable: the outstanding table against a map, through
// random adds and removes (out of order, as echoes may come), growth and
// reuse: every id is found while outstanding and not after, the send order
// is kept, and an echo is found by its id at its place or anywhere.
func TestOutstandingTable(t *testing.T) {
	var o Outstanding
	o.Init(4, true)
	tickets := make([]load.Ticket, 5000)
	live := map[int64]int32{}
	var order []int64 // send order of the live ones
	rng := uint64(1)
	next := func(n int) int { rng = rng*6364136223846793005 + 1442695040888963407; return int(rng>>33) % n }
	var id int64
	for step := 0; step < 20000; step++ {
		if len(live) == 0 || (next(3) > 0 && id < int64(len(tickets))) {
			if id == int64(len(tickets)) {
				continue
			}
			// Ids of one connection are spaced by the connection count.
			tickets[id].I = id * 50
			live[id*50] = o.Add(&tickets[id], id)
			order = append(order, id*50)
			id++
			continue
		}
		j := next(len(order))
		if next(4) == 0 {
			j = 0 // the oldest, as most echoes come
		}
		k := order[j]
		msg := fmt.Appendf(nil, `{"reply":"%016x ping"}`, uint64(k))
		if got := o.Match(msg, 0); got != live[k] {
			t.Fatalf("step %d: echo of %d found entry %d, want %d", step, k, got, live[k])
		}
		o.Remove(live[k])
		delete(live, k)
		order = append(order[:j], order[j+1:]...)
		if got := o.Match(fmt.Appendf(nil, "%016x ping", uint64(k)), 0); got >= 0 {
			t.Fatalf("step %d: %d found after its removal", step, k)
		}
	}
	// The list is in send order, and holds only the live ones.
	var got []int64
	for k := o.head; k >= 0; k = o.e[k].next {
		got = append(got, o.e[k].t.I)
	}
	if fmt.Sprint(got) != fmt.Sprint(order) {
		t.Fatalf("outstanding in order %v, want %v", got, order)
	}
	for k, e := range live {
		if o.byID.get(k) != e {
			t.Fatalf("id %d: entry %d, want %d", k, o.byID.get(k), e)
		}
	}
	for _, tc := range []struct {
		msg  string
		want bool
	}{
		{"", false},
		{"000000000000002", false},           // 15 digits
		{"000000000000002A ping", false},     // upper case: not an id volley writes
		{"xx00000000000000ffffff yy", false}, // no 16-digit window is outstanding
	} {
		if k := o.Match([]byte(tc.msg), 0); (k >= 0) != tc.want {
			t.Errorf("match(%q) = %d, want found %v", tc.msg, k, tc.want)
		}
	}
}
