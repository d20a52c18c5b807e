// Package logging is obskit's structured logging, built on log/slog: a
// handler that correlates each record with the trace of its context, a
// constructor for a ready-to-use logger, and an endpoint middleware that
// logs every call.
//
// Records logged with a context (Logger.InfoContext, Logger.LogAttrs and
// the like) whose span is valid carry the span's IDs under TraceIDKey
// and SpanIDKey, so that a log line leads to its trace and back.
//
// New and EndpointMiddleware take an Options struct whose zero value is
// valid, the convention of every obskit package (see the middleware
// package); the keys of the records about a call are the middleware
// package's LogOperationKey, LogDurationKey and LogErrorKey.
package logging

import (
	"context"
	"log/slog"
	"slices"

	"go.opentelemetry.io/otel/trace"
)

// Keys of the attributes that TraceHandler adds. Their values are the
// lower-case hex IDs that W3C traceparent headers, Jaeger and the
// OpenTelemetry exporters use.
const (
	TraceIDKey = "trace_id"
	SpanIDKey  = "span_id"
)

// TraceHandler is a slog.Handler that adds the trace and span IDs of the
// span in a record's context, when that span context is valid, and passes
// the record on to the handler it wraps.
//
// The IDs are always top-level attributes, even in a logger on which
// WithGroup opened groups: a log query finds them under the same key
// whatever group the rest of the record is in. For records logged in a
// group, that means rebuilding the group chain per record, which costs
// allocations that ungrouped loggers do not pay.
type TraceHandler struct {
	inner slog.Handler // the wrapped handler, every WithAttrs and WithGroup applied
	// base is the wrapped handler as it was before the first WithGroup,
	// and ops what was applied to it since; nil when no group is open.
	base slog.Handler
	ops  []handlerOp
}

// handlerOp is one WithGroup (group != "") or WithAttrs call.
type handlerOp struct {
	group string
	attrs []slog.Attr
}

// NewTraceHandler returns a TraceHandler that wraps h. A nil h discards
// every record.
func NewTraceHandler(h slog.Handler) *TraceHandler {
	if h == nil {
		h = slog.DiscardHandler
	}
	return &TraceHandler{inner: h}
}

// Enabled reports whether the wrapped handler handles records at level.
func (h *TraceHandler) Enabled(ctx context.Context, level slog.Level) bool {
	return h.inner.Enabled(ctx, level)
}

// Handle adds the IDs of the span in ctx to r, when its span context is
// valid, and passes r to the wrapped handler.
func (h *TraceHandler) Handle(ctx context.Context, r slog.Record) error {
	sc := trace.SpanContextFromContext(ctx)
	if !sc.IsValid() {
		return h.inner.Handle(ctx, r)
	}
	ids := [2]slog.Attr{
		slog.String(TraceIDKey, sc.TraceID().String()),
		slog.String(SpanIDKey, sc.SpanID().String()),
	}
	if h.base == nil {
		// r shares its attributes with the caller's copy; Clone makes
		// adding to it safe without copying anything now.
		r = r.Clone()
		r.AddAttrs(ids[:]...)
		return h.inner.Handle(ctx, r)
	}
	// A group is open: everything in r would land in it. Put the IDs
	// in front of the group instead, and reopen the group after them.
	inner := h.base.WithAttrs(ids[:])
	for _, op := range h.ops {
		if op.group != "" {
			inner = inner.WithGroup(op.group)
		} else {
			inner = inner.WithAttrs(op.attrs)
		}
	}
	return inner.Handle(ctx, r)
}

// WithAttrs returns a TraceHandler whose wrapped handler has attrs.
func (h *TraceHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	if len(attrs) == 0 {
		return h
	}
	h2 := &TraceHandler{inner: h.inner.WithAttrs(attrs), base: h.base}
	if h.base != nil {
		h2.ops = append(slices.Clip(h.ops), handlerOp{attrs: slices.Clone(attrs)})
	}
	return h2
}

// WithGroup returns a TraceHandler whose wrapped handler has the group
// name open. The trace IDs stay outside it, at the top level.
func (h *TraceHandler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	h2 := &TraceHandler{inner: h.inner.WithGroup(name), base: h.base}
	if h2.base == nil {
		h2.base = h.inner
	}
	h2.ops = append(slices.Clip(h.ops), handlerOp{group: name})
	return h2
}
