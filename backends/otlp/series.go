package otlp

import (
	"context"
	"math"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/obskit/obskit/internal/atomicfloat"
	"github.com/obskit/obskit/metrics"
)

// seriesSet is the series of one family, bound once per label set, with
// their attribute sets built at Bind.
type seriesSet[S any] struct {
	mu     sync.Mutex
	byKey  map[string]*S
	series []*S
}

// bind returns the series of labelValues, made by mk the first time.
func (s *seriesSet[S]) bind(labelValues []string, mk func() *S) *S {
	k := key(labelValues)
	s.mu.Lock()
	defer s.mu.Unlock()
	if x, ok := s.byKey[k]; ok {
		return x
	}
	if s.byKey == nil {
		s.byKey = make(map[string]*S)
	}
	x := mk()
	s.byKey[k] = x
	s.series = append(s.series, x)
	return x
}

// all returns the series bound so far.
func (s *seriesSet[S]) all() []*S {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.series[:len(s.series):len(s.series)]
}

// metric returns the metric of d with data.
func metric(d *metrics.Desc, data metricdata.Aggregation) metricdata.Metrics {
	return metricdata.Metrics{Name: d.FullName("."), Description: d.Help, Unit: string(d.Unit), Data: data}
}

// counterFamily is a declared counter.
type counterFamily struct {
	desc *metrics.Desc
	set  seriesSet[counter]
	pts  []metricdata.DataPoint[float64]
}

func newCounterFamily(d *metrics.Desc) *counterFamily { return &counterFamily{desc: d} }

// Bind implements metrics.Family. The handle is the series' value
// itself, so that Add is one call with nothing in between.
func (f *counterFamily) Bind(labelValues []string) metrics.CounterHandle {
	return &f.set.bind(labelValues, func() *counter {
		return &counter{attrs: attributes(f.desc, labelValues), start: time.Now()}
	}).v
}

// counter is one counter series.
type counter struct {
	v     atomicfloat.Counter // the handle
	attrs attribute.Set
	start time.Time
	// Delta temporality: what was read and not yet delivered, its whole
	// increments apart so that they stay exact. Owned by the collection.
	carryWhole uint64
	carryFrac  float64
}

func (f *counterFamily) collect(c *collection, out []metricdata.Metrics) []metricdata.Metrics {
	pts := f.pts[:0]
	for _, k := range f.set.all() {
		p := metricdata.DataPoint[float64]{Attributes: k.attrs, StartTime: k.start, Time: c.now}
		if c.delta {
			w, f := k.v.Take()
			k.carryWhole += w
			k.carryFrac += f
			if k.carryWhole == 0 && k.carryFrac == 0 {
				continue
			}
			p.StartTime = c.deltaStart
			p.Value = float64(k.carryWhole) + k.carryFrac
		} else {
			p.Value = k.v.Load()
		}
		pts = append(pts, p)
	}
	f.pts = pts
	if len(pts) == 0 {
		return out
	}
	return append(out, metric(f.desc, metricdata.Sum[float64]{DataPoints: pts, Temporality: c.temporality(), IsMonotonic: true}))
}

func (f *counterFamily) commit() {
	for _, k := range f.set.all() {
		k.carryWhole, k.carryFrac = 0, 0
	}
}

// gaugeFamily is a declared gauge.
type gaugeFamily struct {
	desc *metrics.Desc
	set  seriesSet[gauge]
	pts  []metricdata.DataPoint[float64]
}

func newGaugeFamily(d *metrics.Desc) *gaugeFamily { return &gaugeFamily{desc: d} }

// Bind implements metrics.Family.
func (f *gaugeFamily) Bind(labelValues []string) metrics.GaugeHandle {
	return f.set.bind(labelValues, func() *gauge {
		return &gauge{attrs: attributes(f.desc, labelValues), start: time.Now()}
	})
}

// gauge is one gauge series.
type gauge struct {
	v     atomicfloat.Float64
	attrs attribute.Set
	start time.Time
}

// Set implements metrics.GaugeHandle.
func (g *gauge) Set(v float64) { g.v.Store(v) }

// Add implements metrics.GaugeHandle.
func (g *gauge) Add(delta float64) { g.v.Add(delta) }

func (f *gaugeFamily) collect(c *collection, out []metricdata.Metrics) []metricdata.Metrics {
	pts := f.pts[:0]
	for _, g := range f.set.all() {
		pts = append(pts, metricdata.DataPoint[float64]{Attributes: g.attrs, StartTime: g.start, Time: c.now, Value: g.v.Load()})
	}
	f.pts = pts
	if len(pts) == 0 {
		return out
	}
	return append(out, metric(f.desc, metricdata.Gauge[float64]{DataPoints: pts}))
}

func (f *gaugeFamily) commit() {}

// histogramFamily is a declared histogram with explicit buckets.
type histogramFamily struct {
	desc *metrics.Desc
	set  seriesSet[histogram]
	pts  []metricdata.HistogramDataPoint[float64]
}

