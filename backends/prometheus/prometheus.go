// Package prometheus is the obskit metrics backend over Prometheus'
// client_golang. It registers each instrument on a registry of its own
// (or the user's): gauges and histograms as a client_golang GaugeVec or
// HistogramVec with one client_golang child per label set, counters as a
// collector of this package's own (see Hot path). It serves the registry
// with promhttp, OpenMetrics included, so that histograms carry
// exemplars linking a latency to its trace.
//
//	b, err := prometheus.New(prometheus.Options{})
//	reg := metrics.New(b, metrics.WithNamespace("addsvc"))
//	http.Handle("/metrics", b.Handler())
//
// # Names
//
// Portable names become Prometheus names as follows; the result always
// matches [a-zA-Z_:][a-zA-Z0-9_:]*.
//
//	obskit                          Prometheus                  rule
//	namespace "addsvc", "requests"  addsvc_requests_total       namespace joined with '_'
//	"http.server.duration"          http_server_duration        '.' becomes '_'
//	unit "s"                        …_seconds                   unit suffix
//	unit "ms", "us", "ns"           …_milliseconds, …           (also min, h, d)
//	unit "By"                       …_bytes                     (also KBy, MBy, GBy, KiBy, MiBy, GiBy)
//	unit "bit", "m", "Hz", "Cel"    …_bits, _meters, _hertz, _celsius
//	unit "%"                        …_percent
//	unit "1" (gauge, histogram)     …_ratio
//	unit "1" (counter)              no unit suffix              a dimensionless counter counts things
//	unit "{request}"                no unit suffix              UCUM annotations are dropped
//	unit "By/s"                     …_bytes_per_second          '/' becomes _per_
//	any other unit                  …_<unit>                    bytes outside [a-zA-Z0-9_:] become '_'
//	"latency.seconds", unit "s"     latency_seconds             a suffix already there is not repeated
//	counter                         …_total                     after the unit; not repeated either
//	counter "requests.total", "s"   requests_seconds_total      a _total already there moves after the unit
//	label "http.request.method"     http_request_method         '.' becomes '_'
//
// Two labels of one instrument (declared or const) that map to the same
// name, a label that maps to a name Prometheus reserves ("__…"), and two
// instruments of one Backend whose names collide after mapping (including
// a name that clashes with a histogram's _bucket, _count or _sum series)
// are errors from the Registry's constructor: the collisions wrap
// metrics.ErrConflict, the labels metrics.ErrInvalidLabel. The exposition
// passes `promtool check metrics` without lint problems.
//
// # Registration
//
// Every instrument is registered on Options.Registerer. If an identical
// collector is already registered there (client_golang's
// AlreadyRegisteredError), it is reused: one declared identically by an
// earlier Backend sharing the registry, or a CounterVec, GaugeVec or
// HistogramVec of the same name, help and labels that the user
// registered (a HistogramVec keeps the buckets it was made with). A
// conflicting one (another kind, help, labels, or, from another Backend,
// other unit or buckets) is an error from the Registry's constructor
// that wraps metrics.ErrConflict.
// Nothing panics, and nothing is registered on client_golang's global
// DefaultRegisterer unless the user passes it.
//
// # Hot path
//
// Counters are a collector of this package's own, registered through
// client_golang's Collector interface: the Registry already caches one
// handle per label set, so a CounterVec's hash map of children would be a
// second copy, and a child's Add is one atomic add with no check the
// Registry has made already. A bound obskit counter's Add costs about what
// client_golang's Inc costs. A CounterVec the user registered is reused
// with its own children. Gauge handles are client_golang's own children.
// A histogram handle observes with an exemplar
// {trace_id="<32 hex digits>"} when the context carries a valid, sampled
// OpenTelemetry span (at most one per bucket per
// Options.ExemplarInterval), and plainly otherwise, without allocating;
// an Observe with no context is client_golang's Observe itself.
package prometheus

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	prom "github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.opentelemetry.io/otel/trace"

	"github.com/obskit/obskit/metrics"
)

// DefaultNativeHistogramBucketFactor is the native histogram bucket
// growth factor used when Options.NativeHistograms is set without a
// factor: each bucket at most 10% wider than the one before.
const DefaultNativeHistogramBucketFactor = 1.1

