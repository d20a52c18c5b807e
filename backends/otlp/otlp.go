// Package otlp is the obskit metrics backend that pushes to an
// OpenTelemetry Collector (or any OTLP receiver) over OTLP/gRPC or
// OTLP/HTTP.
//
//	b, err := otlp.New(otlp.Options{Endpoint: "127.0.0.1:4317", Insecure: true, ServiceName: "addsvc"})
//	reg := metrics.New(b, metrics.WithNamespace("addsvc"))
//	defer b.Close(ctx) // exports the last collection
//
// The wire is the OpenTelemetry Go SDK's: a PeriodicReader of
// go.opentelemetry.io/otel/sdk/metric exports through the otlpmetricgrpc
// or otlpmetrichttp exporter, with their retry, timeout, TLS, header and
// compression handling. What differs from the SDK's own instruments is
// where values are aggregated: obskit's handles add into atomics bound
// once per series (no attribute set is built, looked up or hashed when a
// value is recorded), and the reader reads them at each collection
// through an SDK metric.Producer (sdk/metric.WithProducer). A bound Add
// is one atomic add; see benchmarks/otlp_test.go for the figures.
//
// # Mapping
//
//	obskit                              OTLP                                  note
//	namespace "addsvc", name "requests" metric "addsvc.requests"              namespace joined with '.'; dots kept
//	Help                                description
//	Unit ("s", "By", "{request}", …)    unit, as given (UCUM)
//	declared labels, const labels       data point attributes                 set built once per series, at Bind
//	counter                             Sum, monotonic, double                cumulative or delta (Options.Temporality)
//	gauge (Set and Add)                 Gauge, double                         last value; see below
//	histogram                           Histogram (explicit buckets), double  the declared bounds; exact count, sum, min, max
//	histogram, ExponentialHistograms    ExponentialHistogram, base 2          scale 20 down to what 160 buckets hold
//	Options.Resource, ServiceName       resource attributes                   service.name at least
//	—                                   scope "github.com/obskit/obskit/backends/otlp"
//
// A gauge is a Gauge, not an UpDownCounter, even when it is only ever
// changed with Add: obskit's Gauge mixes Set and Add on one series, and
// only a Gauge carries a value that was Set; its Add is applied to the
// value in the backend. Through the Collector's Prometheus exporter these
// become, for example, addsvc_requests_total and
// addsvc_latency_seconds_bucket.
//
// The name must be a valid OpenTelemetry instrument name (at most 255
// bytes with the namespace); two instruments of one Backend with the same
// name must be declared identically (a second Registry over the Backend
// then shares the series), otherwise the declaration fails with
// metrics.ErrConflict.
//
// # Temporality
//
// Cumulative (the default): each collection reports every series'
// totals since it was bound. Delta: each collection reads and resets the
// atomics of counters and histograms; a series with nothing recorded
// since the last export is not sent. Gauges report their last value
// either way. In both, an export that fails loses nothing: cumulative totals
// are simply sent again, and a failed delta is carried into the next
// collection and sent with it, so memory stays flat however long the
// collector is away (one carried value per series). Min and max are those
// of the reported period.
//
// # Exponential histograms
//
// With Options.ExponentialHistograms, histograms are base-2 exponential
// histograms in OpenTelemetry's sense, aggregated here (the SDK's own
// aggregation is internal to it): each series starts at scale 20 and
// halves its resolution whenever its values would span more than 160
// buckets: values from 1 ms to 10 s end at scale 3, buckets 9% wide.
// Observe takes a mutex per series for a few tens of nanoseconds; the
// explicit-bucket default is lock-free.
//
// # Delivery
//
// Exports run every FlushInterval, on Flush and on Close; a collection
// without a point is not sent. An export that
// fails (collector down, timeout, rejected request) reaches
// Options.ErrorHandler wrapping metrics.ErrDelivery, at most once every
// 30 s with a count of those left unreported, and is counted in Stats;
// a partial success (the collector rejected some points) counts the
// rejected points in Stats.DroppedRejected (one that rejects none is a
// warning, and the export a success). Nothing is lost until Close:
// if its final export fails, its points are counted in
// Stats.DroppedClosed. Values recorded after Close are not exported.
// The SDK's global error handler (otel.Handle) never sees these errors.
package otlp

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetricgrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetrichttp"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/resource"
	"google.golang.org/grpc/credentials"

	"github.com/obskit/obskit/internal/push"
	"github.com/obskit/obskit/metrics"
)

