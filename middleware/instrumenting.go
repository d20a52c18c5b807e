package middleware

import (
	"context"
	"fmt"
	"time"

	"github.com/obskit/obskit/metrics"
)

// Label names and values of the instruments that Instrumenting records.
const (
	// OperationLabel holds the operation name given to Instrument or
	// Observer.Start.
	OperationLabel = "operation"
	// OutcomeLabel holds how a call ended: OutcomeSuccess, OutcomeError
	// or OutcomeBusinessError.
	OutcomeLabel = "outcome"

	// OutcomeSuccess is a call that returned a nil error and whose
	// response reports no business error.
	OutcomeSuccess = "success"
	// OutcomeError is a call that returned an error.
	OutcomeError = "error"
	// OutcomeBusinessError is a call that returned a nil error but whose
	// response reports an error through Failer.
	OutcomeBusinessError = "business_error"
)

// InstrumentingOptions configures NewInstrumenting. The zero value is
// valid.
type InstrumentingOptions struct {
	// Prefix starts the names of the instruments: "<Prefix>.requests"
	// and "<Prefix>.request.duration". Empty means "endpoint"; an
	// Observer's default is "service".
	Prefix string
	// Buckets are the latency histogram's upper bounds in seconds; empty
	// means metrics.DefaultBuckets.
	Buckets []float64
	// IgnoreBusinessErrors counts a call whose response reports an error
	// through Failer as OutcomeSuccess, as Go kit's addsvc does when it
	// only looks at the returned error.
	IgnoreBusinessErrors bool
}

// Instrumenting holds the instruments that the middlewares made by
// Instrument record into:
//
//   - "<prefix>.requests", a counter of calls;
//   - "<prefix>.request.duration", a histogram of their latency in
//     seconds;
//
// both labelled with OperationLabel and OutcomeLabel. The calls that
// failed are the requests whose outcome is not OutcomeSuccess. Make one
// Instrumenting per registry in func main and share it between endpoints.
type Instrumenting struct {
	requests       *metrics.CounterMetric
	duration       *metrics.HistogramMetric
	ignoreBusiness bool
}

// errNilEndpoint is the error of the endpoint that Instrument's
// middleware returns for a nil one.
var errNilEndpoint = fmt.Errorf("middleware: %w: nil endpoint", metrics.ErrInvalidOption)

// NewInstrumenting declares the instruments of an Instrumenting on reg.
// It returns an error when reg is nil (wrapping metrics.ErrInvalidOption),
// the options are invalid, or reg holds instruments of the same names
// declared differently.
func NewInstrumenting(reg *metrics.Registry, opts InstrumentingOptions) (*Instrumenting, error) {
	in, err := newInstrumenting(reg, opts, "endpoint")
	if err != nil {
		return nil, fmt.Errorf("middleware: instrumenting: %w", err)
	}
	return in, nil
}

func newInstrumenting(reg *metrics.Registry, opts InstrumentingOptions, defaultPrefix string) (*Instrumenting, error) {
	if reg == nil {
		return nil, fmt.Errorf("%w: nil *metrics.Registry", metrics.ErrInvalidOption)
	}
	prefix := opts.Prefix
	if prefix == "" {
		prefix = defaultPrefix
	}
	labels := []string{OperationLabel, OutcomeLabel}
	requests, err := reg.NewCounter(metrics.Opts{
		Name:   prefix + ".requests",
		Help:   "Calls of an operation, by outcome.",
		Labels: labels,
	})
	if err != nil {
		return nil, err
	}
	duration, err := reg.NewHistogram(metrics.Opts{
		Name:    prefix + ".request.duration",
		Help:    "Latency of the calls of an operation, by outcome.",
		Unit:    metrics.UnitSeconds,
		Labels:  labels,
		Buckets: opts.Buckets,
	})
	if err != nil {
		return nil, err
	}
	return &Instrumenting{requests: requests, duration: duration, ignoreBusiness: opts.IgnoreBusinessErrors}, nil
}

// outcome indexes bound.
type outcome uint8

const (
	success outcome = iota
	failure
	businessFailure
	numOutcomes
)

// bound holds one operation's children, one per outcome that can happen,
// bound once so that recording a call looks up no labels. Binding makes
// the series exist (at zero, on /metrics), so an outcome that cannot
// happen is left unbound rather than shown as an always-zero series.
type bound struct {
	requests [numOutcomes]*metrics.CounterMetric
	duration [numOutcomes]*metrics.HistogramMetric
}

var outcomeNames = [numOutcomes]string{OutcomeSuccess, OutcomeError, OutcomeBusinessError}

// bind binds operation's children for success and error, and for
// business errors when business is true.
func (in *Instrumenting) bind(operation string, business bool) *bound {
	b := new(bound)
	n := businessFailure
	if business {
		n = numOutcomes
	}
	for o := range n {
		b.requests[o] = in.requests.Bind(OperationLabel, operation, OutcomeLabel, outcomeNames[o])
		b.duration[o] = in.duration.Bind(OperationLabel, operation, OutcomeLabel, outcomeNames[o])
	}
	return b
}

func (b *bound) record(ctx context.Context, o outcome, seconds float64) {
	b.requests[o].Add(1)
	b.duration[o].ObserveContext(ctx, seconds)
}

// Instrument returns a middleware that records every call of the
// endpoint it wraps into in's instruments, labelled with operation. A
// returned error counts as OutcomeError; a nil error with a response
// whose Failed method reports an error counts as OutcomeBusinessError
// (unless in ignores business errors). A panic in the endpoint counts as
// OutcomeError and goes on unwinding, untouched, to whoever recovers it
// (the HTTP middleware answers 500). The latency is observed with the
// call's context, so backends with exemplars link it to the span there.
//
// The children for each outcome that can happen are bound when
// Instrument is called: a call records with no label lookup and no
// allocation. OutcomeBusinessError is bound only when Resp can carry a
// business error and in does not ignore them. A nil in, or one not made
// by NewInstrumenting (new(Instrumenting), a zero Instrumenting), has no
// instruments to record into: it returns a middleware that adds nothing,
// passing calls through unrecorded.
func Instrument[Req, Resp any](in *Instrumenting, operation string) Middleware[Req, Resp] {
	if in == nil || in.requests == nil || in.duration == nil {
		return func(next Endpoint[Req, Resp]) Endpoint[Req, Resp] {
			if next == nil {
				return failingEndpoint[Req, Resp](errNilEndpoint)
			}
			return next
		}
	}
	var failed func(Resp) error
	if !in.ignoreBusiness {
		failed = FailedFunc[Resp]()
	}
	b := in.bind(operation, failed != nil)
	return func(next Endpoint[Req, Resp]) Endpoint[Req, Resp] {
		if next == nil {
			return failingEndpoint[Req, Resp](errNilEndpoint)
		}
		return func(ctx context.Context, req Req) (Resp, error) {
			begin := time.Now()
			returned := false
			defer func() {
				// Not recovered: the panic keeps its stack and its
				// recoverer; this only counts the call as failed.
				if !returned {
					b.record(ctx, failure, time.Since(begin).Seconds())
				}
			}()
			resp, err := next(ctx, req)
			returned = true
			o := success
			if err != nil {
				o = failure
			} else if failed != nil && failed(resp) != nil {
				o = businessFailure
			}
			b.record(ctx, o, time.Since(begin).Seconds())
			return resp, err
		}
	}
}
