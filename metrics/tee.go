package metrics

import (
	"context"
	"fmt"
)

// Undeclarer is implemented by a Backend that can take back a
// declaration it accepted, as if it had never been made: a later
// declaration of the same name, identical or not, must not conflict
// with it. d is the pointer the backend's Declare method received.
// Undeclare is called before any handle of the family is bound.
//
// Tee uses it to make a declaration on several backends all or nothing.
// A backend that cannot take a declaration back (expvar cannot
// unpublish) does not implement it.
type Undeclarer interface {
	Undeclare(d *Desc)
}

// Tee returns a Backend that declares every instrument on each of
// backends and records every value into all of them.
//
// A declaration is all or nothing: when one backend refuses it, those
// that accepted it take it back (Undeclarer), so that a later
// declaration does not conflict with a half-made one. For that, Tee
// declares on the backends that implement Undeclarer first, in the
// order given, then on the others: the guarantee holds when at most one
// backend lacks Undeclare. A nil backend makes every declaration fail
// with ErrInvalidOption; Tee of no backend drops every value.
func Tee(backends ...Backend) Backend {
	t := make(tee, 0, len(backends))
	for _, pass := range []bool{true, false} {
		for i, b := range backends {
			if _, ok := b.(Undeclarer); ok == pass {
				t = append(t, teeMember{i, b})
			}
		}
	}
	return t
}

type teeMember struct {
	index int // in the caller's order, for messages
	b     Backend
}

type tee []teeMember

func teeDeclare[H any](t tee, d *Desc, declare func(Backend, *Desc) (Family[H], error), join func([]H) H) (Family[H], error) {
	fams := make([]Family[H], len(t))
	for i, m := range t {
		var err error
		if m.b == nil {
			err = fmt.Errorf("tee backend %d: %w: nil Backend", m.index, ErrInvalidOption)
		} else if fams[i], err = declare(m.b, d); err == nil && fams[i] == nil {
			err = fmt.Errorf("tee backend %d (%T) returned no Family", m.index, m.b)
		} else if err != nil {
			err = fmt.Errorf("tee backend %d (%T): %w", m.index, m.b, err)
		}
		if err != nil {
			t[:i].Undeclare(d)
			return nil, err
		}
	}
	return FamilyFunc[H](func(labelValues []string) H {
		hs := make([]H, len(fams))
		for i, f := range fams {
			hs[i] = f.Bind(labelValues)
		}
		return join(hs)
	}), nil
}

// Undeclare implements Undeclarer: every backend that can takes d back.
func (t tee) Undeclare(d *Desc) {
	for _, m := range t {
		if u, ok := m.b.(Undeclarer); ok {
			u.Undeclare(d)
		}
	}
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

// Undeclare implements Undeclarer; Discard keeps nothing to take back.
func (discard) Undeclare(*Desc) {}

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