// Options configure a Backend. The zero value is ready to use: a
// registry of the Backend's own, classic histograms only.
type Options struct {
	// Registerer receives the Backend's collectors. Nil means a new
	// client_golang Registry owned by the Backend.
	Registerer prom.Registerer
	// Gatherer is what Handler serves. Nil means Registerer, which must
	// then also be a Gatherer (as *prometheus.Registry is).
	Gatherer prom.Gatherer
	// NativeHistograms adds native (sparse) histogram buckets to every
	// histogram, alongside the classic buckets of Opts.Buckets. They are
	// exposed in the protobuf format only.
	NativeHistograms bool
	// NativeHistogramBucketFactor is the growth factor of native buckets,
	// greater than 1; zero means DefaultNativeHistogramBucketFactor.
	NativeHistogramBucketFactor float64
	// NativeHistogramMaxBuckets bounds the native buckets of one series;
	// when exceeded the histogram is reset at most once an hour, else
	// its resolution halves. Zero means 160.
	NativeHistogramMaxBuckets uint32
	// ExemplarInterval is the least time between two exemplars attached
	// to the same bucket of the same series. Prometheus keeps only the
	// latest exemplar of each bucket, and attaching one costs about a
	// microsecond and ten allocations in client_golang, so under load
	// most would be thrown away. Zero means DefaultExemplarInterval; a
	// negative interval attaches one to every sampled observation.
	ExemplarInterval time.Duration
}

// DefaultExemplarInterval is the default Options.ExemplarInterval.
const DefaultExemplarInterval = time.Second

// Backend is an obskit metrics.Backend that records into client_golang
// collectors. It is safe for concurrent use.
type Backend struct {
	reg     prom.Registerer
	gather  prom.Gatherer
	handler http.Handler
	native  float64 // bucket factor; 0 means no native histograms
	maxNat  uint32
	exEvery time.Duration

	mu     sync.Mutex
	series map[string]*metrics.Desc // name of every series declared → its instrument
	own    map[*metrics.Desc]prom.Collector
}

var (
	_ metrics.Backend    = (*Backend)(nil)
	_ metrics.Undeclarer = (*Backend)(nil)
	// The optional method of metrics.HistogramHandle.
	_ interface {
		ValueObserver() interface{ Observe(float64) }
	} = (*histogram)(nil)
)

// New returns a Backend configured by o.
func New(o Options) (*Backend, error) {
	b := &Backend{reg: o.Registerer, gather: o.Gatherer, series: make(map[string]*metrics.Desc), own: make(map[*metrics.Desc]prom.Collector)}
	switch {
	case b.reg == nil && b.gather != nil:
		return nil, fmt.Errorf("prometheus: %w: Options.Gatherer set without Options.Registerer: the Backend's own registry would not be served", metrics.ErrInvalidOption)
	case b.reg == nil:
		r := prom.NewRegistry()
		b.reg, b.gather = r, r
	case b.gather == nil:
		g, ok := b.reg.(prom.Gatherer)
		if !ok {
			return nil, fmt.Errorf("prometheus: %w: Options.Registerer %T is not a Gatherer: set Options.Gatherer", metrics.ErrInvalidOption, b.reg)
		}
		b.gather = g
	}
	b.exEvery = o.ExemplarInterval
	if b.exEvery == 0 {
		b.exEvery = DefaultExemplarInterval
	}
	if o.NativeHistograms {
		b.native = o.NativeHistogramBucketFactor
		if b.native == 0 {
			b.native = DefaultNativeHistogramBucketFactor
		}
		if !(b.native > 1) || b.native > 2 {
			return nil, fmt.Errorf("prometheus: %w: NativeHistogramBucketFactor %v, want more than 1 and at most 2", metrics.ErrInvalidOption, o.NativeHistogramBucketFactor)
		}
		b.maxNat = o.NativeHistogramMaxBuckets
		if b.maxNat == 0 {
			b.maxNat = 160
		}
	}
	b.handler = promhttp.HandlerFor(b.gather, promhttp.HandlerOpts{
		EnableOpenMetrics: true,
		// A collector the user registered that fails must not hide
		// every other metric.
		ErrorHandling: promhttp.ContinueOnError,
	})
	return b, nil
}

