package benchmarks

import (
	"context"
	"net"
	"testing"

	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"go.opentelemetry.io/otel/propagation"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	testgrpc "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/stats"
	"google.golang.org/grpc/test/bufconn"

	"github.com/obskit/obskit/middleware/grpcmw"
)

type unaryServer struct {
	testgrpc.UnimplementedTestServiceServer
}

func (unaryServer) UnaryCall(_ context.Context, req *testgrpc.SimpleRequest) (*testgrpc.SimpleResponse, error) {
	return &testgrpc.SimpleResponse{Payload: req.GetPayload()}, nil
}

// grpcPair serves the test service over bufconn with sopts and returns a
// client dialled with copts: a real gRPC call (HTTP/2 framing, protobuf,
// both transports) without the kernel's loopback noise.
func grpcPair(b *testing.B, sopts []grpc.ServerOption, copts []grpc.DialOption) testgrpc.TestServiceClient {
	lis := bufconn.Listen(1 << 20)
	s := grpc.NewServer(sopts...)
	testgrpc.RegisterTestServiceServer(s, unaryServer{})
	go s.Serve(lis)
	b.Cleanup(s.Stop)
	copts = append(copts, grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }))
	cc, err := grpc.NewClient("passthrough:///bufconn", copts...)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { cc.Close() })
	return testgrpc.NewTestServiceClient(cc)
}

// obskitGRPC: grpcmw on both sides, with spans (the OTel SDK, dropping
// them) and metrics (obskit's Prometheus backend).
func obskitGRPC(b *testing.B) testgrpc.TestServiceClient {
	opts := grpcmw.Options{Registry: newPromRegistry(b), Tracer: newTracerProvider().Tracer("bench")}
	srv, err := grpcmw.NewServer(opts)
	if err != nil {
		b.Fatal(err)
	}
	cli, err := grpcmw.NewClient(opts)
	if err != nil {
		b.Fatal(err)
	}
	return grpcPair(b, srv.ServerOptions(), cli.DialOptions())
}

// otelgrpcGRPC: otelgrpc's stats handlers on both sides, with spans (the
// same SDK setup) and metrics (the OTel metric SDK).
func otelgrpcGRPC(b *testing.B) testgrpc.TestServiceClient {
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
	opts := []otelgrpc.Option{
		otelgrpc.WithTracerProvider(newTracerProvider()),
		otelgrpc.WithMeterProvider(mp),
		otelgrpc.WithPropagators(propagation.TraceContext{}),
	}
	return grpcPair(b,
		[]grpc.ServerOption{grpc.StatsHandler(otelgrpc.NewServerHandler(opts...))},
		[]grpc.DialOption{grpc.WithStatsHandler(otelgrpc.NewClientHandler(opts...))})
}

// nopStatsHandler does nothing: what gRPC itself spends on a
// stats.Handler being installed.
type nopStatsHandler struct{}

func (nopStatsHandler) TagRPC(ctx context.Context, _ *stats.RPCTagInfo) context.Context   { return ctx }
func (nopStatsHandler) HandleRPC(context.Context, stats.RPCStats)                         {}
func (nopStatsHandler) TagConn(ctx context.Context, _ *stats.ConnTagInfo) context.Context { return ctx }
func (nopStatsHandler) HandleConn(context.Context, stats.ConnStats)                       {}

func nopInterceptors(b *testing.B) testgrpc.TestServiceClient {
	ui := func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
		return h(ctx, req)
	}
	ci := func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoke grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		return invoke(ctx, method, req, reply, cc, opts...)
	}
	return grpcPair(b, []grpc.ServerOption{grpc.UnaryInterceptor(ui)}, []grpc.DialOption{grpc.WithUnaryInterceptor(ci)})
}

var grpcLibs = []struct {
	name   string
	client func(*testing.B) testgrpc.TestServiceClient
}{
	// The bare call: what the instrumented ones add is read against it.
	{"bare", func(b *testing.B) testgrpc.TestServiceClient { return grpcPair(b, nil, nil) }},
	// What gRPC costs for each way in, doing nothing: why grpcmw uses
	// interceptors.
	{"nop-interceptors", nopInterceptors},
	{"nop-statshandler", func(b *testing.B) testgrpc.TestServiceClient {
		return grpcPair(b, []grpc.ServerOption{grpc.StatsHandler(nopStatsHandler{})},
			[]grpc.DialOption{grpc.WithStatsHandler(nopStatsHandler{})})
	}},
	{"obskit", obskitGRPC},
	{"otelgrpc", otelgrpcGRPC},
}

// BenchmarkGRPCUnary: one unary call, client and server instrumented,
// over bufconn, with a sampled span on each side and the duration
// metrics of both.
func BenchmarkGRPCUnary(b *testing.B) {
	for _, lib := range grpcLibs {
		b.Run(lib.name, func(b *testing.B) {
			client := lib.client(b)
			ctx := context.Background()
			req := &testgrpc.SimpleRequest{Payload: &testgrpc.Payload{Body: []byte("1 2")}}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := client.UnaryCall(ctx, req); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkGRPCUnaryParallel(b *testing.B) {
	for _, lib := range grpcLibs {
		b.Run(lib.name, func(b *testing.B) {
			client := lib.client(b)
			req := &testgrpc.SimpleRequest{Payload: &testgrpc.Payload{Body: []byte("1 2")}}
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				ctx := context.Background()
				for pb.Next() {
					if _, err := client.UnaryCall(ctx, req); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}