// Stats is the delivery report of a Backend. Flushes counts collections
// exported (on the interval, by Flush and by Close), Sent the data points
// the collector accepted, FlushErrors the exports that failed in whole or
// part, Queued is 1 while the last export failed and its data waits for
// the next one, DroppedRejected counts points the collector rejected
// (partial success), DroppedClosed points that Close could not deliver.
// BytesSent is not known to the SDK's exporters and stays 0.
type Stats = push.Stats

// Protocol is the OTLP transport.
type Protocol string

// The transports.
const (
	ProtocolGRPC Protocol = "grpc"          // OTLP/gRPC, port 4317 by convention
	ProtocolHTTP Protocol = "http/protobuf" // OTLP/HTTP with protobuf bodies, port 4318
)

// Defaults of Options.
const (
	DefaultFlushInterval = 60 * time.Second // OpenTelemetry's OTEL_METRIC_EXPORT_INTERVAL default
	DefaultTimeout       = 10 * time.Second
)

// readerSlack is how much longer than Options.Timeout the reader waits
// for a collection and its export.
const readerSlack = time.Second

// ScopeName is the instrumentation scope of every metric a Backend exports.
const ScopeName = "github.com/obskit/obskit/backends/otlp"

// Options configure a Backend. The zero value exports over OTLP/gRPC with
// TLS to the endpoint of the standard OTEL_EXPORTER_OTLP_* environment
// variables, or localhost:4317, every minute, cumulatively.
type Options struct {
	// Protocol is ProtocolGRPC (the default, "") or ProtocolHTTP.
	Protocol Protocol
	// Endpoint is the collector's host:port. Empty means the exporter's
	// default: OTEL_EXPORTER_OTLP_METRICS_ENDPOINT or
	// OTEL_EXPORTER_OTLP_ENDPOINT, else localhost:4317 (gRPC) or
	// localhost:4318 (HTTP).
	Endpoint string
	// URLPath is the HTTP path metrics are posted to (ProtocolHTTP only);
	// empty means /v1/metrics.
	URLPath string
	// FlushInterval is the time between two exports; zero means
	// DefaultFlushInterval.
	FlushInterval time.Duration
	// Timeout bounds one export, retries included; zero means
	// DefaultTimeout.
	Timeout time.Duration
	// Headers are sent with every export (gRPC metadata or HTTP headers).
	Headers map[string]string
	// TLSConfig configures TLS to the collector. Nil means the system's
	// roots (over gRPC, OTEL_EXPORTER_OTLP_CERTIFICATE is honoured too),
	// unless Insecure is set.
	TLSConfig *tls.Config
	// Insecure sends in plaintext. It cannot be combined with TLSConfig.
	Insecure bool
	// Compression is "" (none) or "gzip".
	Compression string
	// Temporality is metricdata.CumulativeTemporality (the default, zero)
	// or metricdata.DeltaTemporality, for counters and histograms.
	Temporality metricdata.Temporality
	// Resource describes the service. Nil means the SDK's
	// resource.Default() (which reads OTEL_RESOURCE_ATTRIBUTES and
	// OTEL_SERVICE_NAME).
	Resource *resource.Resource
	// ServiceName, if set, is the resource's service.name, overriding
	// Resource's.
	ServiceName string
	// ErrorHandler receives delivery errors, which wrap
	// metrics.ErrDelivery, at most once every 30 s. It is called on the
	// export goroutine and must not block. Nil means errors are only
	// counted in Stats and returned by Flush and Close.
	ErrorHandler func(error)
	// ExponentialHistograms exports histograms as base-2 exponential
	// histograms instead of with their declared buckets.
	ExponentialHistograms bool
	// Exporter, if set, replaces the OTLP exporter (for tests, or to use
	// another SDK exporter such as stdoutmetric); Protocol, Endpoint,
	// URLPath, Headers, TLSConfig, Insecure and Compression must then be
	// zero.
	Exporter sdkmetric.Exporter
}

