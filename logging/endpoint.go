package logging

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/obskit/obskit/internal/calllog"
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
				calllog.Log(ctx, logger, slog.LevelError, EndpointMessage, operation, time.Since(begin).Seconds(), &middleware.PanicError{Value: r})
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
			calllog.Log(ctx, logger, level, EndpointMessage, operation, dur, lerr)
			return resp, err
		}
	}
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
