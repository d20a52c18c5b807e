package benchmarks

import (
	"context"
	"net"
	"testing"
	"time"

	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"go.opentelemetry.io/otel/propagation"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	testgrpc "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
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

// newGRPCMW is grpcmw's server and client interceptors, with spans (the
// OTel SDK, dropping them) and metrics (obskit's Prometheus backend).
func newGRPCMW(b *testing.B) (*grpcmw.Server, *grpcmw.Client) {
	opts := grpcmw.Options{
		Registry:   newPromRegistry(b),
		Tracer:     newTracerProvider().Tracer("bench"),
		Propagator: propagation.TraceContext{}, // as otelgrpc is given
	}
	srv, err := grpcmw.NewServer(opts)
	if err != nil {
		b.Fatal(err)
	}
	cli, err := grpcmw.NewClient(opts)
	if err != nil {
		b.Fatal(err)
	}
	return srv, cli
}

// otelgrpcOptions are otelgrpc's options on both sides: spans (the same
// SDK setup as newGRPCMW's) and metrics (the OTel metric SDK).
func otelgrpcOptions() []otelgrpc.Option {
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
	return []otelgrpc.Option{
		otelgrpc.WithTracerProvider(newTracerProvider()),
		otelgrpc.WithMeterProvider(mp),
		otelgrpc.WithPropagators(propagation.TraceContext{}),
	}
}

// obskitGRPC: grpcmw on both sides, with spans (the OTel SDK, dropping
// them) and metrics (obskit's Prometheus backend).
func obskitGRPC(b *testing.B) testgrpc.TestServiceClient {
	srv, cli := newGRPCMW(b)
	return grpcPair(b, srv.ServerOptions(), cli.DialOptions())
}

// otelgrpcGRPC: otelgrpc's stats handlers on both sides, with spans (the
// same SDK setup) and metrics (the OTel metric SDK).
func otelgrpcGRPC(b *testing.B) testgrpc.TestServiceClient {
	opts := otelgrpcOptions()
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

// reportCPU reports the process's CPU time per operation since start,
// as cpu-ns/op: on a shared machine, whose other load stretches ns/op
// (wall time), it is the steadier measure of what a call costs. It
// includes every goroutine of the process: gRPC's transports, the
// server's handler, the garbage collector.
func reportCPU(b *testing.B, start time.Duration) {
	if cpu := processCPU() - start; cpu > 0 && b.N > 0 {
		b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/op")
	}
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
			cpu := processCPU()
			for b.Loop() {
				if _, err := client.UnaryCall(ctx, req); err != nil {
					b.Fatal(err)
				}
			}
			reportCPU(b, cpu)
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

// The middleware alone, without gRPC's transport: one unary call through
// the client side, a hand-off of the metadata that a transport would
// carry, and the server side, with the events gRPC would make for a
// stats.Handler. It measures what each library adds more precisely than
// a real call, whose own cost (and its noise on a shared machine) is
// ten times larger.

var (
	benchMethod = "/grpc.testing.TestService/UnaryCall"
	benchReq    = &testgrpc.SimpleRequest{Payload: &testgrpc.Payload{Body: []byte("1 2")}}
	benchResp   = &testgrpc.SimpleResponse{}
	benchPeer   = &peer.Peer{Addr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 50432},
		LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 8082}}
)

// handOff is the transport: the client's outgoing metadata become the
// server's incoming metadata, with the peer.
func handOff(ctx context.Context) context.Context {
	md, _ := metadata.FromOutgoingContext(ctx)
	return peer.NewContext(metadata.NewIncomingContext(context.Background(), md), benchPeer)
}

func bareMiddleware(*testing.B) func(context.Context) error {
	return func(ctx context.Context) error {
		_ = handOff(ctx)
		return nil
	}
}

func obskitMiddleware(b *testing.B) func(context.Context) error {
	srv, cli := newGRPCMW(b)
	cc, err := grpc.NewClient("127.0.0.1:8082", grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { cc.Close() })
	info := &grpc.UnaryServerInfo{FullMethod: benchMethod}
	handler := func(context.Context, any) (any, error) { return benchResp, nil }
	invoke := func(ctx context.Context, method string, req, _ any, _ *grpc.ClientConn, _ ...grpc.CallOption) error {
		_, err := srv.UnaryInterceptor(handOff(ctx), req, info, handler)
		return err
	}
	return func(ctx context.Context) error {
		return cli.UnaryInterceptor(ctx, benchMethod, benchReq, benchResp, cc, invoke)
	}
}

func otelgrpcMiddleware(*testing.B) func(context.Context) error {
	opts := otelgrpcOptions()
	sh, ch := otelgrpc.NewServerHandler(opts...), otelgrpc.NewClientHandler(opts...)
	return func(ctx context.Context) error {
		// The events gRPC makes for one unary call, in its order.
		begin := time.Now()
		ctx = ch.TagRPC(ctx, &stats.RPCTagInfo{FullMethodName: benchMethod})
		ch.HandleRPC(ctx, &stats.Begin{Client: true, BeginTime: begin})
		ch.HandleRPC(ctx, &stats.OutHeader{Client: true, FullMethod: benchMethod, RemoteAddr: benchPeer.LocalAddr})
		ch.HandleRPC(ctx, &stats.OutPayload{Client: true, Payload: benchReq, Length: 5, WireLength: 10, SentTime: time.Now()})

		sctx := sh.TagRPC(handOff(ctx), &stats.RPCTagInfo{FullMethodName: benchMethod})
		sh.HandleRPC(sctx, &stats.InHeader{FullMethod: benchMethod, RemoteAddr: benchPeer.Addr, LocalAddr: benchPeer.LocalAddr})
		sh.HandleRPC(sctx, &stats.Begin{BeginTime: time.Now()})
		sh.HandleRPC(sctx, &stats.InPayload{Payload: benchReq, Length: 5, WireLength: 10, RecvTime: time.Now()})
		sh.HandleRPC(sctx, &stats.OutHeader{})
		sh.HandleRPC(sctx, &stats.OutPayload{Payload: benchResp, Length: 0, WireLength: 5, SentTime: time.Now()})
		sh.HandleRPC(sctx, &stats.OutTrailer{})
		sh.HandleRPC(sctx, &stats.End{BeginTime: begin, EndTime: time.Now()})

		ch.HandleRPC(ctx, &stats.InHeader{Client: true})
		ch.HandleRPC(ctx, &stats.InPayload{Client: true, Payload: benchResp, WireLength: 5, RecvTime: time.Now()})
		ch.HandleRPC(ctx, &stats.InTrailer{Client: true})
		ch.HandleRPC(ctx, &stats.End{Client: true, BeginTime: begin, EndTime: time.Now()})
		return nil
	}
}

var middlewareLibs = []struct {
	name string
	call func(*testing.B) func(context.Context) error
}{
	{"bare", bareMiddleware},
	{"obskit", obskitMiddleware},
	{"otelgrpc", otelgrpcMiddleware},
}

// BenchmarkGRPCMiddleware: client and server instrumentation of one unary
// call, spans sampled, metrics of both sides, no transport.
func BenchmarkGRPCMiddleware(b *testing.B) {
	for _, lib := range middlewareLibs {
		b.Run(lib.name, func(b *testing.B) {
			call := lib.call(b)
			ctx := context.Background()
			b.ReportAllocs()
			cpu := processCPU()
			for b.Loop() {
				if err := call(ctx); err != nil {
					b.Fatal(err)
				}
			}
			reportCPU(b, cpu)
		})
	}
}

func BenchmarkGRPCMiddlewareParallel(b *testing.B) {
	for _, lib := range middlewareLibs {
		b.Run(lib.name, func(b *testing.B) {
			call := lib.call(b)
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				ctx := context.Background()
				for pb.Next() {
					if err := call(ctx); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

// BenchmarkGRPCSpansOnly: the two spans (client and server) that both
// libraries make per call, and nothing else: the floor under both.
func BenchmarkGRPCSpansOnly(b *testing.B) {
	tr := newTracerProvider().Tracer("bench")
	ctx := context.Background()
	b.ReportAllocs()
	cpu := processCPU()
	for b.Loop() {
		cctx, cs := tr.Start(ctx, benchMethod[1:], trace.WithSpanKind(trace.SpanKindClient))
		_, ss := tr.Start(cctx, benchMethod[1:], trace.WithSpanKind(trace.SpanKindServer))
		ss.End()
		cs.End()
	}
	reportCPU(b, cpu)
}
