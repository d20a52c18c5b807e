package logging

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/obskit/obskit/metrics"
	"github.com/obskit/obskit/middleware"
)

// EndpointMessage is the message of every record that EndpointMiddleware
// logs. Its keys are those of every obskit log record about a call,
// defined once in the middleware package: middleware.LogOperationKey,
// middleware.LogDurationKey and middleware.LogErrorKey.
const EndpointMessage = "endpoint call"

// EndpointOptions configures EndpointMiddleware. The zero value is valid:
// business errors are logged at slog.LevelWarn.
type EndpointOptions struct {
	// IgnoreBusinessErrors logs a call whose response reports an error
	// through middleware.Failer as a success, at slog.LevelInfo without
	// the error. Returned errors and panics are still logged as errors.
	// The field has the same name and meaning in
	// middleware.InstrumentingOptions and tracing.EndpointOptions.
	IgnoreBusinessErrors bool
}

// EndpointMiddleware returns a middleware that logs one record per call,
// with the operation, the call's duration in seconds and, for a failed
// call, its error. The level tells the outcome:
//
//   - slog.LevelInfo: the endpoint returned a nil error and its response
//     reports no business error;
//   - slog.LevelWarn: the response reports a business error through
//     middleware.Failer (a request the service refused: the caller's
//     problem, not the service's), unless opts.IgnoreBusinessErrors;
//   - slog.LevelError: the endpoint returned an error, or panicked. A
//     panic is logged with a *middleware.PanicError holding the panic
//     value, then goes on with the same value, so that the transport's
//     recover still answers.
//
// The record is logged with the call's context, so a logger built on
// TraceHandler (see New) adds the IDs of the span in it; put this
// middleware inside the tracing middleware for them to be the
// endpoint's own span. A nil logger logs nothing.
func EndpointMiddleware[Req, Resp any](logger *slog.Logger, operation string, opts EndpointOptions) middleware.Middleware[Req, Resp] {
	if logger == nil {
		return func(next middleware.Endpoint[Req, Resp]) middleware.Endpoint[Req, Resp] {
			if next == nil {
				return failingEndpoint[Req, Resp]()
			}
			return next
		}
	}
	var failed func(Resp) error
	if !opts.IgnoreBusinessErrors {
		failed = middleware.FailedFunc[Resp]()
	}
	return func(next middleware.Endpoint[Req, Resp]) middleware.Endpoint[Req, Resp] {
		if next == nil {
			return failingEndpoint[Req, Resp]()
		}
		return func(ctx context.Context, req Req) (Resp, error) {
			begin := time.Now()
			returned := false
			defer func() {
				if returned {
					return
				}
				r := recover()
				if r == nil { // runtime.Goexit: not a panic
					return
				}
				logCall(ctx, logger, slog.LevelError, operation, time.Since(begin).Seconds(), &middleware.PanicError{Value: r})
				panic(r)
			}()
			resp, err := next(ctx, req)
			returned = true
			dur := time.Since(begin).Seconds()

			level, lerr := slog.LevelInfo, err
			if err != nil {
				level = slog.LevelError
			} else if failed != nil {
				if lerr = failed(resp); lerr != nil {
					level = slog.LevelWarn
				}
			}
			logCall(ctx, logger, level, operation, dur, lerr)
			return resp, err
		}
	}
}

// logCall logs the record of one call. It builds the record itself,
// with no source position, instead of calling logger.LogAttrs, which
// walks the stack (runtime.Callers) for every record: the position it
// finds is this function's, the same on every record, and the walk was
// a tenth of what logging a call cost under load. With
// Options.AddSource, the records carry an empty source.
func logCall(ctx context.Context, logger *slog.Logger, level slog.Level, operation string, dur float64, err error) {
	if !logger.Enabled(ctx, level) {
		return
	}
	r := slog.NewRecord(time.Now(), level, EndpointMessage, 0)
	if err == nil {
		r.AddAttrs(
			slog.String(middleware.LogOperationKey, operation),
			slog.Float64(middleware.LogDurationKey, dur))
	} else {
		r.AddAttrs(
			slog.String(middleware.LogOperationKey, operation),
			slog.Float64(middleware.LogDurationKey, dur),
			slog.Any(middleware.LogErrorKey, err))
	}
	_ = logger.Handler().Handle(ctx, r) // as Logger.LogAttrs, which drops the error
}

// errNilEndpoint is the error of the endpoint that EndpointMiddleware's
// middleware returns for a nil one, instead of a panic in the call.
var errNilEndpoint = fmt.Errorf("logging: %w: nil endpoint", metrics.ErrInvalidOption)

func failingEndpoint[Req, Resp any]() middleware.Endpoint[Req, Resp] {
	return func(context.Context, Req) (Resp, error) {
		var zero Resp
		return zero, errNilEndpoint
	}
}
