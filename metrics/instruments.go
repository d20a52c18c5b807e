package metrics

import (
	"context"
	"math"
	"strconv"
)

// CounterMetric is the Registry's Counter. A *CounterMetric returned by
// NewCounter is the instrument's root; With returns the child for a label
// set, cached so that the same label set always yields the same child.
type CounterMetric series[CounterHandle]

var _ Counter = (*CounterMetric)(nil)

// With returns the child for c's labels overridden by the alternating
// name/value pairs in labelValues.
func (c *CounterMetric) With(labelValues ...string) Counter {
	return c.Bind(labelValues...)
}

// Bind is With returning the concrete type, for callers that keep the
// child and record into it on the hot path.
func (c *CounterMetric) Bind(labelValues ...string) *CounterMetric {
	return (*CounterMetric)((*series[CounterHandle])(c).with(labelValues))
}

// Add increments the counter by delta, which must be finite and ≥ 0;
// any other delta is dropped and counted as ProblemInvalidValue.
func (c *CounterMetric) Add(delta float64) {
	if !(delta >= 0) || delta > math.MaxFloat64 {
		c.inst.problem(ProblemInvalidValue, strconv.FormatFloat(delta, 'g', -1, 64))
		return
	}
	if c.eager {
		c.h.Add(delta)
		return
	}
	(*series[CounterHandle])(c).handle().Add(delta)
}

// Desc returns the instrument's declaration as its backend received it.
func (c *CounterMetric) Desc() *Desc { return c.inst.desc }

// LabelValues returns the values of the declared labels of this child, in
// declaration order. The caller must not modify the slice.
func (c *CounterMetric) LabelValues() []string { return c.values }

// GaugeMetric is the Registry's Gauge; see CounterMetric for children.
type GaugeMetric series[GaugeHandle]

var _ Gauge = (*GaugeMetric)(nil)

// With returns the child for g's labels overridden by the alternating
// name/value pairs in labelValues.
func (g *GaugeMetric) With(labelValues ...string) Gauge {
	return g.Bind(labelValues...)
}

// Bind is With returning the concrete type.
func (g *GaugeMetric) Bind(labelValues ...string) *GaugeMetric {
	return (*GaugeMetric)((*series[GaugeHandle])(g).with(labelValues))
}

// Set sets the gauge to value; NaN and infinities are dropped and counted
// as ProblemInvalidValue.
func (g *GaugeMetric) Set(value float64) {
	if !finite(value) {
		g.inst.problem(ProblemInvalidValue, strconv.FormatFloat(value, 'g', -1, 64))
		return
	}
	if g.eager {
		g.h.Set(value)
		return
	}
	(*series[GaugeHandle])(g).handle().Set(value)
}

// Add adds delta, which may be negative, to the gauge; NaN and infinities
// are dropped and counted as ProblemInvalidValue.
func (g *GaugeMetric) Add(delta float64) {
	if !finite(delta) {
		g.inst.problem(ProblemInvalidValue, strconv.FormatFloat(delta, 'g', -1, 64))
		return
	}
	if g.eager {
		g.h.Add(delta)
		return
	}
	(*series[GaugeHandle])(g).handle().Add(delta)
}

// Desc returns the instrument's declaration as its backend received it.
func (g *GaugeMetric) Desc() *Desc { return g.inst.desc }

// LabelValues returns the values of the declared labels of this child.
func (g *GaugeMetric) LabelValues() []string { return g.values }

// HistogramMetric is the Registry's Histogram; see CounterMetric for
// children. It also implements ContextObserver.
type HistogramMetric series[HistogramHandle]

var (
	_ Histogram       = (*HistogramMetric)(nil)
	_ ContextObserver = (*HistogramMetric)(nil)
)

// With returns the child for h's labels overridden by the alternating
// name/value pairs in labelValues.
func (h *HistogramMetric) With(labelValues ...string) Histogram {
	return h.Bind(labelValues...)
}

// Bind is With returning the concrete type.
func (h *HistogramMetric) Bind(labelValues ...string) *HistogramMetric {
	return (*HistogramMetric)((*series[HistogramHandle])(h).with(labelValues))
}

// Observe records value; NaN and infinities are dropped and counted as
// ProblemInvalidValue.
func (h *HistogramMetric) Observe(value float64) {
	if h.plain != nil && finite(value) {
		h.plain.ObserveValue(value)
		return
	}
	h.ObserveContext(context.Background(), value)
}

// ObserveContext records value like Observe; backends with exemplars link
// it to the sampled span in ctx.
func (h *HistogramMetric) ObserveContext(ctx context.Context, value float64) {
	if !finite(value) {
		h.inst.problem(ProblemInvalidValue, strconv.FormatFloat(value, 'g', -1, 64))
		return
	}
	if h.eager {
		h.h.Observe(ctx, value)
		return
	}
	(*series[HistogramHandle])(h).handle().Observe(ctx, value)
}

// Desc returns the instrument's declaration as its backend received it.
func (h *HistogramMetric) Desc() *Desc { return h.inst.desc }

// LabelValues returns the values of the declared labels of this child.
func (h *HistogramMetric) LabelValues() []string { return h.values }

// finite reports whether v is neither NaN nor infinite: v-v is NaN for
// both, and NaN equals nothing.
func finite(v float64) bool { return v-v == 0 }