// Backend is an obskit metrics.Backend that exports to an OTLP receiver.
// It is safe for concurrent use.
type Backend struct {
	prod   *producer
	exp    *exporter
	mp     *sdkmetric.MeterProvider
	reader *sdkmetric.PeriodicReader

	release   func()     // after Close: releases what the exporter leaves open, or nil
	flushMu   sync.Mutex // one Flush or Close at a time, so each reads its own result
	closeOnce sync.Once
	closeErr  error

	mu       sync.Mutex
	families map[string]declaredFamily
}

type declaredFamily struct {
	desc *metrics.Desc
	fam  any
}

var _ metrics.Backend = (*Backend)(nil)

// New returns a Backend configured by o. It does not connect: a collector
// that is not up yet is reached at the first export that finds it.
func New(o Options) (*Backend, error) {
	if err := o.validate(); err != nil {
		return nil, err
	}
	res, err := o.resource()
	if err != nil {
		return nil, err
	}
	inner := o.Exporter
	var release func()
	if inner == nil {
		if inner, release, err = o.newExporter(); err != nil {
			return nil, fmt.Errorf("otlp: %w: %w", metrics.ErrInvalidOption, err)
		}
	}
	interval, timeout := o.FlushInterval, o.Timeout
	if interval == 0 {
		interval = DefaultFlushInterval
	}
	if timeout == 0 {
		timeout = DefaultTimeout
	}
	b := &Backend{families: make(map[string]declaredFamily), release: release}
	b.prod = newProducer(o.Temporality == metricdata.DeltaTemporality, o.ExponentialHistograms)
	b.exp = newExporter(inner, b.prod, o.ErrorHandler)
	b.reader = sdkmetric.NewPeriodicReader(b.exp,
		sdkmetric.WithInterval(interval),
		// The exporter gives up after timeout; the reader's own bound (on
		// collecting, exporting and Flush's wait) must not end first, or
		// Flush would return before the export's result is known.
		sdkmetric.WithTimeout(timeout+readerSlack),
		sdkmetric.WithProducer(b.prod))
	// The MeterProvider gives the reader its resource; no instrument is
	// ever created on it.
	b.mp = sdkmetric.NewMeterProvider(sdkmetric.WithReader(b.reader), sdkmetric.WithResource(res))
	return b, nil
}

func (o *Options) validate() error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("otlp: %w: "+format, append([]any{metrics.ErrInvalidOption}, a...)...)
	}
	switch o.Protocol {
	case "", ProtocolGRPC, ProtocolHTTP:
	default:
		return bad("Protocol %q, want %q or %q", o.Protocol, ProtocolGRPC, ProtocolHTTP)
	}
	if o.Endpoint != "" {
		if host, port, err := net.SplitHostPort(o.Endpoint); err != nil || host == "" || port == "" {
			return bad("Endpoint %q, want host:port", o.Endpoint)
		}
	}
	if o.URLPath != "" && (o.Protocol != ProtocolHTTP || !strings.HasPrefix(o.URLPath, "/")) {
		return bad("URLPath %q is for ProtocolHTTP and starts with '/'", o.URLPath)
	}
	if o.FlushInterval < 0 {
		return bad("FlushInterval %v is negative", o.FlushInterval)
	}
	if o.Timeout < 0 {
		return bad("Timeout %v is negative", o.Timeout)
	}
	if o.Insecure && o.TLSConfig != nil {
		return bad("both Insecure and TLSConfig set")
	}
	switch o.Compression {
	case "", "gzip":
	default:
		return bad("Compression %q, want \"\" or \"gzip\"", o.Compression)
	}
	switch o.Temporality {
	case 0, metricdata.CumulativeTemporality, metricdata.DeltaTemporality:
	default:
		return bad("Temporality %v", o.Temporality)
	}
	if o.Exporter != nil && (o.Protocol != "" || o.Endpoint != "" || o.URLPath != "" || o.Headers != nil ||
		o.TLSConfig != nil || o.Insecure || o.Compression != "") {
		return bad("Exporter set with transport options")
	}
	return nil
}