func newHistogramFamily(d *metrics.Desc) *histogramFamily {
	return &histogramFamily{desc: d}
}

// Bind implements metrics.Family.
func (f *histogramFamily) Bind(labelValues []string) metrics.HistogramHandle {
	return f.set.bind(labelValues, func() *histogram {
		h := &histogram{
			bounds: f.desc.Buckets,
			counts: make([]atomic.Uint64, len(f.desc.Buckets)+1),
			snap:   make([]uint64, len(f.desc.Buckets)+1),
			attrs:  attributes(f.desc, labelValues),
			start:  time.Now(),
		}
		h.min.Store(math.Float64bits(math.Inf(1)))
		h.max.Store(math.Float64bits(math.Inf(-1)))
		h.carryMin, h.carryMax = math.Inf(1), math.Inf(-1)
		return h
	})
}

// histogram is one explicit-bucket histogram series. The count is the
// sum of the bucket counts, so the two always agree in what is exported.
type histogram struct {
	min, max atomic.Uint64 // float64 bits
	sum      atomicfloat.Float64
	counts   []atomic.Uint64 // per bucket, the last for +Inf
	bounds   []float64
	attrs    attribute.Set
	start    time.Time
	// Owned by the collection: the bucket counts reported (cumulative)
	// or carried until delivered (delta), and delta's carried sum and
	// extrema.
	snap               []uint64
	carrySum           float64
	carryMin, carryMax float64
}

// linearSearchBuckets is the bucket count up to which a linear search
// finds a value's bucket faster than a binary one (client_golang's
// figure).
const linearSearchBuckets = 35

// Observe implements metrics.HistogramHandle.
func (h *histogram) Observe(_ context.Context, v float64) { h.observe(v) }

// ValueObserver is metrics.HistogramHandle's optional method: the
// Registry then records observations without a context with no detour.
func (h *histogram) ValueObserver() interface{ Observe(float64) } { return (*histogramObserver)(h) }

// histogramObserver is a histogram observed with no context.
type histogramObserver histogram

// Observe records v, as histogram.Observe does.
func (o *histogramObserver) Observe(v float64) { (*histogram)(o).observe(v) }

func (h *histogram) observe(v float64) {
	var i int
	if len(h.bounds) < linearSearchBuckets {
		for i < len(h.bounds) && v > h.bounds[i] {
			i++
		}
	} else {
		i = sort.SearchFloat64s(h.bounds, v)
	}
	h.counts[i].Add(1)
	h.sum.Add(v)
	for {
		old := h.min.Load()
		if !(v < math.Float64frombits(old)) || h.min.CompareAndSwap(old, math.Float64bits(v)) {
			break
		}
	}
	for {
		old := h.max.Load()
		if !(v > math.Float64frombits(old)) || h.max.CompareAndSwap(old, math.Float64bits(v)) {
			break
		}
	}
}

func (f *histogramFamily) collect(c *collection, out []metricdata.Metrics) []metricdata.Metrics {
	pts := f.pts[:0]
	inf := math.Float64bits(math.Inf(1))
	negInf := math.Float64bits(math.Inf(-1))
	for _, h := range f.set.all() {
		p := metricdata.HistogramDataPoint[float64]{Attributes: h.attrs, StartTime: h.start, Time: c.now, Bounds: h.bounds}
		var n uint64
		var lo, hi float64
		if c.delta {
			for i := range h.counts {
				h.snap[i] += h.counts[i].Swap(0)
				n += h.snap[i]
			}
			if n == 0 {
				continue
			}
			h.carrySum += h.sum.Swap(0)
			h.carryMin = math.Min(h.carryMin, math.Float64frombits(h.min.Swap(inf)))
			h.carryMax = math.Max(h.carryMax, math.Float64frombits(h.max.Swap(negInf)))
			p.StartTime, p.Sum, lo, hi = c.deltaStart, h.carrySum, h.carryMin, h.carryMax
		} else {
			for i := range h.counts {
				h.snap[i] = h.counts[i].Load()
				n += h.snap[i]
			}
			p.Sum = h.sum.Load()
			lo, hi = math.Float64frombits(h.min.Load()), math.Float64frombits(h.max.Load())
		}
		p.Count, p.BucketCounts = n, h.snap
		// An observation being recorded may have reached its bucket and
		// not yet the extrema; those are then left out.
		if !math.IsInf(lo, 1) {
			p.Min = metricdata.NewExtrema(lo)
		}
		if !math.IsInf(hi, -1) {
			p.Max = metricdata.NewExtrema(hi)
		}
		pts = append(pts, p)
	}
	f.pts = pts
	if len(pts) == 0 {
		return out
	}
	return append(out, metric(f.desc, metricdata.Histogram[float64]{DataPoints: pts, Temporality: c.temporality()}))
}

func (f *histogramFamily) commit() {
	for _, h := range f.set.all() {
		clear(h.snap)
		h.carrySum, h.carryMin, h.carryMax = 0, math.Inf(1), math.Inf(-1)
	}
}
