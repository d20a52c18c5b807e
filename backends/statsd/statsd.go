// Package statsd is the obskit metrics backend for the Etsy statsd line
// protocol (statsd 0.9 and servers that speak it: Telegraf's statsd
// input, statsd_exporter, Graphite's statsd front-ends). It aggregates
// on the hot path in memory (internal/push: atomics, no lock, no channel,
// no allocation, no network) and sends what changed every FlushInterval
// as UDP datagrams of at most MaxPacketSize bytes, several lines each.
//
//	b, err := statsd.New(statsd.Options{Addr: "127.0.0.1:8125"})
//	reg := metrics.New(b, metrics.WithNamespace("addsvc"))
//	defer b.Close(ctx) // delivers everything recorded
//
// # Mapping
//
//	obskit                          statsd line                         rule
//	namespace "addsvc", "requests"  addsvc.requests:…                   namespace and name joined by '.'
//	labels method=GET code=200      addsvc.requests.GET.200:…           label values appended with '.',
//	                                                                    const labels first (sorted by name),
//	                                                                    then declared labels in order
//	Options.Labels = TelegrafTags   addsvc.requests,method=GET,code=200:…  Telegraf/InfluxDB tag form, same order
//	counter Add(2), Add(0.5)        …:2.5|c                             the sum since the last flush; none if 0
//	gauge Set(3), Add(-1)           …:2|g                               the value, sent when recorded into
//	gauge Set(-8)                   …:0|g  …:-8|g                       a signed value is a delta in statsd, so
//	                                                                    a negative one is sent as 0, then -8
//	histogram, unit "s"             …:12.5|ms                           a timer; seconds become milliseconds
//	histogram, unit "ms"            …:12.5|ms                           as recorded (so are other units)
//	histogram, unit "s", units of   …:12.5|ms|@0.1                      past MaxTimerValues values in one flush,
//	  one flush > MaxTimerValues                                        a uniform sample with its rate
//
// The statsd daemon keeps counters' and gauges' last values itself and
// reports every known series on each of its flushes, so a series obskit
// stops recording into is still reported there; this backend sends a
// counter only when its delta is not zero and a gauge only when it was
// recorded into since the last flush. A timer's values are sent
// individually, as statsd wants them for its percentiles; past
// MaxTimerValues in one flush, a uniform random sample of that many is
// sent with "|@rate" (rate = sample size / values observed), so the
// daemon's count (which adds 1/rate per value) stays unbiased; its sum and
// percentiles come from the sample. Stats.DroppedSampled counts values so
// represented by the rate. Each timer series holds two buffers of
// MaxTimerValues float64s (one filling while the other is flushed): 16 KB
// at the default of 1000.
//
// # Sanitising
//
// A label value that reaches a line keeps only ASCII letters, digits, '_'
// and '-' ('.' too in the Telegraf form); every other byte, a multi-byte
// UTF-8 letter counting once, becomes '_', and an empty value becomes
// "_". No value can therefore start a new line, metric, path segment,
// tag or field. Two values that sanitise alike (such as "a b" and "a_b")
// name the same statsd series. Metric and label names are obskit's
// portable names, which statsd accepts as they are.
//
// # Delivery
//
// Each flush packs lines into datagrams of at most MaxPacketSize bytes
// (1432 by default: an Ethernet MTU less IP and UDP headers). UDP loses
// datagrams that arrive faster than the daemon reads them: on Linux a
// burst of more than about a hundred datagrams into a socket buffer of
// the default 208 KiB that the daemon does not drain at once is cut
// short, which is one reason to keep MaxTimerValues bounded. Options.Network
// "tcp" sends to statsd's TCP server instead (one stream, redialled with
// backoff, nothing lost to a full buffer). A datagram
// the kernel refuses (for example "connection refused" reported for the
// previous one when nothing listens) stays queued with the rest of its
// flush; at most MaxQueuedFlushes flushes wait, the oldest dropped first,
// and Stats counts what was sent and dropped. UDP cannot tell whether a
// datagram that left arrived.
package statsd

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
	DefaultAddr           = "127.0.0.1:8125"
	DefaultFlushInterval  = time.Second
	DefaultMaxTimerValues = 1000
)

