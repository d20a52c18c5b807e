package influx

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"time"

	"github.com/influxdata/influxdb1-client/models"

	"github.com/obskit/obskit/internal/push"
	"github.com/obskit/obskit/metrics"
)

// Defaults of Options.
const (
	DefaultURL           = "http://127.0.0.1:8086"
	DefaultFlushInterval = 10 * time.Second
	// DefaultMaxBatchSize bounds the body of one HTTP write.
	DefaultMaxBatchSize = 1 << 20
	// DefaultMaxPacketSize bounds one UDP datagram, as the client
	// library's UDP client does.
	DefaultMaxPacketSize = 512
)

// Stats is the delivery report.
type Stats = push.Stats

// Options configure a Backend. The zero value writes over HTTP to
// DefaultURL, into no database: set Database (or UDPAddr).
type Options struct {
	// URL is the InfluxDB HTTP API's base URL; empty means DefaultURL.
	URL string
	// UDPAddr, when set, sends points over UDP to this host:port (an
	// InfluxDB [[udp]] listener, which has its own database) instead of
	// HTTP. URL, Database, RetentionPolicy, WriteConsistency, Username,
	// Password and TLSConfig are then unused.
	UDPAddr string
	// Database is the database written to; required over HTTP.
	Database string
	// RetentionPolicy is the retention policy written to; empty means
	// the database's default.
	RetentionPolicy string
	// Precision is the timestamp precision: "ns" (the default), "u",
	// "ms", "s", "m" or "h". Points of one series written twice within
	// one unit overwrite each other in InfluxDB, so a coarse precision
	// loses data when flushes come closer than it.
	Precision string
	// WriteConsistency is "any", "one", "quorum" or "all" (InfluxDB
	// Enterprise clusters); empty leaves it to the server.
	WriteConsistency string
	// Username and Password authenticate HTTP writes (basic auth) when
	// Username is set.
	Username, Password string
	// TLSConfig configures HTTPS; nil means the system's roots.
	TLSConfig *tls.Config
	// FlushInterval is the time between flushes; 0 means
	// DefaultFlushInterval.
	FlushInterval time.Duration
	// Timeout bounds a flush of the interval loop, and a Flush or Close
	// whose context has no deadline; 0 means FlushInterval.
	Timeout time.Duration
	// MaxBatchSize bounds the body of one HTTP write in bytes: a flush
	// larger than that is split into several writes. 0 means
	// DefaultMaxBatchSize.
	MaxBatchSize int
	// MaxPacketSize bounds one UDP datagram; 0 means
	// DefaultMaxPacketSize.
	MaxPacketSize int
	// MaxQueuedFlushes bounds the flushes kept for another attempt while
	// the server cannot be reached; 0 means 10, negative keeps none.
	MaxQueuedFlushes int
	// CounterTotals sends each counter's running total since the Backend
	// was made, every flush once it is not 0, in its count field instead
	// of the delta of each interval.
	CounterTotals bool
	// StopIdleAfter stops sending a gauge that has not been recorded into
	// for this long (it resumes when recorded into again); 0 sends every
	// gauge on every flush once it has been recorded into.
	StopIdleAfter time.Duration
	// ErrorHandler receives delivery errors (wrapping
	// metrics.ErrDelivery, and push's rejection for a 4xx answer) with
	// the server's message, at most one per 30 s; nil drops them, Stats
	// still counts.
	ErrorHandler func(error)
}

var precisions = map[string]bool{"ns": true, "u": true, "ms": true, "s": true, "m": true, "h": true}

var consistencies = map[string]bool{"": true, "any": true, "one": true, "quorum": true, "all": true}

// Backend is an InfluxDB 1.x metrics backend. It is safe for concurrent
// use.
type Backend struct {
	o      Options
	idle   int   // flushes after which a gauge is idle; 0 never
	mult   int64 // nanoseconds per Precision unit
	store  *push.Store
	pusher *push.Pusher
	fields []field // flush scratch
}

