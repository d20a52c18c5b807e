package logging

import (
	"context"
	"log/slog"
	"time"

	"github.com/obskit/obskit/middleware"
)

// Keys and message of the records that EndpointMiddleware logs.
const (
	// EndpointMessage is the message of every record.
	EndpointMessage = "endpoint call"
	// OperationKey holds the operation name given to EndpointMiddleware.
	OperationKey = "operation"
	// DurationKey holds how long the call took, in seconds, as a float64.
	DurationKey = "duration"
	// ErrorKey holds the error of a failed call.
	ErrorKey = "error"
)

// EndpointMiddleware returns a middleware that logs one record per call,
// with the operation, the call's duration in seconds and, for a failed
// call, its error. The level tells the outcome:
//
//   - slog.LevelInfo: the endpoint returned a nil error and its response
//     reports no business error;
//   - slog.LevelWarn: the response reports a business error through
//     middleware.Failer (a request the service refused: the caller's
//     problem, not the service's);
//   - slog.LevelError: the endpoint returned an error.
//
// The record is logged with the call's context, so a logger built on
// TraceHandler (see New) adds the IDs of the span in it; put this
// middleware inside the tracing middleware for them to be the
// endpoint's own span. A nil logger logs nothing.
func EndpointMiddleware[Req, Resp any](logger *slog.Logger, operation string) middleware.Middleware[Req, Resp] {
	if logger == nil {
		return func(next middleware.Endpoint[Req, Resp]) middleware.Endpoint[Req, Resp] { return next }
	}
	failed := middleware.FailedFunc[Resp]()
	return func(next middleware.Endpoint[Req, Resp]) middleware.Endpoint[Req, Resp] {
		return func(ctx context.Context, req Req) (Resp, error) {
			begin := time.Now()
			resp, err := next(ctx, req)
			dur := time.Since(begin).Seconds()

			level, lerr := slog.LevelInfo, err
			if err != nil {
				level = slog.LevelError
			} else if failed != nil {
				if lerr = failed(resp); lerr != nil {
					level = slog.LevelWarn
				}
			}
			if lerr == nil {
				logger.LogAttrs(ctx, level, EndpointMessage,
					slog.String(OperationKey, operation),
					slog.Float64(DurationKey, dur))
			} else {
				logger.LogAttrs(ctx, level, EndpointMessage,
					slog.String(OperationKey, operation),
					slog.Float64(DurationKey, dur),
					slog.Any(ErrorKey, lerr))
			}
			return resp, err
		}
	}
}
