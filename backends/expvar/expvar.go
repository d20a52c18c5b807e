// Package expvar is the obskit backend for the standard library's expvar:
// every instrument is an expvar.Var, served as JSON on /debug/vars by
// Handler (pull).
//
//	b, err := expvar.New(expvar.Options{})
//	reg := metrics.New(b, metrics.WithNamespace("addsvc"))
//	mux.Handle("/debug/vars", b.Handler())
//
// # Process-global by nature
//
// expvar keeps one registry per process and cannot unpublish, so every
// instrument declared on any Backend of this package stays published, by
// its full name, until the process exits. Two Backends (or two Registries
// on one Backend) may not declare the same full name: the second
// declaration fails with ErrAlreadyPublished rather than letting
// expvar.Publish panic, and so does a name that other code has already
// published (expvar itself publishes "cmdline" and "memstats"). Give each
// registry its own namespace. The check and the publish run under this
// package's one lock, its only mutable package-level state; a
// goroutine calling expvar.Publish directly at the same moment can still
// take the name first, and that case, too, returns ErrAlreadyPublished
// (expvar logs its "Reuse of exported var name" line before the panic is
// recovered).
//
// Importing this package imports the standard library's expvar, whose
// init registers its handler on http.DefaultServeMux at /debug/vars: a
// service that serves http.DefaultServeMux exposes every variable of the
// process there, these instruments among them. Handler serves only the
// Backend's own instruments, unless Options.ProcessVars: expvar's own
// "cmdline" holds the full command line, where a secret passed as a flag
// would leak, and "memstats" the runtime's memory statistics.
//
// # The JSON
//
// An instrument is published under its full name, the namespace and name
// joined by '.' (for example "addsvc.request.duration"); its Help and
// Unit are not exported, and values are in the instrument's unit
// (seconds for durations). Its value is always a JSON object with one
// member per series; the member's name is the series key (see FormatKey
// and ParseKey): the labels as name=value pairs joined by ',', const
// labels first sorted by name, then the declared labels in declaration
// order, with '\', ',' and '=' in values escaped by a '\'. An instrument
// with no labels at all has the one key "".
//
//	"addsvc.requests": {"method=GET,code=200": 3, "method=POST,code=500": 7.25}
//	"addsvc.in_flight": {"": 2}
//	"addsvc.latency": {"route=/a": {"count": 10000, "sum": 11012.01, "min": 0.001001,
//	    "max": 9.991, "p50": 0.09952, "p90": 4.04, "p95": 6.499, "p99": 9.103}}
//
// Counters and gauges are JSON numbers, in Go's shortest representation,
// so they parse back exactly. A histogram is an object with its exact
// count, sum, min and max and the 0.5, 0.9, 0.95 and 0.99 quantiles from
// a relative-error sketch (internal/sketch; within Options.RelativeAccuracy
// of the exact nearest-rank quantiles), written with the significant
// digits that accuracy supports and two more (4 at the default 1%), so
// that the same values read the same on every platform. A value that is not finite (an
// empty histogram's min, max and quantiles; a gauge added past the
// float64 range) is null, since JSON has no NaN or infinity.
package expvar

import (
	"context"
	stdexpvar "expvar"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/obskit/obskit/internal/atomicfloat"
	"github.com/obskit/obskit/internal/sketch"
	"github.com/obskit/obskit/metrics"
)

// DefaultRelativeAccuracy is the relative accuracy of histogram quantiles
// when Options leaves it zero: 1%.
const DefaultRelativeAccuracy = 0.01

// ErrAlreadyPublished reports a declaration whose full name is already
// published in the process's expvar registry. It wraps
// metrics.ErrConflict, as every backend's name collision does.
var ErrAlreadyPublished = fmt.Errorf("expvar: name already published: %w", metrics.ErrConflict)

// publishMu serialises the check-then-publish on expvar's process-global
// registry across every Backend; being as global as what it guards, it
// is this package's documented exception to obskit's no-globals rule.
var publishMu sync.Mutex

// Options configures a Backend.
type Options struct {
	// RelativeAccuracy bounds the relative error of histogram quantiles,
	// in (0, 1); zero means DefaultRelativeAccuracy. Memory per histogram
	// series grows as 1/RelativeAccuracy (about 3.7 KB at 1% for values
	// spanning 1 ms to 10 s).
	RelativeAccuracy float64

	// ProcessVars makes Handler serve every variable published in the
	// process, as the standard library's expvar.Handler does: expvar's
	// own "cmdline" (the full command line) and "memstats", and those
	// of other code and other Backends. By default Handler serves only
	// this Backend's instruments.
	ProcessVars bool
}

