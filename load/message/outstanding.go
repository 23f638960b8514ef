package message

import "volley/load"

// Outstanding is a connection's messages awaiting their echo: entries
// kept in a list in send order (the oldest first, which is also the order
// of their timeouts), reused through a free list, and with --match id an
// index from id to entry. It grows on demand and then allocates nothing.
type Outstanding struct {
	e          []pending
	free       []int32
	head, tail int32 // -1 when empty
	byID       index
	ids        bool
}

// pending is one message awaiting its echo; t is nil when the entry is
// free.
type pending struct {
	t          *load.Ticket
	due        int64 // when it times out, ns since the client's epoch
	prev, next int32
}

// Head is the oldest entry (the first to time out), or -1 when none.
func (o *Outstanding) Head() int32 { return o.head }

// Ticket is entry k's message.
func (o *Outstanding) Ticket(k int32) *load.Ticket { return o.e[k].t }

// Due is when entry k times out.
func (o *Outstanding) Due(k int32) int64 { return o.e[k].due }

// Init makes the table for n messages at first (it grows as needed), with
// an index by id unless messages are matched in send order (ids false).
func (o *Outstanding) Init(n int, ids bool) {
	n = max(n, 1)
	o.e = make([]pending, 0, n)
	o.free = make([]int32, 0, n)
	o.head, o.tail, o.ids = -1, -1, ids
	if ids {
		o.byID.init(2 * n)
	}
}

// Add appends t, timing out at due, and returns its entry.
func (o *Outstanding) Add(t *load.Ticket, due int64) int32 {
	var k int32
	if n := len(o.free); n > 0 {
		k = o.free[n-1]
		o.free = o.free[:n-1]
	} else {
		k = int32(len(o.e))
		o.e = append(o.e, pending{})
		if o.ids && 2*len(o.e) > len(o.byID.vals) {
			o.byID.grow()
		}
	}
	o.e[k] = pending{t: t, due: due, prev: o.tail, next: -1}
	if o.tail >= 0 {
		o.e[o.tail].next = k
	} else {
		o.head = k
	}
	o.tail = k
	if o.ids {
		o.byID.put(t.I, k)
	}
	return k
}

// Remove takes entry k out.
func (o *Outstanding) Remove(k int32) {
	p := &o.e[k]
	if p.prev >= 0 {
		o.e[p.prev].next = p.next
	} else {
		o.head = p.next
	}
	if p.next >= 0 {
		o.e[p.next].prev = p.prev
	} else {
		o.tail = p.prev
	}
	if o.ids {
		o.byID.del(p.t.I)
	}
	*p = pending{}
	o.free = append(o.free, k)
}

// Match returns the entry of the outstanding message whose id msg holds:
// at at first (where the message had it), else anywhere (a server that
// wraps the message), or -1.
func (o *Outstanding) Match(msg []byte, at int) int32 {
	if at >= 0 && len(msg) >= at+IDLen {
		if id, ok := ParseID(msg[at : at+IDLen]); ok {
			if k := o.byID.get(id); k >= 0 {
				return k
			}
		}
	}
	run := 0
	for i, b := range msg {
		if !isLowerHex(b) {
			run = 0
			continue
		}
		if run++; run >= IDLen {
			id, _ := ParseID(msg[i+1-IDLen : i+1])
			if k := o.byID.get(id); k >= 0 {
				return k
			}
		}
	}
	return -1
}

func isLowerHex(b byte) bool { return '0' <= b && b <= '9' || 'a' <= b && b <= 'f' }

// ParseID parses IDLen lowercase hex digits, as a Frame writes them.
func ParseID(b []byte) (int64, bool) {
	var v uint64
	for _, c := range b[:IDLen] {
		switch {
		case '0' <= c && c <= '9':
			v = v<<4 | uint64(c-'0')
		case 'a' <= c && c <= 'f':
			v = v<<4 | uint64(c-'a'+10)
		default:
			return 0, false
		}
	}
	return int64(v), true
}

// index maps message ids to entries: open addressing with linear probing
// and backward-shift deletion (no tombstones), so that a steady state of
// inserts and deletes never rehashes. Its size is a power of two.
type index struct {
	keys  []int64
	vals  []int32 // -1: empty
	shift uint
}

func (x *index) init(n int) {
	size := 8
	for size < n {
		size *= 2
	}
	x.keys = make([]int64, size)
	x.vals = make([]int32, size)
	for i := range x.vals {
		x.vals[i] = -1
	}
	x.shift = 64
	for s := size; s > 1; s /= 2 {
		x.shift--
	}
}

// home is id's first slot (Fibonacci hashing: ids of one connection are
// spaced by the connection count).
func (x *index) home(id int64) int { return int((uint64(id) * 0x9e3779b97f4a7c15) >> x.shift) }

func (x *index) grow() {
	keys, vals := x.keys, x.vals
	x.init(2 * len(vals))
	for i, v := range vals {
		if v >= 0 {
			x.put(keys[i], v)
		}
	}
}

func (x *index) put(id int64, v int32) {
	mask := len(x.vals) - 1
	i := x.home(id)
	for x.vals[i] >= 0 {
		i = (i + 1) & mask
	}
	x.keys[i], x.vals[i] = id, v
}

func (x *index) get(id int64) int32 {
	mask := len(x.vals) - 1
	for i := x.home(id); x.vals[i] >= 0; i = (i + 1) & mask {
		if x.keys[i] == id {
			return x.vals[i]
		}
	}
	return -1
}

func (x *index) del(id int64) {
	mask := len(x.vals) - 1
	i := x.home(id)
	for x.vals[i] >= 0 && x.keys[i] != id {
		i = (i + 1) & mask
	}
	if x.vals[i] < 0 {
		return
	}
	// Shift back the entries after i that may not skip the hole.
	for j := (i + 1) & mask; x.vals[j] >= 0; j = (j + 1) & mask {
		if h := x.home(x.keys[j]); (j-h)&mask >= (j-i)&mask {
			x.keys[i], x.vals[i] = x.keys[j], x.vals[j]
			i = j
		}
	}
	x.vals[i] = -1
}
