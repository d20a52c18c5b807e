package gokit

import (
	"context"

	kitmetrics "github.com/go-kit/kit/metrics"

	"github.com/obskit/obskit/metrics"
)

// ToKitCounter returns c as a Go kit metrics.Counter; With on the result
// returns the Go kit view of c's child. A counter that FromKitCounter made
// is returned as the Go kit counter it wraps; a nil c returns nil.
func ToKitCounter(c metrics.Counter) kitmetrics.Counter {
	switch c := c.(type) {
	case nil:
		return nil
	case *metrics.CounterMetric:
		return (*kitCounterMetric)(c)
	case *obskitCounter:
		return c.k
	}
	return &kitCounter{c}
}

// ToKitGauge returns g as a Go kit metrics.Gauge; see ToKitCounter.
func ToKitGauge(g metrics.Gauge) kitmetrics.Gauge {
	switch g := g.(type) {
	case nil:
		return nil
	case *metrics.GaugeMetric:
		return (*kitGaugeMetric)(g)
	case *obskitGauge:
		return g.k
	}
	return &kitGauge{g}
}

// ToKitHistogram returns h as a Go kit metrics.Histogram; see
// ToKitCounter. The result also implements metrics.ContextObserver: it
// passes the context on when h takes one (every *metrics.HistogramMetric
// does), so code that looks for it still links observations to traces,
// and observes plainly otherwise.
func ToKitHistogram(h metrics.Histogram) kitmetrics.Histogram {
	switch h := h.(type) {
	case nil:
		return nil
	case *metrics.HistogramMetric:
		return (*kitHistogramMetric)(h)
	case *obskitHistogram:
		return h.k
	}
	return &kitHistogram{h}
}

// FromKitCounter returns k as an obskit metrics.Counter; With on the
// result returns the obskit view of k's child. A counter that
// ToKitCounter made is returned as the obskit counter it wraps; a nil k
// returns nil.
func FromKitCounter(k kitmetrics.Counter) metrics.Counter {
	switch k := k.(type) {
	case nil:
		return nil
	case *kitCounterMetric:
		return (*metrics.CounterMetric)(k)
	case *kitCounter:
		return k.c
	}
	return &obskitCounter{k}
}

// FromKitGauge returns k as an obskit metrics.Gauge; see FromKitCounter.
func FromKitGauge(k kitmetrics.Gauge) metrics.Gauge {
	switch k := k.(type) {
	case nil:
		return nil
	case *kitGaugeMetric:
		return (*metrics.GaugeMetric)(k)
	case *kitGauge:
		return k.g
	}
	return &obskitGauge{k}
}

// FromKitHistogram returns k as an obskit metrics.Histogram; see
// FromKitCounter. Go kit's histograms take no context, so the result
// does not implement metrics.ContextObserver.
func FromKitHistogram(k kitmetrics.Histogram) metrics.Histogram {
	switch k := k.(type) {
	case nil:
		return nil
	case *kitHistogramMetric:
		return (*metrics.HistogramMetric)(k)
	case *kitHistogram:
		return k.h
	}
	return &obskitHistogram{k}
}

// The Go kit views of obskit's concrete instruments are the same pointers
// under Go kit's method sets: converting to them allocates nothing, and
// With allocates no more than obskit's own With does.
type (
	kitCounterMetric   metrics.CounterMetric
	kitGaugeMetric     metrics.GaugeMetric
	kitHistogramMetric metrics.HistogramMetric
)

func (c *kitCounterMetric) With(labelValues ...string) kitmetrics.Counter {
	return (*kitCounterMetric)((*metrics.CounterMetric)(c).Bind(labelValues...))
}

func (c *kitCounterMetric) Add(delta float64) { (*metrics.CounterMetric)(c).Add(delta) }

func (g *kitGaugeMetric) With(labelValues ...string) kitmetrics.Gauge {
	return (*kitGaugeMetric)((*metrics.GaugeMetric)(g).Bind(labelValues...))
}

func (g *kitGaugeMetric) Set(value float64) { (*metrics.GaugeMetric)(g).Set(value) }
func (g *kitGaugeMetric) Add(delta float64) { (*metrics.GaugeMetric)(g).Add(delta) }

func (h *kitHistogramMetric) With(labelValues ...string) kitmetrics.Histogram {
	return (*kitHistogramMetric)((*metrics.HistogramMetric)(h).Bind(labelValues...))
}

func (h *kitHistogramMetric) Observe(value float64) { (*metrics.HistogramMetric)(h).Observe(value) }

// ObserveContext implements metrics.ContextObserver.
func (h *kitHistogramMetric) ObserveContext(ctx context.Context, value float64) {
	(*metrics.HistogramMetric)(h).ObserveContext(ctx, value)
}

// kitCounter, kitGauge and kitHistogram are the Go kit views of any other
// implementation of obskit's interfaces.
type (
	kitCounter   struct{ c metrics.Counter }
	kitGauge     struct{ g metrics.Gauge }
	kitHistogram struct{ h metrics.Histogram }
)

func (c *kitCounter) With(labelValues ...string) kitmetrics.Counter {
	return ToKitCounter(c.c.With(labelValues...))
}

func (c *kitCounter) Add(delta float64) { c.c.Add(delta) }

func (g *kitGauge) With(labelValues ...string) kitmetrics.Gauge {
	return ToKitGauge(g.g.With(labelValues...))
}

func (g *kitGauge) Set(value float64) { g.g.Set(value) }
func (g *kitGauge) Add(delta float64) { g.g.Add(delta) }

func (h *kitHistogram) With(labelValues ...string) kitmetrics.Histogram {
	return ToKitHistogram(h.h.With(labelValues...))
}

func (h *kitHistogram) Observe(value float64) { h.h.Observe(value) }

// ObserveContext implements metrics.ContextObserver: it passes ctx on when
// the wrapped histogram takes one, and observes plainly otherwise.
func (h *kitHistogram) ObserveContext(ctx context.Context, value float64) {
	if o, ok := h.h.(metrics.ContextObserver); ok {
		o.ObserveContext(ctx, value)
		return
	}
	h.h.Observe(value)
}

// obskitCounter, obskitGauge and obskitHistogram are the obskit views of
// Go kit's instruments.
type (
	obskitCounter   struct{ k kitmetrics.Counter }
	obskitGauge     struct{ k kitmetrics.Gauge }
	obskitHistogram struct{ k kitmetrics.Histogram }
)

func (c *obskitCounter) With(labelValues ...string) metrics.Counter {
	return FromKitCounter(c.k.With(labelValues...))
}

func (c *obskitCounter) Add(delta float64) { c.k.Add(delta) }

func (g *obskitGauge) With(labelValues ...string) metrics.Gauge {
	return FromKitGauge(g.k.With(labelValues...))
}

func (g *obskitGauge) Set(value float64) { g.k.Set(value) }
func (g *obskitGauge) Add(delta float64) { g.k.Add(delta) }

func (h *obskitHistogram) With(labelValues ...string) metrics.Histogram {
	return FromKitHistogram(h.k.With(labelValues...))
}

func (h *obskitHistogram) Observe(value float64) { h.k.Observe(value) }
