// Package metricstest is an in-memory metrics.Backend for tests. Wire it
// into the code under test as any backend, then read back what was
// recorded by metric name and label values:
//
//	b := metricstest.New()
//	reg := metrics.New(b, metrics.WithNamespace("svc"))
//	… run the code under test …
//	if got := b.Counter("svc.requests", "method", "GET"); got != 1 { … }
//
// Histograms keep every observation, so quantiles are exact.
package metricstest

import (
	"context"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/obskit/obskit/internal/atomicfloat"
	"github.com/obskit/obskit/metrics"
)

// Backend records into memory. The zero value is an empty Backend ready
// to use, as is New's.
type Backend struct {
	mu       sync.Mutex
	families map[string]*family // by full name, namespace.name
}

var (
	_ metrics.Backend    = (*Backend)(nil)
	_ metrics.Undeclarer = (*Backend)(nil)
)

// New returns an empty Backend.
func New() *Backend {
	return &Backend{families: make(map[string]*family)}
}

type family struct {
	desc   *metrics.Desc
	series map[string]*Series // by joined label values
	order  []*Series
}

// Series is one recorded series, read-only for the test: values reach it
// only through the Registry.
type Series struct {
	// Name is the full name: the namespace and name joined by '.'.
	Name string
	Kind metrics.Kind
	// Labels holds the const labels and the declared labels with their
	// values, sorted by name.
	Labels []metrics.Label

	val atomicfloat.Float64 // counter or gauge value
	mu  sync.Mutex          // guards the histogram fields
	obs []float64
	sum float64
}

// Value returns a counter's or gauge's current value.
func (s *Series) Value() float64 { return s.val.Load() }

// Histogram returns a copy of a histogram's observations.
func (s *Series) Histogram() HistogramSnapshot {
	s.mu.Lock()
	defer s.mu.Unlock()
	return HistogramSnapshot{Count: uint64(len(s.obs)), Sum: s.sum, Values: slices.Clone(s.obs)}
}

// Label returns the value of the named label and whether the series has it.
func (s *Series) Label(name string) (string, bool) {
	for _, l := range s.Labels {
		if l.Name == name {
			return l.Value, true
		}
	}
	return "", false
}

// handle is a Series as the Registry records into it.
type handle Series

func (h *handle) Add(delta float64) { h.val.Add(delta) }

func (h *handle) Set(value float64) { h.val.Store(value) }

func (h *handle) Observe(_ context.Context, value float64) {
	h.mu.Lock()
	h.obs = append(h.obs, value)
	h.sum += value
	h.mu.Unlock()
}

// HistogramSnapshot is a histogram's observations at one moment.
type HistogramSnapshot struct {
	Count  uint64
	Sum    float64
	Values []float64 // in the order observed
}

// Quantile returns the exact q-quantile (0 ≤ q ≤ 1) of the observations
// by the nearest-rank method, or NaN when there are none.
func (h HistogramSnapshot) Quantile(q float64) float64 {
	if len(h.Values) == 0 {
		return math.NaN()
	}
	v := slices.Clone(h.Values)
	slices.Sort(v)
	i := int(math.Ceil(q*float64(len(v)))) - 1
	return v[max(0, min(i, len(v)-1))]
}

