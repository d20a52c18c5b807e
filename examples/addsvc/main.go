// Command addsvc is a small service in Go kit's classic shape, wired with
// obskit: metrics, traces and logs on the service, on every endpoint and
// on the HTTP server, with the metrics backend picked by one constructor
// call in run. Everything is explicit; nothing is global.
//
//	go run ./examples/addsvc
//	curl -s -XPOST -d '{"a":2,"b":3}' http://127.0.0.1:8080/sum
//	curl -s http://127.0.0.1:8080/metrics | grep addsvc_
//
// It logs JSON to stdout (with trace_id and span_id): per call, one line
// from the service's observer and one from the endpoint's logging
// middleware. It writes spans to stdout or to the file named by -spans.
// On SIGINT or SIGTERM it stops accepting, gives the requests in flight
// the -grace period to finish, cuts the rest short, flushes every span
// and logs its exit status: 0 after a clean drain, 1 when requests were
// cut short or spans were lost. With -otlp HOST:PORT it also exports its
// metrics over OTLP/gRPC to an OpenTelemetry Collector there, every 10 s
// and at exit.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/obskit/obskit/backends/expvar"
	"github.com/obskit/obskit/backends/otlp"
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

// Server limits. A client that trickles its headers or body, or idles on
// a keep-alive connection, is cut off instead of holding a connection
// (and a descriptor) for ever.
const (
	readHeaderTimeout = 5 * time.Second
	readTimeout       = 10 * time.Second
	writeTimeout      = 15 * time.Second
	idleTimeout       = 60 * time.Second
	maxHeaderBytes    = 64 << 10
	// drainTimeout bounds the wait, after the grace period, for the
	// handlers of the requests cut short to return.
	drainTimeout = 2 * time.Second
)

func run(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("addsvc", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:8080", "listen address")
	spans := fs.String("spans", "", "write spans to this file (default: stdout)")
	grace := fs.Duration("grace", 5*time.Second, "on SIGINT or SIGTERM, how long requests in flight may take to finish")
	otlpEndpoint := fs.String("otlp", "", "also export metrics over OTLP/gRPC (plaintext) to the collector at this host:port")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil // -h asked for the usage, which is printed: not a failure
		}
		return err
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()

	logger := logging.New(os.Stdout, logging.Options{})

	// The one line that picks the metrics backend. Prometheus is a pull
	// backend: main mounts its Handler on /metrics below. A push backend
	// has no Handler; main would drop that route and Close the backend
	// on the way out instead, so that its last values are delivered.
	backend, err := prometheus.New(prometheus.Options{})
	if err != nil {
		return err
	}
	// expvar serves the same metrics on /debug/vars, through a Tee.
	vars, err := expvar.New(expvar.Options{})
	if err != nil {
		return err
	}
	backends := []metrics.Backend{backend, vars}
	if *otlpEndpoint != "" {
		// And to an OpenTelemetry Collector, through a third Tee branch.
		ob, err := otlp.New(otlp.Options{Endpoint: *otlpEndpoint, Insecure: true, ServiceName: "addsvc",
			FlushInterval: 10 * time.Second,
			ErrorHandler:  func(err error) { logger.Error("export metrics", "error", err) }})
		if err != nil {
			return err
		}
		defer func() {
			cctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := ob.Close(cctx); err != nil {
				logger.Error("export the last metrics", "error", err)
			}
		}()
		backends = append(backends, ob)
	}
	reg := metrics.New(metrics.Tee(backends...), metrics.WithNamespace("addsvc"))

	spanOut := os.Stdout
	if *spans != "" {
		f, err := os.Create(*spans)
		if err != nil {
			return err
		}
		defer f.Close()
		spanOut = f
	}
	// The provider counts the spans it exports and drops into reg, and
	// logs what became of them when it shuts down.
	tp, shutdownTracing, err := tracing.NewProvider(ctx, tracing.Options{
		ServiceName: "addsvc", Writer: spanOut, Registry: reg, Logger: logger,
	})
	if err != nil {
		return err
	}
	tracer := tp.Tracer("addsvc")

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
		tracing.EndpointMiddleware[SumRequest, SumResponse](tracer, "Sum", tracing.EndpointOptions{}),
		middleware.Instrument[SumRequest, SumResponse](ins, "Sum"),
		logging.EndpointMiddleware[SumRequest, SumResponse](logger, "Sum", logging.EndpointOptions{}),
	)(eps.Sum)
	concat := middleware.Chain(
		tracing.EndpointMiddleware[ConcatRequest, ConcatResponse](tracer, "Concat", tracing.EndpointOptions{}),
		middleware.Instrument[ConcatRequest, ConcatResponse](ins, "Concat"),
		logging.EndpointMiddleware[ConcatRequest, ConcatResponse](logger, "Concat", logging.EndpointOptions{}),
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
	var flight inFlight

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           flight.wrap(handler),
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	logger.Info("listening", "addr", ln.Addr().String())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	var serveErr error
	select {
	case serveErr = <-errc:
	case <-ctx.Done():
		serveErr = drain(srv, &flight, *grace, logger)
	}

	// Every span of a request that ran has ended: flush them.
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := shutdownTracing(sctx); err != nil {
		serveErr = errors.Join(serveErr, err)
	}
	if serveErr != nil {
		logger.Error("exit", "status", 1, "error", serveErr.Error())
		return serveErr
	}
	logger.Info("exit", "status", 0)
	return nil
}

// drain stops the server: it stops accepting, lets the requests in flight
// finish within grace, then cuts the rest short (their contexts are
// canceled and their connections closed) and waits for their handlers to
// return, so that their spans end before they are flushed. It returns an
// error naming what was cut short, nil on a clean drain.
func drain(srv *http.Server, flight *inFlight, grace time.Duration, logger *slog.Logger) error {
	logger.Info("shutting down", "grace", grace.String(), "in_flight", flight.n.Load())
	ctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	err := srv.Shutdown(ctx)
	if err == nil {
		logger.Info("drained", "in_flight", 0)
		return nil
	}
	cut := flight.n.Load()
	logger.Error("grace period over: cutting requests short", "grace", grace.String(), "cut_short", cut)
	srv.Close()
	left := flight.wait(drainTimeout)
	if left > 0 {
		logger.Error("handlers still running after their requests were cut short: their spans are lost",
			"still_running", left, "waited", drainTimeout.String())
	}
	return fmt.Errorf("shutdown: %d requests cut short after the %v grace period (%d never returned): %w", cut, grace, left, err)
}

// inFlight counts the requests being served.
type inFlight struct{ n atomic.Int64 }

func (f *inFlight) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.n.Add(1)
		defer f.n.Add(-1)
		h.ServeHTTP(w, r)
	})
}

// wait waits up to d for every request to end and returns how many have
// not.
func (f *inFlight) wait(d time.Duration) int64 {
	deadline := time.Now().Add(d)
	for {
		n := f.n.Load()
		if n == 0 || time.Now().After(deadline) {
			return n
		}
		time.Sleep(10 * time.Millisecond)
	}
}