// Handler serves the Gatherer in the Prometheus text, OpenMetrics text
// (with exemplars) or protobuf format, as the scraper asks. A Backend not
// made by New serves 404.
func (b *Backend) Handler() http.Handler {
	if b == nil || b.handler == nil {
		return http.NotFoundHandler()
	}
	return b.handler
}

// DeclareCounter implements metrics.Backend with a collector of its own
// (see counters), or reuses a CounterVec of the same shape that the user
// registered.
func (b *Backend) DeclareCounter(d *metrics.Desc) (metrics.Family[metrics.CounterHandle], error) {
	name, labels, consts, err := b.reserve(d)
	if err != nil {
		return nil, err
	}
	got, err := b.register(d, name, &counterFamily{counters: newCounters(name, d.Help, labels, consts), desc: d})
	switch f := got.(type) {
	case *counterFamily:
		return f, nil
	case *prom.CounterVec:
		return &counterFamily{user: f, desc: d}, nil
	}
	return nil, b.conflict(d, name, got, err)
}

// DeclareGauge implements metrics.Backend with a GaugeVec.
func (b *Backend) DeclareGauge(d *metrics.Desc) (metrics.Family[metrics.GaugeHandle], error) {
	name, labels, consts, err := b.reserve(d)
	if err != nil {
		return nil, err
	}
	vec := prom.NewGaugeVec(prom.GaugeOpts{Name: name, Help: d.Help, ConstLabels: consts}, labels)
	got, err := b.register(d, name, &gaugeFamily{vec, d})
	switch f := got.(type) {
	case *gaugeFamily:
		return f, nil
	case *prom.GaugeVec:
		return &gaugeFamily{f, d}, nil
	}
	return nil, b.conflict(d, name, got, err)
}

// DeclareHistogram implements metrics.Backend with a HistogramVec of
// d.Buckets, plus native buckets when Options.NativeHistograms is set.
func (b *Backend) DeclareHistogram(d *metrics.Desc) (metrics.Family[metrics.HistogramHandle], error) {
	name, labels, consts, err := b.reserve(d)
	if err != nil {
		return nil, err
	}
	o := prom.HistogramOpts{Name: name, Help: d.Help, ConstLabels: consts, Buckets: slices.Clone(d.Buckets)}
	if b.native > 0 {
		o.NativeHistogramBucketFactor = b.native
		o.NativeHistogramMaxBucketNumber = b.maxNat
		o.NativeHistogramMinResetDuration = time.Hour
	}
	got, err := b.register(d, name, &histogramFamily{HistogramVec: prom.NewHistogramVec(o, labels), desc: d, native: b.native, exEvery: b.exEvery})
	switch f := got.(type) {
	case *histogramFamily:
		return f, nil
	case *prom.HistogramVec:
		return &histogramFamily{HistogramVec: f, desc: d, native: b.native, exEvery: b.exEvery}, nil
	}
	return nil, b.conflict(d, name, got, err)
}

