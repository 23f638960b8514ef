package stats

import (
	"context"
	"math"
	"sort"
	"sync"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
)

// Meta describes a run for its Result.
type Meta struct {
	Target      Target
	Started     time.Time
	Rate        float64 // target rate; 0 means closed loop
	Connections int
	Interrupted bool
	// Shard is "K/N" when this run is one shard of a plan, else "".
	Shard string
	// Plan fingerprints the settings that every shard of a plan must share.
	Plan string
	// StartLate is how far past its scheduled start the run began.
	StartLate time.Duration
	// Seed seeded everything random in the run.
	Seed uint64
	// Shape describes stages and arrival; nil for a constant, uniform run.
	Shape *Shape
	// Warmup is the warm-up's length; 0 for none.
	Warmup time.Duration
	// Tick is the pacing grid of an open-loop run; 0 when every request
	// had a timer of its own.
	Tick time.Duration
}

// Mode is "open" for a fixed-rate run and "closed" otherwise.
func (m Meta) Mode() string {
	if m.Rate > 0 {
		return "open"
	}
	return "closed"
}

// Progress is a live view of a run for the progress line.
type Progress struct {
	Elapsed  time.Duration
	Requests int64
	Errors   int64
	// LastRPS and LastP99 (ms) describe the last completed interval.
	LastRPS float64
	LastP99 float64
	// Warmup counts the warm-up's requests so far.
	Warmup int64
}

// DrainEvery is how often the Collector empties the workers' recorders.
const DrainEvery = 10 * time.Millisecond

// intervalGrace is how long after an interval ends the Collector waits for
// its last samples before closing it.
const intervalGrace = 3 * DrainEvery

// maxPoints bounds the series; beyond it adjacent points are merged, doubling
// the interval, so memory stays bounded however long a run lasts.
const maxPoints = 3600

// interval accumulates one slot of the series.
type interval struct {
	index    int64 // interval number since start
	open     bool
	requests int64
	errors   int64
	classes  [NumClasses]int64
	all      *hdr.Histogram
	service  *hdr.Histogram
	class    [NumClasses]*hdr.Histogram
}

func (iv *interval) reset(index int64) {
	iv.index, iv.open = index, true
	iv.requests, iv.errors = 0, 0
	iv.classes = [NumClasses]int64{}
	if iv.all == nil {
		// First use of this slot: a short run never needs all three.
		iv.all, iv.service = NewHistogram(), NewHistogram()
	}
	iv.all.Reset()
	iv.service.Reset()
	for _, h := range iv.class {
		if h != nil {
			h.Reset()
		}
	}
}

func (iv *interval) add(s *Sample) {
	iv.requests++
	c := ClassOf(int(s.Code), s.Err)
	iv.classes[c]++
	if c == ClassError || c == Class4xx || c == Class5xx {
		iv.errors++
	}
	v, _ := clampValue(s.Corrected)
	if c != ClassError {
		_ = iv.all.RecordValue(v)
		sv, _ := clampValue(s.Service)
		_ = iv.service.RecordValue(sv)
	}
	_ = classHist(&iv.class, c).RecordValue(v)
}

// merge adds o's samples to iv.
func (iv *interval) merge(o *interval) {
	iv.requests += o.requests
	iv.errors += o.errors
	for c := range iv.classes {
		iv.classes[c] += o.classes[c]
	}
	iv.all.Merge(o.all)
	iv.service.Merge(o.service)
	for c, h := range o.class {
		if h != nil {
			classHist(&iv.class, Class(c)).Merge(h)
		}
	}
}

// Collector drains per-worker Recorders into the run's Tally and time series.
// Recorder may be called before Start; Start, Drain, Progress and Result may
// be called from any goroutine.
type Collector struct {
	every time.Duration // interval length of the series

	mu      sync.Mutex // guards everything below
	start   time.Time
	recs    []*Recorder
	total   *Tally
	ivs     [3]interval // ring of open intervals, by index mod 3
	series  []Point
	merged  int // how many times the series was compacted
	lastRPS float64
	lastP99 float64
	drained int64
	maxDone int64  // latest Sample.Done seen
	warm    Warmup // the warm-up's requests, kept out of everything else
	details details
	issued  func() int64 // requests issued so far; nil when not tracked
	// warmBytes are the bytes on the wire when the warm-up ended.
	warmBytes [2]int64
	warmDone  bool
}

