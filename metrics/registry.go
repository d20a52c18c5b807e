package metrics

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
)

// Errors returned, wrapped, by the Registry's constructors. Test for them
// with errors.Is.
var (
	// ErrInvalidName reports an empty or malformed metric name or namespace.
	ErrInvalidName = errors.New("invalid metric name")
	// ErrInvalidLabel reports a malformed, duplicate or reserved label
	// name, or a declared label that is also a const label.
	ErrInvalidLabel = errors.New("invalid label")
	// ErrInvalidOption reports a bad unit, bucket list or registry option.
	ErrInvalidOption = errors.New("invalid option")
	// ErrConflict reports a name declared again with another kind, help,
	// unit, labels or buckets.
	ErrConflict = errors.New("conflicting declaration")
	// ErrDelivery reports that a push backend could not deliver what was
	// recorded: the server was unreachable, rejected the data, or the
	// delivery timed out. Push backends pass it, wrapped with the cause,
	// to their error handler and return it from Flush and Close.
	ErrDelivery = errors.New("delivery failed")
)

// Opts declares an instrument.
type Opts struct {
	// Name is the portable metric name (see the package documentation),
	// without the registry's namespace. Required.
	Name string
	// Help describes the instrument for humans.
	Help string
	// Unit is the unit of the recorded values; durations are in seconds.
	Unit Unit
	// Labels are the label names that With may set.
	Labels []string
	// Buckets are a histogram's bucket upper bounds, strictly increasing
	// and finite (a final +Inf is dropped). Empty means DefaultBuckets.
	// Ignored for counters and gauges.
	Buckets []float64
}

// Option configures a Registry.
type Option func(*config)

type config struct {
	namespace   string
	constLabels map[string]string
	onError     func(error)
	limit       int
	maxValueLen int
}

// WithNamespace prefixes every instrument's name with namespace, which
// must itself be a valid metric name.
func WithNamespace(namespace string) Option {
	return func(c *config) { c.namespace = namespace }
}

// WithConstLabels adds labels with fixed values to every instrument of
// the registry. No instrument may declare a label of the same name.
func WithConstLabels(labels map[string]string) Option {
	return func(c *config) {
		c.constLabels = make(map[string]string, len(labels))
		for k, v := range labels {
			c.constLabels[k] = v
		}
	}
}

// WithErrorHandler sets the function that receives hot-path problems
// (*HotPathError), at most once per instrument and Problem. It is called
// synchronously on the recording goroutine and must not block. Without
// it, problems are only counted in Stats.
func WithErrorHandler(handle func(error)) Option {
	return func(c *config) { c.onError = handle }
}

// WithCardinalityLimit sets how many label sets each instrument holds
// before new ones go to its overflow series. The default is
// DefaultCardinalityLimit; limit must be at least 1.
func WithCardinalityLimit(limit int) Option {
	return func(c *config) { c.limit = limit }
}

// WithMaxLabelValueLen sets the length in bytes past which label values
// passed to With and Bind are cut (see the package documentation). The
// default is DefaultMaxLabelValueLen; n must be at least 1. A const label
// value longer than n is an error of every constructor.
func WithMaxLabelValueLen(n int) Option {
	return func(c *config) { c.maxValueLen = n }
}

// Registry declares instruments on a Backend and owns what must behave
// the same on every backend: validation, namespace, const labels, the
// child cache, the cardinality limit and error reporting. It is safe for
// concurrent use.
type Registry struct {
	backend     Backend
	namespace   string
	constLabels []Label
	optErr      error
	onError     func(error)
	limit       int
	maxValueLen int
	seed        uint64 // for the child cache's hash

	mu          sync.Mutex
	instruments map[string]declared

	problems [numProblems]atomic.Uint64
}

// declared is what the registry remembers of an instrument, to return it
// again for an identical declaration.
type declared struct {
	desc   *Desc
	metric any // *CounterMetric, *GaugeMetric or *HistogramMetric
}

