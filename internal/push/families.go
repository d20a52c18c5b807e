package push

import (
	"fmt"

	"github.com/obskit/obskit/metrics"
)

// Families implements the three Declare methods of metrics.Backend for a
// push backend over its Store, so that each backend only says how a
// series is described: a backend's DeclareCounter is
// b.families().Counter(d). A Families with a nil Store is what a Backend
// not made by New has: every Declare returns NotNew(Name).
type Families struct {
	// Name is the backend's package name, for errors.
	Name string
	// Store holds the series; nil for a Backend not made by New.
	Store *Store
	// Info describes the series of one label set; Bind calls it once
	// per label set.
	Info func(d *metrics.Desc, labelValues []string) Info
}

// KeyInfo returns an Info function for a backend whose series need only
// a Key.
func KeyInfo(key func(d *metrics.Desc, labelValues []string) string) func(*metrics.Desc, []string) Info {
	return func(d *metrics.Desc, lv []string) Info {
		return Info{Desc: d, LabelValues: lv, Key: key(d, lv)}
	}
}

func (f Families) check(d *metrics.Desc) error {
	if f.Store == nil {
		return NotNew(f.Name)
	}
	if d == nil {
		return fmt.Errorf("%s: %w: nil Desc", f.Name, metrics.ErrInvalidOption)
	}
	return nil
}

// Counter declares a counter: its series are Store.NewCounter's.
func (f Families) Counter(d *metrics.Desc) (metrics.Family[metrics.CounterHandle], error) {
	if err := f.check(d); err != nil {
		return nil, err
	}
	return metrics.FamilyFunc[metrics.CounterHandle](func(lv []string) metrics.CounterHandle {
		return f.Store.NewCounter(f.Info(d, lv))
	}), nil
}

// Gauge declares a gauge: its series are Store.NewGauge's.
func (f Families) Gauge(d *metrics.Desc) (metrics.Family[metrics.GaugeHandle], error) {
	if err := f.check(d); err != nil {
		return nil, err
	}
	return metrics.FamilyFunc[metrics.GaugeHandle](func(lv []string) metrics.GaugeHandle {
		return f.Store.NewGauge(f.Info(d, lv))
	}), nil
}

// Histogram declares a histogram: its series are Store.NewHistogram's.
func (f Families) Histogram(d *metrics.Desc) (metrics.Family[metrics.HistogramHandle], error) {
	if err := f.check(d); err != nil {
		return nil, err
	}
	return metrics.FamilyFunc[metrics.HistogramHandle](func(lv []string) metrics.HistogramHandle {
		return f.Store.NewHistogram(f.Info(d, lv))
	}), nil
}
