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
	// Small enough to inline, so that recording into a bound counter
	// costs the caller one call: the backend's.
	h := c.h
	if !(delta >= 0 && delta <= math.MaxFloat64) {
		h = c.slow
	}
	h.Add(delta)
}

// counterSlow is a counter series' slow handle.
type counterSlow series[CounterHandle]

func counterFallback(s *series[CounterHandle]) CounterHandle { return (*counterSlow)(s) }

func (c *counterSlow) Add(delta float64) {
	if !(delta >= 0) || delta > math.MaxFloat64 {
		if c.inst.count(ProblemInvalidValue) {
			c.inst.report(ProblemInvalidValue, strconv.FormatFloat(delta, 'g', -1, 64))
		}
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
	h := g.h
	if value-value != 0 { // NaN or ±Inf; see finite
		h = g.slow
	}
	h.Set(value)
}

// Add adds delta, which may be negative, to the gauge; NaN and infinities
// are dropped and counted as ProblemInvalidValue.
func (g *GaugeMetric) Add(delta float64) {
	h := g.h
	if delta-delta != 0 { // NaN or ±Inf; see finite
		h = g.slow
	}
	h.Add(delta)
}

// gaugeSlow is a gauge series' slow handle.
type gaugeSlow series[GaugeHandle]

func gaugeFallback(s *series[GaugeHandle]) GaugeHandle { return (*gaugeSlow)(s) }

func (g *gaugeSlow) Set(value float64) {
	if g.valid(value) {
		(*series[GaugeHandle])(g).handle().Set(value)
	}
}

func (g *gaugeSlow) Add(delta float64) {
	if g.valid(delta) {
		(*series[GaugeHandle])(g).handle().Add(delta)
	}
}

func (g *gaugeSlow) valid(v float64) bool {
	if !finite(v) {
		if g.inst.count(ProblemInvalidValue) {
			g.inst.report(ProblemInvalidValue, strconv.FormatFloat(v, 'g', -1, 64))
		}
		return false
	}
	return true
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
	p := h.plain
	if value-value != 0 { // NaN or ±Inf; see finite
		p = h.slowPlain
	}
	p.Observe(value)
}

// ObserveContext records value like Observe; backends with exemplars link
// it to the sampled span in ctx.
func (h *HistogramMetric) ObserveContext(ctx context.Context, value float64) {
	o := h.h
	if value-value != 0 { // NaN or ±Inf; see finite
		o = h.slow
	}
	o.Observe(ctx, value)
}

// backgroundObserver observes into a histogram handle with
// context.Background.
type backgroundObserver struct{ h HistogramHandle }

func (b backgroundObserver) Observe(value float64) { b.h.Observe(context.Background(), value) }

// histogramSlow is a histogram series' slow handle.
type histogramSlow series[HistogramHandle]

func histogramFallback(s *series[HistogramHandle]) HistogramHandle { return (*histogramSlow)(s) }

func (h *histogramSlow) Observe(ctx context.Context, value float64) {
	if !finite(value) {
		if h.inst.count(ProblemInvalidValue) {
			h.inst.report(ProblemInvalidValue, strconv.FormatFloat(value, 'g', -1, 64))
		}
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
