// Package graphite is the obskit metrics backend for Graphite's plaintext
// protocol over TCP (carbon 1.1 and anything that speaks it). It
// aggregates on the hot path in memory (internal/push: atomics, no
// channel, no allocation, no network; a histogram takes its sketch's
// short mutex) and every FlushInterval writes one line per value,
// "path value timestamp", to one TCP connection, redialled with backoff
// when it breaks.
//
//	b, err := graphite.New(graphite.Options{Addr: "127.0.0.1:2003"})
//	reg := metrics.New(b, metrics.WithNamespace("addsvc"))
//	defer b.Close(ctx) // delivers everything recorded
//
// # Mapping
//
// Series are tagged (Graphite ≥ 1.1) by default, dotted paths with
// Options.DottedPaths:
//
//	obskit                           tagged (default)                        DottedPaths
//	namespace "addsvc", "requests"   addsvc.requests                         addsvc.requests
//	labels method=GET code=200       addsvc.requests;method=GET;code=200     addsvc.requests.method.GET.code.200
//	                                 const labels first (sorted by name), then declared labels in order
//	counter                          the delta since the last flush; nothing when it is 0
//	                                 (Options.CounterTotals: the running total, every flush)
//	gauge                            the value, every flush (see Options.StopIdleAfter)
//	histogram "latency" (any unit)   addsvc.latency.count;route=/a           addsvc.latency.route._a.count
//	                                 and .sum .min .max .p50 .p90 .p95 .p99, of the values observed
//	                                 since the last flush, then reset; nothing for an empty interval
//	timestamp                        the flush time in Unix seconds
//
// Values are in the instrument's unit (seconds for durations), written in
// Go's shortest float form. Quantiles come from a relative-error sketch
// (internal/sketch): within Options.RelativeAccuracy (1% by default) of
// the exact nearest-rank quantile of the interval's values; count, sum,
// min and max are exact. Each histogram series holds two sketches (one
// filling while the other is flushed) of a few KB each: the 10 000
// log-uniform values from 1 ms to 10 s of the conformance test fill 466
// buckets of 8 bytes. Graphite keeps one point per series and
// retention step, so a FlushInterval shorter than the finest retention
// makes later flushes replace earlier ones within a step: keep
// FlushInterval at least that step.
//
// # Sanitising
//
// Metric and label names are obskit's portable names, which Graphite
// accepts as they are (with DottedPaths a '.' in a label name becomes
// '_'). A tag value keeps printable ASCII except ';' and '~' at its
// start; space, control bytes, ';', a leading '~' and each non-ASCII
// character become '_'; an empty value leaves its tag out, as Graphite
// forbids empty tag values. A dotted-path value keeps ASCII letters,
// digits, '_' and '-'; every other character becomes '_' and an empty
// value is "_". No value can therefore start a new line, path node or
// tag. Two values that sanitise alike name the same Graphite series.
//
// # Delivery
//
// Lines are written in chunks of up to 16 KiB. Before each write the
// connection is checked, without blocking, for a close by the server,
// so that a restarted carbon costs a redial rather than lost lines;
// a failed dial is retried with exponential backoff (100 ms doubling to
// 10 s, jittered), an explicit Flush or Close dials at once. Unsent
// chunks stay queued with the rest of their flush, at most
// MaxQueuedFlushes flushes, the oldest dropped first; Stats counts what
// was sent and dropped. A chunk whose write failed part-way is sent
// again whole: carbon drops the incomplete last line of a closed
// connection, but the complete lines before it may arrive twice.
package graphite

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/obskit/obskit/internal/push"
	"github.com/obskit/obskit/metrics"
)

// Defaults of Options.
const (
	DefaultAddr             = "127.0.0.1:2003"
	DefaultFlushInterval    = 10 * time.Second
	DefaultRelativeAccuracy = 0.01
	writeSize               = 16 << 10
)

// quantileSuffixes are the path suffixes of push.Quantiles.
var quantileSuffixes = func() (s [len(push.QuantileNames)]string) {
	for i, n := range push.QuantileNames {
		s[i] = "." + n
	}
	return s
}()

// Stats is the delivery report.
type Stats = push.Stats

