package grpcmw_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"os"
	"testing"
	"time"

	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	testgrpc "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/status"

	"github.com/obskit/obskit/backends/prometheus"
	"github.com/obskit/obskit/internal/itest"
	"github.com/obskit/obskit/metrics"
	"github.com/obskit/obskit/middleware/grpcmw"
	"github.com/obskit/obskit/tracing"
)

// tracedServer is testServer whose UnaryCall opens a span of its own,
// "work", a child of the server span.
type tracedServer struct {
	testServer
	tracer trace.Tracer
}

func (s *tracedServer) UnaryCall(ctx context.Context, req *testgrpc.SimpleRequest) (*testgrpc.SimpleResponse, error) {
	_, span := s.tracer.Start(ctx, "work")
	defer span.End()
	return s.testServer.UnaryCall(ctx, req)
}

// serve starts an instrumented server and client over loopback TCP and
// returns the client.
func serve(t *testing.T, impl testgrpc.TestServiceServer, opts grpcmw.Options) (testgrpc.TestServiceClient, *grpc.ClientConn) {
	t.Helper()
	sobs, err := grpcmw.NewServer(opts)
	if err != nil {
		t.Fatal(err)
	}
	s := grpc.NewServer(sobs.ServerOptions()...)
	testgrpc.RegisterTestServiceServer(s, impl)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go s.Serve(ln)
	t.Cleanup(s.Stop)
	cobs, err := grpcmw.NewClient(opts)
	if err != nil {
		t.Fatal(err)
	}
	cc, err := grpc.NewClient(ln.Addr().String(), append(cobs.DialOptions(), grpc.WithTransportCredentials(insecure.NewCredentials()))...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close() })
	return testgrpc.NewTestServiceClient(cc), cc
}

// TestJaeger makes a call from a client span to a server over loopback,
// sends the spans to a real Jaeger over OTLP/HTTP, and reads the trace
// back: root → client → server → the handler's own span, with their
// kinds; and a failed call's spans marked Error. Start Jaeger with
// `scripts/backend up jaeger`.
func TestJaeger(t *testing.T) {
	query := itest.URL(t, "jaeger", "http://127.0.0.1:16686", "/api/services")
	endpoint := os.Getenv("OBSKIT_JAEGER_OTLP")
	if endpoint == "" {
		endpoint = "127.0.0.1:4318"
	}
	ctx := context.Background()
	tp, shutdown, err := tracing.NewProvider(ctx, tracing.Options{
		ServiceName: "obskit-grpcmw-test",
		Exporter:    tracing.ExporterOTLPHTTP,
		Endpoint:    endpoint,
		Insecure:    true,
	})
	if err != nil {
		t.Fatal(err)
	}
	tr := tp.Tracer("obskit/grpcmw_test")
	client, _ := serve(t, &tracedServer{tracer: tr}, grpcmw.Options{Tracer: tr})

	rctx, root := tr.Start(ctx, "request")
	if _, err := client.UnaryCall(rctx, &testgrpc.SimpleRequest{}); err != nil {
		t.Fatal(err)
	}
	root.End()
	fctx, failed := tr.Start(ctx, "failing request")
	_, err = client.UnaryCall(fctx, &testgrpc.SimpleRequest{ResponseStatus: &testgrpc.EchoStatus{Code: int32(codes.Unavailable), Message: "down"}})
	failed.End()
	if status.Code(err) != codes.Unavailable {
		t.Fatalf("failing call = %v", err)
	}

	// Wait for the server spans to end before flushing: they end after
	// the client has its answer.
	time.Sleep(100 * time.Millisecond)
	sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := shutdown(sctx); err != nil {
		t.Fatalf("shutdown: %v", err)
	}

	type want struct {
		name   string
		kind   trace.SpanKind
		parent int // index in the list, -1 for the root
	}
	check := func(traceID string, wants []want, errorKinds map[trace.SpanKind]bool) {
		t.Helper()
		spans := itest.JaegerTrace(t, query, traceID, len(wants), 20*time.Second)
		if len(spans) != len(wants) {
			t.Fatalf("trace %s has %d spans %v, want %d", traceID, len(spans), itest.SpanNames(spans), len(wants))
		}
		found := make([]itest.JaegerSpan, len(wants))
		for i, w := range wants {
			for _, s := range spans {
				if s.Name == w.name && s.IsKind(w.kind) {
					found[i] = s
				}
			}
			if found[i].SpanID == "" {
				t.Fatalf("trace %s: no %v span %q among %v", traceID, w.kind, w.name, itest.SpanNames(spans))
			}
		}
		for i, w := range wants {
			s := found[i]
			if w.parent < 0 && s.ParentSpanID != "" || w.parent >= 0 && s.ParentSpanID != found[w.parent].SpanID {
				t.Errorf("span %q (%v) has parent %q, want %v", w.name, w.kind, s.ParentSpanID, w.parent)
			}
			if s.Status.IsError() != errorKinds[w.kind] {
				t.Errorf("span %q (%v): status %v, want error %v", w.name, w.kind, s.Status, errorKinds[w.kind])
			}
		}
	}
	check(root.SpanContext().TraceID().String(), []want{
		{"request", trace.SpanKindInternal, -1},
		{unaryMethod, trace.SpanKindClient, 0},
		{unaryMethod, trace.SpanKindServer, 1},
		{"work", trace.SpanKindInternal, 2},
	}, nil)
	check(failed.SpanContext().TraceID().String(), []want{
		{"failing request", trace.SpanKindInternal, -1},
		{unaryMethod, trace.SpanKindClient, 0},
		{unaryMethod, trace.SpanKindServer, 1},
		{"work", trace.SpanKindInternal, 2},
	}, map[trace.SpanKind]bool{trace.SpanKindClient: true, trace.SpanKindServer: true})
}

