// Package tracing sets up OpenTelemetry tracing for a service and traces
// its endpoints.
//
// NewProvider builds an SDK TracerProvider from one Options value: spans go
// to stdout (or any io.Writer) by default, or to an OpenTelemetry collector
// or Jaeger over OTLP. EndpointMiddleware opens one span per endpoint call.
// Propagator returns the W3C propagator that carries a trace across
// process boundaries.
//
// Both constructors take an Options struct whose zero value is valid, the
// convention of every obskit package (see the middleware package).
//
// The package keeps no global state: it never installs its provider or
// propagator with otel.SetTracerProvider or otel.SetTextMapPropagator.
// Pass them explicitly, or install them in func main if other libraries
// need the globals.
package tracing

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/exporters/stdout/stdouttrace"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/obskit/obskit/metrics"
)

// Exporter names where NewProvider sends finished spans.
type Exporter string

// The exporters NewProvider knows.
const (
	// ExporterStdout writes each span as a JSON object to Options.Writer
	// (os.Stdout when nil). It is the default.
	ExporterStdout Exporter = "stdout"
	// ExporterOTLPGRPC sends spans over OTLP/gRPC to Options.Endpoint,
	// usually port 4317.
	ExporterOTLPGRPC Exporter = "otlp-grpc"
	// ExporterOTLPHTTP sends spans over OTLP/HTTP (protobuf) to
	// Options.Endpoint, usually port 4318.
	ExporterOTLPHTTP Exporter = "otlp-http"
)

// Options configures NewProvider. The zero value is valid: spans are
// batched and written as JSON to os.Stdout, every root span is sampled and
// child spans follow their parent's sampling decision.
type Options struct {
	// ServiceName is the service.name resource attribute. When empty the
	// SDK's default applies: OTEL_SERVICE_NAME if set, else
	// "unknown_service:<executable>".
	ServiceName string

	// ResourceAttributes are added to the resource beside service.name,
	// for example service.version or deployment.environment.name.
	ResourceAttributes []attribute.KeyValue

	// Exporter selects where spans go; empty means ExporterStdout.
	Exporter Exporter

	// Writer receives the spans of ExporterStdout; nil means os.Stdout.
	// It must be nil for the OTLP exporters.
	Writer io.Writer

	// Endpoint is the OTLP receiver, required by the OTLP exporters and
	// refused by ExporterStdout. It is either "host:port" (for example
	// "127.0.0.1:4318"), or a URL whose scheme, http or https, decides
	// whether TLS is used ("http://127.0.0.1:4318"); an OTLP/HTTP URL
	// without a path posts to /v1/traces, one with a path to that path.
	Endpoint string

	// Insecure sends OTLP in plaintext, without TLS. It is meant for a
	// collector on loopback, and is implied by an http:// Endpoint.
	Insecure bool

	// Sampler decides which spans are recorded; nil means
	// sdktrace.ParentBased(sdktrace.AlwaysSample()).
	Sampler sdktrace.Sampler

	// Sync exports each span synchronously as it ends, instead of in
	// batches from a background goroutine. It suits tests and examples;
	// a service should batch.
	Sync bool

	// MaxQueueSize bounds the spans that have ended and wait to be
	// exported; zero means DefaultMaxQueueSize. A span that ends while
	// the queue is full is dropped and counted (see Registry), or waits
	// for room with Blocking.
	MaxQueueSize int

	// Blocking makes a span that ends while the queue is full wait for
	// room instead of being dropped: no span is lost to a slow exporter,
	// and the service slows down to what the exporter sustains (the
	// wait is on the goroutine that ends the span, in a request). It
	// suits a service that must keep every sampled span; without it,
	// spans are dropped and counted (ReasonQueueFull) and requests never
	// wait for the exporter.
	Blocking bool

	// ConcurrentExports is the most batches exported at once; zero
	// means one. The SDK's batch processor exports one batch at a time
	// and waits for the answer; with a collector that takes a few
	// milliseconds to answer, that wait limits the spans a second the
	// provider can export, whatever the CPU. With more than one, the
	// processor hands a batch over and goes on with the next while up
	// to ConcurrentExports batches are in flight (each still bounded by
	// a 30 s timeout); shutdown waits for them. The spans in flight count
	// against MaxQueueSize. Only shutdown waits for them: ForceFlush
	// may return before the last exports are answered.
	ConcurrentExports int

	// MaxExportBatchSize is the most spans sent in one export; zero
	// means DefaultMaxExportBatchSize. It is capped at MaxQueueSize.
	MaxExportBatchSize int

	// BatchTimeout is the longest a span waits in the queue before a
	// batch, however small, is exported; zero means
	// DefaultBatchTimeout.
	BatchTimeout time.Duration

	// AttributeValueLengthLimit is the longest a string attribute value
	// may be, in characters; longer ones are cut. Zero means
	// DefaultAttributeValueLengthLimit; a negative value means no limit.
	// It bounds what is exported. It does not bound memory: the SDK
	// keeps a prefix of the original string, which holds the whole of
	// it until the span is exported, so code that puts untrusted values
	// on spans copies what it keeps, as the middleware package's HTTP
	// handler does.
	AttributeValueLengthLimit int

	// AttributeCountLimit is the most attributes a span keeps; zero
	// means DefaultAttributeCountLimit, negative no limit.
	AttributeCountLimit int

	// EventCountLimit is the most events (RecordError adds one) a span
	// keeps; zero means DefaultEventCountLimit, negative no limit. The
	// attributes of each event are bounded by AttributeCountLimit.
	EventCountLimit int

	// Registry, when set, receives the provider's own metrics:
	// SpansExportedMetric, and SpansDroppedMetric by ReasonLabel, so
	// that spans lost under load are visible where the service's other
	// metrics are.
	Registry *metrics.Registry

	// Logger, when set, receives one line at shutdown saying how many
	// spans were exported and how many were lost, and why: at
	// slog.LevelInfo when none were lost, else slog.LevelError.
	Logger *slog.Logger
}

