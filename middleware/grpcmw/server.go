package grpcmw

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"runtime/debug"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"

	"github.com/obskit/obskit/internal/cowmap"
	"github.com/obskit/obskit/metrics"
	"github.com/obskit/obskit/middleware"
)

// Server instruments a grpc.Server through its interceptors; see the
// package documentation for what it records. It is safe for concurrent
// use, and one Server may serve several grpc.Servers.
type Server struct {
	side
	prop     propagation.TextMapPropagator
	panicLog *slog.Logger
	panics   *metrics.CounterMetric
	methods  cowmap.Map[string, *method]
	other    *method // every unrecognised method
}

// NewServer returns a Server that records into opts.Registry, opts.Tracer
// and opts.Logger. It returns an error when the instruments cannot be
// declared on the Registry.
func NewServer(opts Options) (*Server, error) {
	s := &Server{
		side:     side{tracer: opts.Tracer, logger: opts.Logger},
		prop:     opts.propagator(),
		panicLog: opts.Logger,
	}
	if s.panicLog == nil {
		s.panicLog = slog.Default()
	}
	if err := s.declare(opts.Registry, "rpc.server"); err != nil {
		return nil, wrapErr("server", err)
	}
	if reg := opts.Registry; reg != nil {
		var err error
		s.panics, err = reg.NewCounter(metrics.Opts{
			Name:   "rpc.server.panics",
			Help:   "Panics recovered from gRPC handlers.",
			Unit:   "{panic}",
			Labels: []string{MethodKey, ErrorTypeKey},
		})
		if err != nil {
			return nil, wrapErr("server", err)
		}
	}
	s.other = s.newMethod(OtherMethod, true, nil, nil)
	return s, nil
}

// ServerOptions returns the options that install s in a grpc.Server: its
// unary and stream interceptors, outermost in the chain (pass further
// interceptors after these, with grpc.ChainUnaryInterceptor and
// grpc.ChainStreamInterceptor), and s.UnknownServiceHandler, so that
// calls of unknown methods are recorded too.
func (s *Server) ServerOptions() []grpc.ServerOption {
	return []grpc.ServerOption{
		grpc.ChainUnaryInterceptor(s.UnaryInterceptor),
		grpc.ChainStreamInterceptor(s.StreamInterceptor),
		grpc.UnknownServiceHandler(s.UnknownServiceHandler),
	}
}

// UnknownServiceHandler answers a call of a method that no registered
// service has as gRPC does without one: with codes.Unimplemented. Being
// a handler, unlike gRPC's own answer, it runs inside the stream
// interceptor, which records the call as OtherMethod.
func (s *Server) UnknownServiceHandler(_ any, ss grpc.ServerStream) error {
	m, _ := grpc.MethodFromServerStream(ss)
	return status.Errorf(codes.Unimplemented, "unknown method %s", m)
}

