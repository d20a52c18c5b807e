package push

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/obskit/obskit/internal/atomicfloat"
	"github.com/obskit/obskit/internal/sketch"
	"github.com/obskit/obskit/metrics"
)

// HistogramOptions says what a Store's histogram series keep between
// flushes. At least one of Sketch and MaxValues must be set.
type HistogramOptions struct {
	// Sketch keeps a relative-error sketch per series (count, sum, min,
	// max and quantiles), with RelativeAccuracy (0 means 0.01).
	Sketch           bool
	RelativeAccuracy float64
	// MaxValues keeps up to this many raw values per series and flush;
	// past it, a uniform sample of MaxValues values and its rate.
	MaxValues int
}

// Info identifies a series to the backend's Flusher. The backend sets it
// at Bind and nothing changes it afterwards.
type Info struct {
	// Desc is the instrument's declaration, LabelValues the values of its
	// declared labels in declaration order.
	Desc        *metrics.Desc
	LabelValues []string
	// Key is the backend's own rendering of the series' name and labels,
	// formatted once at Bind (for example "requests.GET.200" for statsd).
	Key string
	// Data is anything else the backend keeps per series (datadog tags).
	Data any
}

// state is what every series of a Store shares: whether it is closed,
// and how many recordings arrived after.
type state struct {
	closed        atomic.Bool
	droppedClosed atomic.Uint64
}

func (s *state) drop() bool {
	if s.closed.Load() {
		s.droppedClosed.Add(1)
		return true
	}
	return false
}

// Store holds a backend's series. NewCounter, NewGauge and NewHistogram
// are safe for concurrent use; the slices returned by Counters, Gauges
// and Histograms are snapshots the caller may iterate without a lock.
type Store struct {
	st    state
	hopts HistogramOptions

	mu         sync.Mutex
	counters   []*Counter
	gauges     []*Gauge
	histograms []*Histogram
	// With MergeSameKey, the series of each kind by Key; nil without.
	ckeys, gkeys, hkeys map[string]int
}

// MergeSameKey makes NewCounter, NewGauge and NewHistogram return the
// series of that kind already made with the same Info.Key instead of a
// second one. A backend whose Key is the whole of what reaches the
// server (name and sanitised labels) calls it once, before any series is
// made: two label sets that sanitise alike then record into one series,
// whose values add up (counters, histograms) or replace each other
// (gauges), instead of two lines for one series in the same flush, of
// which a server that keeps one point per series and time (Graphite,
// InfluxDB) would keep only the last.
func (s *Store) MergeSameKey() {
	s.mu.Lock()
	s.ckeys, s.gkeys, s.hkeys = map[string]int{}, map[string]int{}, map[string]int{}
	s.mu.Unlock()
}

// NewStore returns an empty Store whose histograms keep what h says.
func NewStore(h HistogramOptions) (*Store, error) {
	if !h.Sketch && h.MaxValues <= 0 {
		return nil, fmt.Errorf("push: histograms keep neither a sketch nor values: %w", metrics.ErrInvalidOption)
	}
	if h.MaxValues < 0 {
		return nil, fmt.Errorf("push: MaxValues %d < 0: %w", h.MaxValues, metrics.ErrInvalidOption)
	}
	if h.RelativeAccuracy == 0 {
		h.RelativeAccuracy = 0.01
	}
	if h.Sketch {
		if _, err := sketch.New(h.RelativeAccuracy); err != nil {
			return nil, fmt.Errorf("push: %w: %w", metrics.ErrInvalidOption, err)
		}
	}
	return &Store{hopts: h}, nil
}

// Close makes every later recording a no-op counted in DroppedClosed.
func (s *Store) Close() { s.st.closed.Store(true) }

// Closed reports whether Close was called.
func (s *Store) Closed() bool { return s.st.closed.Load() }

// DroppedClosed returns the number of recordings made after Close.
func (s *Store) DroppedClosed() uint64 { return s.st.droppedClosed.Load() }

// NewCounter adds a counter series.
func (s *Store) NewCounter(info Info) *Counter {
	s.mu.Lock()
	defer s.mu.Unlock()
	if i, ok := s.ckeys[info.Key]; ok {
		return s.counters[i]
	}
	c := &Counter{st: &s.st, Info: info}
	if s.ckeys != nil {
		s.ckeys[info.Key] = len(s.counters)
	}
	s.counters = append(s.counters, c)
	return c
}