func (b *Backend) declare(d *metrics.Desc) (*family, error) {
	if d == nil {
		return nil, fmt.Errorf("metricstest: %w: nil Desc", metrics.ErrInvalidOption)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	name := d.FullName(".")
	if _, ok := b.families[name]; ok {
		return nil, fmt.Errorf("metricstest: %q declared twice: %w", name, metrics.ErrConflict)
	}
	if b.families == nil {
		b.families = make(map[string]*family)
	}
	f := &family{desc: d, series: make(map[string]*Series)}
	b.families[name] = f
	return f, nil
}

// Undeclare implements metrics.Undeclarer: it forgets the instrument d
// declared, so that metrics.Tee can take back a declaration another
// backend refused.
func (b *Backend) Undeclare(d *metrics.Desc) {
	if d == nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if f, ok := b.families[d.FullName(".")]; ok && f.desc == d {
		delete(b.families, d.FullName("."))
	}
}

func (b *Backend) bind(f *family, values []string) *handle {
	b.mu.Lock()
	defer b.mu.Unlock()
	key := strings.Join(values, "\xff")
	if s, ok := f.series[key]; ok {
		return (*handle)(s)
	}
	s := &Series{Name: f.desc.FullName("."), Kind: f.desc.Kind, Labels: slices.Clone(f.desc.ConstLabels)}
	for i, n := range f.desc.Labels {
		s.Labels = append(s.Labels, metrics.Label{Name: n, Value: values[i]})
	}
	sort.Slice(s.Labels, func(i, j int) bool { return s.Labels[i].Name < s.Labels[j].Name })
	f.series[key] = s
	f.order = append(f.order, s)
	return (*handle)(s)
}

// DeclareCounter implements metrics.Backend.
func (b *Backend) DeclareCounter(d *metrics.Desc) (metrics.Family[metrics.CounterHandle], error) {
	f, err := b.declare(d)
	if err != nil {
		return nil, err
	}
	return metrics.FamilyFunc[metrics.CounterHandle](func(v []string) metrics.CounterHandle { return b.bind(f, v) }), nil
}

// DeclareGauge implements metrics.Backend.
func (b *Backend) DeclareGauge(d *metrics.Desc) (metrics.Family[metrics.GaugeHandle], error) {
	f, err := b.declare(d)
	if err != nil {
		return nil, err
	}
	return metrics.FamilyFunc[metrics.GaugeHandle](func(v []string) metrics.GaugeHandle { return b.bind(f, v) }), nil
}

// DeclareHistogram implements metrics.Backend.
func (b *Backend) DeclareHistogram(d *metrics.Desc) (metrics.Family[metrics.HistogramHandle], error) {
	f, err := b.declare(d)
	if err != nil {
		return nil, err
	}
	return metrics.FamilyFunc[metrics.HistogramHandle](func(v []string) metrics.HistogramHandle { return b.bind(f, v) }), nil
}

// Desc returns the declaration of the named instrument, or nil.
func (b *Backend) Desc(name string) *metrics.Desc {
	b.mu.Lock()
	defer b.mu.Unlock()
	if f, ok := b.families[name]; ok {
		return f.desc
	}
	return nil
}

// Series returns every series of the named instrument that has been
// recorded into, in the order they were first used.
func (b *Backend) Series(name string) []*Series {
	b.mu.Lock()
	defer b.mu.Unlock()
	if f, ok := b.families[name]; ok {
		return slices.Clone(f.order)
	}
	return nil
}

// Lookup returns the series of the named instrument whose declared labels
// have the values given as alternating name/value pairs; a declared
// label not named matches metrics.UnsetLabelValue.
func (b *Backend) Lookup(name string, labelValues ...string) (*Series, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	f, ok := b.families[name]
	if !ok {
		return nil, false
	}
	vals := make([]string, len(f.desc.Labels))
	for i := range vals {
		vals[i] = metrics.UnsetLabelValue
	}
	for i := 0; i+1 < len(labelValues); i += 2 {
		j := slices.Index(f.desc.Labels, labelValues[i])
		if j < 0 {
			return nil, false
		}
		vals[j] = labelValues[i+1]
	}
	s, ok := f.series[strings.Join(vals, "\xff")]
	return s, ok
}

// Counter returns the value of a counter series, 0 if it was never
// recorded into. See Lookup for how labels are matched.
func (b *Backend) Counter(name string, labelValues ...string) float64 {
	if s, ok := b.Lookup(name, labelValues...); ok {
		return s.Value()
	}
	return 0
}

// Gauge returns the value of a gauge series, 0 if it was never recorded
// into. See Lookup for how labels are matched.
func (b *Backend) Gauge(name string, labelValues ...string) float64 {
	return b.Counter(name, labelValues...)
}

// Histogram returns the observations of a histogram series, empty if it
// was never recorded into. See Lookup for how labels are matched.
func (b *Backend) Histogram(name string, labelValues ...string) HistogramSnapshot {
	if s, ok := b.Lookup(name, labelValues...); ok {
		return s.Histogram()
	}
	return HistogramSnapshot{}
}