// NewCollector returns a collector with a 1 s series interval.
func NewCollector() *Collector {
	return &Collector{every: time.Second, total: NewTally()}
}

// NewRecorder creates a Recorder whose samples this collector drains.
func (c *Collector) NewRecorder(size int) *Recorder {
	r := NewRecorder(size)
	c.mu.Lock()
	c.recs = append(c.recs, r)
	c.mu.Unlock()
	return r
}

// Start sets the run's start time: Sample.Done is measured from it.
func (c *Collector) Start(t time.Time) {
	c.mu.Lock()
	c.start = t
	c.mu.Unlock()
}

// Run drains the recorders every DrainEvery until ctx is done.
func (c *Collector) Run(ctx context.Context) {
	tk := time.NewTicker(DrainEvery)
	defer tk.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-tk.C:
			c.Drain(now)
		}
	}
}

// Drain empties every recorder and closes the intervals that ended before now.
func (c *Collector) Drain(now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.drainLocked()
	elapsed := now.Sub(c.start)
	// Intervals end in index order, so closing the oldest due one first
	// closes exactly the due ones, whatever closing does to the grid.
	for {
		iv := c.oldestOpenLocked()
		if iv == nil || time.Duration(iv.index+1)*c.every+intervalGrace > elapsed {
			return
		}
		c.closeOldestLocked(fullInterval)
	}
}

func (c *Collector) drainLocked() {
	for _, r := range c.recs {
		c.drained += int64(r.drain(c.addLocked))
	}
}

func (c *Collector) addLocked(s *Sample) {
	if s.Warmup {
		c.warm.add(s)
		return
	}
	c.total.Add(s)
	c.maxDone = max(c.maxDone, s.Done)
	c.details.add(s)
	// Placing a sample may close intervals, and closing may make the grid
	// coarser; then the sample's index is stale and it is placed again.
	for {
		grid := c.merged
		iv := c.placeLocked(s.Done)
		if c.merged == grid {
			iv.add(s)
			return
		}
	}
}

// placeLocked returns the open interval a sample that ended at done (since
// the start) belongs to, opening or closing intervals as needed.
func (c *Collector) placeLocked(done int64) *interval {
	idx := max(done/int64(c.every), 0)
	iv := &c.ivs[idx%3]
	if iv.open && iv.index == idx {
		return iv
	}
	if iv.open && iv.index < idx {
		grid := c.merged
		c.closeThroughLocked(iv.index)
		if c.merged != grid {
			return iv // stale: the caller places the sample again
		}
	}
	if iv.open && iv.index > idx {
		// A straggler for an interval already closed and reused: count
		// it in the oldest open interval rather than lose it.
		return c.oldestOpenLocked()
	}
	if last := c.lastClosedIndex(); idx <= last {
		// Its interval is already closed: fold it into the next one,
		// unless that slot holds a later open interval, which must not be
		// closed early; then into the oldest open one.
		if next := &c.ivs[(last+1)%3]; next.open && next.index != last+1 {
			return c.oldestOpenLocked()
		}
		return c.openLocked(last + 1)
	}
	iv.reset(idx)
	return iv
}

func (c *Collector) lastClosedIndex() int64 {
	if len(c.series) == 0 {
		return -1
	}
	p := c.series[len(c.series)-1]
	return int64((p.T+p.Dur)/c.every.Seconds()+0.5) - 1
}

// openLocked returns the open interval idx, closing the slot's earlier
// occupant first. When that close makes the grid coarser the returned
// interval is stale: callers compare c.merged.
func (c *Collector) openLocked(idx int64) *interval {
	iv := &c.ivs[idx%3]
	if !iv.open || iv.index != idx {
		if iv.open {
			c.closeThroughLocked(iv.index)
			if iv.open {
				return iv
			}
		}
		iv.reset(idx)
	}
	return iv
}