// Defaults of the Options fields whose zero value means a default.
const (
	// DefaultMaxQueueSize is four times the SDK's 2048. Measured with
	// examples/addsvc writing spans to a file under 50 concurrent
	// clients on a loaded 2-core machine (about 3 000 calls and 9 000
	// spans a second): 2048 dropped 0.9 % of the spans in one run of
	// two, 8192 none in four. A queued span holds its attributes and
	// events, a few hundred bytes to a few KB.
	DefaultMaxQueueSize       = 8192
	DefaultMaxExportBatchSize = 512
	DefaultBatchTimeout       = 5 * time.Second

	// DefaultAttributeValueLengthLimit bounds string attribute values to
	// 4 KiB characters, room for a full URL or stack trace line.
	DefaultAttributeValueLengthLimit = 4096
	// DefaultAttributeCountLimit and DefaultEventCountLimit are the
	// SDK's own defaults.
	DefaultAttributeCountLimit = 128
	DefaultEventCountLimit     = 128
)

// NewProvider returns a TracerProvider configured by opts and the function
// that shuts it down. Shutdown exports every span that ended before it was
// called, then releases the exporter; call it once, on the way out of func
// main, with a context that bounds how long it may take, after the
// spans still open have ended (a server's Shutdown has returned). Its
// error reports how many spans were not exported over the provider's
// life and why (the SDK hands each failed export to otel.Handle as
// well); with opts.Logger it also logs one line with the counts.
//
// Every sampled span is accounted for: exported, dropped because the
// queue was full, failed to export, still queued when shutdown's context
// expired, or not ended by shutdown. The counts go to opts.Registry as
// they happen.
//
// NewProvider validates opts and returns an error for a bad one. It does
// not contact the OTLP endpoint: a collector that is not up yet costs
// failed exports, not a failed start.
func NewProvider(ctx context.Context, opts Options) (*sdktrace.TracerProvider, func(context.Context) error, error) {
	if err := opts.validate(); err != nil {
		return nil, nil, err
	}

	res, err := opts.resource(ctx)
	if err != nil {
		return nil, nil, err
	}

	counts, err := newSpanCounts(opts.Registry)
	if err != nil {
		return nil, nil, fmt.Errorf("tracing: metrics: %w", err)
	}

	exp, err := opts.exporter(ctx)
	if err != nil {
		return nil, nil, err
	}

	cexp := &countingExporter{SpanExporter: exp, c: counts}
	var sp sdktrace.SpanProcessor
	cp := &countingProcessor{c: counts}
	if opts.Sync {
		cp.SpanProcessor = sdktrace.NewSimpleSpanProcessor(cexp)
	} else {
		queue := orDefault(opts.MaxQueueSize, DefaultMaxQueueSize)
		batch := min(orDefault(opts.MaxExportBatchSize, DefaultMaxExportBatchSize), queue)
		timeout := opts.BatchTimeout
		if timeout <= 0 {
			timeout = DefaultBatchTimeout
		}
		bo := []sdktrace.BatchSpanProcessorOption{
			sdktrace.WithMaxQueueSize(queue),
			sdktrace.WithMaxExportBatchSize(batch),
			sdktrace.WithBatchTimeout(timeout),
		}
		if opts.Blocking {
			bo = append(bo, sdktrace.WithBlocking())
		} else {
			cp.max = int64(queue)
		}
		var bexp sdktrace.SpanExporter = cexp
		if opts.ConcurrentExports > 1 {
			bexp = newConcurrentExporter(cexp, opts.ConcurrentExports)
		}
		cp.SpanProcessor = sdktrace.NewBatchSpanProcessor(bexp, bo...)
	}
	sp = cp
	sampler := opts.Sampler
	if sampler == nil {
		sampler = sdktrace.ParentBased(sdktrace.AlwaysSample())
	}
	tp := sdktrace.NewTracerProvider(
		sdktrace.WithResource(res),
		sdktrace.WithSampler(sampler),
		sdktrace.WithRawSpanLimits(opts.spanLimits()),
		sdktrace.WithSpanProcessor(sp),
	)
	shutdown := func(ctx context.Context) error {
		err := tp.Shutdown(ctx)
		r := counts.report()
		r.log(ctx, opts.Logger, opts.exporterName())
		if lost := r.err(); lost != nil {
			err = errors.Join(err, lost)
		}
		if err != nil {
			return fmt.Errorf("tracing: shutdown of %s exporter: %w", opts.exporterName(), err)
		}
		return nil
	}
	return tp, shutdown, nil
}

