package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"time"

	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/obskit/obskit/examples/addsvc/pb"
	"github.com/obskit/obskit/metrics"
	"github.com/obskit/obskit/middleware"
	"github.com/obskit/obskit/middleware/grpcmw"
	"github.com/obskit/obskit/tracing"
)

// grpcServer serves the endpoints over gRPC, as Go kit's addsvc does:
// a business error goes in the reply's Err field, an endpoint's error
// becomes an INTERNAL status.
type grpcServer struct {
	pb.UnimplementedAddServer
	sum    middleware.Endpoint[SumRequest, SumResponse]
	concat middleware.Endpoint[ConcatRequest, ConcatResponse]
}

func (s grpcServer) Sum(ctx context.Context, req *pb.SumRequest) (*pb.SumReply, error) {
	resp, err := s.sum(ctx, SumRequest{A: int(req.GetA()), B: int(req.GetB())})
	if err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	return &pb.SumReply{V: int64(resp.V), Err: errString(resp.Err)}, nil
}

func (s grpcServer) Concat(ctx context.Context, req *pb.ConcatRequest) (*pb.ConcatReply, error) {
	resp, err := s.concat(ctx, ConcatRequest{A: req.GetA(), B: req.GetB()})
	if err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	return &pb.ConcatReply{V: resp.V, Err: errString(resp.Err)}, nil
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// listenGRPC listens on addr and returns the gRPC server of the
// endpoints, instrumented by grpcmw (semantic-convention metrics, a
// server span, a log line per call, panic recovery), with the listener.
func listenGRPC(addr string, reg *metrics.Registry, tracer trace.Tracer, logger *slog.Logger, eps Endpoints) (*grpc.Server, net.Listener, error) {
	obs, err := grpcmw.NewServer(grpcmw.Options{
		Registry: reg, Tracer: tracer, Propagator: tracing.Propagator(), Logger: logger,
	})
	if err != nil {
		return nil, nil, err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, nil, err
	}
	srv := grpc.NewServer(obs.ServerOptions()...)
	pb.RegisterAddServer(srv, grpcServer{sum: eps.Sum, concat: eps.Concat})
	return srv, ln, nil
}

// stopGRPC lets the calls under way finish for up to grace, then cuts
// the rest short and waits for their handlers to return, so that their
// spans end before they are flushed. It returns an error when calls were
// cut short.
func stopGRPC(srv *grpc.Server, grace time.Duration) error {
	done := make(chan struct{})
	go func() {
		srv.GracefulStop()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-time.After(grace):
	}
	srv.Stop() // cancels the calls' contexts and closes their connections
	<-done
	return fmt.Errorf("grpc shutdown: calls cut short after the %v grace period", grace)
}
