package grpcmw

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
	grpccodes "google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/obskit/obskit/internal/calllog"
	"github.com/obskit/obskit/metrics"
)

// side is what a Server or a Client shares between its calls.
type side struct {
	client    bool
	tracer    trace.Tracer
	logger    *slog.Logger
	duration  *metrics.HistogramMetric // nil without a Registry
	requests  *metrics.HistogramMetric
	responses *metrics.HistogramMetric
	labels    []string // the duration's labels after the first four
}

// messageBuckets are the bounds of the messages-per-call histograms.
var messageBuckets = []float64{1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096, 16384}

// declare declares the side's instruments on reg, prefixed "rpc.server"
// or "rpc.client".
func (s *side) declare(reg *metrics.Registry, prefix string, extra ...string) error {
	if reg == nil {
		return nil
	}
	dir := "incoming"
	if s.client {
		dir = "outgoing"
	}
	var err error
	s.duration, err = reg.NewHistogram(metrics.Opts{
		Name:   prefix + ".call.duration",
		Help:   "Duration of " + dir + " gRPC calls.",
		Unit:   metrics.UnitSeconds,
		Labels: append([]string{SystemKey, MethodKey, StatusCodeKey, ErrorTypeKey}, extra...),
	})
	if err != nil {
		return err
	}
	s.labels = extra
	s.requests, err = reg.NewHistogram(metrics.Opts{
		Name:    prefix + ".requests_per_rpc",
		Help:    "Request messages per " + dir + " streaming gRPC call.",
		Unit:    "{message}",
		Labels:  []string{SystemKey, MethodKey},
		Buckets: messageBuckets,
	})
	if err != nil {
		return err
	}
	s.responses, err = reg.NewHistogram(metrics.Opts{
		Name:    prefix + ".responses_per_rpc",
		Help:    "Response messages per " + dir + " streaming gRPC call.",
		Unit:    "{message}",
		Labels:  []string{SystemKey, MethodKey},
		Buckets: messageBuckets,
	})
	return err
}

// method is what a side records for one method (on a client, one method
// of one target): its names, span options, and its metric children, bound
// on first use.
type method struct {
	name     string // rpc.method
	spanName string
	stream   bool
	start    []trace.SpanStartOption
	extra    []string // the values of side.labels

	// durations holds one child per status code, bound when first
	// recorded: binding makes a series exist, and an unused code is not
	// worth a series of zeros.
	durations           [numCodes + 1]atomic.Pointer[metrics.HistogramMetric]
	requests, responses *metrics.HistogramMetric
}

func (s *side) newMethod(name string, stream bool, attrs []attribute.KeyValue, extra []string) *method {
	m := &method{name: name, spanName: name, stream: stream, extra: extra}
	if name == OtherMethod {
		m.spanName = System
	}
	kind := trace.SpanKindServer
	if s.client {
		kind = trace.SpanKindClient
	}
	all := make([]attribute.KeyValue, 0, len(attrs)+2)
	all = append(all, attribute.String(SystemKey, System), attribute.String(MethodKey, name))
	all = append(all, attrs...)
	m.start = []trace.SpanStartOption{trace.WithSpanKind(kind), trace.WithAttributes(all...)}
	if stream && s.requests != nil {
		m.requests = s.requests.Bind(SystemKey, System, MethodKey, name)
		m.responses = s.responses.Bind(SystemKey, System, MethodKey, name)
	}
	return m
}

// durationFor returns the duration child for the code at index i.
func (s *side) durationFor(m *method, i int) *metrics.HistogramMetric {
	if h := m.durations[i].Load(); h != nil {
		return h
	}
	errType := ""
	if s.failed(i) {
		errType = codeName(i)
	}
	kv := make([]string, 0, 8+2*len(s.labels))
	kv = append(kv, SystemKey, System, MethodKey, m.name, StatusCodeKey, codeName(i), ErrorTypeKey, errType)
	for j, l := range s.labels {
		kv = append(kv, l, m.extra[j])
	}
	// Two calls may bind at once; the registry returns the same child.
	h := s.duration.Bind(kv...)
	m.durations[i].Store(h)
	return h
}

// failed reports whether a call that ended with the code at index i
// failed, on this side.
func (s *side) failed(i int) bool {
	if i == int(grpccodes.OK) {
		return false
	}
	return s.client || i == numCodes || serverFault(grpccodes.Code(i))
}

// statusOf returns the status a call that returned err ends with, as gRPC
// converts it: a status error keeps its status, a context error becomes
// CANCELLED or DEADLINE_EXCEEDED, anything else UNKNOWN.
func statusOf(err error) *status.Status {
	if err == nil {
		return nil
	}
	if st, ok := status.FromError(err); ok {
		return st
	}
	return status.FromContextError(err)
}

// end records a call that began at begin and ended with err: its
// duration, message counts (of a streaming call; -1 for a unary one), log
// record and span, ended last so that a test that sees it ended sees the
// rest.
func (s *side) end(ctx context.Context, m *method, span trace.Span, begin time.Time, err error, requests, responses int64, attrs ...attribute.KeyValue) {
	dur := time.Since(begin).Seconds()
	st := statusOf(err)
	ci := codeIndex(st.Code())
	failed := s.failed(ci)
	if s.duration != nil {
		s.durationFor(m, ci).ObserveContext(ctx, dur)
		if m.requests != nil && requests >= 0 {
			m.requests.ObserveContext(ctx, float64(requests))
			m.responses.ObserveContext(ctx, float64(responses))
		}
	}
	if s.logger != nil {
		level := slog.LevelInfo
		switch {
		case failed:
			level = slog.LevelError
		case ci != int(grpccodes.OK):
			level = slog.LevelWarn
		}
		calllog.Log(ctx, s.logger, level, CallMessage, m.name, dur, err, slog.String(StatusCodeKey, codeName(ci)))
	}
	if span != nil {
		if span.IsRecording() {
			var buf [4]attribute.KeyValue
			all := append(buf[:0], attribute.String(StatusCodeKey, codeName(ci)))
			if failed {
				all = append(all, attribute.String(ErrorTypeKey, codeName(ci)))
				span.SetStatus(codes.Error, truncate(st.Message()))
			}
			span.SetAttributes(append(all, attrs...)...)
		}
		span.End()
	}
}

// messages counts the messages of a streaming call, on either side, and
// adds an event for each to the call's span while it records.
type messages struct {
	span           trace.Span // nil unless recording: no message events
	sent, received atomic.Int64
}

func newMessages(span trace.Span) messages {
	if span == nil || !span.IsRecording() {
		span = nil
	}
	return messages{span: span}
}

// add counts a message sent or received, unless err says it was not.
func (m *messages) add(sent bool, err error) {
	if err != nil {
		return
	}
	n, typ := &m.received, "RECEIVED"
	if sent {
		n, typ = &m.sent, "SENT"
	}
	id := n.Add(1)
	if m.span != nil {
		m.span.AddEvent(MessageEvent, trace.WithAttributes(
			attribute.String(MessageTypeKey, typ),
			attribute.Int64(MessageIDKey, id)))
	}
}

// errNilService is returned for Options.Services holding nil.
var errNilService = errors.New("nil *grpc.ServiceDesc in Options.Services")

func wrapErr(what string, err error) error {
	return fmt.Errorf("middleware/grpcmw: %s: %w", what, err)
}