// orDefault returns v, or def when v is not positive.
func orDefault(v, def int) int {
	if v <= 0 {
		return def
	}
	return v
}

// limit returns v, def when v is zero, and -1 (no limit) when v is
// negative.
func limit(v, def int) int {
	switch {
	case v == 0:
		return def
	case v < 0:
		return -1
	}
	return v
}

func (o *Options) spanLimits() sdktrace.SpanLimits {
	l := sdktrace.NewSpanLimits()
	l.AttributeValueLengthLimit = limit(o.AttributeValueLengthLimit, DefaultAttributeValueLengthLimit)
	l.AttributeCountLimit = limit(o.AttributeCountLimit, DefaultAttributeCountLimit)
	l.EventCountLimit = limit(o.EventCountLimit, DefaultEventCountLimit)
	l.AttributePerEventCountLimit = l.AttributeCountLimit
	return l
}

// Propagator returns the W3C Trace Context and Baggage propagator, the one
// to inject into and extract from the headers of outgoing and incoming
// requests. It is not installed globally; a main that wants that calls
// otel.SetTextMapPropagator(tracing.Propagator()).
func Propagator() propagation.TextMapPropagator {
	return propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})
}

func (o *Options) exporterName() Exporter {
	if o.Exporter == "" {
		return ExporterStdout
	}
	return o.Exporter
}

func (o *Options) validate() error {
	switch e := o.exporterName(); e {
	case ExporterStdout:
		if o.Endpoint != "" {
			return fmt.Errorf("tracing: Endpoint %q is set but exporter %q writes to Writer; choose %q or %q to send to an endpoint",
				o.Endpoint, e, ExporterOTLPGRPC, ExporterOTLPHTTP)
		}
		if o.Insecure {
			return fmt.Errorf("tracing: Insecure applies to the OTLP exporters, not %q", e)
		}
	case ExporterOTLPGRPC, ExporterOTLPHTTP:
		if o.Writer != nil {
			return fmt.Errorf("tracing: Writer is set but exporter %q sends to Endpoint; use %q to write spans to a Writer",
				e, ExporterStdout)
		}
		if err := o.validateEndpoint(); err != nil {
			return err
		}
	default:
		return fmt.Errorf("tracing: unknown exporter %q (want %q, %q or %q)",
			e, ExporterStdout, ExporterOTLPGRPC, ExporterOTLPHTTP)
	}
	return nil
}