// TestPrometheus records calls of every outcome through obskit's
// Prometheus backend, has the real Prometheus scrape them, and reads
// them back with PromQL. Start Prometheus with
// `scripts/backend up prometheus`.
func TestPrometheus(t *testing.T) {
	base := itest.URL(t, "prometheus", "http://127.0.0.1:19090", "/-/ready")
	b, err := prometheus.New(prometheus.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ns := fmt.Sprintf("grpcmw%08x", rand.Uint32())
	reg := metrics.New(b, metrics.WithNamespace(ns))
	srv := &testServer{started: make(chan struct{}, 1)}
	client, cc := serve(t, srv, grpcmw.Options{Registry: reg, Logger: slog.New(slog.DiscardHandler)})
	ctx := context.Background()

	for range 3 {
		if _, err := client.UnaryCall(ctx, &testgrpc.SimpleRequest{}); err != nil {
			t.Fatal(err)
		}
	}
	client.UnaryCall(ctx, &testgrpc.SimpleRequest{ResponseStatus: &testgrpc.EchoStatus{Code: int32(codes.NotFound)}})
	client.UnaryCall(ctx, &testgrpc.SimpleRequest{Payload: body("panic")})
	cc.Invoke(ctx, "/made.Up/Method", &testgrpc.Empty{}, &testgrpc.Empty{})
	dctx, cancel := context.WithTimeout(ctx, time.Second) // reaches the handler even on a loaded machine
	client.UnaryCall(dctx, &testgrpc.SimpleRequest{Payload: body("wait")})
	cancel()
	st, err := client.FullDuplexCall(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for range 4 {
		st.Send(&testgrpc.StreamingOutputCallRequest{ResponseParameters: []*testgrpc.ResponseParameters{{}}})
	}
	st.CloseSend()
	for {
		if _, err := st.Recv(); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(200 * time.Millisecond) // the server records after the client has its answer

	itest.ServeScrapeTarget(t, b.Handler(), 2*time.Minute)

	type series struct {
		query string
		want  float64
	}
	sd := ns + "_rpc_server_call_duration_seconds_count"
	cd := ns + "_rpc_client_call_duration_seconds_count"
	m := `rpc_system_name="grpc",rpc_method="grpc.testing.TestService/UnaryCall"`
	checks := []series{
		{sd + `{` + m + `,rpc_status_code="OK",error_type=""}`, 3},
		{sd + `{` + m + `,rpc_status_code="NOT_FOUND",error_type=""}`, 1},
		{sd + `{` + m + `,rpc_status_code="INTERNAL",error_type="INTERNAL"}`, 1},
		// The client's cancellation at its deadline may reach the
		// handler before the server's own deadline passes: either status.
		{`sum(` + sd + `{` + m + `,rpc_status_code=~"DEADLINE_EXCEEDED|CANCELLED"})`, 1},
		{cd + `{` + m + `,rpc_status_code="DEADLINE_EXCEEDED",error_type="DEADLINE_EXCEEDED"}`, 1},
		{sd + `{rpc_method="_OTHER",rpc_status_code="UNIMPLEMENTED",error_type="UNIMPLEMENTED"}`, 1},
		{sd + `{rpc_method="grpc.testing.TestService/FullDuplexCall",rpc_status_code="OK"}`, 1},
		{cd + `{` + m + `,rpc_status_code="OK",error_type="",server_address="127.0.0.1"}`, 3},
		{cd + `{` + m + `,rpc_status_code="NOT_FOUND",error_type="NOT_FOUND"}`, 1},
		{cd + `{rpc_method="_OTHER",rpc_status_code="UNIMPLEMENTED"}`, 1},
		{ns + `_rpc_server_panics_total{rpc_method="grpc.testing.TestService/UnaryCall",error_type="string"}`, 1},
		{ns + `_rpc_server_requests_per_rpc_sum{rpc_method="grpc.testing.TestService/FullDuplexCall"}`, 4},
		{ns + `_rpc_client_responses_per_rpc_sum{rpc_method="grpc.testing.TestService/FullDuplexCall"}`, 4},
		{`count({__name__=~"` + ns + `_rpc_.*",rpc_method=~".*Made.*|.*made.*"})`, -1}, // no series for the made-up method
	}
	deadline := time.Now().Add(30 * time.Second)
	for _, c := range checks {
		for {
			s, err := itest.PromQuery(base, c.query)
			var got float64 = -1
			if err == nil && len(s) == 1 {
				got, err = s[0].Float()
			}
			if err == nil && got == c.want || c.want < 0 && err == nil && len(s) == 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Errorf("%s = %v (%d series, err %v), want %v", c.query, got, len(s), err, c.want)
				break
			}
			time.Sleep(250 * time.Millisecond)
		}
	}
}
