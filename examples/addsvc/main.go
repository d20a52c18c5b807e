// Command addsvc is a small service in Go kit's classic shape, wired with
// obskit: metrics, traces and logs on the service, on every endpoint and
// on the HTTP server, with the metrics backend picked by one constructor
// call in run. Everything is explicit; nothing is global.
//
//	go run ./examples/addsvc
//	curl -s -XPOST -d '{"a":2,"b":3}' http://127.0.0.1:8080/sum
//	curl -s http://127.0.0.1:8080/metrics | grep addsvc_
//	grpcurl -plaintext -import-path examples/addsvc/pb -proto addsvc.proto -d '{"a":2,"b":3}' 127.0.0.1:8082 addsvc.Add/Sum
//
// It logs JSON to stdout (with trace_id and span_id), writes spans to
// stdout or to the file named by -spans, and on SIGINT or SIGTERM stops
// serving and flushes every span.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/obskit/obskit/backends/expvar"
	"github.com/obskit/obskit/backends/prometheus"
	"github.com/obskit/obskit/logging"
	"github.com/obskit/obskit/metrics"
	"github.com/obskit/obskit/middleware"
	"github.com/obskit/obskit/tracing"
)

func main() {
	if err := run(context.Background(), os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "addsvc:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("addsvc", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:8080", "listen address")
	grpcAddr := fs.String("grpc.addr", "127.0.0.1:8082", "gRPC listen address")
	spans := fs.String("spans", "", "write spans to this file (default: stdout)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()

	logger := logging.New(os.Stdout, logging.Options{})

	spanOut := os.Stdout
	if *spans != "" {
		f, err := os.Create(*spans)
		if err != nil {
			return err
		}
		defer f.Close()
		spanOut = f
	}
	tp, shutdownTracing, err := tracing.NewProvider(ctx, tracing.Options{ServiceName: "addsvc", Writer: spanOut})
	if err != nil {
		return err
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := shutdownTracing(sctx); err != nil {
			logger.Error("flush spans", "error", err)
		}
	}()
	tracer := tp.Tracer("addsvc")

	// The one line that picks the metrics backend: Prometheus here, or
	// statsd.New(…), influx.New(…), … without touching anything below.
	backend, err := prometheus.New(prometheus.Options{})
	if err != nil {
		return err
	}
	// expvar serves the same metrics on /debug/vars, through a Tee.
	vars, err := expvar.New(expvar.Options{})
	if err != nil {
		return err
	}
	reg := metrics.New(metrics.Tee(backend, vars), metrics.WithNamespace("addsvc"))

	// The service, decorated with the observer: metrics, a span and a
	// log line per call.
	obs, err := middleware.NewObserver(middleware.ObserverOptions{Registry: reg, Tracer: tracer, Logger: logger})
	if err != nil {
		return err
	}
	svc := observedService{obs: obs, next: NewBasicService()}

	// The endpoints, each wrapped in tracing, instrumenting and logging.
	ins, err := middleware.NewInstrumenting(reg, middleware.InstrumentingOptions{})
	if err != nil {
		return err
	}
	eps := MakeEndpoints(svc)
	sum := middleware.Chain(
		tracing.EndpointMiddleware[SumRequest, SumResponse](tracer, "Sum"),
		middleware.Instrument[SumRequest, SumResponse](ins, "Sum"),
		logging.EndpointMiddleware[SumRequest, SumResponse](logger, "Sum"),
	)(eps.Sum)
	concat := middleware.Chain(
		tracing.EndpointMiddleware[ConcatRequest, ConcatResponse](tracer, "Concat"),
		middleware.Instrument[ConcatRequest, ConcatResponse](ins, "Concat"),
		logging.EndpointMiddleware[ConcatRequest, ConcatResponse](logger, "Concat"),
	)(eps.Concat)

	// The HTTP transport: routes, then the HTTP middleware (semantic
	// convention metrics, a server span, panic recovery) around them.
	mux := http.NewServeMux()
	mux.Handle("POST /sum", handleJSON(sum))
	mux.Handle("POST /concat", handleJSON(concat))
	mux.Handle("GET /metrics", backend.Handler())
	mux.Handle("GET /debug/vars", vars.Handler())
	handler, err := middleware.NewHTTPHandler(mux, middleware.HTTPOptions{
		Registry: reg, Tracer: tracer, Propagator: tracing.Propagator(), Logger: logger,
	})
	if err != nil {
		return err
	}

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: 5 * time.Second}
	logger.Info("listening", "addr", ln.Addr().String())
	errc := make(chan error, 2)
	go func() { errc <- srv.Serve(ln) }()

	// The gRPC transport of the same endpoints, on its own port.
	gsrv, gln, err := listenGRPC(*grpcAddr, reg, tracer, logger, Endpoints{Sum: sum, Concat: concat})
	if err != nil {
		return err
	}
	defer stopGRPC(gsrv, 5*time.Second)
	logger.Info("listening", "grpc.addr", gln.Addr().String())
	go func() { errc <- gsrv.Serve(gln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
