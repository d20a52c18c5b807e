// Package gokit lets a Go kit service move to obskit without rewriting its
// instrumentation: Go kit code keeps its metrics.Counter, Gauge, Histogram,
// provider.Provider, endpoint.Endpoint and endpoint.Middleware, and reaches
// any obskit backend through the adapters here.
//
// It lives in a module of its own (github.com/obskit/obskit/compat/gokit),
// so Go kit never enters the kit's go.mod; only services that import this
// package depend on Go kit.
//
// # Metrics
//
// obskit's Counter, Gauge and Histogram have Go kit's method sets except
// that With returns obskit's type, so neither satisfies the other's
// interface. ToKitCounter, ToKitGauge and ToKitHistogram show an obskit
// instrument as Go kit's; FromKitCounter, FromKitGauge and FromKitHistogram
// show a Go kit instrument as obskit's. With on an adapter returns the
// adapter of the child, and converting back returns the original: an
// obskit instrument shown as Go kit's and back is the obskit instrument
// itself. The adapter of an obskit *metrics.CounterMetric (and
// GaugeMetric, HistogramMetric) is a pointer to it under another method
// set, so recording through it costs what recording through obskit's
// interface costs.
//
// # Provider
//
// NewProvider returns a Go kit provider.Provider over an obskit
// *metrics.Registry: a service that takes a Provider records into any
// obskit backend with one line in func main. Go kit's Provider names an
// instrument and nothing else, while obskit declares every instrument with
// help, unit, label names and buckets; ProviderOptions.Instruments gives
// those, by the name the Go kit code uses. A label that was not declared
// there is counted (metrics.Stats.UndeclaredLabels) and dropped, where
// Go kit's Prometheus provider would panic.
//
// # Endpoints
//
// obskit's middleware.Endpoint[Req, Resp] is Go kit's endpoint.Endpoint
// with typed requests and responses. ToKitEndpoint and FromKitEndpoint
// convert endpoints, ToKitMiddleware and FromKitMiddleware convert
// middlewares, so obskit's instrumenting, tracing and logging middlewares
// wrap Go kit endpoints, and Go kit's circuit breakers and rate limiters
// wrap obskit endpoints. A request or response of the wrong dynamic type
// is an error wrapping ErrType, never a panic.
package gokit
