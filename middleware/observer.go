package middleware

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/obskit/obskit/internal/calllog"
	"github.com/obskit/obskit/internal/cowmap"
	"github.com/obskit/obskit/metrics"
)

// Keys and message of the records that an Observer logs. The keys are
// those of every obskit log record about a call, exported here once:
// the logging package's EndpointMiddleware and grpcmw's interceptors
// use them too.
const (
	// ServiceCallMessage is the message of every record.
	ServiceCallMessage = "service call"
	// LogOperationKey, "operation", holds the operation name.
	LogOperationKey = calllog.OperationKey
	// LogDurationKey, "duration", holds the call's duration in seconds,
	// a float64.
	LogDurationKey = calllog.DurationKey
	// LogErrorKey, "error", holds the error of a failed call.
	LogErrorKey = calllog.ErrorKey
)

// ObserverOptions configures NewObserver. Each of Registry, Tracer and
// Logger is optional: a nil one turns its part off.
type ObserverOptions struct {
	// Registry receives the calls' metrics: the instruments that
	// NewInstrumenting declares, with "service" as their default prefix.
	Registry *metrics.Registry
	// Instrumenting configures those instruments. A prefix of "endpoint"
	// shares them with the middlewares of NewInstrumenting. Its
	// IgnoreBusinessErrors has no effect here: an Observer sees the
	// method's error, never a response, so its calls are only
	// OutcomeSuccess or OutcomeError, and only those are bound.
	Instrumenting InstrumentingOptions
	// Tracer starts one span per call, named by the operation.
	Tracer trace.Tracer
	// Logger logs one record per call: ServiceCallMessage at
	// slog.LevelInfo, or slog.LevelError with LogErrorKey when it failed.
	Logger *slog.Logger
}

// Observer gives the methods of a hand-written service decorator metrics,
// a span and a log line in one deferred statement:
//
//	func (s observed) Sum(ctx context.Context, a, b int) (n int, err error) {
//		ctx, done := s.obs.Start(ctx, "Sum")
//		defer done(&err)
//		return s.next.Sum(ctx, a, b)
//	}
//
// It is safe for concurrent use.
type Observer struct {
	ins    *Instrumenting
	tracer trace.Tracer
	logger *slog.Logger

	bound cowmap.Map[string, *bound]
}

// NewObserver returns an Observer that records into opts.Registry,
// opts.Tracer and opts.Logger. It returns an error when the instruments
// cannot be declared (see NewInstrumenting).
func NewObserver(opts ObserverOptions) (*Observer, error) {
	o := &Observer{tracer: opts.Tracer, logger: opts.Logger}
	if opts.Registry != nil {
		ins, err := newInstrumenting(opts.Registry, opts.Instrumenting, "service")
		if err != nil {
			return nil, fmt.Errorf("middleware: observer: %w", err)
		}
		o.ins = ins
	}
	return o, nil
}

// Start begins observing one call of operation. It returns the context
// for the call, which holds the call's span, and the function that ends
// the observation; defer it with a pointer to the method's named error
// result, whose value at return decides the outcome:
//
//	ctx, done := obs.Start(ctx, "Sum")
//	defer done(&err)
//
// done records the call's latency and outcome, ends the span (recording
// a non-nil error on it) and logs the call. A nil pointer counts as
// success. When the method panics, done records the call as failed,
// records the panic on the span, and panics again with the same value.
func (o *Observer) Start(ctx context.Context, operation string) (context.Context, func(errp *error)) {
	var span trace.Span
	if o.tracer != nil {
		ctx, span = o.tracer.Start(ctx, operation)
	}
	var b *bound
	if o.ins != nil {
		b = o.operation(operation)
	}
	begin := time.Now()
	return ctx, func(errp *error) {
		var err error
		if errp != nil {
			err = *errp
		}
		r := recover()
		if r != nil {
			err = &PanicError{Value: r}
		}
		o.end(ctx, operation, b, span, begin, err)
		if r != nil {
			panic(r)
		}
	}
}

func (o *Observer) end(ctx context.Context, operation string, b *bound, span trace.Span, begin time.Time, err error) {
	dur := time.Since(begin).Seconds()
	if b != nil {
		out := success
		if err != nil {
			out = failure
		}
		b.record(ctx, out, dur)
	}
	if span != nil {
		if err != nil {
			span.RecordError(err)
			span.SetStatus(codes.Error, err.Error())
		}
		span.End()
	}
	if o.logger != nil {
		level := slog.LevelInfo
		if err != nil {
			level = slog.LevelError
		}
		calllog.Log(ctx, o.logger, level, ServiceCallMessage, operation, dur, err)
	}
}

// operation returns the children bound for operation, binding them the
// first time it is seen.
func (o *Observer) operation(operation string) *bound {
	if b, ok := o.bound.Load(operation); ok {
		return b
	}
	return o.bound.LoadOrStore(operation, func() *bound {
		return o.ins.bind(operation, false) // done sees only errors, never a response
	})
}

// PanicError is the error that the middlewares record for a panic: the
// value passed to panic, and the stack where it was recovered when known.
type PanicError struct {
	Value any
	Stack []byte
}

// Error implements error.
func (e *PanicError) Error() string { return fmt.Sprintf("panic: %v", e.Value) }

// Unwrap returns the panic value when it is an error.
func (e *PanicError) Unwrap() error {
	err, _ := e.Value.(error)
	return err
}