func (o *Options) validateEndpoint() error {
	e := o.exporterName()
	if o.Endpoint == "" {
		return fmt.Errorf("tracing: exporter %q needs an Endpoint, such as \"127.0.0.1:%s\"", e, defaultPort(e))
	}
	if u, ok := endpointURL(o.Endpoint); ok {
		if u == nil {
			return fmt.Errorf("tracing: Endpoint %q is not a valid URL", o.Endpoint)
		}
		if u.Scheme != "http" && u.Scheme != "https" {
			return fmt.Errorf("tracing: Endpoint %q: scheme %q is not http or https", o.Endpoint, u.Scheme)
		}
		if u.Host == "" {
			return fmt.Errorf("tracing: Endpoint %q has no host", o.Endpoint)
		}
		if u.Scheme == "https" && o.Insecure {
			return fmt.Errorf("tracing: Endpoint %q asks for TLS but Insecure is set; use an http:// URL for plaintext", o.Endpoint)
		}
		if e == ExporterOTLPGRPC && u.Path != "" && u.Path != "/" {
			return fmt.Errorf("tracing: Endpoint %q: OTLP/gRPC takes no URL path", o.Endpoint)
		}
		return nil
	}
	if _, _, err := net.SplitHostPort(o.Endpoint); err != nil {
		return fmt.Errorf("tracing: Endpoint %q is neither host:port nor a URL: %w", o.Endpoint, err)
	}
	return nil
}

// endpointURL reports whether s is meant as a URL (it has a scheme) and,
// when it parses, the URL.
func endpointURL(s string) (*url.URL, bool) {
	if !strings.Contains(s, "://") {
		return nil, false
	}
	u, err := url.Parse(s)
	if err != nil {
		return nil, true
	}
	return u, true
}

func defaultPort(e Exporter) string {
	if e == ExporterOTLPGRPC {
		return "4317"
	}
	return "4318"
}

func (o *Options) resource(ctx context.Context) (*resource.Resource, error) {
	attrs := make([]attribute.KeyValue, 0, len(o.ResourceAttributes)+1)
	attrs = append(attrs, o.ResourceAttributes...)
	if o.ServiceName != "" {
		attrs = append(attrs, attribute.String("service.name", o.ServiceName))
	}
	custom, err := resource.New(ctx, resource.WithAttributes(attrs...))
	if err != nil {
		return nil, fmt.Errorf("tracing: resource: %w", err)
	}
	// Default supplies telemetry.sdk.* and the fallback service.name;
	// the caller's attributes win. Default carries a schema URL and the
	// custom resource none, so the merge cannot conflict.
	res, err := resource.Merge(resource.Default(), custom)
	if err != nil {
		return nil, fmt.Errorf("tracing: resource: %w", err)
	}
	return res, nil
}

func (o *Options) exporter(ctx context.Context) (sdktrace.SpanExporter, error) {
	var (
		exp sdktrace.SpanExporter
		err error
	)
	switch o.exporterName() {
	case ExporterStdout:
		w := o.Writer
		if w == nil {
			w = os.Stdout
		}
		bw := newBufferedWriter(w)
		var sexp sdktrace.SpanExporter
		sexp, err = stdouttrace.New(stdouttrace.WithWriter(bw))
		if err == nil {
			exp = &bufferedExporter{SpanExporter: sexp, w: bw}
		}
	case ExporterOTLPGRPC:
		var eo []otlptracegrpc.Option
		if _, ok := endpointURL(o.Endpoint); ok {
			eo = append(eo, otlptracegrpc.WithEndpointURL(o.Endpoint))
		} else {
			eo = append(eo, otlptracegrpc.WithEndpoint(o.Endpoint))
		}
		if o.Insecure {
			eo = append(eo, otlptracegrpc.WithInsecure())
		}
		exp, err = otlptracegrpc.New(ctx, eo...)
	case ExporterOTLPHTTP:
		var eo []otlptracehttp.Option
		if u, ok := endpointURL(o.Endpoint); ok {
			// The exporter posts to the URL's path as it is, even an
			// empty one; OTLP's default is /v1/traces.
			if u.Path == "" || u.Path == "/" {
				u.Path = "/v1/traces"
			}
			eo = append(eo, otlptracehttp.WithEndpointURL(u.String()))
		} else {
			eo = append(eo, otlptracehttp.WithEndpoint(o.Endpoint))
		}
		if o.Insecure {
			eo = append(eo, otlptracehttp.WithInsecure())
		}
		exp, err = otlptracehttp.New(ctx, eo...)
	default:
		// validate has refused it already.
		err = errors.New("unknown exporter")
	}
	if err != nil {
		return nil, fmt.Errorf("tracing: %s exporter: %w", o.exporterName(), err)
	}
	return exp, nil
}
