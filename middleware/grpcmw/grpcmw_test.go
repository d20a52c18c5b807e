package grpcmw_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	otelcodes "go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	testgrpc "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/status"

	"github.com/obskit/obskit/logging"
	"github.com/obskit/obskit/metrics"
	"github.com/obskit/obskit/middleware"
	"github.com/obskit/obskit/middleware/grpcmw"
)

const (
	unaryMethod  = "grpc.testing.TestService/UnaryCall"
	duplexMethod = "grpc.testing.TestService/FullDuplexCall"
	outMethod    = "grpc.testing.TestService/StreamingOutputCall"
	serverDur    = "rpc.server.call.duration"
	clientDur    = "rpc.client.call.duration"
)

func body(s string) *testgrpc.Payload { return &testgrpc.Payload{Body: []byte(s)} }

// serverCount returns how many calls the server's duration histogram
// holds for method and status, with error.type errType.
func (e *env) serverCount(method, code, errType string) int {
	return len(e.metrics.Histogram(serverDur, grpcmw.SystemKey, "grpc", grpcmw.MethodKey, method,
		grpcmw.StatusCodeKey, code, grpcmw.ErrorTypeKey, errType).Values)
}

func (e *env) clientCount(method, code, errType string) int {
	host, port, _ := strings.Cut(e.addr, ":")
	return len(e.metrics.Histogram(clientDur, grpcmw.SystemKey, "grpc", grpcmw.MethodKey, method,
		grpcmw.StatusCodeKey, code, grpcmw.ErrorTypeKey, errType,
		grpcmw.ServerAddrKey, host, grpcmw.ServerPortKey, port).Values)
}

func TestUnary(t *testing.T) {
	e := newEnv(t)
	resp, err := e.client.UnaryCall(context.Background(), &testgrpc.SimpleRequest{Payload: body("hi")})
	if err != nil || string(resp.GetPayload().GetBody()) != "hi" {
		t.Fatalf("UnaryCall = %v, %v", resp, err)
	}
	spans := e.awaitSpans(t, 2)
	if got := e.serverCount(unaryMethod, "OK", ""); got != 1 {
		t.Errorf("server duration count = %d, want 1", got)
	}
	if got := e.clientCount(unaryMethod, "OK", ""); got != 1 {
		t.Errorf("client duration count = %d, want 1", got)
	}
	if d := e.metrics.Desc(serverDur); d == nil || d.Unit != metrics.UnitSeconds {
		t.Errorf("server duration desc = %+v, want unit seconds", d)
	}

	var client, server trace.SpanKind
	byKind := map[trace.SpanKind]int{}
	for i, s := range spans {
		byKind[s.SpanKind()] = i
		if s.Name() != unaryMethod {
			t.Errorf("span name %q, want %q", s.Name(), unaryMethod)
		}
		for k, want := range map[string]string{grpcmw.SystemKey: "grpc", grpcmw.MethodKey: unaryMethod, grpcmw.StatusCodeKey: "OK"} {
			if got, _ := attr(s, k); got != want {
				t.Errorf("%v span: %s = %q, want %q", s.SpanKind(), k, got, want)
			}
		}
		if _, ok := attr(s, grpcmw.ErrorTypeKey); ok {
			t.Errorf("%v span of a successful call has %s", s.SpanKind(), grpcmw.ErrorTypeKey)
		}
		if s.Status().Code != otelcodes.Unset {
			t.Errorf("%v span status %v, want unset", s.SpanKind(), s.Status())
		}
	}
	client, server = trace.SpanKindClient, trace.SpanKindServer
	ci, ok1 := byKind[client]
	si, ok2 := byKind[server]
	if !ok1 || !ok2 {
		t.Fatalf("span kinds %v, want a client and a server span", byKind)
	}
	cs, ss := spans[ci], spans[si]
	if ss.Parent().SpanID() != cs.SpanContext().SpanID() || ss.SpanContext().TraceID() != cs.SpanContext().TraceID() {
		t.Errorf("server span's parent %v, want the client span %v (trace context not carried in metadata)", ss.Parent(), cs.SpanContext())
	}
	if !ss.Parent().IsRemote() {
		t.Error("server span's parent is not remote")
	}
	host, port, _ := strings.Cut(e.addr, ":")
	if got, _ := attr(cs, grpcmw.ServerAddrKey); got != host {
		t.Errorf("client span server.address = %q, want %q", got, host)
	}
	if got, _ := attr(cs, grpcmw.ServerPortKey); got != port {
		t.Errorf("client span server.port = %q, want %q", got, port)
	}
	if got, _ := attr(ss, grpcmw.PeerAddrKey); got != "127.0.0.1" {
		t.Errorf("server span network.peer.address = %q, want 127.0.0.1", got)
	}

	// One log line per call on each side, with the span's IDs.
	for side, buf := range map[string]*syncBuffer{"server": e.srvLog, "client": e.cliLog} {
		recs := buf.records(t)
		if len(recs) != 1 {
			t.Fatalf("%s: %d log records, want 1", side, len(recs))
		}
		r := recs[0]
		if r["msg"] != grpcmw.CallMessage || r["level"] != "INFO" || r[middleware.LogOperationKey] != unaryMethod ||
			r[grpcmw.StatusCodeKey] != "OK" || r[logging.TraceIDKey] != cs.SpanContext().TraceID().String() {
			t.Errorf("%s log record %v", side, r)
		}
		if d, ok := r[middleware.LogDurationKey].(float64); !ok || d <= 0 || d > 5 {
			t.Errorf("%s log duration %v", side, r[middleware.LogDurationKey])
		}
	}
}