// Options configure a Backend. The zero value sends tagged series to
// DefaultAddr every 10 s.
type Options struct {
	// Addr is carbon's plaintext TCP host:port; empty means DefaultAddr.
	Addr string
	// FlushInterval is the time between flushes; 0 means
	// DefaultFlushInterval.
	FlushInterval time.Duration
	// Timeout bounds a flush of the interval loop, dial included, and a
	// Flush or Close whose context has no deadline; 0 means
	// FlushInterval.
	Timeout time.Duration
	// MaxQueuedFlushes bounds the flushes kept for another attempt while
	// carbon cannot be reached; 0 means 10, negative keeps none.
	MaxQueuedFlushes int
	// DottedPaths writes labels as path nodes, name.k1.v1.k2.v2, instead
	// of tags.
	DottedPaths bool
	// CounterTotals sends each counter's running total since the Backend
	// was made, every flush once it is not 0, instead of the delta of
	// each interval.
	CounterTotals bool
	// StopIdleAfter stops sending a gauge that has not been recorded into
	// for this long (it resumes when recorded into again); 0 sends every
	// gauge on every flush.
	StopIdleAfter time.Duration
	// RelativeAccuracy of histogram quantiles, in (0, 1); 0 means
	// DefaultRelativeAccuracy.
	RelativeAccuracy float64
	// ErrorHandler receives delivery errors (wrapping
	// metrics.ErrDelivery), at most one per 30 s; nil drops them, Stats
	// still counts.
	ErrorHandler func(error)
}

// Backend is a Graphite metrics backend. It is safe for concurrent use.
type Backend struct {
	o      Options
	idle   int // flushes after which a gauge is idle; 0 never
	store  *push.Store
	pusher *push.Pusher
}

// New returns a Backend writing to o.Addr. It does not dial: carbon may
// come up later, and what is recorded meanwhile is queued as documented.
func New(o Options) (*Backend, error) {
	if o.Addr == "" {
		o.Addr = DefaultAddr
	}
	switch {
	case o.FlushInterval < 0:
		return nil, fmt.Errorf("graphite: FlushInterval %v < 0: %w", o.FlushInterval, metrics.ErrInvalidOption)
	case o.Timeout < 0:
		return nil, fmt.Errorf("graphite: Timeout %v < 0: %w", o.Timeout, metrics.ErrInvalidOption)
	case o.StopIdleAfter < 0:
		return nil, fmt.Errorf("graphite: StopIdleAfter %v < 0: %w", o.StopIdleAfter, metrics.ErrInvalidOption)
	case o.RelativeAccuracy < 0 || o.RelativeAccuracy >= 1:
		return nil, fmt.Errorf("graphite: RelativeAccuracy %v outside (0, 1): %w", o.RelativeAccuracy, metrics.ErrInvalidOption)
	}
	if o.FlushInterval == 0 {
		o.FlushInterval = DefaultFlushInterval
	}
	if o.RelativeAccuracy == 0 {
		o.RelativeAccuracy = DefaultRelativeAccuracy
	}
	store, err := push.NewStore(push.HistogramOptions{Sketch: true, RelativeAccuracy: o.RelativeAccuracy})
	if err != nil {
		return nil, fmt.Errorf("graphite: %w", err)
	}
	store.MergeSameKey() // label sets that sanitise alike are one series
	b := &Backend{o: o, idle: push.IdleFlushes(o.StopIdleAfter, o.FlushInterval), store: store}
	b.pusher, err = push.New(store, push.FlusherFunc(b.appendFlush), push.NewTCP(o.Addr, push.TCPOptions{}), push.Options{
		Name:             "graphite",
		FlushInterval:    o.FlushInterval,
		Timeout:          o.Timeout,
		MaxPayloadSize:   writeSize,
		MaxQueuedFlushes: o.MaxQueuedFlushes,
		ErrorHandler:     o.ErrorHandler,
	})
	if err != nil {
		return nil, fmt.Errorf("graphite: %w", err)
	}
	return b, nil
}

// series keeps the two halves of a series' path: the name and the tags
// (";k=v…", or ".k.v…" with DottedPaths), so that a histogram's suffix
// goes between them.
type series struct{ name, tags string }

func (b *Backend) info(d *metrics.Desc, lv []string) push.Info {
	name := d.FullName(".")
	tags := b.tags(d, lv)
	return push.Info{Desc: d, LabelValues: lv, Key: name + tags, Data: series{name, tags}}
}