// LabelStyle selects how labels appear in a statsd line.
type LabelStyle uint8

const (
	// LabelsInName appends label values to the name: "name.v1.v2".
	LabelsInName LabelStyle = iota
	// TelegrafTags writes labels as tags in Telegraf's and InfluxDB's
	// statsd form: "name,k1=v1,k2=v2".
	TelegrafTags
)

// Stats is the delivery report.
type Stats = push.Stats

// Options configure a Backend. The zero value sends to DefaultAddr.
type Options struct {
	// Addr is the statsd server's host:port; empty means DefaultAddr.
	Addr string
	// Network is "udp" (the default when empty) or "tcp", which statsd
	// 0.9 serves with its servers/tcp module: a stream loses nothing to
	// a full socket buffer, where a burst of datagrams can.
	Network string
	// FlushInterval is the time between flushes; 0 means
	// DefaultFlushInterval.
	FlushInterval time.Duration
	// Timeout bounds a flush of the interval loop, and a Flush or Close
	// whose context has no deadline; 0 means FlushInterval.
	Timeout time.Duration
	// MaxPacketSize bounds a datagram; 0 means 1432 bytes. Over TCP it
	// bounds one write, 16 KiB by default.
	MaxPacketSize int
	// MaxQueuedFlushes bounds the flushes kept for another attempt while
	// the server cannot be reached; 0 means 10, negative keeps none.
	MaxQueuedFlushes int
	// MaxTimerValues bounds the values of one timer series sent per
	// flush; past it a uniform sample with its rate. 0 means
	// DefaultMaxTimerValues.
	MaxTimerValues int
	// Labels selects how labels are written; the zero value is
	// LabelsInName.
	Labels LabelStyle
	// ErrorHandler receives delivery errors (wrapping
	// metrics.ErrDelivery), at most one per 30 s; nil drops them, Stats
	// still counts.
	ErrorHandler func(error)
}

// Backend is a statsd metrics backend. It is safe for concurrent use.
type Backend struct {
	o      Options
	store  *push.Store
	pusher *push.Pusher
	vals   []float64 // flush scratch
}

// New returns a Backend sending to o.Addr. It does not wait for the
// server: what is recorded before it listens is queued as documented.
func New(o Options) (*Backend, error) {
	if o.Addr == "" {
		o.Addr = DefaultAddr
	}
	var tr push.Transport
	switch o.Network {
	case "", "udp":
		tr = push.NewUDP(o.Addr)
	case "tcp":
		tr = push.NewTCP(o.Addr, push.TCPOptions{})
		if o.MaxPacketSize == 0 {
			o.MaxPacketSize = 16 << 10 // bytes per write
		}
	default:
		return nil, fmt.Errorf("statsd: Network %q, want \"udp\" or \"tcp\": %w", o.Network, metrics.ErrInvalidOption)
	}
	if o.FlushInterval < 0 {
		return nil, fmt.Errorf("statsd: FlushInterval %v < 0: %w", o.FlushInterval, metrics.ErrInvalidOption)
	}
	if o.FlushInterval == 0 {
		o.FlushInterval = DefaultFlushInterval
	}
	if o.MaxTimerValues < 0 {
		return nil, fmt.Errorf("statsd: MaxTimerValues %d < 0: %w", o.MaxTimerValues, metrics.ErrInvalidOption)
	}
	if o.MaxTimerValues == 0 {
		o.MaxTimerValues = DefaultMaxTimerValues
	}
	if o.Labels > TelegrafTags {
		return nil, fmt.Errorf("statsd: unknown LabelStyle %d: %w", o.Labels, metrics.ErrInvalidOption)
	}
	if o.MaxPacketSize < 0 || o.MaxPacketSize > 65507 {
		return nil, fmt.Errorf("statsd: MaxPacketSize %d outside [0, 65507]: %w", o.MaxPacketSize, metrics.ErrInvalidOption)
	}
	if o.Timeout < 0 {
		return nil, fmt.Errorf("statsd: Timeout %v < 0: %w", o.Timeout, metrics.ErrInvalidOption)
	}
	store, err := push.NewStore(push.HistogramOptions{MaxValues: o.MaxTimerValues})
	if err != nil {
		return nil, fmt.Errorf("statsd: %w", err)
	}
	store.MergeSameKey() // label sets that sanitise alike are one series
	b := &Backend{o: o, store: store}
	b.pusher, err = push.New(store, push.FlusherFunc(b.appendFlush), tr, push.Options{
		Name:             "statsd",
		FlushInterval:    o.FlushInterval,
		Timeout:          o.Timeout,
		MaxPayloadSize:   o.MaxPacketSize,
		MaxQueuedFlushes: o.MaxQueuedFlushes,
		ErrorHandler:     o.ErrorHandler,
	})
	if err != nil {
		return nil, fmt.Errorf("statsd: %w", err)
	}
	return b, nil
}