// Backend publishes instruments in the process's expvar registry. It
// implements metrics.Backend and is safe for concurrent use. The zero
// value is a Backend with the default Options, as New(Options{}) makes.
//
// It does not implement metrics.Undeclarer: expvar cannot unpublish, so
// metrics.Tee declares on it after the backends that can take a
// declaration back.
type Backend struct {
	accuracy    float64
	processVars bool

	mu   sync.RWMutex
	vars []published // this Backend's instruments, sorted by name
}

// published is one variable that a Backend published.
type published struct {
	name string
	v    stdexpvar.Var
}

// New validates o and returns a Backend. It publishes nothing until an
// instrument is declared.
func New(o Options) (*Backend, error) {
	acc := o.RelativeAccuracy
	if acc == 0 {
		acc = DefaultRelativeAccuracy
	}
	if !(acc > 0 && acc < 1) {
		return nil, fmt.Errorf("expvar: %w: RelativeAccuracy %v, want a value in (0, 1)", metrics.ErrInvalidOption, o.RelativeAccuracy)
	}
	return &Backend{accuracy: acc, processVars: o.ProcessVars}, nil
}

// Handler returns a handler that serves the Backend's instruments as one
// JSON object, each under its full name, in the format of the standard
// library's /debug/vars. With Options.ProcessVars it is expvar.Handler,
// which serves every variable of the process.
func (b *Backend) Handler() http.Handler {
	if b == nil {
		return http.NotFoundHandler()
	}
	if b.processVars {
		return stdexpvar.Handler()
	}
	return http.HandlerFunc(b.serveVars)
}

func (b *Backend) serveVars(w http.ResponseWriter, _ *http.Request) {
	b.mu.RLock()
	vars := slices.Clone(b.vars)
	b.mu.RUnlock()
	out := []byte("{\n")
	for i, p := range vars {
		if i > 0 {
			out = append(out, ",\n"...)
		}
		out = appendJSONString(out, p.name)
		out = append(out, ": "...)
		out = append(out, p.v.String()...)
	}
	out = append(out, "\n}\n"...)
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Write(out)
}

// DeclareCounter implements metrics.Backend.
func (b *Backend) DeclareCounter(d *metrics.Desc) (metrics.Family[metrics.CounterHandle], error) {
	f, err := b.declare(d)
	if err != nil {
		return nil, err
	}
	return metrics.FamilyFunc[metrics.CounterHandle](func(v []string) metrics.CounterHandle { return f.bind(v) }), nil
}

// DeclareGauge implements metrics.Backend.
func (b *Backend) DeclareGauge(d *metrics.Desc) (metrics.Family[metrics.GaugeHandle], error) {
	f, err := b.declare(d)
	if err != nil {
		return nil, err
	}
	return metrics.FamilyFunc[metrics.GaugeHandle](func(v []string) metrics.GaugeHandle { return f.bind(v) }), nil
}

// DeclareHistogram implements metrics.Backend.
func (b *Backend) DeclareHistogram(d *metrics.Desc) (metrics.Family[metrics.HistogramHandle], error) {
	f, err := b.declare(d)
	if err != nil {
		return nil, err
	}
	return metrics.FamilyFunc[metrics.HistogramHandle](func(v []string) metrics.HistogramHandle { return f.bind(v) }), nil
}

func (b *Backend) declare(d *metrics.Desc) (*family, error) {
	switch {
	case b == nil:
		return nil, fmt.Errorf("expvar: %w: nil Backend", metrics.ErrInvalidOption)
	case d == nil:
		return nil, fmt.Errorf("expvar: %w: nil Desc", metrics.ErrInvalidOption)
	}
	acc := b.accuracy
	if acc == 0 { // the zero Backend
		acc = DefaultRelativeAccuracy
	}
	f := &family{desc: d, accuracy: acc, digits: quantileDigits(acc), series: make(map[string]*series)}
	name := d.FullName(".")
	if err := publish(name, f); err != nil {
		return nil, fmt.Errorf("expvar: declare %s %q: %w", d.Kind, name, err)
	}
	b.mu.Lock()
	i, _ := slices.BinarySearchFunc(b.vars, name, func(p published, n string) int { return strings.Compare(p.name, n) })
	b.vars = slices.Insert(b.vars, i, published{name, f})
	b.mu.Unlock()
	return f, nil
}

// publish publishes v under name unless the name is taken, returning
// ErrAlreadyPublished instead of expvar.Publish's panic.
func publish(name string, v stdexpvar.Var) (err error) {
	publishMu.Lock()
	defer publishMu.Unlock()
	if stdexpvar.Get(name) != nil {
		return ErrAlreadyPublished
	}
	defer func() {
		// Someone called expvar.Publish directly between Get and here.
		// expvar panics before storing anything, so recovering leaves its
		// registry as it was.
		if r := recover(); r != nil {
			err = fmt.Errorf("%w (concurrently, by other code): %v", ErrAlreadyPublished, r)
		}
	}()
	stdexpvar.Publish(name, v)
	return nil
}

