package grpcmw_test

import (
	"context"
	"fmt"
	"log"
	"net"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/obskit/obskit/metrics"
	"github.com/obskit/obskit/metrics/metricstest"
	"github.com/obskit/obskit/middleware/grpcmw"
)

func Example() {
	// In func main: one registry (any backend), and a tracer and logger
	// when wanted (Options.Tracer, Options.Logger).
	backend := metricstest.New()
	reg := metrics.New(backend)

	// The server: its options install the interceptors and the handler
	// that records calls of unknown methods.
	sobs, err := grpcmw.NewServer(grpcmw.Options{Registry: reg})
	if err != nil {
		log.Fatal(err)
	}
	srv := grpc.NewServer(sobs.ServerOptions()...)
	healthpb.RegisterHealthServer(srv, health.NewServer())
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	go srv.Serve(ln)

	// The client.
	cobs, err := grpcmw.NewClient(grpcmw.Options{Registry: reg})
	if err != nil {
		log.Fatal(err)
	}
	cc, err := grpc.NewClient(ln.Addr().String(),
		append(cobs.DialOptions(), grpc.WithTransportCredentials(insecure.NewCredentials()))...)
	if err != nil {
		log.Fatal(err)
	}
	defer cc.Close()

	client := healthpb.NewHealthClient(cc)
	client.Check(context.Background(), &healthpb.HealthCheckRequest{})
	client.Check(context.Background(), &healthpb.HealthCheckRequest{Service: "no such service"})
	srv.GracefulStop() // the server has recorded every call

	for _, s := range backend.Series("rpc.server.call.duration") {
		method, _ := s.Label(grpcmw.MethodKey)
		code, _ := s.Label(grpcmw.StatusCodeKey)
		fmt.Printf("server %s %s: %d call\n", method, code, len(s.Histogram().Values))
	}
	// Output:
	// server grpc.health.v1.Health/Check OK: 1 call
	// server grpc.health.v1.Health/Check NOT_FOUND: 1 call
}
