package otlp

import (
	"context"
	"math"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/obskit/obskit/metrics"
)

// The exponential histograms' resolution: OpenTelemetry's default
// maximum scale and bucket count (those of the SDK's
// AggregationBase2ExponentialHistogram).
const (
	expoMaxScale = 20
	expoMinScale = -10
	expoMaxSize  = 160
)

// expoFamily is a declared histogram exported as base-2 exponential
// histograms.
type expoFamily struct {
	desc *metrics.Desc
	set  seriesSet[expoSeries]
	pts  []metricdata.ExponentialHistogramDataPoint[float64]
}

func newExpoFamily(d *metrics.Desc) *expoFamily { return &expoFamily{desc: d} }

// Bind implements metrics.Family.
func (f *expoFamily) Bind(labelValues []string) metrics.HistogramHandle {
	return f.set.bind(labelValues, func() *expoSeries {
		s := &expoSeries{attrs: attributes(f.desc, labelValues), start: time.Now()}
		s.live.reset()
		s.out.reset()
		return s
	})
}

// expoSeries is one exponential histogram series.
type expoSeries struct {
	mu    sync.Mutex
	live  expoData
	attrs attribute.Set
	start time.Time
	// out is owned by the collection: a copy of live (cumulative), or
	// what was read and not yet delivered (delta).
	out expoData
}

// Observe implements metrics.HistogramHandle.
func (s *expoSeries) Observe(_ context.Context, v float64) {
	s.mu.Lock()
	s.live.record(v)
	s.mu.Unlock()
}

func (f *expoFamily) collect(c *collection, out []metricdata.Metrics) []metricdata.Metrics {
	pts := f.pts[:0]
	for _, s := range f.set.all() {
		s.mu.Lock()
		if c.delta {
			s.out.merge(&s.live)
			s.live.reset()
		} else {
			s.out.copyFrom(&s.live)
		}
		s.mu.Unlock()
		d := &s.out
		if c.delta && d.count == 0 {
			continue
		}
		p := metricdata.ExponentialHistogramDataPoint[float64]{
			Attributes: s.attrs, StartTime: s.start, Time: c.now,
			Count: d.count, Sum: d.sum, Scale: d.scale, ZeroCount: d.zero,
			PositiveBucket: metricdata.ExponentialBucket{Offset: d.pos.start, Counts: d.pos.counts},
			NegativeBucket: metricdata.ExponentialBucket{Offset: d.neg.start, Counts: d.neg.counts},
		}
		if c.delta {
			p.StartTime = c.deltaStart
		}
		if d.count > 0 {
			p.Min, p.Max = metricdata.NewExtrema(d.min), metricdata.NewExtrema(d.max)
		}
		pts = append(pts, p)
	}
	f.pts = pts
	if len(pts) == 0 {
		return out
	}
	return append(out, metric(f.desc, metricdata.ExponentialHistogram[float64]{DataPoints: pts, Temporality: c.temporality()}))
}

func (f *expoFamily) commit() {
	for _, s := range f.set.all() {
		s.out.reset()
	}
}

// expoData is a base-2 exponential histogram: bucket i of scale s holds
// the values in (2^(i·2^-s), 2^((i+1)·2^-s)]. It starts at expoMaxScale
// and halves its resolution (scale-1, pairs of buckets merged) whenever
// the values of one sign would need more than expoMaxSize buckets.
type expoData struct {
	count, zero   uint64
	sum, min, max float64
	scale         int32
	pos, neg      expoBuckets
}

// reset empties d, keeping its buckets' memory.
func (d *expoData) reset() {
	d.count, d.zero, d.sum = 0, 0, 0
	d.min, d.max = math.Inf(1), math.Inf(-1)
	d.scale = expoMaxScale
	d.pos.counts, d.neg.counts = d.pos.counts[:0], d.neg.counts[:0]
	d.pos.start, d.neg.start = 0, 0
}

// copyFrom makes d a copy of o, reusing d's memory.
func (d *expoData) copyFrom(o *expoData) {
	pos, neg := d.pos.counts, d.neg.counts
	*d = *o
	d.pos.counts = append(pos[:0], o.pos.counts...)
	d.neg.counts = append(neg[:0], o.neg.counts...)
}

