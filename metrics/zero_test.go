package metrics_test

import (
	"errors"
	"testing"

	"github.com/obskit/obskit/metrics"
)

// TestZeroAndNilArguments calls every exported constructor of the
// package with zero and nil arguments: each returns an error wrapping a
// sentinel, or a documented valid value, and none panics.
func TestZeroAndNilArguments(t *testing.T) {
	declareAll := func(t *testing.T, reg *metrics.Registry, o metrics.Opts) []error {
		t.Helper()
		named := func(suffix string) metrics.Opts {
			if o.Name != "" {
				o.Name += suffix
			}
			return o
		}
		_, ec := reg.NewCounter(named("c"))
		_, eg := reg.NewGauge(named("g"))
		_, eh := reg.NewHistogram(named("h"))
		return []error{ec, eg, eh}
	}
	valid := metrics.Opts{Name: "ok"}
	tests := []struct {
		name string
		reg  func() *metrics.Registry
		o    metrics.Opts
		want error
	}{
		{"New(nil)", func() *metrics.Registry { return metrics.New(nil) }, valid, metrics.ErrInvalidOption},
		{"New(nil, nil Option)", func() *metrics.Registry { return metrics.New(nil, nil) }, valid, metrics.ErrInvalidOption},
		{"nil Option", func() *metrics.Registry { return metrics.New(metrics.Discard(), nil) }, valid, metrics.ErrInvalidOption},
		{"zero Registry", func() *metrics.Registry { return new(metrics.Registry) }, valid, metrics.ErrInvalidOption},
		{"nil *Registry", func() *metrics.Registry { return nil }, valid, metrics.ErrInvalidOption},
		{"zero Opts", func() *metrics.Registry { return metrics.New(metrics.Discard()) }, metrics.Opts{}, metrics.ErrInvalidName},
		{"WithCardinalityLimit(0)", func() *metrics.Registry {
			return metrics.New(metrics.Discard(), metrics.WithCardinalityLimit(0))
		}, valid, metrics.ErrInvalidOption},
		{"Tee(nil)", func() *metrics.Registry { return metrics.New(metrics.Tee(nil)) }, valid, metrics.ErrInvalidOption},
		{"Tee(Discard(), nil)", func() *metrics.Registry { return metrics.New(metrics.Tee(metrics.Discard(), nil)) }, valid, metrics.ErrInvalidOption},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for i, err := range declareAll(t, tt.reg(), tt.o) {
				if !errors.Is(err, tt.want) {
					t.Errorf("constructor %d: err = %v, want %v", i, err, tt.want)
				}
			}
		})
	}

	// Documented valid zero values: the options that take nil or empty
	// mean "none", Tee of no backend discards, and a nil *Registry has
	// no problems to report.
	okRegs := map[string]*metrics.Registry{
		"WithNamespace(\"\")":   metrics.New(metrics.Discard(), metrics.WithNamespace("")),
		"WithConstLabels(nil)":  metrics.New(metrics.Discard(), metrics.WithConstLabels(nil)),
		"WithErrorHandler(nil)": metrics.New(metrics.Discard(), metrics.WithErrorHandler(nil)),
		"Tee()":                 metrics.New(metrics.Tee()),
	}
	for name, reg := range okRegs {
		for i, err := range declareAll(t, reg, valid) {
			if err != nil {
				t.Errorf("%s: constructor %d: %v", name, i, err)
			}
		}
	}
	// A backend handing out a nil FamilyFunc: values are dropped and
	// counted, not a panic on the hot path.
	nilFam := metrics.New(nilFamilyBackend{metrics.Discard()})
	c, err := nilFam.NewCounter(valid)
	if err != nil {
		t.Fatal(err)
	}
	c.Add(1)
	if s := nilFam.Stats(); s.BackendDrops != 1 {
		t.Errorf("BackendDrops = %d, want 1", s.BackendDrops)
	}

	var nilReg *metrics.Registry
	if s := nilReg.Stats(); s != (metrics.Stats{}) {
		t.Errorf("nil Registry Stats = %+v", s)
	}
	if len(metrics.DefaultBuckets()) == 0 {
		t.Error("DefaultBuckets is empty")
	}
}

type nilFamilyBackend struct{ metrics.Backend }

func (nilFamilyBackend) DeclareCounter(*metrics.Desc) (metrics.Family[metrics.CounterHandle], error) {
	return metrics.FamilyFunc[metrics.CounterHandle](nil), nil
}