func TestStatusCodes(t *testing.T) {
	e := newEnv(t)
	for i, tc := range []struct {
		code       codes.Code
		name       string
		serverFail bool
	}{
		{codes.NotFound, "NOT_FOUND", false},
		{codes.InvalidArgument, "INVALID_ARGUMENT", false},
		{codes.Unavailable, "UNAVAILABLE", true},
		{codes.Internal, "INTERNAL", true},
	} {
		_, err := e.client.UnaryCall(context.Background(), &testgrpc.SimpleRequest{
			ResponseStatus: &testgrpc.EchoStatus{Code: int32(tc.code), Message: "msg " + tc.name}})
		if status.Code(err) != tc.code {
			t.Fatalf("call %d: %v, want %v", i, err, tc.code)
		}
		e.awaitSpans(t, 2*(i+1))
		srvErr, srvLevel := "", "WARN"
		if tc.serverFail {
			srvErr, srvLevel = tc.name, "ERROR"
		}
		if got := e.serverCount(unaryMethod, tc.name, srvErr); got != 1 {
			t.Errorf("%s: server duration count with error.type %q = %d, want 1", tc.name, srvErr, got)
		}
		if got := e.clientCount(unaryMethod, tc.name, tc.name); got != 1 {
			t.Errorf("%s: client duration count = %d, want 1", tc.name, got)
		}
		for _, s := range e.spans.Ended()[2*i:] {
			wantErr := s.SpanKind() == trace.SpanKindClient || tc.serverFail
			got, _ := attr(s, grpcmw.StatusCodeKey)
			et, hasET := attr(s, grpcmw.ErrorTypeKey)
			if got != tc.name || hasET != wantErr || (wantErr && et != tc.name) {
				t.Errorf("%s %v span: status_code %q, error.type %q (%v)", tc.name, s.SpanKind(), got, et, hasET)
			}
			if wantErr && (s.Status().Code != otelcodes.Error || s.Status().Description != "msg "+tc.name) {
				t.Errorf("%s %v span status %v, want Error %q", tc.name, s.SpanKind(), s.Status(), "msg "+tc.name)
			}
			if !wantErr && s.Status().Code != otelcodes.Unset {
				t.Errorf("%s %v span status %v, want unset (the client's fault)", tc.name, s.SpanKind(), s.Status())
			}
		}
		recs := e.srvLog.records(t)
		if r := recs[len(recs)-1]; r["level"] != srvLevel || r[middleware.LogErrorKey] == nil {
			t.Errorf("%s: server log %v, want level %s with the error", tc.name, r, srvLevel)
		}
		recs = e.cliLog.records(t)
		if r := recs[len(recs)-1]; r["level"] != "ERROR" {
			t.Errorf("%s: client log %v, want level ERROR", tc.name, r)
		}
	}
}

