package metrics

import (
	"context"
	"fmt"
)

// Tee returns a Backend that declares every instrument on each of
// backends and records every value into all of them.
func Tee(backends ...Backend) Backend { return tee(backends) }

type tee []Backend

func teeDeclare[H any](t tee, d *Desc, declare func(Backend, *Desc) (Family[H], error), join func([]H) H) (Family[H], error) {
	fams := make([]Family[H], len(t))
	for i, b := range t {
		f, err := declare(b, d)
		if err != nil {
			return nil, fmt.Errorf("tee backend %d (%T): %w", i, b, err)
		}
		fams[i] = f
	}
	return FamilyFunc[H](func(labelValues []string) H {
		hs := make([]H, len(fams))
		for i, f := range fams {
			hs[i] = f.Bind(labelValues)
		}
		return join(hs)
	}), nil
}

func (t tee) DeclareCounter(d *Desc) (Family[CounterHandle], error) {
	return teeDeclare(t, d, Backend.DeclareCounter, func(hs []CounterHandle) CounterHandle { return teeCounter(hs) })
}

func (t tee) DeclareGauge(d *Desc) (Family[GaugeHandle], error) {
	return teeDeclare(t, d, Backend.DeclareGauge, func(hs []GaugeHandle) GaugeHandle { return teeGauge(hs) })
}

func (t tee) DeclareHistogram(d *Desc) (Family[HistogramHandle], error) {
	return teeDeclare(t, d, Backend.DeclareHistogram, func(hs []HistogramHandle) HistogramHandle { return teeHistogram(hs) })
}

type teeCounter []CounterHandle

func (t teeCounter) Add(delta float64) {
	for _, h := range t {
		h.Add(delta)
	}
}

type teeGauge []GaugeHandle

func (t teeGauge) Set(value float64) {
	for _, h := range t {
		h.Set(value)
	}
}

func (t teeGauge) Add(delta float64) {
	for _, h := range t {
		h.Add(delta)
	}
}

type teeHistogram []HistogramHandle

func (t teeHistogram) Observe(ctx context.Context, value float64) {
	for _, h := range t {
		h.Observe(ctx, value)
	}
}

// Discard returns a Backend that drops every value. A Registry over it
// still validates declarations and counts hot-path problems.
func Discard() Backend { return discard{} }

type discard struct{}

func (discard) DeclareCounter(*Desc) (Family[CounterHandle], error) {
	return FamilyFunc[CounterHandle](func([]string) CounterHandle { return nop{} }), nil
}

func (discard) DeclareGauge(*Desc) (Family[GaugeHandle], error) {
	return FamilyFunc[GaugeHandle](func([]string) GaugeHandle { return nop{} }), nil
}

func (discard) DeclareHistogram(*Desc) (Family[HistogramHandle], error) {
	return FamilyFunc[HistogramHandle](func([]string) HistogramHandle { return nop{} }), nil
}

type nop struct{}

func (nop) Add(float64)                      {}
func (nop) Set(float64)                      {}
func (nop) Observe(context.Context, float64) {}

// dropBackend is the handle of a label set the backend gave none for: it
// counts each value it drops.
type dropBackend struct{ reg *Registry }

func (d dropBackend) Add(float64)                      { d.reg.problems[ProblemBackend].Add(1) }
func (d dropBackend) Set(float64)                      { d.reg.problems[ProblemBackend].Add(1) }
func (d dropBackend) Observe(context.Context, float64) { d.reg.problems[ProblemBackend].Add(1) }