// closeThroughLocked closes every open interval up to index idx.
func (c *Collector) closeThroughLocked(idx int64) {
	grid := c.merged
	for {
		iv := c.oldestOpenLocked()
		if iv == nil || iv.index > idx || c.merged != grid {
			return
		}
		c.closeOldestLocked(fullInterval)
	}
}

func (c *Collector) oldestOpenLocked() *interval {
	var best *interval
	for i := range c.ivs {
		if c.ivs[i].open && (best == nil || c.ivs[i].index < best.index) {
			best = &c.ivs[i]
		}
	}
	return best
}

// fullInterval, as closeOldestLocked's end, closes a whole interval.
const fullInterval = time.Duration(math.MaxInt64)

// closeOldestLocked turns the oldest open interval into a Point and frees
// its slot. The point ends one interval after its start, or at end (since
// the start of the run) if that is earlier: the last point of a run may be
// partial.
func (c *Collector) closeOldestLocked(end time.Duration) {
	if c.oldestOpenLocked() == nil {
		return
	}
	c.fillGapLocked()
	iv := c.oldestOpenLocked()
	iv.open = false
	dur := c.every
	if start := time.Duration(iv.index) * c.every; end != fullInterval && start+dur > end {
		dur = max(end-start, time.Millisecond)
	}
	p := Point{
		T: float64(iv.index) * c.every.Seconds(), Dur: dur.Seconds(),
		Requests: iv.requests, Errors: iv.errors, Status: classMap(&iv.classes),
		P50: Quantile(iv.all, 50), P90: Quantile(iv.all, 90), P99: Quantile(iv.all, 99),
		Max: Quantile(iv.all, 100), ServiceP99: Quantile(iv.service, 99),
		Hist: EncodeHist(iv.all),
	}
	p.ServiceHist = EncodeHist(iv.service)
	if dur > 0 {
		p.RPS = float64(iv.requests) / dur.Seconds()
	}
	kinds := 0
	for _, n := range iv.classes {
		if n > 0 {
			kinds++
		}
	}
	// Per-class histograms when they add something: several classes, or
	// only transport errors (which Hist, holding responses, leaves out).
	if kinds > 1 || iv.classes[ClassError] > 0 {
		p.Classes = map[string]EncodedHist{}
		for cl, h := range iv.class {
			if h != nil && h.TotalCount() > 0 {
				p.Classes[Class(cl).String()] = EncodeHist(h)
			}
		}
	}
	c.series = append(c.series, p)
	c.lastRPS, c.lastP99 = p.RPS, p.P99
	if len(c.series) > maxPoints && len(c.series)%2 == 0 && end == fullInterval {
		c.coarsenLocked()
	}
}

// fillGapLocked appends an empty point for every interval between the last
// closed one and the oldest open one, so that the series has one point per
// interval of the run. A gap too long for maxPoints (samples that ended
// hours after the start: a start time far in the past, a clock jump) makes
// the grid coarser first, so that filling costs at most maxPoints points
// however long the gap, never a point per second of it.
func (c *Collector) fillGapLocked() {
	for {
		next := c.lastClosedIndex() + 1
		gap := c.oldestOpenLocked().index - next
		switch {
		case gap <= 0:
			return
		case int64(len(c.series))+gap <= maxPoints:
			for i := next; i < next+gap; i++ {
				c.series = append(c.series, emptyPoint(float64(i)*c.every.Seconds(), c.every.Seconds()))
			}
			return
		case len(c.series)%2 == 1:
			// Pairs must line up with the coarser grid: fill one.
			c.series = append(c.series, emptyPoint(float64(next)*c.every.Seconds(), c.every.Seconds()))
		default:
			c.coarsenLocked()
		}
	}
}

