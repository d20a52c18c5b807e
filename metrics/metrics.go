// Package metrics is obskit's backend-neutral metrics front-end.
//
// The interfaces Counter, Gauge and Histogram have exactly Go kit's method
// sets, so instrumented code written against Go kit ports with a rename.
// A Registry, made by New over a Backend, declares instruments, validates
// every name and label, caches one child per label set and bounds the
// number of label sets, so that every backend behaves the same way. The
// backends (backends/prometheus, backends/expvar, …) are thin adapters:
// they declare an instrument once and hand back one bound handle per label
// set.
//
// # Names
//
// A metric name is portable: one or more segments joined by '.', each
// segment a letter followed by letters, digits or '_' (at most 255 bytes
// in all), for example "requests" or "http.server.request.duration". Each
// backend maps it to its own convention (Prometheus turns dots into '_'
// and adds unit and _total suffixes; Graphite keeps the dots). Label names
// follow the same grammar, may also start with a single '_', and must not
// start with "__" or be "le" or "quantile", which backends reserve.
//
// # Label values on the hot path
//
// With takes alternating label name and value pairs and is cumulative:
// c.With("method", "GET").With("code", "200") is the child with both
// labels set. A declared label that was never given a value records as
// UnsetLabelValue. Bad input never panics; it takes a defined fallback, is
// counted in the Registry's Stats and reaches the error handler at most
// once per instrument and Problem:
//
//   - an odd number of arguments: the last name gets UnsetLabelValue;
//   - a label name that was not declared: the pair is ignored;
//   - a value that is not valid UTF-8: invalid bytes become U+FFFD;
//   - a value longer than the registry's limit (DefaultMaxLabelValueLen,
//     WithMaxLabelValueLen): it is cut to the limit, at a character
//     boundary, so values that differ only past it are one series;
//   - a counter delta that is negative, NaN or infinite, a gauge or
//     histogram value that is NaN or infinite: the value is dropped;
//   - a new label set past the cardinality limit: recorded in the
//     instrument's overflow series, whose every label is OverflowLabelValue;
//   - a backend that returns no handle for a label set: its values are
//     dropped and counted.
//
// # Performance
//
// The constructors return concrete types (*CounterMetric, *GaugeMetric,
// *HistogramMetric). Calling With on the concrete type keeps the variadic
// arguments on the stack, so a With that finds a cached label set makes
// no allocation; through the interface Go must heap-allocate them. A
// With whose values are the same strings as an earlier call's (string
// constants, usually) is found by the strings' addresses without reading
// them; other calls hash the values. That identity cache is bounded and
// learns only the label sets an instrument meets first; a miss (values
// built per call, such as a copy of a request's method) costs one failed
// lookup of a few words and writes nothing once its bounds are spent,
// and an instrument that learnt nothing stops consulting it (see
// identity.go for the figures).
// Passing constants for known values (an HTTP method, a status code from
// a table) is what makes With cheapest; values built per call cost a
// hash of their bytes and still make no allocation. Recording into a
// child inlines into the caller and makes one call, the backend's.
// Middlewares bind their children once (Bind) and call no With per
// request.
//
// Label values are copied when a label set is first seen, so a value cut
// from a large buffer does not keep the buffer alive. Strings must not be
// mutated through unsafe after they are passed to With.
//
// # Options
//
// obskit configures each kind of call one way, everywhere. The Registry
// takes functional options, metrics.With… (WithNamespace,
// WithConstLabels, WithErrorHandler, WithCardinalityLimit), because New
// cannot fail and most callers pass none; an instrument is declared with
// an Opts struct. Every backend takes an Options struct whose zero value
// is usable, New(Options) (*Backend, error), with the same field names
// for the same things in every package; backends/doc.go (package
// backends) writes down those conventions, and a new backend copies
// them. Errors a caller may act on wrap this package's sentinels
// (ErrInvalidName, ErrInvalidLabel, ErrInvalidOption, ErrConflict,
// ErrDelivery), whichever backend raised them.
//
// # Writing a backend
//
// A Backend declares an instrument once (DeclareCounter, DeclareGauge,
// DeclareHistogram) and binds one handle per label set. Two optional
// methods are detected by the Registry and Tee: Undeclare (Undeclarer),
// which lets Tee take back a declaration another backend refused, and a
// histogram handle's ValueObserver (see HistogramHandle). The
// conformance suite in backends/backendtest checks a backend against
// what it promises.
package metrics

import "context"

// Counter is a monotonically increasing value, such as a count of
// requests. It is Go kit's metrics.Counter.
type Counter interface {
	With(labelValues ...string) Counter
	Add(delta float64)
}

// Gauge is a value that goes up and down, such as a queue length. It is
// Go kit's metrics.Gauge.
type Gauge interface {
	With(labelValues ...string) Gauge
	Set(value float64)
	Add(delta float64)
}

// Histogram records a distribution of values, such as request latencies
// in seconds. It is Go kit's metrics.Histogram.
type Histogram interface {
	With(labelValues ...string) Histogram
	Observe(value float64)
}

// ContextObserver is implemented by histograms that can link an
// observation to the trace in ctx. Backends with exemplars (Prometheus)
// attach the trace ID of a sampled span in ctx; others ignore ctx. Every
// *HistogramMetric implements it.
type ContextObserver interface {
	ObserveContext(ctx context.Context, value float64)
}

const (
	// UnsetLabelValue is recorded for a declared label that was given no
	// value, and for the last name of an odd-length With.
	UnsetLabelValue = "unknown"
	// OverflowLabelValue is the value of every label of an instrument's
	// overflow series, where label sets past the cardinality limit go.
	OverflowLabelValue = "_overflow"
	// DefaultCardinalityLimit is the number of label sets an instrument
	// holds before new ones go to its overflow series.
	DefaultCardinalityLimit = 10000
	// DefaultMaxLabelValueLen is the length in bytes past which a label
	// value is cut. With DefaultCardinalityLimit it bounds what an
	// instrument's label values can hold to about 10 MB, whatever the
	// values a caller passes.
	DefaultMaxLabelValueLen = 1024
)

// DefaultBuckets are the histogram bucket upper bounds used when Opts
// gives none: OpenTelemetry's semantic-convention buckets for HTTP
// request durations, in seconds.
func DefaultBuckets() []float64 {
	return []float64{0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10}
}