func (o *Options) resource() (*resource.Resource, error) {
	res := o.Resource
	if res == nil {
		res = resource.Default()
	}
	if o.ServiceName != "" {
		var err error
		res, err = resource.Merge(res, resource.NewSchemaless(attribute.String("service.name", o.ServiceName)))
		if err != nil {
			return nil, fmt.Errorf("otlp: %w: Resource: %w", metrics.ErrInvalidOption, err)
		}
	}
	return res, nil
}

// newExporter makes the OTLP exporter of o's protocol, and a function to
// call after its Shutdown. Neither exporter connects here.
func (o *Options) newExporter() (sdkmetric.Exporter, func(), error) {
	// The exporters' own timeout bounds each attempt; the reader's bounds
	// the export with its retries, so give the exporter the same.
	timeout := o.Timeout
	if timeout == 0 {
		timeout = DefaultTimeout
	}
	ctx := context.Background()
	if o.Protocol == ProtocolHTTP {
		opts := []otlpmetrichttp.Option{otlpmetrichttp.WithTimeout(timeout)}
		if o.Endpoint != "" {
			opts = append(opts, otlpmetrichttp.WithEndpoint(o.Endpoint))
		}
		if o.URLPath != "" {
			opts = append(opts, otlpmetrichttp.WithURLPath(o.URLPath))
		}
		if o.Headers != nil {
			opts = append(opts, otlpmetrichttp.WithHeaders(o.Headers))
		}
		if o.Insecure {
			opts = append(opts, otlpmetrichttp.WithInsecure())
		}
		// A transport of the Backend's own: the exporter's default is
		// shared by the process and keeps its connections after Shutdown.
		tr := http.DefaultTransport.(*http.Transport).Clone()
		if o.TLSConfig != nil {
			tr.TLSClientConfig = o.TLSConfig.Clone()
		}
		opts = append(opts, otlpmetrichttp.WithHTTPClient(&http.Client{Transport: tr, Timeout: timeout}))
		if o.Compression == "gzip" {
			opts = append(opts, otlpmetrichttp.WithCompression(otlpmetrichttp.GzipCompression))
		}
		exp, err := otlpmetrichttp.New(ctx, opts...)
		return exp, tr.CloseIdleConnections, err
	}
	opts := []otlpmetricgrpc.Option{otlpmetricgrpc.WithTimeout(timeout)}
	if o.Endpoint != "" {
		opts = append(opts, otlpmetricgrpc.WithEndpoint(o.Endpoint))
	}
	if o.Headers != nil {
		opts = append(opts, otlpmetricgrpc.WithHeaders(o.Headers))
	}
	if o.Insecure {
		opts = append(opts, otlpmetricgrpc.WithInsecure())
	}
	if o.TLSConfig != nil {
		opts = append(opts, otlpmetricgrpc.WithTLSCredentials(credentials.NewTLS(o.TLSConfig)))
	}
	if o.Compression == "gzip" {
		opts = append(opts, otlpmetricgrpc.WithCompressor("gzip"))
	}
	exp, err := otlpmetricgrpc.New(ctx, opts...)
	return exp, nil, err
}

// Flush collects and exports everything recorded so far, and returns the
// export's error, which wraps metrics.ErrDelivery. It waits for ctx or
// Options.Timeout, whichever ends first.
func (b *Backend) Flush(ctx context.Context) error {
	if b == nil || b.exp == nil {
		return push.NotNew("otlp")
	}
	b.flushMu.Lock()
	defer b.flushMu.Unlock()
	seq := b.exp.seq()
	err := b.reader.ForceFlush(ctx)
	if errors.Is(err, sdkmetric.ErrReaderShutdown) {
		return fmt.Errorf("otlp: flush: %w: backend closed", metrics.ErrDelivery)
	}
	if err != nil {
		return fmt.Errorf("otlp: flush: %w: %w", metrics.ErrDelivery, err)
	}
	return b.exp.resultSince(seq)
}

