package circonus

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"math"
	"net/url"
	"strconv"
	"time"

	cgm "github.com/circonus-labs/circonus-gometrics"

	"github.com/obskit/obskit/internal/push"
	"github.com/obskit/obskit/metrics"
)

// Defaults of Options.
const (
	DefaultFlushInterval = 10 * time.Second
	// DefaultMaxSubmissionSize bounds the internal form of one
	// submission; a larger flush is submitted in several PUTs.
	DefaultMaxSubmissionSize = 1 << 20
)

// Stats is the delivery report.
type Stats = push.Stats

// Options configure a Backend.
type Options struct {
	// URL is the HTTPTrap check's submission URL
	// (https://…/module/httptrap/<uuid>/<secret>, or a circonus-agent's
	// http://…/write/<id>). Required.
	URL string
	// TLSConfig configures HTTPS to the trap (circonus-gometrics'
	// CheckManager.Broker.TLSConfig). Nil means the system's roots; an
	// enterprise broker with Circonus' private CA needs its certificate
	// in RootCAs.
	TLSConfig *tls.Config
	// FlushInterval is the time between flushes; 0 means
	// DefaultFlushInterval.
	FlushInterval time.Duration
	// Timeout bounds a flush of the interval loop, and a Flush or Close
	// whose context has no deadline; 0 means FlushInterval.
	Timeout time.Duration
	// MaxQueuedFlushes bounds the flushes kept for another attempt while
	// the trap cannot be reached; 0 means 10, negative keeps none.
	MaxQueuedFlushes int
	// ErrorHandler receives delivery errors (wrapping
	// metrics.ErrDelivery), at most one per 30 s; nil drops them, Stats
	// still counts.
	ErrorHandler func(error)
}

// Backend is a Circonus metrics backend. It is safe for concurrent use.
type Backend struct {
	store  *push.Store
	pusher *push.Pusher
	trap   *trap
}