func TestPanic(t *testing.T) {
	e := newEnv(t)
	_, err := e.client.UnaryCall(context.Background(), &testgrpc.SimpleRequest{Payload: body("panic")})
	if st := status.Convert(err); st.Code() != codes.Internal || st.Message() != "internal error" {
		t.Fatalf("panicking call = %v, want INTERNAL \"internal error\"", err)
	}
	e.awaitSpans(t, 2)
	// The server keeps serving.
	if _, err := e.client.UnaryCall(context.Background(), &testgrpc.SimpleRequest{Payload: body("ok")}); err != nil {
		t.Fatalf("call after the panic: %v", err)
	}
	if got := e.metrics.Counter("rpc.server.panics", grpcmw.MethodKey, unaryMethod, grpcmw.ErrorTypeKey, "string"); got != 1 {
		t.Errorf("rpc.server.panics = %v, want 1", got)
	}
	if got := e.serverCount(unaryMethod, "INTERNAL", "INTERNAL"); got != 1 {
		t.Errorf("server duration INTERNAL = %d, want 1", got)
	}
	var server = e.spans.Ended()[0]
	if server.SpanKind() != trace.SpanKindServer {
		server = e.spans.Ended()[1]
	}
	if server.Status().Code != otelcodes.Error {
		t.Errorf("server span status %v, want Error", server.Status())
	}
	var exc bool
	for _, ev := range server.Events() {
		if ev.Name == "exception" {
			for _, kv := range ev.Attributes {
				if kv.Key == "exception.stacktrace" && strings.Contains(kv.Value.AsString(), "UnaryCall") {
					exc = true
				}
			}
		}
	}
	if !exc {
		t.Errorf("server span events %v, want an exception with the handler's stack", server.Events())
	}
	var logged bool
	for _, r := range e.srvLog.records(t) {
		if r["msg"] == grpcmw.PanicMessage && r["panic"] == "boom" && strings.Contains(r["stack"].(string), "UnaryCall") {
			logged = true
		}
	}
	if !logged {
		t.Errorf("no panic record with value and stack in %v", e.srvLog.records(t))
	}
}