// family is one instrument; it is the expvar.Var published for it.
type family struct {
	desc     *metrics.Desc
	accuracy float64
	digits   int // significant digits of a quantile; see quantileDigits

	mu     sync.RWMutex
	series map[string]*series // by key
}

func (f *family) bind(values []string) *series {
	key := FormatKey(f.desc.ConstLabels, f.desc.Labels, values)
	f.mu.RLock()
	s, ok := f.series[key]
	f.mu.RUnlock()
	if ok {
		return s
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if s, ok := f.series[key]; ok {
		return s
	}
	s = &series{}
	if f.desc.Kind == metrics.KindHistogram {
		// Cannot fail: New validated the accuracy.
		s.sketch, _ = sketch.New(f.accuracy)
	}
	f.series[key] = s
	return s
}

// String implements expvar.Var: the instrument's series as one JSON
// object, keys sorted.
func (f *family) String() string {
	type keyed struct {
		key string
		s   *series
	}
	f.mu.RLock()
	all := make([]keyed, 0, len(f.series))
	for k, s := range f.series {
		all = append(all, keyed{k, s})
	}
	f.mu.RUnlock()
	slices.SortFunc(all, func(a, b keyed) int { return strings.Compare(a.key, b.key) })

	b := []byte{'{'}
	for i, ks := range all {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, ks.key)
		b = append(b, ':')
		s := ks.s
		if s.sketch == nil {
			b = appendNumber(b, s.value())
			continue
		}
		snap := s.sketch.Snapshot()
		b = append(b, `{"count":`...)
		b = strconv.AppendUint(b, snap.Count(), 10)
		b = append(b, `,"sum":`...)
		b = appendNumber(b, snap.Sum())
		b = append(b, `,"min":`...)
		b = appendNumber(b, snap.Min())
		b = append(b, `,"max":`...)
		b = appendNumber(b, snap.Max())
		for _, q := range quantiles {
			b = append(b, `,"`...)
			b = append(b, q.key...)
			b = append(b, `":`...)
			b = appendQuantile(b, snap.Quantile(q.q), f.digits, snap.Min(), snap.Max())
		}
		b = append(b, '}')
	}
	return string(append(b, '}'))
}

// quantiles are the quantiles each histogram series reports, with the
// JSON member names they are reported under.
var quantiles = [...]struct {
	key string
	q   float64
}{{"p50", 0.5}, {"p90", 0.9}, {"p95", 0.95}, {"p99", 0.99}}

// quantileDigits returns the significant digits a quantile is written
// with: those the relative accuracy supports, and two more, so that
// rounding adds at most a twentieth of the accuracy to the error. The
// digits beyond would be noise, and they differ from one platform to
// another (math.Log is assembly on some, Go on others).
func quantileDigits(accuracy float64) int {
	return min(17, int(math.Ceil(-math.Log10(accuracy)))+2)
}

// appendQuantile appends a quantile rounded to digits significant
// digits, in Go's shortest form of the rounded value, kept within
// [lo, hi], the exact minimum and maximum.
func appendQuantile(b []byte, v float64, digits int, lo, hi float64) []byte {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return append(b, "null"...)
	}
	var buf [32]byte
	r, err := strconv.ParseFloat(string(strconv.AppendFloat(buf[:0], v, 'e', digits-1, 64)), 64)
	if err != nil {
		r = v
	}
	return strconv.AppendFloat(b, max(lo, min(hi, r)), 'g', -1, 64)
}

// appendNumber appends v as a JSON number, or null when it is not finite.
func appendNumber(b []byte, v float64) []byte {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return append(b, "null"...)
	}
	return strconv.AppendFloat(b, v, 'g', -1, 64)
}

// series is one label set of an instrument: a counter or gauge value, or
// a histogram's sketch.
type series struct {
	val    atomicfloat.Float64 // counter or gauge value
	sketch *sketch.Sketch
}

func (s *series) value() float64 { return s.val.Load() }

// Add implements metrics.CounterHandle and metrics.GaugeHandle.
func (s *series) Add(delta float64) { s.val.Add(delta) }

// Set implements metrics.GaugeHandle.
func (s *series) Set(value float64) { s.val.Store(value) }

// Observe implements metrics.HistogramHandle.
func (s *series) Observe(_ context.Context, value float64) { s.sketch.Add(value) }