// record adds the finite value v.
func (d *expoData) record(v float64) {
	d.count++
	d.sum += v
	d.min = math.Min(d.min, v)
	d.max = math.Max(d.max, v)
	if v == 0 {
		d.zero++
		return
	}
	b := &d.pos
	if v < 0 {
		b, v = &d.neg, -v
	}
	bin := expoBin(v, d.scale)
	if c := b.scaleChange(bin); c > 0 {
		d.downscale(c)
		bin = expoBin(v, d.scale)
	}
	b.add(bin, 1)
}

// merge adds o's values to d.
func (d *expoData) merge(o *expoData) {
	if o.count == 0 {
		return
	}
	d.count += o.count
	d.zero += o.zero
	d.sum += o.sum
	d.min = math.Min(d.min, o.min)
	d.max = math.Max(d.max, o.max)
	if o.scale < d.scale {
		d.downscale(d.scale - o.scale)
	}
	for _, side := range [2]struct{ from, to *expoBuckets }{{&o.pos, &d.pos}, {&o.neg, &d.neg}} {
		for i, n := range side.from.counts {
			if n == 0 {
				continue
			}
			idx := side.from.start + int32(i)
			bin := idx >> (o.scale - d.scale)
			if c := side.to.scaleChange(bin); c > 0 {
				d.downscale(c)
				bin = idx >> (o.scale - d.scale)
			}
			side.to.add(bin, n)
		}
	}
}

// downscale lowers d's scale by by.
func (d *expoData) downscale(by int32) {
	if d.scale-by < expoMinScale {
		by = d.scale - expoMinScale
	}
	d.scale -= by
	d.pos.downscale(by)
	d.neg.downscale(by)
}

// expoBin returns the index of v > 0 at scale: the i with
// 2^(i·2^-scale) < v ≤ 2^((i+1)·2^-scale).
func expoBin(v float64, scale int32) int32 {
	frac, exp := math.Frexp(v) // v = frac·2^exp, frac in [0.5, 1)
	if scale <= 0 {
		// An exact power of two (frac 0.5) is the upper bound of the
		// bucket below.
		correction := int32(1)
		if frac == 0.5 {
			correction = 2
		}
		return (int32(exp) - correction) >> -scale
	}
	return int32(exp)<<scale + int32(math.Log(frac)*math.Ldexp(math.Log2E, int(scale))) - 1
}

// expoBuckets are the counts of consecutive buckets from index start.
type expoBuckets struct {
	start  int32
	counts []uint64
}

// scaleChange returns by how much the scale must drop for b to hold bin
// within expoMaxSize buckets.
func (b *expoBuckets) scaleChange(bin int32) int32 {
	if len(b.counts) == 0 {
		return 0
	}
	low, high := int64(b.start), int64(b.start)+int64(len(b.counts))-1
	low, high = min(low, int64(bin)), max(high, int64(bin))
	var c int32
	for high-low >= expoMaxSize {
		low >>= 1
		high >>= 1
		c++
	}
	return c
}

// add adds n to bin's count.
func (b *expoBuckets) add(bin int32, n uint64) {
	if len(b.counts) == 0 {
		b.start = bin
		b.counts = append(b.counts[:0], n)
		return
	}
	end := b.start + int32(len(b.counts)) - 1
	switch {
	case bin < b.start:
		k := int(b.start - bin)
		b.counts = append(b.counts, make([]uint64, k)...)
		copy(b.counts[k:], b.counts)
		clear(b.counts[:k])
		b.start = bin
	case bin > end:
		b.counts = append(b.counts, make([]uint64, bin-end)...)
	}
	b.counts[bin-b.start] += n
}

// downscale merges buckets for a scale lower by by.
func (b *expoBuckets) downscale(by int32) {
	if by <= 0 || len(b.counts) == 0 {
		return
	}
	start := b.start >> by
	end := (b.start + int32(len(b.counts)) - 1) >> by
	for i, n := range b.counts {
		b.counts[i] = 0
		b.counts[(b.start+int32(i))>>by-start] += n
	}
	b.counts = b.counts[:end-start+1]
	b.start = start
}