// families declares this backend's instruments on its Store.
func (b *Backend) families() push.Families {
	if b == nil || b.pusher == nil {
		return push.Families{Name: "statsd"}
	}
	return push.Families{Name: "statsd", Store: b.store, Info: push.KeyInfo(b.key)}
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

// Flush sends everything recorded so far, and what earlier flushes left
// queued, and returns once it is written. Its error wraps
// metrics.ErrDelivery.
// After Close it returns an error wrapping metrics.ErrDelivery.
func (b *Backend) Flush(ctx context.Context) error {
	if b == nil || b.pusher == nil {
		return push.NotNew("statsd")
	}
	return b.pusher.Flush(ctx)
}

// Close flushes a last time, stops the flush goroutine and closes the
// socket. Recording after Close is a no-op counted in
// Stats.DroppedClosed.
// A second Close, concurrent or later, waits for the first and returns
// nil.
func (b *Backend) Close(ctx context.Context) error {
	if b == nil || b.pusher == nil {
		return push.NotNew("statsd")
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

// WriteTo writes the lines of one flush to w instead of the server, as
// Flush would send them (reading and resetting the series), and returns
// the bytes written.
func (b *Backend) WriteTo(w io.Writer) (int64, error) {
	if b == nil || b.pusher == nil {
		return 0, push.NotNew("statsd")
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
		bt.Line(appendLine(bt.Scratch(), c.Key, d, "|c"))
	}
	for _, g := range b.store.Gauges() {
		v, changed := g.Take()
		if !changed {
			continue
		}
		line := bt.Scratch()
		if v < 0 {
			// A signed gauge value is a delta to statsd: set 0 first.
			line = append(line, g.Key...)
			line = append(line, ":0|g\n"...)
		}
		bt.Line(appendLine(line, g.Key, v, "|g"))
	}
	for _, h := range b.store.Histograms() {
		scale := 1.0
		if h.Desc.Unit == metrics.UnitSeconds {
			scale = 1000
		}
		b.vals = h.Take(b.vals, func(s *push.Snapshot) {
			b.pusher.CountSampled(s.Count - uint64(len(s.Values)))
			for _, v := range s.Values {
				line := appendLine(bt.Scratch(), h.Key, v*scale, "|ms")
				if s.Rate < 1 {
					line = append(line, "|@"...)
					line = strconv.AppendFloat(line, s.Rate, 'g', -1, 64)
				}
				bt.Line(line)
			}
		})
	}
	return nil
}

func appendLine(dst []byte, key string, v float64, typ string) []byte {
	dst = append(dst, key...)
	dst = append(dst, ':')
	dst = appendValue(dst, v)
	return append(dst, typ...)
}

// appendValue formats v in the shortest form that parses back exactly;
// -0 is written as 0.
func appendValue(dst []byte, v float64) []byte {
	if v == 0 {
		return append(dst, '0')
	}
	return strconv.AppendFloat(dst, v, 'g', -1, 64)
}
