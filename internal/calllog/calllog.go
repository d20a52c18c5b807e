// Package calllog logs the one record that obskit's middlewares write
// about a call (middleware's Observer, logging's EndpointMiddleware,
// grpcmw's interceptors), under the keys every such record uses, so
// that the record is built, and kept cheap, in one place.
package calllog

import (
	"context"
	"log/slog"
	"time"
)

// The keys of every record about a call; the middleware package exports
// them as LogOperationKey, LogDurationKey and LogErrorKey.
const (
	OperationKey = "operation"
	DurationKey  = "duration"
	ErrorKey     = "error"
)

// Log logs msg at level about one call of operation that took dur
// seconds: the operation, the duration, extra, and err when it is not
// nil.
//
// It builds the record itself, with no source position, instead of
// calling logger.LogAttrs, which walks the stack (runtime.Callers) for
// every record: the position it finds is the middleware's, the same on
// every record, and the walk was a tenth of what logging a call cost
// under load. With a handler that adds the source, the records carry an
// empty one.
func Log(ctx context.Context, logger *slog.Logger, level slog.Level, msg, operation string, dur float64, err error, extra ...slog.Attr) {
	if !logger.Enabled(ctx, level) {
		return
	}
	r := slog.NewRecord(time.Now(), level, msg, 0)
	r.AddAttrs(slog.String(OperationKey, operation), slog.Float64(DurationKey, dur))
	r.AddAttrs(extra...)
	if err != nil {
		r.AddAttrs(slog.Any(ErrorKey, err))
	}
	_ = logger.Handler().Handle(ctx, r) // as Logger.LogAttrs, which drops the error
}