// New returns a Registry that declares its instruments on backend.
// Invalid options are reported by every constructor call, so that New
// itself cannot fail.
func New(backend Backend, opts ...Option) *Registry {
	c := config{limit: DefaultCardinalityLimit, maxValueLen: DefaultMaxLabelValueLen}
	nilOpt := false
	for _, o := range opts {
		if o == nil {
			nilOpt = true
			continue
		}
		o(&c)
	}
	r := &Registry{
		backend:     backend,
		namespace:   c.namespace,
		onError:     c.onError,
		limit:       c.limit,
		maxValueLen: c.maxValueLen,
		seed:        rand.Uint64(),
		instruments: make(map[string]declared),
	}
	if backend == nil {
		r.optErr = fmt.Errorf("%w: nil backend", ErrInvalidOption)
	}
	if nilOpt {
		r.optErr = errors.Join(r.optErr, fmt.Errorf("%w: nil Option", ErrInvalidOption))
	}
	if r.namespace != "" {
		if err := validName(r.namespace); err != nil {
			r.optErr = errors.Join(r.optErr, fmt.Errorf("namespace %q: %w", r.namespace, err))
		}
	}
	if c.limit < 1 {
		r.optErr = errors.Join(r.optErr, fmt.Errorf("%w: cardinality limit %d, want at least 1", ErrInvalidOption, c.limit))
	}
	if c.maxValueLen < 1 {
		r.optErr = errors.Join(r.optErr, fmt.Errorf("%w: label value length limit %d, want at least 1", ErrInvalidOption, c.maxValueLen))
	}
	for name, value := range c.constLabels {
		if err := validLabelName(name); err != nil {
			r.optErr = errors.Join(r.optErr, fmt.Errorf("const label: %w", err))
		} else if err := validLabelValue(value); err != nil {
			r.optErr = errors.Join(r.optErr, fmt.Errorf("const label %q: %w", name, err))
		} else if c.maxValueLen >= 1 && len(value) > c.maxValueLen {
			r.optErr = errors.Join(r.optErr, fmt.Errorf("%w: const label %q: value of %d bytes, longer than the limit of %d", ErrInvalidLabel, name, len(value), c.maxValueLen))
		}
		r.constLabels = append(r.constLabels, Label{Name: name, Value: value})
	}
	sort.Slice(r.constLabels, func(i, j int) bool { return r.constLabels[i].Name < r.constLabels[j].Name })
	return r
}

// NewCounter declares a counter, or returns the one already declared
// under the same name with identical options.
func (r *Registry) NewCounter(o Opts) (*CounterMetric, error) {
	m, err := declare(r, KindCounter, o, Backend.DeclareCounter, counterFallback)
	return (*CounterMetric)(m), err
}

// NewGauge declares a gauge, or returns the one already declared under
// the same name with identical options.
func (r *Registry) NewGauge(o Opts) (*GaugeMetric, error) {
	m, err := declare(r, KindGauge, o, Backend.DeclareGauge, gaugeFallback)
	return (*GaugeMetric)(m), err
}

// NewHistogram declares a histogram, or returns the one already declared
// under the same name with identical options.
func (r *Registry) NewHistogram(o Opts) (*HistogramMetric, error) {
	m, err := declare(r, KindHistogram, o, Backend.DeclareHistogram, histogramFallback)
	return (*HistogramMetric)(m), err
}