// New returns a Backend writing to o.URL (or o.UDPAddr). It does not
// contact the server: what is recorded before it is up is queued as
// documented.
func New(o Options) (*Backend, error) {
	if o.URL == "" {
		o.URL = DefaultURL
	}
	if o.Precision == "" {
		o.Precision = "ns"
	}
	switch {
	case !precisions[o.Precision]:
		return nil, fmt.Errorf("influx: Precision %q is not one of ns, u, ms, s, m, h: %w", o.Precision, metrics.ErrInvalidOption)
	case !consistencies[o.WriteConsistency]:
		return nil, fmt.Errorf("influx: WriteConsistency %q is not one of any, one, quorum, all: %w", o.WriteConsistency, metrics.ErrInvalidOption)
	case o.UDPAddr == "" && o.Database == "":
		return nil, fmt.Errorf("influx: Database is required over HTTP: %w", metrics.ErrInvalidOption)
	case o.FlushInterval < 0:
		return nil, fmt.Errorf("influx: FlushInterval %v < 0: %w", o.FlushInterval, metrics.ErrInvalidOption)
	case o.Timeout < 0:
		return nil, fmt.Errorf("influx: Timeout %v < 0: %w", o.Timeout, metrics.ErrInvalidOption)
	case o.StopIdleAfter < 0:
		return nil, fmt.Errorf("influx: StopIdleAfter %v < 0: %w", o.StopIdleAfter, metrics.ErrInvalidOption)
	case o.MaxBatchSize < 0:
		return nil, fmt.Errorf("influx: MaxBatchSize %d < 0: %w", o.MaxBatchSize, metrics.ErrInvalidOption)
	case o.MaxPacketSize < 0 || o.MaxPacketSize > 65507:
		return nil, fmt.Errorf("influx: MaxPacketSize %d outside [0, 65507]: %w", o.MaxPacketSize, metrics.ErrInvalidOption)
	}
	if o.FlushInterval == 0 {
		o.FlushInterval = DefaultFlushInterval
	}
	var t push.Transport
	size := o.MaxBatchSize
	if o.UDPAddr != "" {
		t = push.NewUDP(o.UDPAddr)
		size = o.MaxPacketSize
		if size == 0 {
			size = DefaultMaxPacketSize
		}
	} else {
		h, err := newHTTPTransport(&o)
		if err != nil {
			return nil, fmt.Errorf("influx: %w: %w", metrics.ErrInvalidOption, err)
		}
		t = h
		if size == 0 {
			size = DefaultMaxBatchSize
		}
	}
	store, err := push.NewStore(push.HistogramOptions{Sketch: true})
	if err != nil {
		return nil, fmt.Errorf("influx: %w", err)
	}
	store.MergeSameKey() // label sets that sanitise alike are one series
	b := &Backend{o: o, idle: push.IdleFlushes(o.StopIdleAfter, o.FlushInterval), mult: models.GetPrecisionMultiplier(o.Precision), store: store}
	b.pusher, err = push.New(store, push.FlusherFunc(b.appendFlush), t, push.Options{
		Name:             "influx",
		FlushInterval:    o.FlushInterval,
		Timeout:          o.Timeout,
		MaxPayloadSize:   size,
		MaxQueuedFlushes: o.MaxQueuedFlushes,
		ErrorHandler:     o.ErrorHandler,
	})
	if err != nil {
		return nil, fmt.Errorf("influx: %w", err)
	}
	return b, nil
}

// families declares this backend's instruments on its Store.
func (b *Backend) families() push.Families {
	if b == nil || b.pusher == nil {
		return push.Families{Name: "influx"}
	}
	return push.Families{Name: "influx", Store: b.store, Info: push.KeyInfo(seriesKey)}
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
// queued, and returns once the server has answered. Its error wraps
// metrics.ErrDelivery and carries the server's message.
// After Close it returns an error wrapping metrics.ErrDelivery.
func (b *Backend) Flush(ctx context.Context) error {
	if b == nil || b.pusher == nil {
		return push.NotNew("influx")
	}
	return b.pusher.Flush(ctx)
}

// Close flushes a last time and stops the flush goroutine. Recording
// after Close is a no-op counted in Stats.DroppedClosed.
// A second Close, concurrent or later, waits for the first and returns
// nil.
func (b *Backend) Close(ctx context.Context) error {
	if b == nil || b.pusher == nil {
		return push.NotNew("influx")
	}
	return b.pusher.Close(ctx)
}

// Stats returns the delivery report. Sent counts points.
func (b *Backend) Stats() Stats {
	if b == nil || b.pusher == nil {
		return Stats{}
	}
	return b.pusher.Stats()
}

// WriteTo writes the points of one flush in line protocol to w instead of
// the server, as Flush would send them (reading and resetting the
// series), and returns the bytes written.
func (b *Backend) WriteTo(w io.Writer) (int64, error) {
	if b == nil || b.pusher == nil {
		return 0, push.NotNew("influx")
	}
	return b.pusher.WriteTo(w)
}

// appendFlush formats one flush. The Pusher runs one at a time.
func (b *Backend) appendFlush(bt *push.Batch) error {
	now := bt.Now
	for _, c := range b.store.Counters() {
		v := c.TakeValue(b.o.CounterTotals)
		if v == 0 {
			continue
		}
		b.fields = append(b.fields[:0], field{"count", v})
		b.line(bt, c.Key, now)
	}
	for _, g := range b.store.Gauges() {
		v, _ := g.Take()
		if !g.Seen || b.idle > 0 && g.Idle >= b.idle {
			continue
		}
		b.fields = append(b.fields[:0], field{"value", v})
		b.line(bt, g.Key, now)
	}
	for _, h := range b.store.Histograms() {
		h.Take(nil, func(s *push.Snapshot) {
			sum := s.Summary()
			// Fields sorted by key, as the line protocol writes them.
			b.fields = append(b.fields[:0],
				field{"count", float64(sum.Count)},
				field{"max", sum.Max},
				field{"min", sum.Min},
				field{push.QuantileNames[0], sum.Q[0]},
				field{push.QuantileNames[1], sum.Q[1]},
				field{push.QuantileNames[2], sum.Q[2]},
				field{push.QuantileNames[3], sum.Q[3]},
				field{"sum", sum.Sum},
			)
			b.line(bt, h.Key, now)
		})
	}
	return nil
}

func (b *Backend) line(bt *push.Batch, key string, now time.Time) {
	if line, ok := appendPoint(bt.Scratch(), key, b.fields, now, b.mult); ok {
		bt.Line(line)
	}
}