// Close exports the last collection, then stops the export loop and
// closes the connection. It returns the export's error, which wraps
// metrics.ErrDelivery; later calls return the same. Values recorded after
// Close are not exported.
func (b *Backend) Close(ctx context.Context) error {
	if b == nil || b.exp == nil {
		return push.NotNew("otlp")
	}
	b.closeOnce.Do(func() {
		b.flushMu.Lock()
		defer b.flushMu.Unlock()
		seq := b.exp.seq()
		b.exp.closing.Store(true)
		err := b.mp.Shutdown(ctx)
		if b.release != nil {
			b.release()
		}
		if rerr := b.exp.resultSince(seq); rerr != nil {
			b.closeErr = rerr
		} else if err != nil {
			b.closeErr = fmt.Errorf("otlp: close: %w: %w", metrics.ErrDelivery, err)
		}
	})
	return b.closeErr
}

// Stats returns the delivery report.
func (b *Backend) Stats() Stats {
	if b == nil || b.exp == nil {
		return Stats{}
	}
	return b.exp.stats()
}

// DeclareCounter implements metrics.Backend.
func (b *Backend) DeclareCounter(d *metrics.Desc) (metrics.Family[metrics.CounterHandle], error) {
	f, err := b.declare(d, func() any { return b.prod.add(newCounterFamily(d)) })
	if err != nil {
		return nil, err
	}
	return f.(*counterFamily), nil
}

// DeclareGauge implements metrics.Backend.
func (b *Backend) DeclareGauge(d *metrics.Desc) (metrics.Family[metrics.GaugeHandle], error) {
	f, err := b.declare(d, func() any { return b.prod.add(newGaugeFamily(d)) })
	if err != nil {
		return nil, err
	}
	return f.(*gaugeFamily), nil
}

// DeclareHistogram implements metrics.Backend.
func (b *Backend) DeclareHistogram(d *metrics.Desc) (metrics.Family[metrics.HistogramHandle], error) {
	f, err := b.declare(d, func() any {
		if b.prod.exponential {
			return b.prod.add(newExpoFamily(d))
		}
		return b.prod.add(newHistogramFamily(d))
	})
	if err != nil {
		return nil, err
	}
	return f.(metrics.Family[metrics.HistogramHandle]), nil
}

// maxNameLen is OpenTelemetry's limit on an instrument name.
const maxNameLen = 255

// declare returns the family of d's name, made by mk the first time and
// the same one for an identical declaration after.
func (b *Backend) declare(d *metrics.Desc, mk func() any) (any, error) {
	if b == nil || b.exp == nil {
		return nil, push.NotNew("otlp")
	}
	if d == nil {
		return nil, fmt.Errorf("otlp: %w: nil Desc", metrics.ErrInvalidOption)
	}
	name := d.FullName(".")
	if len(name) > maxNameLen {
		return nil, fmt.Errorf("otlp: declare %q: %w: longer than %d bytes", name, metrics.ErrInvalidName, maxNameLen)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if prev, ok := b.families[name]; ok {
		if !sameDecl(prev.desc, d) {
			return nil, fmt.Errorf("otlp: declare %q: %w: declared before as another %s, with other help, unit, labels or buckets", name, metrics.ErrConflict, prev.desc.Kind)
		}
		return prev.fam, nil
	}
	f := mk()
	b.families[name] = declaredFamily{desc: d, fam: f}
	return f, nil
}

func sameDecl(a, b *metrics.Desc) bool {
	return a.Kind == b.Kind && a.Help == b.Help && a.Unit == b.Unit &&
		slices.Equal(a.Labels, b.Labels) && slices.Equal(a.ConstLabels, b.ConstLabels) &&
		slices.Equal(a.Buckets, b.Buckets)
}

// attributes returns the attribute set of one series: d's const labels
// and the declared labels with their values.
func attributes(d *metrics.Desc, labelValues []string) attribute.Set {
	kvs := make([]attribute.KeyValue, 0, len(d.ConstLabels)+len(labelValues))
	for _, l := range d.ConstLabels {
		kvs = append(kvs, attribute.String(l.Name, l.Value))
	}
	for i, v := range labelValues {
		kvs = append(kvs, attribute.String(d.Labels[i], v))
	}
	return attribute.NewSet(kvs...)
}
