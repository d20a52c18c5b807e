package metrics

import "context"

// Kind is the kind of an instrument.
type Kind uint8

// The kinds of instrument.
const (
	KindCounter Kind = iota + 1
	KindGauge
	KindHistogram
)

// String returns "counter", "gauge" or "histogram".
func (k Kind) String() string {
	switch k {
	case KindCounter:
		return "counter"
	case KindGauge:
		return "gauge"
	case KindHistogram:
		return "histogram"
	}
	return "invalid kind"
}

// Unit is the unit of an instrument's values, in UCUM notation as
// OpenTelemetry uses it. Durations are recorded in seconds.
type Unit string

// Common units. Any other unit is allowed if it is printable ASCII
// without spaces, at most 63 bytes.
const (
	UnitNone    Unit = ""
	UnitSeconds Unit = "s"
	UnitBytes   Unit = "By"
	UnitRatio   Unit = "1"
)

// Label is one label name and value.
type Label struct {
	Name, Value string
}

// Desc describes a declared instrument to a Backend. The Registry has
// validated every field before a backend sees it, and a backend must not
// modify it.
type Desc struct {
	Kind      Kind
	Namespace string // prefix set with WithNamespace, may be empty
	Name      string // the portable name, without Namespace
	Help      string
	Unit      Unit
	// Labels are the declared (variable) label names, in declaration
	// order. Bind receives values in the same order.
	Labels []string
	// ConstLabels hold for every series, sorted by name.
	ConstLabels []Label
	// Buckets are the sorted upper bounds of a histogram's buckets,
	// without +Inf; nil for other kinds.
	Buckets []float64
}

// FullName returns the namespace and name joined with sep, for example
// FullName(".") is "addsvc.requests".
func (d *Desc) FullName(sep string) string {
	if d.Namespace == "" {
		return d.Name
	}
	return d.Namespace + sep + d.Name
}

// Backend receives the instruments a Registry declares. Each Declare
// method is called once per distinct instrument and returns a Family,
// from which the Registry binds one handle per label set. The Registry
// caches handles, so Bind runs once per label set; handles are called
// concurrently on the hot path and must be safe for that and cheap.
//
// A Backend returns an error from Declare when it cannot represent the
// instrument (for example, two names that collide after mapping to the
// backend's convention); the Registry's constructor returns it wrapped.
type Backend interface {
	DeclareCounter(d *Desc) (Family[CounterHandle], error)
	DeclareGauge(d *Desc) (Family[GaugeHandle], error)
	DeclareHistogram(d *Desc) (Family[HistogramHandle], error)
}

// Family is one declared instrument in a backend. Bind returns the handle
// for one label set; labelValues has one valid UTF-8 value per declared
// label, in declaration order, and the backend may keep it.
type Family[H any] interface {
	Bind(labelValues []string) H
}

// FamilyFunc adapts a function to a Family.
type FamilyFunc[H any] func(labelValues []string) H

// Bind calls f. A nil f returns the zero handle, which the Registry
// counts as ProblemBackend rather than panicking.
func (f FamilyFunc[H]) Bind(labelValues []string) H {
	if f == nil {
		var none H
		return none
	}
	return f(labelValues)
}

// CounterHandle records into one counter series. Add receives only
// finite deltas ≥ 0.
type CounterHandle interface {
	Add(delta float64)
}

// GaugeHandle records into one gauge series.
type GaugeHandle interface {
	Set(value float64)
	Add(delta float64)
}

// HistogramHandle records into one histogram series. Observe receives
// only finite values; ctx is the caller's context, or
// context.Background() when the caller gave none.
//
// A handle whose Observe does work with its context (such as looking up
// the span for an exemplar) may also have the method
//
//	ValueObserver() interface{ Observe(value float64) }
//
// The Registry detects it when it binds the handle, and records the
// observations that come without a context (Histogram.Observe) straight
// into its result, skipping that work and a call. client_golang's
// prometheus.Observer is such a result.
type HistogramHandle interface {
	Observe(ctx context.Context, value float64)
}

// valueObserver records a value with no context.
type valueObserver interface {
	Observe(value float64)
}

// valueObserverProvider is the optional method of a HistogramHandle
// described there.
type valueObserverProvider interface {
	ValueObserver() interface{ Observe(value float64) }
}
