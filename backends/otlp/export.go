package otlp

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"sync/atomic"
	"time"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/obskit/obskit/internal/push"
	"github.com/obskit/obskit/metrics"
)

// reportEvery is the least time between two delivery errors handed to
// Options.ErrorHandler, the same as the other push backends'.
const reportEvery = push.DefaultErrorInterval

// exporter wraps the SDK exporter the PeriodicReader exports through: it
// counts what was delivered, tells the producer, and reports failures
// through the Backend's error handler. It returns no error to the reader,
// which would hand it to the process-wide otel.Handle.
type exporter struct {
	inner   sdkmetric.Exporter
	prod    *producer
	onError func(error)
	closing atomic.Bool // the next export is Close's last one
	now     func() time.Time

	mu      sync.Mutex
	st      Stats
	exports uint64             // exports finished
	result  error              // of the last export
	limit   push.ReportLimiter // of the errors handed to onError
}

func newExporter(inner sdkmetric.Exporter, prod *producer, onError func(error)) *exporter {
	return &exporter{inner: inner, prod: prod, onError: onError, now: time.Now, limit: push.ReportLimiter{Interval: reportEvery}}
}

// Temporality implements sdk/metric.Exporter for the SDK's own
// instruments, of which a Backend has none.
func (e *exporter) Temporality(k sdkmetric.InstrumentKind) metricdata.Temporality {
	return e.inner.Temporality(k)
}

// Aggregation implements sdk/metric.Exporter.
func (e *exporter) Aggregation(k sdkmetric.InstrumentKind) sdkmetric.Aggregation {
	return e.inner.Aggregation(k)
}

// ForceFlush implements sdk/metric.Exporter.
func (e *exporter) ForceFlush(ctx context.Context) error { return e.inner.ForceFlush(ctx) }

// Shutdown implements sdk/metric.Exporter.
func (e *exporter) Shutdown(ctx context.Context) error { return e.inner.Shutdown(ctx) }

// Export implements sdk/metric.Exporter.
func (e *exporter) Export(ctx context.Context, rm *metricdata.ResourceMetrics) error {
	points := countPoints(rm)
	var err error
	if points > 0 {
		err = e.inner.Export(ctx, rm)
	}
	rejected, partial := partialSuccess(err)
	if partial && rejected == 0 {
		// A partial success that rejects nothing is a warning (OTLP
		// spec): everything was delivered.
		err, partial = nil, false
	}
	delivered := err == nil || partial
	// Tell the producer before anything else can collect.
	e.prod.commit(delivered)

	var derr error
	e.mu.Lock()
	e.st.Flushes++
	e.exports++
	switch {
	case err == nil:
		e.st.Sent += points
		e.st.Queued = 0
	case partial:
		rejected = min(rejected, points)
		e.st.FlushErrors++
		e.st.Sent += points - rejected
		e.st.DroppedRejected += rejected
		e.st.Queued = 0
		derr = fmt.Errorf("otlp: export: %w: the collector rejected %d of %d points: %w", metrics.ErrDelivery, rejected, points, err)
	default:
		e.st.FlushErrors++
		if e.closing.Load() {
			e.st.DroppedClosed += points
			e.st.Queued = 0
			derr = fmt.Errorf("otlp: close: %w: last export of %d points lost: %w", metrics.ErrDelivery, points, err)
		} else {
			e.st.Queued = 1
			derr = fmt.Errorf("otlp: export: %w: %d points kept for the next export: %w", metrics.ErrDelivery, points, err)
		}
	}
	e.result = derr
	if derr != nil {
		e.st.LastError = derr
	}
	report := e.reportLocked(derr)
	e.mu.Unlock()
	if report != nil {
		e.onError(report)
	}
	return nil
}

// reportLocked returns err to hand to the error handler now, or nil when
// there is none or it is rate-limited.
func (e *exporter) reportLocked(err error) error {
	if e.onError == nil {
		return nil
	}
	return e.limit.Pass(e.now(), err)
}

// seq returns the number of exports finished.
func (e *exporter) seq() uint64 {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.exports
}

// resultSince returns the error of the last export if one finished since
// seq returned since, else nil.
func (e *exporter) resultSince(since uint64) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.exports == since {
		return nil
	}
	return e.result
}

func (e *exporter) stats() Stats {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.st
}

// countPoints returns the number of data points in rm.
func countPoints(rm *metricdata.ResourceMetrics) uint64 {
	var n int
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			switch d := m.Data.(type) {
			case metricdata.Sum[float64]:
				n += len(d.DataPoints)
			case metricdata.Sum[int64]:
				n += len(d.DataPoints)
			case metricdata.Gauge[float64]:
				n += len(d.DataPoints)
			case metricdata.Gauge[int64]:
				n += len(d.DataPoints)
			case metricdata.Histogram[float64]:
				n += len(d.DataPoints)
			case metricdata.Histogram[int64]:
				n += len(d.DataPoints)
			case metricdata.ExponentialHistogram[float64]:
				n += len(d.DataPoints)
			case metricdata.ExponentialHistogram[int64]:
				n += len(d.DataPoints)
			case metricdata.Summary:
				n += len(d.DataPoints)
			}
		}
	}
	return uint64(n)
}

// partialSuccess reports whether err is nothing but OTLP partial-success
// responses (the collector accepted the request and rejected some of its
// points), and how many points were rejected. The exporters report them
// as errors of their internal type PartialSuccess, which other packages
// cannot name, so it is recognised by its name and its RejectedItems
// field.
func partialSuccess(err error) (rejected uint64, ok bool) {
	if err == nil {
		return 0, false
	}
	ok = true
	var walk func(error)
	walk = func(err error) {
		if err == nil {
			return
		}
		switch u := err.(type) {
		case interface{ Unwrap() []error }:
			for _, e := range u.Unwrap() {
				walk(e)
			}
			return
		case interface{ Unwrap() error }:
			walk(u.Unwrap())
			return
		}
		v := reflect.ValueOf(err)
		if v.Kind() == reflect.Struct && v.Type().Name() == "PartialSuccess" {
			if f := v.FieldByName("RejectedItems"); f.IsValid() && f.Kind() == reflect.Int64 {
				rejected += uint64(max(f.Int(), 0))
				return
			}
		}
		ok = false
	}
	walk(err)
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		ok = false
	}
	return rejected, ok
}
