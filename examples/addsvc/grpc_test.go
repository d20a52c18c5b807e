package main

import (
	"context"
	"io"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/obskit/obskit/examples/addsvc/pb"
	"github.com/obskit/obskit/logging"
	"github.com/obskit/obskit/metrics"
	"github.com/obskit/obskit/metrics/metricstest"
	"github.com/obskit/obskit/middleware/grpcmw"
)

// TestGRPC calls Sum and Concat through the gRPC transport over loopback,
// with an instrumented client, and checks the replies, the semantic
// convention metrics of both sides and that the client's trace reaches
// the server.
func TestGRPC(t *testing.T) {
	backend := metricstest.New()
	reg := metrics.New(backend, metrics.WithNamespace("addsvc"))
	spans := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))
	defer tp.Shutdown(context.Background())
	tracer := tp.Tracer("addsvc_test")
	logger := logging.New(io.Discard, logging.Options{})

	eps := MakeEndpoints(NewBasicService())
	srv, ln, err := listenGRPC("127.0.0.1:0", reg, tracer, logger, eps)
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	defer srv.Stop()

	cobs, err := grpcmw.NewClient(grpcmw.Options{Registry: reg, Tracer: tracer})
	if err != nil {
		t.Fatal(err)
	}
	cc, err := grpc.NewClient(ln.Addr().String(), append(cobs.DialOptions(), grpc.WithTransportCredentials(insecure.NewCredentials()))...)
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	client := pb.NewAddClient(cc)
	ctx := context.Background()

	if r, err := client.Sum(ctx, &pb.SumRequest{A: 2, B: 3}); err != nil || r.GetV() != 5 || r.GetErr() != "" {
		t.Errorf("Sum(2, 3) = %v, %v; want 5", r, err)
	}
	if r, err := client.Sum(ctx, &pb.SumRequest{}); err != nil || r.GetErr() != "can't sum two zeroes" {
		t.Errorf("Sum(0, 0) = %v, %v; want the business error in the reply", r, err)
	}
	if r, err := client.Concat(ctx, &pb.ConcatRequest{A: "ab", B: "cd"}); err != nil || r.GetV() != "abcd" {
		t.Errorf("Concat(ab, cd) = %v, %v; want abcd", r, err)
	}
	srv.GracefulStop() // every server span has ended

	for _, c := range []struct {
		name, method string
		want         int
	}{
		{"addsvc.rpc.server.call.duration", "addsvc.Add/Sum", 2},
		{"addsvc.rpc.server.call.duration", "addsvc.Add/Concat", 1},
		{"addsvc.rpc.client.call.duration", "addsvc.Add/Sum", 2},
	} {
		var n int
		for _, s := range backend.Series(c.name) {
			m, _ := s.Label(grpcmw.MethodKey)
			code, _ := s.Label(grpcmw.StatusCodeKey)
			if m == c.method && code == "OK" {
				n += len(s.Histogram().Values)
			}
		}
		if n != c.want {
			t.Errorf("%s{rpc.method=%s, OK} count = %d, want %d", c.name, c.method, n, c.want)
		}
	}
	// Client span → server span, in one trace per call.
	parents := map[string]bool{}
	for _, s := range spans.Ended() {
		if s.Name() == "addsvc.Add/Sum" && s.Parent().IsValid() {
			parents[s.Parent().SpanID().String()] = true
		}
	}
	var linked int
	for _, s := range spans.Ended() {
		if s.Name() == "addsvc.Add/Sum" && parents[s.SpanContext().SpanID().String()] {
			linked++
		}
	}
	if linked != 2 {
		t.Errorf("%d Sum client spans are parents of a server span, want 2", linked)
	}
}