// UnaryInterceptor observes a unary call and recovers a panic in it.
func (s *Server) UnaryInterceptor(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (resp any, err error) {
	// Only registered methods reach a unary interceptor.
	m := s.method(info.FullMethod, false)
	begin := time.Now()
	ctx, span := s.start(ctx, m, info.FullMethod)
	defer func() {
		if r := recover(); r != nil {
			resp, err = nil, s.recovered(ctx, m, span, r)
		}
		pa, n := peerAttrs(ctx, span)
		s.end(ctx, m, span, begin, recorded(ctx, err), -1, -1, pa[:n]...)
	}()
	return handler(ctx, req)
}

// StreamInterceptor observes a streaming call and recovers a panic in
// it. It is also the interceptor of the unknown-service handler, which
// gRPC calls with a nil service: those calls record as OtherMethod.
func (s *Server) StreamInterceptor(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) (err error) {
	m := s.other
	if srv != nil {
		m = s.method(info.FullMethod, true)
	}
	begin := time.Now()
	ctx, span := s.start(ss.Context(), m, info.FullMethod)
	w := &serverStream{ServerStream: ss, ctx: ctx, msgs: newMessages(span)}
	defer func() {
		if r := recover(); r != nil {
			err = s.recovered(ctx, m, span, r)
		}
		pa, n := peerAttrs(ctx, span)
		s.end(ctx, m, span, begin, recorded(ctx, err), w.msgs.received.Load(), w.msgs.sent.Load(), pa[:n]...)
	}()
	return handler(srv, w)
}

// recorded returns the error to record for a server call that returned
// err. When the call's deadline has passed, a cancellation is recorded as
// DEADLINE_EXCEEDED: the client cancels a call whose deadline expired,
// and whether its cancellation or the server's own timer ends the
// handler's context first is a race, which should not decide the status.
func recorded(ctx context.Context, err error) error {
	if err == nil || (status.Code(err) != codes.Canceled && !errors.Is(err, context.Canceled)) {
		return err
	}
	if d, ok := ctx.Deadline(); ok && !time.Now().Before(d) {
		return status.Error(codes.DeadlineExceeded, err.Error())
	}
	return err
}

// method returns the method named full, which a registered service has.
func (s *Server) method(full string, stream bool) *method {
	if m, ok := s.methods.Load(full); ok {
		return m
	}
	return s.methods.LoadOrStore(full, func() *method {
		return s.newMethod(strings.TrimPrefix(full, "/"), stream, nil, nil)
	})
}

// start extracts the caller's trace context and starts the call's span.
func (s *Server) start(ctx context.Context, m *method, full string) (context.Context, trace.Span) {
	if s.tracer == nil {
		return ctx, nil
	}
	ctx = s.prop.Extract(ctx, incomingCarrier{ctx})
	ctx, span := s.tracer.Start(ctx, m.spanName, m.start...)
	if m == s.other && span.IsRecording() {
		span.SetAttributes(attribute.String(MethodOriginalKey, truncate(full)))
	}
	return ctx, span
}

// peerAttrs returns the network.peer attributes of the call in ctx, set
// on the span when it ends, with its status: one SetAttributes, so that
// the span's attributes grow once.
func peerAttrs(ctx context.Context, span trace.Span) (attrs [2]attribute.KeyValue, n int) {
	if span == nil || !span.IsRecording() {
		return attrs, 0
	}
	if p, ok := peer.FromContext(ctx); ok {
		if a, ok := p.Addr.(*net.TCPAddr); ok {
			attrs[0], attrs[1] = attribute.String(PeerAddrKey, a.IP.String()), attribute.Int(PeerPortKey, a.Port)
			return attrs, 2
		}
	}
	return attrs, 0
}

// recovered handles a panic with value r: it counts, logs and records it
// and returns the status error the call ends with.
func (s *Server) recovered(ctx context.Context, m *method, span trace.Span, r any) error {
	stack := debug.Stack()
	errType := fmt.Sprintf("%T", r)
	if s.panics != nil {
		s.panics.Bind(MethodKey, m.name, ErrorTypeKey, errType).Add(1)
	}
	s.panicLog.LogAttrs(ctx, slog.LevelError, PanicMessage,
		slog.String(MethodKey, m.name),
		slog.Any("panic", r),
		slog.String("stack", string(stack)))
	if span != nil {
		span.RecordError(&middleware.PanicError{Value: r, Stack: stack},
			trace.WithAttributes(attribute.String("exception.stacktrace", string(stack))))
	}
	return status.Error(codes.Internal, "internal error")
}

// serverStream is the ServerStream a streaming handler receives: the call's
// context, holding its span, and counts of the messages.
type serverStream struct {
	grpc.ServerStream
	ctx  context.Context
	msgs messages
}

func (w *serverStream) Context() context.Context { return w.ctx }

func (w *serverStream) SendMsg(m any) error {
	err := w.ServerStream.SendMsg(m)
	w.msgs.add(true, err)
	return err
}

func (w *serverStream) RecvMsg(m any) error {
	err := w.ServerStream.RecvMsg(m)
	w.msgs.add(false, err)
	return err
}

// incomingCarrier reads the incoming metadata of a context without
// copying all of it.
type incomingCarrier struct{ ctx context.Context }

func (c incomingCarrier) Get(key string) string {
	if v := metadata.ValueFromIncomingContext(c.ctx, key); len(v) > 0 {
		return v[0]
	}
	return ""
}

func (incomingCarrier) Set(string, string) {}

func (c incomingCarrier) Keys() []string {
	md, _ := metadata.FromIncomingContext(c.ctx)
	keys := make([]string, 0, len(md))
	for k := range md {
		keys = append(keys, k)
	}
	return keys
}