// coarsenLocked doubles the series interval: adjacent pairs of points are
// merged (the series must have an even length, so that pairs line up with
// the new grid) and the open intervals move to the new grid, two that fall
// into one new interval merged into one.
func (c *Collector) coarsenLocked() {
	c.series = CompactSeries(c.series)
	c.every *= 2
	c.merged++
	var open []interval
	for i := range c.ivs {
		if c.ivs[i].open {
			open = append(open, c.ivs[i])
		}
		c.ivs[i] = interval{}
	}
	sort.Slice(open, func(i, j int) bool { return open[i].index < open[j].index })
	for _, iv := range open {
		iv.index /= 2
		slot := &c.ivs[iv.index%3]
		if slot.open {
			// The same new interval, or (only after stragglers opened
			// intervals far apart) one that shares its slot: merge rather
			// than lose the samples.
			slot.merge(&iv)
			continue
		}
		*slot = iv
	}
}

func emptyPoint(t, dur float64) Point {
	var zero [NumClasses]int64
	return Point{T: t, Dur: dur, Status: classMap(&zero)}
}

func classMap(cl *[NumClasses]int64) map[string]int64 {
	m := make(map[string]int64, 6)
	for _, c := range StatusClasses() {
		m[c.String()] = cl[c]
	}
	if n := cl[ClassAnswered]; n > 0 { // a run of messages
		m[ClassAnswered.String()] = n
	}
	return m
}

// Progress returns a live view of the run.
func (c *Collector) Progress(now time.Time) Progress {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := c.total
	return Progress{
		Elapsed: now.Sub(c.start), Requests: t.Requests,
		Errors:  t.Classes[ClassError] + t.Classes[Class4xx] + t.Classes[Class5xx],
		LastRPS: c.lastRPS, LastP99: c.lastP99, Warmup: c.warm.Requests,
	}
}

// RingWaits reports how often workers found their recorder full.
func (c *Collector) RingWaits() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	var n int64
	for _, r := range c.recs {
		n += r.full.Load()
	}
	return n
}

// Result drains what is left and freezes the run. elapsed is the run's
// length; bytesOut the bytes written. Workers must have stopped recording.
func (c *Collector) Result(meta Meta, elapsed time.Duration, bytesOut int64) *Result {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.drainLocked()
	// Close the open intervals; the last one may be partial, and ends when
	// its last request did, which can be after the sending window.
	end := max(elapsed, time.Duration(c.maxDone))
	for c.oldestOpenLocked() != nil {
		c.closeOldestLocked(end)
	}
	for len(c.series) > maxPoints {
		c.series = CompactSeries(c.series)
		c.every *= 2
		c.merged++
	}
	samples := map[string]string{}
	for _, k := range ErrorKinds() {
		for _, r := range c.recs {
			if m := r.errorMessage(k); m != "" {
				samples[k.String()] = m
				break
			}
		}
	}
	if len(samples) == 0 {
		samples = nil
	}
	series := append([]Point(nil), c.series...)
	r := newResult(c.total, meta, elapsed, bytesOut, samples, series)
	r.Shape = meta.Shape
	if meta.Warmup > 0 {
		w := c.warm
		w.DurationS = meta.Warmup.Seconds()
		r.Warmup = &w
	}
	c.details.fill(r)
	return r
}

// Live returns the counts drained so far, for deciding thresholds while the
// run goes on (see Threshold.Decided). It takes the collector's lock and
// reads the totals; nothing is added to the per-request path. planned is
// copied into the snapshot.
func (c *Collector) Live(planned int64) Live {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := c.total
	l := Live{
		Requests: t.Requests, Classes: t.Classes, Late: t.Late,
		Errors:  t.Classes[ClassError] + t.Classes[Class4xx] + t.Classes[Class5xx],
		Planned: planned,
	}
	for _, n := range t.Errors {
		l.TransportErrors += n
	}
	if t.Corrected.TotalCount() > 0 {
		l.MinNS, l.MaxNS = t.Corrected.Min(), t.Corrected.Max()
		l.ServiceMinNS, l.ServiceMaxNS = t.Service.Min(), t.Service.Max()
	}
	return l
}
