package otlp

import (
	"context"
	"fmt"
	"maps"
	"math"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/obskit/obskit/backends/backendtest"
	"github.com/obskit/obskit/metrics"
)

// memExporter is an sdk/metric Exporter that keeps a deep copy of each
// export (the Backend reuses its buffers), or fails with fail.
type memExporter struct {
	mu      sync.Mutex
	fail    error
	exports []snapshot
	res     map[string]string // resource attributes of the last export
}

// snapshot is one export: the points of each metric, by name.
type snapshot map[string][]point

type point struct {
	kind        string // sum, gauge, histogram, exponential
	unit, desc  string
	temporality metricdata.Temporality
	monotonic   bool
	attrs       map[string]string
	start, time time.Time

	value float64 // sum, gauge

	count         uint64 // histograms
	sum           float64
	min, max      float64
	hasMin        bool
	bounds        []float64
	counts        []uint64
	scale         int32
	zero          uint64
	pos, neg      []uint64
	posOff, negOf int32
}

func (m *memExporter) Temporality(sdkmetric.InstrumentKind) metricdata.Temporality {
	return metricdata.CumulativeTemporality
}

func (m *memExporter) Aggregation(k sdkmetric.InstrumentKind) sdkmetric.Aggregation {
	return sdkmetric.DefaultAggregationSelector(k)
}

func (m *memExporter) ForceFlush(context.Context) error { return nil }
func (m *memExporter) Shutdown(context.Context) error   { return nil }

func (m *memExporter) setFail(err error) {
	m.mu.Lock()
	m.fail = err
	m.mu.Unlock()
}

func (m *memExporter) Export(_ context.Context, rm *metricdata.ResourceMetrics) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail != nil {
		return m.fail
	}
	m.res = map[string]string{}
	for _, kv := range rm.Resource.Attributes() {
		m.res[string(kv.Key)] = kv.Value.AsString()
	}
	s := snapshot{}
	for _, sm := range rm.ScopeMetrics {
		for _, mt := range sm.Metrics {
			base := point{unit: mt.Unit, desc: mt.Description}
			add := func(p point) { s[mt.Name] = append(s[mt.Name], p) }
			switch d := mt.Data.(type) {
			case metricdata.Sum[float64]:
				for _, dp := range d.DataPoints {
					p := base
					p.kind, p.temporality, p.monotonic = "sum", d.Temporality, d.IsMonotonic
					p.attrs, p.start, p.time, p.value = attrMap(dp.Attributes.ToSlice()), dp.StartTime, dp.Time, dp.Value
					add(p)
				}
			case metricdata.Gauge[float64]:
				for _, dp := range d.DataPoints {
					p := base
					p.kind = "gauge"
					p.attrs, p.start, p.time, p.value = attrMap(dp.Attributes.ToSlice()), dp.StartTime, dp.Time, dp.Value
					add(p)
				}
			case metricdata.Histogram[float64]:
				for _, dp := range d.DataPoints {
					p := base
					p.kind, p.temporality = "histogram", d.Temporality
					p.attrs, p.start, p.time = attrMap(dp.Attributes.ToSlice()), dp.StartTime, dp.Time
					p.count, p.sum = dp.Count, dp.Sum
					p.min, p.hasMin = dp.Min.Value()
					p.max, _ = dp.Max.Value()
					p.bounds, p.counts = append([]float64(nil), dp.Bounds...), append([]uint64(nil), dp.BucketCounts...)
					add(p)
				}
			case metricdata.ExponentialHistogram[float64]:
				for _, dp := range d.DataPoints {
					p := base
					p.kind, p.temporality = "exponential", d.Temporality
					p.attrs, p.start, p.time = attrMap(dp.Attributes.ToSlice()), dp.StartTime, dp.Time
					p.count, p.sum, p.scale, p.zero = dp.Count, dp.Sum, dp.Scale, dp.ZeroCount
					p.min, p.hasMin = dp.Min.Value()
					p.max, _ = dp.Max.Value()
					p.pos, p.posOff = append([]uint64(nil), dp.PositiveBucket.Counts...), dp.PositiveBucket.Offset
					p.neg, p.negOf = append([]uint64(nil), dp.NegativeBucket.Counts...), dp.NegativeBucket.Offset
					add(p)
				}
			default:
				return fmt.Errorf("memExporter: unexpected data %T", d)
			}
		}
	}
	m.exports = append(m.exports, s)
	return nil
}

// count returns the number of exports.
func (m *memExporter) count() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.exports)
}

// last returns the last export.
func (m *memExporter) last() snapshot {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.exports) == 0 {
		return snapshot{}
	}
	return m.exports[len(m.exports)-1]
}

// find returns the point of name whose attributes include want.
func (s snapshot) find(name string, want map[string]string) (point, error) {
	for _, p := range s[name] {
		if includes(p.attrs, want) {
			return p, nil
		}
	}
	return point{}, fmt.Errorf("no point of %q with %v among %d", name, want, len(s[name]))
}

func includes(have, want map[string]string) bool {
	for k, v := range want {
		if have[k] != v {
			return false
		}
	}
	return true
}

// reader reads a snapshot back for backendtest.
type reader struct{ s snapshot }

func declared(d *metrics.Desc, attrs map[string]string) map[string]string {
	out := map[string]string{}
	for _, l := range d.Labels {
		if v, ok := attrs[l]; ok {
			out[l] = v
		}
	}
	return out
}

func (r reader) point(d *metrics.Desc, labels map[string]string) (point, error) {
	for _, p := range r.s[d.FullName(".")] {
		if maps.Equal(declared(d, p.attrs), labels) || (len(labels) == 0 && len(d.Labels) == 0) {
			return p, nil
		}
	}
	return point{}, fmt.Errorf("no point of %q with %v", d.FullName("."), labels)
}

func (r reader) Value(d *metrics.Desc, labels map[string]string) (float64, error) {
	p, err := r.point(d, labels)
	return p.value, err
}

func (r reader) Histogram(d *metrics.Desc, labels map[string]string) (backendtest.HistogramReading, error) {
	p, err := r.point(d, labels)
	if err != nil {
		return backendtest.HistogramReading{}, err
	}
	return backendtest.HistogramReading{Count: p.count, Sum: p.sum, Quantile: func(q float64) (float64, error) {
		if p.kind == "exponential" {
			return expoQuantile(p, q), nil
		}
		return backendtest.BucketQuantile(q, p.bounds, p.counts)
	}}, nil
}

func (r reader) Series(d *metrics.Desc) ([]map[string]string, error) {
	var out []map[string]string
	for _, p := range r.s[d.FullName(".")] {
		out = append(out, declared(d, p.attrs))
	}
	return out, nil
}

// expoQuantile returns the upper bound of the positive bucket holding the
// nearest rank of q.
func expoQuantile(p point, q float64) float64 {
	rank := uint64(math.Ceil(q * float64(p.count)))
	cum := p.zero
	if cum >= rank {
		return 0
	}
	for i, c := range p.pos {
		cum += c
		if cum >= rank {
			return math.Exp2(math.Ldexp(float64(p.posOff+int32(i)+1), -int(p.scale)))
		}
	}
	return math.NaN()
}

func attrMap(kvs []attribute.KeyValue) map[string]string {
	m := make(map[string]string, len(kvs))
	for _, kv := range kvs {
		m[string(kv.Key)] = kv.Value.AsString()
	}
	return m
}