// New returns a Backend submitting to o.URL. It does not
// contact the trap.
func New(o Options) (*Backend, error) {
	u, err := url.Parse(o.URL)
	switch {
	case o.URL == "":
		return nil, fmt.Errorf("circonus: URL is required: %w", metrics.ErrInvalidOption)
	case err != nil:
		return nil, fmt.Errorf("circonus: URL: %w: %w", metrics.ErrInvalidOption, err)
	case u.Scheme != "http" && u.Scheme != "https" && u.Scheme != "http+unix" || u.Host == "":
		return nil, fmt.Errorf("circonus: URL %q is not http(s)://host/…: %w", o.URL, metrics.ErrInvalidOption)
	case o.FlushInterval < 0:
		return nil, fmt.Errorf("circonus: FlushInterval %v < 0: %w", o.FlushInterval, metrics.ErrInvalidOption)
	case o.Timeout < 0:
		return nil, fmt.Errorf("circonus: Timeout %v < 0: %w", o.Timeout, metrics.ErrInvalidOption)
	}
	if o.FlushInterval == 0 {
		o.FlushInterval = DefaultFlushInterval
	}
	cfg := &cgm.Config{}
	cfg.CheckManager.Check.SubmissionURL = o.URL
	cfg.CheckManager.Broker.TLSConfig = o.TLSConfig
	if u.Scheme == "https" && o.TLSConfig == nil {
		// Without an API token circonus-gometrics cannot fetch Circonus'
		// CA: use the system's roots.
		cfg.CheckManager.Broker.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	t, err := newTrap(cfg)
	if err != nil {
		return nil, fmt.Errorf("circonus: %w: %w", metrics.ErrInvalidOption, err)
	}
	store, err := push.NewStore(push.HistogramOptions{Sketch: true})
	if err != nil {
		return nil, fmt.Errorf("circonus: %w", err)
	}
	store.MergeSameKey() // label sets that sanitise alike are one series
	b := &Backend{store: store, trap: t}
	b.pusher, err = push.New(store, push.FlusherFunc(b.appendFlush), t, push.Options{
		Name:             "circonus",
		FlushInterval:    o.FlushInterval,
		Timeout:          o.Timeout,
		MaxPayloadSize:   DefaultMaxSubmissionSize,
		MaxQueuedFlushes: o.MaxQueuedFlushes,
		ErrorHandler:     o.ErrorHandler,
	})
	if err != nil {
		return nil, fmt.Errorf("circonus: %w", err)
	}
	return b, nil
}

// families declares this backend's instruments on its Store.
func (b *Backend) families() push.Families {
	if b == nil || b.pusher == nil {
		return push.Families{Name: "circonus"}
	}
	return push.Families{Name: "circonus", Store: b.store, Info: push.KeyInfo(metricName)}
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

// Flush submits everything recorded so far, and what earlier flushes
// left queued, and returns once the trap has answered (or ctx ends). Its
// error wraps metrics.ErrDelivery.
// After Close it returns an error wrapping metrics.ErrDelivery.
func (b *Backend) Flush(ctx context.Context) error {
	if b == nil || b.pusher == nil {
		return push.NotNew("circonus")
	}
	return b.pusher.Flush(ctx)
}

// Close submits a last time and stops the flush goroutine. Recording
// after Close is a no-op counted in Stats.DroppedClosed.
// A second Close, concurrent or later, waits for the first and returns
// nil.
func (b *Backend) Close(ctx context.Context) error {
	if b == nil || b.pusher == nil {
		return push.NotNew("circonus")
	}
	return b.pusher.Close(ctx)
}

// Stats returns the delivery report. Sent counts metrics (one per series
// and submission).
func (b *Backend) Stats() Stats {
	if b == nil || b.pusher == nil {
		return Stats{}
	}
	return b.pusher.Stats()
}

// WriteTo writes one flush in the backend's internal line form (kind,
// metric name, value; tab-separated) to w instead of the trap, reading
// and resetting the series: for tests and debugging.
func (b *Backend) WriteTo(w io.Writer) (int64, error) {
	if b == nil || b.pusher == nil {
		return 0, push.NotNew("circonus")
	}
	return b.pusher.WriteTo(w)
}

// appendFlush formats one flush. The Pusher runs one at a time.
func (b *Backend) appendFlush(bt *push.Batch) error {
	for _, c := range b.store.Counters() {
		d := c.TakeDelta()
		if d == 0 {
			continue
		}
		// Circonus counters are integers: carry the fraction to the next
		// flush, so that what arrives adds up to the integer part of the
		// running total.
		before := c.Total
		c.Total += d
		n := math.Floor(c.Total) - math.Floor(before)
		if n <= 0 {
			continue
		}
		line := appendHead(bt.Scratch(), 'c', c.Key)
		line = strconv.AppendUint(line, uint64(n), 10)
		bt.Line(line)
	}
	for _, g := range b.store.Gauges() {
		v, _ := g.Take()
		if !g.Seen || math.IsNaN(v) || math.IsInf(v, 0) {
			continue
		}
		line := appendHead(bt.Scratch(), 'g', g.Key)
		line = strconv.AppendFloat(line, v, 'g', -1, 64)
		bt.Line(line)
	}
	for _, h := range b.store.Histograms() {
		h.Take(nil, func(s *push.Snapshot) {
			line := appendHead(bt.Scratch(), 'h', h.Key)
			first := true
			s.Sketch.Bins(func(v float64, n uint64) {
				if !first {
					line = append(line, ' ')
				}
				first = false
				line = strconv.AppendFloat(line, v, 'g', -1, 64)
				line = append(line, ':')
				line = strconv.AppendUint(line, n, 10)
			})
			bt.Line(line)
		})
	}
	return nil
}

func appendHead(dst []byte, kind byte, name string) []byte {
	dst = append(dst, kind, '\t')
	dst = append(dst, name...)
	return append(dst, '\t')
}
