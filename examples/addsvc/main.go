// Command addsvc is a small service in Go kit's classic shape, wired with
// obskit: metrics, traces and logs on the service, on every endpoint and
// on the HTTP server, with the metrics backends picked by -metrics in one
// small function, newBackend. Everything is explicit; nothing is global.
//
//	go run ./examples/addsvc
//	curl -s -XPOST -d '{"a":2,"b":3}' http://127.0.0.1:8080/sum
//	curl -s http://127.0.0.1:8080/metrics | grep addsvc_
//	grpcurl -plaintext -import-path examples/addsvc/pb -proto addsvc.proto -d '{"a":2,"b":3}' 127.0.0.1:8082 addsvc.Add/Sum
//
//	go run ./examples/addsvc -metrics=graphite -load 2000 >addsvc.log
//
// It logs JSON to stdout (with trace_id and span_id): per call, one line
// from the service's observer and one from the endpoint's logging
// middleware. It writes spans to stdout, to the file named by -spans, or
// over OTLP to -otlp.endpoint. Metrics go to the backends named by
// -metrics (prometheus and expvar by default, served on /metrics and
// /debug/vars; statsd, graphite, influx, circonus and otlp push).
//
// With -load N it sends itself N requests of both methods (one in five a
// business error), shuts down as on a signal, and prints a summary on
// stderr: requests, errors, latency, and where to read the counts.
//
// On SIGINT or SIGTERM it stops accepting, gives the requests in flight
// the -grace period to finish, cuts the rest short, flushes every span,
// closes the push backends (which delivers their last values) and logs
// its exit status: 0 after a clean drain, 1 when requests were cut short
// or spans or metrics were lost.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime/pprof"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/obskit/obskit/examples/addsvc/internal/load"
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
	// closeTimeout bounds the last flush of the spans and of each push
	// backend.
	closeTimeout = 5 * time.Second
)