// reserve maps d's names and claims the names of its series in b.
func (b *Backend) reserve(d *metrics.Desc) (name string, labels []string, consts prom.Labels, err error) {
	switch {
	case b == nil || b.reg == nil:
		return "", nil, nil, fmt.Errorf("prometheus: %w: Backend not made by New", metrics.ErrInvalidOption)
	case d == nil:
		return "", nil, nil, fmt.Errorf("prometheus: %w: nil Desc", metrics.ErrInvalidOption)
	}
	full := d.FullName(".")
	name = metricName(d)
	if !validMetricName(name) {
		return "", nil, nil, fmt.Errorf("prometheus: declare %q: %w: maps to %q, not a valid Prometheus name", full, metrics.ErrInvalidName, name)
	}
	labels, consts, err = labelNames(d)
	if err != nil {
		return "", nil, nil, fmt.Errorf("prometheus: declare %q: %w: %w", full, metrics.ErrInvalidLabel, err)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	series := seriesNames(d.Kind, name)
	for _, n := range series {
		// The same instrument declared again (by a second Registry over
		// b) is checked by register.
		if od, ok := b.series[n]; ok && (od.FullName(".") != full || od.Kind != d.Kind) {
			return "", nil, nil, fmt.Errorf("prometheus: declare %q: %w: series %q collides with %s %q", full, metrics.ErrConflict, n, od.Kind, od.FullName("."))
		}
	}
	for _, n := range series {
		if _, ok := b.series[n]; !ok {
			b.series[n] = d
		}
	}
	return name, labels, consts, nil
}

// seriesNames are the names of the series that an instrument of kind
// named name exposes.
func seriesNames(k metrics.Kind, name string) []string {
	if k == metrics.KindHistogram {
		return []string{name, name + "_bucket", name + "_count", name + "_sum"}
	}
	return []string{name}
}

// register registers c on b's Registerer and returns it, or the
// collector already registered with the same name, labels and help when
// that is compatible: one of this package's families declared
// identically, or a client_golang Vec of c's kind. Otherwise it returns
// the existing collector, if any, and the error.
func (b *Backend) register(d *metrics.Desc, name string, c prom.Collector) (prom.Collector, error) {
	err := b.reg.Register(c)
	if err == nil {
		b.mu.Lock()
		b.own[d] = c
		b.mu.Unlock()
		return c, nil
	}
	var are prom.AlreadyRegisteredError
	if !errors.As(err, &are) {
		return nil, err
	}
	prev := are.ExistingCollector
	if pd, _ := familyDesc(prev); pd != nil {
		if same(prev, c) {
			return prev, nil
		}
		return nil, fmt.Errorf("%w: %s %q was declared differently (kind, unit or buckets) by another Backend on this Registerer", metrics.ErrConflict, pd.Kind, pd.FullName("."))
	}
	return prev, err // a Vec the user registered: the caller accepts its own kind
}

// conflict releases the names reserve claimed and describes why d could
// not be registered.
func (b *Backend) conflict(d *metrics.Desc, name string, existing prom.Collector, err error) error {
	b.mu.Lock()
	for _, n := range seriesNames(d.Kind, name) {
		if b.series[n] == d {
			delete(b.series, n)
		}
	}
	b.mu.Unlock()
	if existing != nil {
		err = fmt.Errorf("a %T is already registered as %q", existing, name)
	}
	if !errors.Is(err, metrics.ErrConflict) {
		// client_golang refuses a collector whose name it already holds
		// with other labels, help or kind.
		err = fmt.Errorf("%w: %w", metrics.ErrConflict, err)
	}
	return fmt.Errorf("prometheus: declare %q: %w", d.FullName("."), err)
}

// Undeclare implements metrics.Undeclarer: it unregisters the collector
// declared for d, if this Backend registered it (one it reused is left
// to its owner), and releases the names of its series. client_golang's
// Registry keeps the help and label names it has seen under a name for
// its whole life, so a later declaration of the same name there must
// keep them; any other name, and the same name as another kind, is free.
func (b *Backend) Undeclare(d *metrics.Desc) {
	if b == nil || b.reg == nil || d == nil {
		return
	}
	b.mu.Lock()
	c := b.own[d]
	delete(b.own, d)
	for _, n := range seriesNames(d.Kind, metricName(d)) {
		if b.series[n] == d {
			delete(b.series, n)
		}
	}
	b.mu.Unlock()
	if c != nil {
		b.reg.Unregister(c)
	}
}

// same reports whether two of this package's families were declared
// identically, which client_golang cannot tell for histogram buckets.
func same(a, b prom.Collector) bool {
	da, na := familyDesc(a)
	db, nb := familyDesc(b)
	return da != nil && db != nil && na == nb &&
		da.FullName(".") == db.FullName(".") && da.Kind == db.Kind && da.Unit == db.Unit &&
		slices.Equal(da.Buckets, db.Buckets)
}

// familyDesc returns the declaration and native bucket factor of one of
// this package's families, or nil for any other collector.
func familyDesc(c prom.Collector) (*metrics.Desc, float64) {
	switch f := c.(type) {
	case *counterFamily:
		return f.desc, 0
	case *gaugeFamily:
		return f.desc, 0
	case *histogramFamily:
		return f.desc, f.native
	}
	return nil, 0
}

// counterFamily is a registered counter family and the declaration it
// came from: this package's own collector, or a CounterVec that the user
// registered under the same name and shape, which it reuses.
type counterFamily struct {
	*counters
	user *prom.CounterVec
	desc *metrics.Desc
}

// Bind returns the value of the series' own child as its handle.
func (f *counterFamily) Bind(labelValues []string) metrics.CounterHandle {
	if f.user == nil {
		return &f.bind(labelValues).v
	}
	c, err := f.user.GetMetricWithLabelValues(labelValues...)
	if err != nil {
		// Unreachable: the Registry passes one valid UTF-8 value per
		// declared label. Drop rather than panic.
		return discard{}
	}
	return c
}

// gaugeFamily is a registered GaugeVec and its declaration.
type gaugeFamily struct {
	*prom.GaugeVec
	desc *metrics.Desc
}

// Bind returns client_golang's child itself.
func (f *gaugeFamily) Bind(labelValues []string) metrics.GaugeHandle {
	g, err := f.GetMetricWithLabelValues(labelValues...)
	if err != nil {
		return discard{} // unreachable, as for counters
	}
	return g
}

// histogramFamily is a registered HistogramVec and its declaration.
type histogramFamily struct {
	*prom.HistogramVec
	desc    *metrics.Desc
	native  float64
	exEvery time.Duration
}

// Bind returns a handle that observes with exemplars.
func (f *histogramFamily) Bind(labelValues []string) metrics.HistogramHandle {
	o, err := f.GetMetricWithLabelValues(labelValues...)
	if err != nil {
		return discard{} // unreachable, as for counters
	}
	h := &histogram{obs: o, noSpan: trace.SpanFromContext(context.Background())}
	h.ex, _ = o.(prom.ExemplarObserver)
	if h.ex != nil && f.exEvery > 0 {
		h.every = int64(f.exEvery)
		h.bounds = f.desc.Buckets
		h.lastEx = make([]atomic.Int64, len(h.bounds)+1)
	}
	return h
}

// histogram is a bound histogram child. ex is the same child, nil if it
// cannot take exemplars.
type histogram struct {
	obs prom.Observer
	ex  prom.ExemplarObserver
	// noSpan is what OpenTelemetry returns for a context without a span:
	// comparing with it skips copying an empty SpanContext on the hot
	// path.
	noSpan trace.Span
	// With an exemplar interval: the classic bucket bounds and, per
	// bucket (the last for +Inf), when its last exemplar was attached.
	every  int64
	bounds []float64
	lastEx []atomic.Int64
}

// Observe records v, with the trace ID of the sampled span in ctx as an
// exemplar when its bucket has had none for the exemplar interval.
func (h *histogram) Observe(ctx context.Context, v float64) {
	if h.ex != nil && ctx != context.Background() {
		if span := trace.SpanFromContext(ctx); span != h.noSpan {
			if sc := span.SpanContext(); sc.IsValid() && sc.IsSampled() && h.exemplarDue(v) {
				h.ex.ObserveWithExemplar(v, prom.Labels{"trace_id": sc.TraceID().String()})
				return
			}
		}
	}
	h.obs.Observe(v)
}

// ValueObserver is the optional method of metrics.HistogramHandle: it
// returns client_golang's child itself, which the Registry calls for
// observations made without a context. They take no exemplar, so nothing
// stands between them and client_golang.
func (h *histogram) ValueObserver() interface{ Observe(float64) } { return h.obs }

// exemplarDue reports whether v's bucket may take an exemplar now, and
// if so claims it, so that concurrent observers attach only one.
func (h *histogram) exemplarDue(v float64) bool {
	if h.lastEx == nil {
		return true
	}
	last := &h.lastEx[sort.SearchFloat64s(h.bounds, v)]
	now := time.Now().UnixNano()
	prev := last.Load()
	return now-prev >= h.every && last.CompareAndSwap(prev, now)
}

// discard is a handle that records nothing.
type discard struct{}

func (discard) Add(float64)                      {}
func (discard) Set(float64)                      {}
func (discard) Observe(context.Context, float64) {}