// NewGauge adds a gauge series.
func (s *Store) NewGauge(info Info) *Gauge {
	s.mu.Lock()
	defer s.mu.Unlock()
	if i, ok := s.gkeys[info.Key]; ok {
		return s.gauges[i]
	}
	g := &Gauge{st: &s.st, Info: info}
	if s.gkeys != nil {
		s.gkeys[info.Key] = len(s.gauges)
	}
	s.gauges = append(s.gauges, g)
	return g
}

// NewHistogram adds a histogram series.
func (s *Store) NewHistogram(info Info) *Histogram {
	s.mu.Lock()
	if i, ok := s.hkeys[info.Key]; ok {
		h := s.histograms[i]
		s.mu.Unlock()
		return h
	}
	s.mu.Unlock()
	h := &Histogram{st: &s.st, Info: info, maxValues: s.hopts.MaxValues}
	for i := range h.bufs {
		b := &h.bufs[i]
		if s.hopts.Sketch {
			b.sketch, _ = sketch.New(s.hopts.RelativeAccuracy) // validated by NewStore
		}
		if s.hopts.MaxValues > 0 {
			b.values = make([]atomic.Uint64, s.hopts.MaxValues)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if i, ok := s.hkeys[info.Key]; ok { // made meanwhile
		return s.histograms[i]
	}
	if s.hkeys != nil {
		s.hkeys[info.Key] = len(s.histograms)
	}
	s.histograms = append(s.histograms, h)
	return h
}

// Counters returns the counter series in the order they were added.
func (s *Store) Counters() []*Counter {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.counters[:len(s.counters):len(s.counters)]
}

// Gauges returns the gauge series in the order they were added.
func (s *Store) Gauges() []*Gauge {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.gauges[:len(s.gauges):len(s.gauges)]
}

// Histograms returns the histogram series in the order they were added.
func (s *Store) Histograms() []*Histogram {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.histograms[:len(s.histograms):len(s.histograms)]
}

// Counter is a counter series: the sum of the deltas added since the last
// flush. It implements metrics.CounterHandle.
type Counter struct {
	v  atomicfloat.Float64
	st *state
	Info
	// Total is the running total of the deltas taken, for backends that
	// send it; only the flush (which runs one at a time) touches it.
	Total float64
}

// Add adds delta.
func (c *Counter) Add(delta float64) {
	if c.st.drop() {
		return
	}
	c.v.Add(delta)
}

// TakeDelta returns the sum added since the last TakeDelta and resets it
// to zero.
func (c *Counter) TakeDelta() float64 { return c.v.Swap(0) }

// TakeValue takes the delta as TakeDelta does, adds it to Total, and
// returns what a backend with a CounterTotals option sends: Total when
// totals is true, else the delta.
func (c *Counter) TakeValue(totals bool) float64 {
	d := c.TakeDelta()
	c.Total += d
	if totals {
		return c.Total
	}
	return d
}

// Gauge is a gauge series: the last value. It implements
// metrics.GaugeHandle.
type Gauge struct {
	v     atomicfloat.Float64
	dirty atomic.Bool
	st    *state
	Info
	// Idle counts the flushes since the gauge was last recorded into,
	// and Seen tells whether it ever was; only the flush touches them.
	Idle int
	Seen bool
}

// Set sets the value.
func (g *Gauge) Set(value float64) {
	if g.st.drop() {
		return
	}
	g.v.Store(value)
	g.dirty.Store(true)
}

// Add adds delta to the value.
func (g *Gauge) Add(delta float64) {
	if g.st.drop() {
		return
	}
	g.v.Add(delta)
	g.dirty.Store(true)
}

// Take returns the value and whether it was recorded into since the last
// Take. It also keeps g.Idle and g.Seen.
func (g *Gauge) Take() (value float64, changed bool) {
	changed = g.dirty.Swap(false)
	if changed {
		g.Idle, g.Seen = 0, true
	} else {
		g.Idle++
	}
	return g.v.Load(), changed
}

// IdleFlushes returns a backend's StopIdleAfter as the number of flushes
// of interval after which Gauge.Idle says a gauge is idle: after rounded
// up to whole flushes, at least 1; 0, never idle, when after is 0.
func IdleFlushes(after, interval time.Duration) int {
	if after <= 0 {
		return 0
	}
	return max(1, int((after+interval-1)/interval))
}

// Value returns the value without resetting anything.
func (g *Gauge) Value() float64 { return g.v.Load() }

// Histogram is a histogram series. It implements metrics.HistogramHandle
// with its optional ValueObserver method.
type Histogram struct {
	// countAndHot counts observations started (low 63 bits) and selects
	// the buffer they go to (top bit).
	countAndHot atomic.Uint64
	st          *state
	maxValues   int
	bufs        [2]histBuf
	taken       uint64   // observations started at the last Take; flush only
	snap        Snapshot // handed to Take's f; flush only
	Info
}

type histBuf struct {
	done   atomic.Uint64 // observations finished in this buffer
	seq    atomic.Uint64 // values offered to values, numbering the reservoir
	sketch *sketch.Sketch
	values []atomic.Uint64 // float64 bits; len is MaxValues
}

const hotBit = 1 << 63

// Observe records value; ctx is not used.
func (h *Histogram) Observe(_ context.Context, value float64) { h.observe(value) }

// ValueObserver is metrics.HistogramHandle's optional method: the
// Registry records observations made without a context straight into
// its result.
func (h *Histogram) ValueObserver() interface{ Observe(float64) } { return (*valueObserver)(h) }

type valueObserver Histogram

func (o *valueObserver) Observe(value float64) { (*Histogram)(o).observe(value) }

func (h *Histogram) observe(v float64) {
	if h.st.drop() {
		return
	}
	x := h.countAndHot.Add(1)
	b := &h.bufs[x>>63]
	if b.sketch != nil {
		b.sketch.Add(v)
	}
	if b.values != nil {
		b.put(v, h.maxValues)
	}
	b.done.Add(1)
}

// put offers v to the buffer's values.
func (b *histBuf) put(v float64, max int) {
	i := b.seq.Add(1) - 1
	bits := math.Float64bits(v)
	if i < uint64(max) {
		b.values[i].Store(bits)
		return
	}
	// Reservoir sampling (Algorithm R): keep the i-th value with
	// probability max/(i+1), in a uniformly chosen slot.
	if j := rand.Uint64N(i + 1); j < uint64(max) {
		b.values[j].Store(bits)
	}
}

// Snapshot is one interval of a histogram series, valid only during the
// callback of Histogram.Take.
type Snapshot struct {
	// Count is the number of values observed in the interval.
	Count uint64
	// Sketch holds them when the Store keeps sketches, else nil. It must
	// not be kept or added to.
	Sketch *sketch.Sketch
	// Values holds them when the Store keeps values: all of them when
	// Count ≤ MaxValues, else a uniform sample of MaxValues. The slice is
	// reused by the next Take.
	Values []float64
	// Rate is len(Values)/Count, the rate at which Values samples the
	// interval (1 when every value is there).
	Rate float64
}

// Take flips h's buffers, waits for observations under way in the one
// that was hot, calls f with what it holds when it holds anything, and
// resets it. dst is scratch space for Snapshot.Values; Take returns it,
// grown if needed, for the next call. Takes of one series must not run
// concurrently (a Pusher runs one flush at a time).
func (h *Histogram) Take(dst []float64, f func(*Snapshot)) []float64 {
	x := h.countAndHot.Add(hotBit)
	started := x &^ hotBit
	n := started - h.taken
	h.taken = started
	b := &h.bufs[(x>>63)^1]
	for b.done.Load() != n {
		runtime.Gosched()
	}
	if n == 0 {
		return dst
	}
	s := &h.snap
	*s = Snapshot{Count: n, Sketch: b.sketch, Rate: 1}
	if b.values != nil {
		k := min(n, uint64(len(b.values)))
		dst = dst[:0]
		for i := range k {
			dst = append(dst, math.Float64frombits(b.values[i].Load()))
		}
		s.Values = dst
		s.Rate = float64(k) / float64(n)
	}
	f(s)
	if b.sketch != nil {
		b.sketch.Reset()
	}
	b.done.Store(0)
	b.seq.Store(0)
	return dst
}