func run(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("addsvc", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:8080", "listen address")
	grpcAddr := fs.String("grpc.addr", "127.0.0.1:8082", "gRPC listen address")
	spans := fs.String("spans", "", "write spans to this file (default: stdout)")
	otlpSpans := fs.String("otlp.endpoint", "", "send spans over OTLP instead: host:port for OTLP/gRPC, such as Jaeger's 127.0.0.1:4317, or an http:// URL for OTLP/HTTP (plaintext)")
	grace := fs.Duration("grace", 5*time.Second, "on SIGINT or SIGTERM, how long requests in flight may take to finish")
	service := fs.String("service", "addsvc", "service.name of the spans and of the OTLP metrics")
	namespace := fs.String("namespace", "addsvc", "prefix of every metric name")
	instrument := fs.Bool("instrument", true, "wrap the service in obskit's metrics, tracing and logging; false serves it bare, for comparison")
	handwritten := fs.Bool("handwritten", false, "wrap the service in the same telemetry written by hand on the OpenTelemetry SDK, log/slog and client_golang, without obskit (needs -otlp.endpoint): the reference of cmd/loadrun")
	nLoad := fs.Int("load", 0, "send N requests of both methods to itself, then shut down and print a summary on stderr")
	concurrency := fs.Int("c", 8, "clients sending at once with -load")
	logFlush := fs.Duration("log.flush", 100*time.Millisecond, "buffer the JSON logs and write them out this often (0: one write per line)")
	blockSpans := fs.Bool("spans.block", false, "when the span queue is full, make the request wait instead of dropping its span")
	spanExports := fs.Int("spans.exports", 4, "span batches exported at once: more keeps a collector's answer time from limiting the spans a second")
	spanBatch := fs.Int("spans.batch", 0, "most spans in one export (0: tracing.DefaultMaxExportBatchSize)")
	otlpCompression := fs.String("otlp.compression", "none", "compression of the OTLP span exports: none (a collector on loopback or a LAN) or gzip (across a slow link)")
	traceInner := fs.Bool("trace.endpoints", true, "start a span in each endpoint and in each service call too (false: only the HTTP or gRPC server span, one span per call)")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the whole run to this file")
	memProfile := fs.String("memprofile", "", "write an allocation profile to this file at exit")
	var bf backendFlags
	bf.register(fs)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil // -h asked for the usage, which is printed: not a failure
		}
		return err
	}
	bf.otlpService = *service
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	if *memProfile != "" {
		defer func() {
			if f, err := os.Create(*memProfile); err == nil {
				_ = pprof.Lookup("allocs").WriteTo(f, 0)
				f.Close()
			}
		}()
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()

	var logOut io.Writer = os.Stdout
	if *logFlush > 0 {
		fw := newFlushingWriter(os.Stdout, *logFlush)
		defer fw.Close()
		logOut = fw
	}
	logger := logging.New(logOut, logging.Options{})

	var (
		handler         http.Handler
		backends        []picked
		shutdownTracing = func(context.Context) error { return nil }
		// What the transports serve; with -instrument=false, the bare
		// endpoints, a registry that records nothing and a tracer that
		// starts no span.
		endpoints Endpoints
		reg       = metrics.New(metrics.Discard())
		tracer    = noop.NewTracerProvider().Tracer("addsvc")
		// serving is set once both servers run; an error return before
		// then flushes the tracer and closes the backends made so far.
		serving bool
	)
	defer func() {
		if !serving {
			sctx, cancel := context.WithTimeout(context.Background(), closeTimeout)
			defer cancel()
			_ = shutdownTracing(sctx)
			closeBackends(backends, closeTimeout)
		}
	}()
	if !*instrument {
		// The same service and transport without obskit, to measure
		// what the instrumentation costs.
		endpoints = MakeEndpoints(NewBasicService())
		handler = newMux(endpoints)
	} else if *handwritten {
		// The same telemetry without obskit: see handwritten.go.
		if *otlpSpans == "" || strings.HasPrefix(*otlpSpans, "http://") {
			return errors.New("-handwritten sends its spans over OTLP/gRPC: set -otlp.endpoint to host:port")
		}
		hw, err := newHandwritten(ctx, NewBasicService(), *otlpSpans, *service, *namespace, *blockSpans, logOut)
		if err != nil {
			return err
		}
		handler, shutdownTracing = hw.handler, hw.shutdown
		endpoints = MakeEndpoints(NewBasicService()) // the gRPC transport serves them bare
	} else {
		// The metrics backends: see newBackend, the one function that
		// knows them. Several fan out through metrics.Tee.
		var err error
		backends, err = newBackends(ctx, &bf, func(err error) { logger.Error("metrics delivery", "error", err.Error()) })
		if err != nil {
			return err
		}
		reg = metrics.New(tee(backends), metrics.WithNamespace(*namespace))

		topts := tracing.Options{ServiceName: *service, Registry: reg, Logger: logger,
			Blocking: *blockSpans, ConcurrentExports: *spanExports, MaxExportBatchSize: *spanBatch}
		if *otlpSpans != "" {
			topts.Exporter, topts.Endpoint, topts.Insecure = tracing.ExporterOTLPGRPC, *otlpSpans, true
			topts.Compression = tracing.Compression(*otlpCompression)
			if strings.HasPrefix(*otlpSpans, "http://") {
				topts.Exporter = tracing.ExporterOTLPHTTP
			}
		} else if *spans != "" {
			f, err := os.Create(*spans)
			if err != nil {
				return err
			}
			defer f.Close()
			topts.Writer = f
		}
		// The provider counts the spans it exports and drops into reg,
		// and logs what became of them when it shuts down.
		tp, shutdown, err := tracing.NewProvider(ctx, topts)
		if err != nil {
			return err
		}
		shutdownTracing = shutdown
		tracer = tp.Tracer("addsvc")

		// The service, decorated with the observer: metrics, a span and
		// a log line per call.
		// With -trace.endpoints=false the endpoints and the service
		// record no span of their own; their log lines carry the IDs of
		// the server span.
		inner := tracer
		if !*traceInner {
			inner = noop.NewTracerProvider().Tracer("addsvc")
		}
		obs, err := middleware.NewObserver(middleware.ObserverOptions{Registry: reg, Tracer: inner, Logger: logger})
		if err != nil {
			return err
		}
		svc := observedService{obs: obs, next: NewBasicService()}

		// The endpoints, each wrapped in tracing, instrumenting and
		// logging.
		ins, err := middleware.NewInstrumenting(reg, middleware.InstrumentingOptions{})
		if err != nil {
			return err
		}
		eps := MakeEndpoints(svc)
		endpoints.Sum = observeEndpoint(eps.Sum, "Sum", inner, ins, logger)
		endpoints.Concat = observeEndpoint(eps.Concat, "Concat", inner, ins, logger)

		// The HTTP transport: routes, then the HTTP middleware
		// (semantic convention metrics, a server span, panic recovery)
		// around them. Pull backends serve their metrics here.
		mux := newMux(endpoints)
		for _, b := range backends {
			if b.handler != nil {
				mux.Handle(b.route, b.handler)
			}
		}
		handler, err = middleware.NewHTTPHandler(mux, middleware.HTTPOptions{
			Registry: reg, Tracer: tracer, Propagator: tracing.Propagator(), Logger: logger,
		})
		if err != nil {
			return err
		}
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
	base := "http://" + ln.Addr().String()
	logger.Info("listening", "addr", ln.Addr().String(), "metrics", bf.names, "instrument", *instrument, "handwritten", *handwritten)
	errc := make(chan error, 2)
	go func() { errc <- srv.Serve(ln) }()
	// The gRPC transport of the same endpoints, on its own port.
	gsrv, gln, err := listenGRPC(*grpcAddr, reg, tracer, logger, endpoints)
	if err != nil {
		srv.Close()
		return err
	}
	serving = true
	logger.Info("listening", "grpc.addr", gln.Addr().String())
	go func() { errc <- gsrv.Serve(gln) }()

	loaded := make(chan *load.Result, 1)
	if *nLoad > 0 {
		go func() {
			loaded <- load.Run(ctx, load.Options{BaseURL: base, Requests: *nLoad, Concurrency: *concurrency})
		}()
	}
	var (
		serveErr error
		result   *load.Result
		pulled   []string
	)
	select {
	case serveErr = <-errc:
	case <-ctx.Done():
		serveErr = drain(srv, &flight, *grace, logger)
	case result = <-loaded:
		pulled = pull(base, backends, *namespace)
		serveErr = drain(srv, &flight, *grace, logger)
	}
	// The gRPC calls in flight get the same grace.
	if err := stopGRPC(gsrv, *grace); err != nil {
		serveErr = errors.Join(serveErr, err)
	}

	// Every span of a request that ran has ended: flush them. Then
	// close the push backends, which delivers their last values, the
	// span counts of the shutdown included.
	sctx, cancel := context.WithTimeout(context.Background(), closeTimeout)
	defer cancel()
	if err := shutdownTracing(sctx); err != nil {
		serveErr = errors.Join(serveErr, err)
	}
	for _, c := range closeBackends(backends, closeTimeout) {
		level := slog.LevelInfo
		if c.err != nil || c.stats.Dropped() > 0 {
			level = slog.LevelError
			serveErr = errors.Join(serveErr, fmt.Errorf("metrics backend %s: %d values not delivered: %v", c.name, c.stats.Dropped(), c.err))
		}
		attrs := []slog.Attr{slog.String("backend", c.name), slog.Uint64("flushes", c.stats.Flushes),
			slog.Uint64("sent", c.stats.Sent), slog.Uint64("dropped", c.stats.Dropped())}
		if c.err != nil {
			attrs = append(attrs, slog.String("error", c.err.Error()))
		}
		logger.LogAttrs(context.Background(), level, "metrics backend closed", attrs...)
	}
	if result != nil {
		summarize(os.Stderr, result, backends, *namespace, ln.Addr().String(), pulled, *otlpSpans, *spans)
	}
	if serveErr != nil {
		logger.Error("exit", "status", 1, "error", serveErr.Error())
		return serveErr
	}
	logger.Info("exit", "status", 0)
	return nil
}

// observeEndpoint wraps an endpoint in tracing, instrumenting and
// logging, outermost first: the middleware of every endpoint.
func observeEndpoint[Req, Resp any](ep middleware.Endpoint[Req, Resp], op string, tracer trace.Tracer,
	ins *middleware.Instrumenting, logger *slog.Logger) middleware.Endpoint[Req, Resp] {
	return middleware.Chain(
		tracing.EndpointMiddleware[Req, Resp](tracer, op, tracing.EndpointOptions{}),
		middleware.Instrument[Req, Resp](ins, op),
		logging.EndpointMiddleware[Req, Resp](logger, op, logging.EndpointOptions{}),
	)(ep)
}

// pull reads the endpoint request counter from the pull backends while
// addsvc still serves them, for the -load summary.
func pull(base string, bs []picked, namespace string) []string {
	name := namespace + ".endpoint.requests"
	var lines []string
	client := &http.Client{Timeout: 5 * time.Second}
	for _, b := range bs {
		if b.handler == nil {
			continue // a push backend
		}
		path := strings.TrimPrefix(b.route, "GET ")
		resp, err := client.Get(base + path)
		if err != nil {
			lines = append(lines, fmt.Sprintf("GET %s: %v", path, err))
			continue
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if b.name == "prometheus" {
			prefix := strings.ReplaceAll(name, ".", "_") + "_total{"
			for l := range strings.SplitSeq(string(body), "\n") {
				if strings.HasPrefix(l, prefix) {
					lines = append(lines, l)
				}
			}
			continue
		}
		var vars map[string]json.RawMessage
		if json.Unmarshal(body, &vars) == nil {
			lines = append(lines, fmt.Sprintf("%q: %s", name, vars[name]))
		}
	}
	return lines
}

// summarize writes the -load summary: what the clients saw, and where
// to read what addsvc recorded.
func summarize(w io.Writer, r *load.Result, bs []picked, namespace, addr string, pulled []string, otlpSpans, spans string) {
	fmt.Fprintln(w, "--- addsvc -load summary")
	r.WriteTo(w)
	fmt.Fprintln(w, "where to look (counter "+namespace+".endpoint.requests, by operation and outcome):")
	for _, b := range bs {
		look := strings.ReplaceAll(b.look(namespace+".endpoint.requests"), "ADDR", addr)
		if b.push == nil {
			look += "   (until exit; it served:)"
		}
		fmt.Fprintf(w, "  %-10s  %s\n", b.name, look)
		if b.push == nil {
			for _, l := range pulled {
				if strings.HasPrefix(l, `"`) == (b.name == "expvar") {
					fmt.Fprintf(w, "              %s\n", l)
				}
			}
		}
	}
	switch {
	case otlpSpans != "":
		fmt.Fprintf(w, "  %-10s  sent to %s; in Jaeger: /search?service=<-service> on its UI (port 16686)\n", "spans", otlpSpans)
	case spans != "":
		fmt.Fprintf(w, "  %-10s  in %s, one JSON object per span\n", "spans", spans)
	default:
		fmt.Fprintf(w, "  %-10s  on stdout with the logs, one JSON object per span\n", "spans")
	}
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