// families declares this backend's instruments on its Store.
func (b *Backend) families() push.Families {
	if b == nil || b.pusher == nil {
		return push.Families{Name: "graphite"}
	}
	return push.Families{Name: "graphite", Store: b.store, Info: b.info}
}

// DeclareCounter implements metrics.Backend.
func (b *Backend) DeclareCounter(d *metrics.Desc) (metrics.Family[metrics.CounterHandle], error) {
	return b.families().Counter(d)
}

// DeclareGauge implements metrics.Backend.
func (b *Backend) DeclareGauge(d *metrics.Desc) (metrics.Family[metrics.GaugeHandle], error) {
	return b.families().Gauge(d)
}

// DeclareHistogram implements metrics.Backend.
func (b *Backend) DeclareHistogram(d *metrics.Desc) (metrics.Family[metrics.HistogramHandle], error) {
	return b.families().Histogram(d)
}

// Flush writes everything recorded so far, and what earlier flushes left
// queued, and returns once it is written. Its error wraps
// metrics.ErrDelivery.
// After Close it returns an error wrapping metrics.ErrDelivery.
func (b *Backend) Flush(ctx context.Context) error {
	if b == nil || b.pusher == nil {
		return push.NotNew("graphite")
	}
	return b.pusher.Flush(ctx)
}

// Close flushes a last time, stops the flush goroutine and closes the
// connection. Recording after Close is a no-op counted in
// Stats.DroppedClosed.
// A second Close, concurrent or later, waits for the first and returns
// nil.
func (b *Backend) Close(ctx context.Context) error {
	if b == nil || b.pusher == nil {
		return push.NotNew("graphite")
	}
	return b.pusher.Close(ctx)
}

// Stats returns the delivery report.
func (b *Backend) Stats() Stats {
	if b == nil || b.pusher == nil {
		return Stats{}
	}
	return b.pusher.Stats()
}

// WriteTo writes the lines of one flush to w instead of carbon, as Flush
// would send them (reading and resetting the series), and returns the
// bytes written.
func (b *Backend) WriteTo(w io.Writer) (int64, error) {
	if b == nil || b.pusher == nil {
		return 0, push.NotNew("graphite")
	}
	return b.pusher.WriteTo(w)
}

func (b *Backend) appendFlush(bt *push.Batch) error {
	ts := bt.Now.Unix()
	for _, c := range b.store.Counters() {
		v := c.TakeValue(b.o.CounterTotals)
		if v == 0 {
			continue
		}
		bt.Line(appendLine(bt.Scratch(), c.Key, "", "", v, ts))
	}
	for _, g := range b.store.Gauges() {
		v, _ := g.Take()
		if b.idle > 0 && g.Idle >= b.idle {
			continue
		}
		bt.Line(appendLine(bt.Scratch(), g.Key, "", "", v, ts))
	}
	for _, h := range b.store.Histograms() {
		s := h.Data.(series)
		h.Take(nil, func(snap *push.Snapshot) {
			sum := snap.Summary()
			bt.Line(b.appendStat(bt.Scratch(), s, ".count", float64(sum.Count), ts))
			bt.Line(b.appendStat(bt.Scratch(), s, ".sum", sum.Sum, ts))
			bt.Line(b.appendStat(bt.Scratch(), s, ".min", sum.Min, ts))
			bt.Line(b.appendStat(bt.Scratch(), s, ".max", sum.Max, ts))
			for i, suffix := range quantileSuffixes {
				bt.Line(b.appendStat(bt.Scratch(), s, suffix, sum.Q[i], ts))
			}
		})
	}
	return nil
}

func (b *Backend) appendStat(dst []byte, s series, suffix string, v float64, ts int64) []byte {
	if b.o.DottedPaths {
		return appendLine(dst, s.name, s.tags, suffix, v, ts) // name.k.v.count
	}
	return appendLine(dst, s.name, suffix, s.tags, v, ts) // name.count;k=v
}

func appendLine(dst []byte, a, b, c string, v float64, ts int64) []byte {
	dst = append(dst, a...)
	dst = append(dst, b...)
	dst = append(dst, c...)
	dst = append(dst, ' ')
	if v == 0 {
		dst = append(dst, '0') // not "-0"
	} else {
		dst = strconv.AppendFloat(dst, v, 'g', -1, 64)
	}
	dst = append(dst, ' ')
	return strconv.AppendInt(dst, ts, 10)
}