// declare validates o, returns an identical earlier declaration, or
// declares the instrument on the backend and returns its root series.
func declare[H any](r *Registry, kind Kind, o Opts, backendDeclare func(Backend, *Desc) (Family[H], error), fallback func(*series[H]) H) (*series[H], error) {
	if r == nil || r.backend == nil && r.optErr == nil {
		// A nil *Registry or a zero Registry, not made by New.
		return nil, fmt.Errorf("metrics: declare %s %q: %w: Registry not made by metrics.New", kind, o.Name, ErrInvalidOption)
	}
	d, err := r.describe(kind, o)
	if err != nil {
		return nil, fmt.Errorf("metrics: declare %s %q: %w", kind, o.Name, err)
	}
	full := d.FullName(".")
	r.mu.Lock()
	defer r.mu.Unlock()
	if prev, ok := r.instruments[full]; ok {
		if !sameDesc(prev.desc, d) {
			return nil, fmt.Errorf("metrics: declare %s %q: %w with the earlier %s %s", kind, full, ErrConflict, prev.desc.Kind, describeDiff(prev.desc, d))
		}
		s, _ := prev.metric.(*series[H])
		return s, nil
	}
	fam, err := backendDeclare(r.backend, d)
	if err != nil {
		return nil, fmt.Errorf("metrics: declare %s %q: %w", kind, full, err)
	}
	if fam == nil {
		return nil, fmt.Errorf("metrics: declare %s %q: backend %T returned no Family", kind, full, r.backend)
	}
	inst := newInstrument(r, d, fam, fallback)
	r.instruments[full] = declared{desc: d, metric: inst.root}
	return inst.root, nil
}

// describe validates o and builds the Desc a backend receives.
func (r *Registry) describe(kind Kind, o Opts) (*Desc, error) {
	if r.optErr != nil {
		return nil, r.optErr
	}
	if err := validName(o.Name); err != nil {
		return nil, err
	}
	if err := validUnit(o.Unit); err != nil {
		return nil, err
	}
	d := &Desc{
		Kind:        kind,
		Namespace:   r.namespace,
		Name:        o.Name,
		Help:        o.Help,
		Unit:        o.Unit,
		Labels:      slices.Clone(o.Labels),
		ConstLabels: r.constLabels,
	}
	seen := make(map[string]bool, len(o.Labels))
	for _, l := range o.Labels {
		if err := validLabelName(l); err != nil {
			return nil, err
		}
		if seen[l] {
			return nil, fmt.Errorf("%w: label %q declared twice", ErrInvalidLabel, l)
		}
		seen[l] = true
		for _, c := range r.constLabels {
			if c.Name == l {
				return nil, fmt.Errorf("%w: label %q is also a const label", ErrInvalidLabel, l)
			}
		}
	}
	if kind == KindHistogram {
		b, err := validBuckets(o.Buckets)
		if err != nil {
			return nil, err
		}
		d.Buckets = b
	}
	return d, nil
}

func validBuckets(b []float64) ([]float64, error) {
	if len(b) == 0 {
		return DefaultBuckets(), nil
	}
	if math.IsInf(b[len(b)-1], 1) {
		b = b[:len(b)-1]
	}
	if len(b) == 0 {
		return nil, fmt.Errorf("%w: buckets hold only +Inf", ErrInvalidOption)
	}
	for i, v := range b {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, fmt.Errorf("%w: bucket %d is %v", ErrInvalidOption, i, v)
		}
		if i > 0 && v <= b[i-1] {
			return nil, fmt.Errorf("%w: buckets not strictly increasing at %d (%v after %v)", ErrInvalidOption, i, v, b[i-1])
		}
	}
	return slices.Clone(b), nil
}

func sameDesc(a, b *Desc) bool {
	return a.Kind == b.Kind && a.Help == b.Help && a.Unit == b.Unit &&
		slices.Equal(a.Labels, b.Labels) && slices.Equal(a.Buckets, b.Buckets)
}

func describeDiff(prev, d *Desc) string {
	switch {
	case prev.Kind != d.Kind:
		return "(kind differs)"
	case prev.Unit != d.Unit:
		return fmt.Sprintf("(unit %q, now %q)", prev.Unit, d.Unit)
	case !slices.Equal(prev.Labels, d.Labels):
		return fmt.Sprintf("(labels %q, now %q)", prev.Labels, d.Labels)
	case !slices.Equal(prev.Buckets, d.Buckets):
		return "(buckets differ)"
	default:
		return "(help differs)"
	}
}