func TestStreamPanic(t *testing.T) {
	e := newEnv(t)
	st, err := e.client.FullDuplexCall(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Send(&testgrpc.StreamingOutputCallRequest{Payload: body("panic")}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Recv(); status.Code(err) != codes.Internal {
		t.Fatalf("Recv = %v, want INTERNAL", err)
	}
	e.awaitSpans(t, 2)
	if got := e.metrics.Counter("rpc.server.panics", grpcmw.MethodKey, duplexMethod, grpcmw.ErrorTypeKey, "*errors.errorString"); got != 1 {
		t.Errorf("rpc.server.panics = %v, want 1", got)
	}
}

func TestDeadline(t *testing.T) {
	e := newEnv(t)
	// Long enough for the call to reach the handler on a loaded machine:
	// a deadline that expires before the server sees the call records on
	// the client only.
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_, err := e.client.UnaryCall(ctx, &testgrpc.SimpleRequest{Payload: body("wait")})
	if status.Code(err) != codes.DeadlineExceeded {
		t.Fatalf("call = %v, want DEADLINE_EXCEEDED", err)
	}
	e.awaitSpans(t, 2)
	if got := e.clientCount(unaryMethod, "DEADLINE_EXCEEDED", "DEADLINE_EXCEEDED"); got != 1 {
		t.Errorf("client DEADLINE_EXCEEDED count = %d, want 1", got)
	}
	// The server records DEADLINE_EXCEEDED when its own deadline has
	// passed, CANCELLED when the client's cancellation at its deadline
	// reached the handler first.
	dl, cn := e.serverCount(unaryMethod, "DEADLINE_EXCEEDED", "DEADLINE_EXCEEDED"), e.serverCount(unaryMethod, "CANCELLED", "")
	if dl+cn != 1 {
		t.Errorf("server DEADLINE_EXCEEDED count %d, CANCELLED %d, want one call", dl, cn)
	}
}

func TestCancel(t *testing.T) {
	e := newEnv(t)
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-e.srv.started
		cancel()
	}()
	_, err := e.client.UnaryCall(ctx, &testgrpc.SimpleRequest{Payload: body("wait")})
	if status.Code(err) != codes.Canceled {
		t.Fatalf("call = %v, want CANCELLED", err)
	}
	e.awaitSpans(t, 2)
	if got := e.clientCount(unaryMethod, "CANCELLED", "CANCELLED"); got != 1 {
		t.Errorf("client CANCELLED count = %d, want 1", got)
	}
	// Cancelled by the client: not the server's fault.
	if got := e.serverCount(unaryMethod, "CANCELLED", ""); got != 1 {
		t.Errorf("server CANCELLED count = %d, want 1", got)
	}
}

func TestUnknownMethods(t *testing.T) {
	e := newEnv(t)
	methods := []string{
		"/grpc.testing.TestService/NoSuchMethod",
		"/evil.Service/" + strings.Repeat("x", 5000),
		"/grpc.testing.TestService/UnimplementedCall", // described, not implemented: a known method
	}
	for _, m := range methods {
		err := e.cc.Invoke(context.Background(), m, &testgrpc.Empty{}, &testgrpc.Empty{})
		if status.Code(err) != codes.Unimplemented {
			t.Fatalf("%s: %v, want UNIMPLEMENTED", m, err)
		}
	}
	e.awaitSpans(t, 2*len(methods))
	if got := e.serverCount(grpcmw.OtherMethod, "UNIMPLEMENTED", "UNIMPLEMENTED"); got != 2 {
		t.Errorf("server _OTHER count = %d, want 2", got)
	}
	if got := e.clientCount(grpcmw.OtherMethod, "UNIMPLEMENTED", "UNIMPLEMENTED"); got != 2 {
		t.Errorf("client _OTHER count = %d, want 2", got)
	}
	if got := e.serverCount("grpc.testing.TestService/UnimplementedCall", "UNIMPLEMENTED", "UNIMPLEMENTED"); got != 1 {
		t.Errorf("server UnimplementedCall count = %d, want 1", got)
	}
	for _, s := range e.metrics.Series(serverDur) {
		if v, _ := s.Label(grpcmw.MethodKey); strings.Contains(v, "NoSuch") || strings.Contains(v, "evil") {
			t.Errorf("a series for an unknown method: %v", s.Labels)
		}
	}
	for _, s := range e.spansNamed("grpc") {
		orig, _ := attr(s, grpcmw.MethodOriginalKey)
		if m, _ := attr(s, grpcmw.MethodKey); m != grpcmw.OtherMethod || orig == "" || len(orig) > middleware.MaxAttributeLen {
			t.Errorf("%v span of an unknown method: rpc.method %q, original %q (%d bytes)", s.SpanKind(), m, orig, len(orig))
		}
	}
	if n := len(e.spansNamed("grpc")); n != 4 {
		t.Errorf("%d spans named grpc, want 4", n)
	}
}

func TestBidiStream(t *testing.T) {
	e := newEnv(t)
	st, err := e.client.FullDuplexCall(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	two := []*testgrpc.ResponseParameters{{}, {}}
	for range 3 {
		if err := st.Send(&testgrpc.StreamingOutputCallRequest{ResponseParameters: two}); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.CloseSend(); err != nil {
		t.Fatal(err)
	}
	n := 0
	for {
		_, err := st.Recv()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	if n != 6 {
		t.Fatalf("%d responses, want 6", n)
	}
	spans := e.awaitSpans(t, 2)
	for _, side := range []string{"rpc.server", "rpc.client"} {
		req := e.metrics.Histogram(side+".requests_per_rpc", grpcmw.SystemKey, "grpc", grpcmw.MethodKey, duplexMethod).Values
		resp := e.metrics.Histogram(side+".responses_per_rpc", grpcmw.SystemKey, "grpc", grpcmw.MethodKey, duplexMethod).Values
		if len(req) != 1 || req[0] != 3 || len(resp) != 1 || resp[0] != 6 {
			t.Errorf("%s messages per call: requests %v, responses %v, want [3] and [6]", side, req, resp)
		}
	}
	for _, s := range spans {
		var sent, recv []int64
		for _, ev := range s.Events() {
			if ev.Name != grpcmw.MessageEvent {
				continue
			}
			var typ string
			var id int64
			for _, kv := range ev.Attributes {
				switch kv.Key {
				case grpcmw.MessageTypeKey:
					typ = kv.Value.AsString()
				case grpcmw.MessageIDKey:
					id = kv.Value.AsInt64()
				}
			}
			if typ == "SENT" {
				sent = append(sent, id)
			} else {
				recv = append(recv, id)
			}
		}
		wantSent, wantRecv := 3, 6
		if s.SpanKind() == trace.SpanKindServer {
			wantSent, wantRecv = 6, 3
		}
		if len(sent) != wantSent || len(recv) != wantRecv || sent[len(sent)-1] != int64(wantSent) || recv[len(recv)-1] != int64(wantRecv) {
			t.Errorf("%v span message events: sent %v, received %v", s.SpanKind(), sent, recv)
		}
	}
	// A unary call records no messages per call.
	if _, err := e.client.UnaryCall(context.Background(), &testgrpc.SimpleRequest{}); err != nil {
		t.Fatal(err)
	}
	e.awaitSpans(t, 4)
	if s := e.metrics.Histogram("rpc.server.requests_per_rpc", grpcmw.SystemKey, "grpc", grpcmw.MethodKey, unaryMethod); len(s.Values) != 0 {
		t.Errorf("unary call recorded messages per call: %v", s.Values)
	}
}

// A client that abandons a stream by cancelling its context still ends
// the call: its span ends and its duration is recorded as CANCELLED.
func TestStreamAbandoned(t *testing.T) {
	e := newEnv(t)
	ctx, cancel := context.WithCancel(context.Background())
	params := []*testgrpc.ResponseParameters{{}, {IntervalUs: 10_000_000}}
	st, err := e.client.StreamingOutputCall(ctx, &testgrpc.StreamingOutputCallRequest{ResponseParameters: params})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Recv(); err != nil {
		t.Fatal(err)
	}
	cancel() // never reading to the end
	e.awaitSpans(t, 2)
	if got := e.clientCount(outMethod, "CANCELLED", "CANCELLED"); got != 1 {
		t.Errorf("client CANCELLED count = %d, want 1", got)
	}
	if got := e.serverCount(outMethod, "CANCELLED", ""); got != 1 {
		t.Errorf("server CANCELLED count = %d, want 1", got)
	}
	req := e.metrics.Histogram("rpc.client.responses_per_rpc", grpcmw.SystemKey, "grpc", grpcmw.MethodKey, outMethod).Values
	if len(req) != 1 || req[0] != 1 {
		t.Errorf("client responses per call %v, want [1]", req)
	}
}

// Without Registry, Tracer and Logger the interceptors only pass calls
// through (and still recover panics).
func TestZeroOptions(t *testing.T) {
	prev := slog.Default()
	var buf syncBuffer
	slog.SetDefault(slog.New(slog.NewJSONHandler(&buf, nil)))
	defer slog.SetDefault(prev)
	s, err := grpcmw.NewServer(grpcmw.Options{})
	if err != nil {
		t.Fatal(err)
	}
	c, err := grpcmw.NewClient(grpcmw.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(s.ServerOptions()) == 0 || len(c.DialOptions()) == 0 {
		t.Fatal("no options")
	}
	_, err = s.UnaryInterceptor(context.Background(), nil, &grpc.UnaryServerInfo{FullMethod: "/a.B/C"},
		func(context.Context, any) (any, error) { panic("x") })
	if status.Code(err) != codes.Internal {
		t.Errorf("panic = %v, want INTERNAL", err)
	}
	if recs := buf.records(t); len(recs) != 1 || recs[0]["msg"] != grpcmw.PanicMessage {
		t.Errorf("panic not logged to slog.Default: %v", recs)
	}
}

func TestOptionsErrors(t *testing.T) {
	if _, err := grpcmw.NewClient(grpcmw.Options{Services: []*grpc.ServiceDesc{nil}}); err == nil {
		t.Error("nil service accepted")
	}
	reg := metrics.New(metrics.Discard())
	if _, err := reg.NewCounter(metrics.Opts{Name: "rpc.server.call.duration", Help: "taken"}); err != nil {
		t.Fatal(err)
	}
	if _, err := grpcmw.NewServer(grpcmw.Options{Registry: reg}); !errors.Is(err, metrics.ErrConflict) {
		t.Errorf("NewServer on a conflicting registry: %v, want ErrConflict", err)
	}
}

// Options.Services makes a client recognise methods that the protobuf
// registry does not describe.
func TestClientServices(t *testing.T) {
	b := newEnvWithServices(t, &grpc.ServiceDesc{ServiceName: "hand.Written", Methods: []grpc.MethodDesc{{MethodName: "Do"}}})
	err := b.cc.Invoke(context.Background(), "/hand.Written/Do", &testgrpc.Empty{}, &testgrpc.Empty{})
	if status.Code(err) != codes.Unimplemented {
		t.Fatalf("Invoke = %v", err)
	}
	b.awaitSpans(t, 2)
	if got := b.clientCount("hand.Written/Do", "UNIMPLEMENTED", "UNIMPLEMENTED"); got != 1 {
		t.Errorf("client count for a listed service = %d, want 1", got)
	}
	if got := b.serverCount(grpcmw.OtherMethod, "UNIMPLEMENTED", "UNIMPLEMENTED"); got != 1 {
		t.Errorf("server count = %d, want 1 as _OTHER (not registered there)", got)
	}
}
