// Package dogstatsd is the obskit metrics backend for DogStatsD, the
// Datadog Agent's statsd server with tags. The wire client is
// datadog-go's (github.com/DataDog/datadog-go/v5/statsd): its buffering,
// packing of several values per datagram, UDP and Unix domain socket
// transports and its client telemetry. obskit aggregates on the hot path
// in memory (internal/push: atomics, no lock, no channel, no allocation,
// no network) and hands each series to datadog-go once per FlushInterval,
// then calls its Flush.
//
//	b, err := dogstatsd.New(dogstatsd.Options{Addr: "127.0.0.1:8125"})
//	reg := metrics.New(b, metrics.WithNamespace("addsvc"))
//	defer b.Close(ctx) // delivers everything recorded
//
// # Mapping
//
//	obskit                          DogStatsD datagram                 rule
//	namespace "addsvc", "requests"  addsvc.requests:…                  namespace and name joined by '.'
//	labels method=GET code=200      …|#method:GET,code:200             one tag name:value per label: const
//	                                                                   labels first (sorted), then declared
//	                                                                   labels in declaration order
//	counter Add(2), Add(1)          addsvc.requests:3|c|#…             Client.Count with the sum since the
//	                                                                   last flush; nothing when it is 0
//	counter Add(0.5) ×5             …:2|c, later …:1|c                 datadog-go counts are integers: the
//	                                                                   fraction waits for a later flush, so
//	                                                                   the total sent is the recorded total
//	                                                                   rounded down
//	gauge Set(3), Add(-1)           …:2|g                              Client.Gauge with the value, sent when
//	                                                                   recorded into since the last flush
//	histogram (default)             …:0.012:0.3:1.5|d                  a distribution: one interval's values,
//	                                                                   in the instrument's unit (seconds for
//	                                                                   durations), several per datagram
//	                                                                   (ClientDirect.DistributionSamples)
//	  past MaxTimerValues values    …:0.012:…|d|@0.1                   a uniform sample and its rate
//	HistogramAs: Histogram          …:0.012|h                          Client.Histogram, the instrument's unit
//	HistogramAs: Timing, unit "s"   …:12.500000|ms                     Client.TimeInMilliseconds: seconds
//	                                                                   become milliseconds (Datadog's
//	                                                                   convention for timers); other units
//	                                                                   are sent as they are
//
// A counter is sent only when it changed since the last flush, a gauge
// only when it was recorded into; what the Agent reports for a series
// that received nothing in one of its intervals is the Agent's rule (it
// reports idle counters as 0 until dogstatsd_expiry_seconds).
// Metric and label names are obskit's portable names, which DogStatsD
// accepts as they are.
//
// Distributions are the default because the Agent forwards them to
// Datadog unaggregated, where percentiles are computed over every host;
// a histogram's percentiles are computed per Agent. Past MaxTimerValues
// values of one series in one flush, the values sent are a uniform
// random sample of that many (reservoir sampling on the hot path, in
// bounded memory) with "|@rate", rate = sample size / values observed,
// so that the Agent's counts stay unbiased; Stats.DroppedSampled counts
// the values so represented. datadog-go can hand over a pre-sampled set
// with its rate only for distributions; for Histogram and Timing, each
// sampled value is handed to datadog-go's Histogram or
// TimeInMilliseconds 1/rate times with that rate (dithered so that the
// calls add up to the values observed), and datadog-go's own sampling
// keeps on average one, so the counts stay unbiased there too.
//
// # Tags
//
// A tag is "name:value". A label value keeps every character except
// those that would end the tag, the tag list or the datagram: ',', '|',
// '#', and the control characters (newline among them, which datadog-go
// would otherwise delete), each replaced by '_'. Nothing else is changed:
// the Agent lower-cases tags and applies Datadog's own tag rules. A
// label whose value is empty sends no tag, as the graphite backend does:
// "name:" would reach a statsd daemon's Graphite output as an empty tag
// value, which carbon refuses. AppendTagValue and SanitizeTagValue give a value's form.
//
// datadog-go adds tags of its own to every value: env, service and
// version from DD_ENV, DD_SERVICE and DD_VERSION when they are set, and
// (origin detection, on by default) the container's ID as a "|c:" field.
// statsd.WithoutOriginDetection in ClientOptions turns the latter off.
//
// # Delivery
//
// Addr is "host:port" for UDP, or "unix:///path/to/socket" (also
// "unixgram://", "unixstream://") for a Unix domain socket, as datadog-go
// accepts it; empty means DefaultAddr (the backend does not read
// DD_AGENT_HOST or DD_DOGSTATSD_URL: pass os.Getenv's result as Addr). A
// host name is resolved once, by New. datadog-go packs values into
// payloads of at most MaxPacketSize bytes (1432 for UDP, 8192 for Unix
// sockets by default) and writes each payload once: a payload whose
// write fails is dropped, not retried. Each flush hands every series to
// datadog-go and then waits for its Flush, which returns once every
// payload is written or dropped. Stats is built from what datadog-go
// reports: BytesSent from its telemetry; DroppedWrite for the values of
// payloads whose write failed and DroppedQueueFull for those it dropped
// because its sender queue was full (apportioned by the bytes datadog-go
// reports dropped when a flush is only partly lost); Sent for the other
// values handed to it; DroppedRejected for the values of a series whose
// name and tags do not fit in one payload, which datadog-go refuses (the
// flush returns its MessageTooLongError). Since datadog-go keeps nothing for another
// attempt, there is no MaxQueuedFlushes and Stats.Queued stays 0: while
// the Agent is unreachable each flush is dropped and counted, and memory
// stays bounded by the series themselves.
// UDP cannot tell whether a datagram that left arrived. datadog-go's
// Flush takes no context: a flush over a Unix socket to a stalled Agent
// lasts up to datadog-go's write timeout (100 ms) per payload. datadog-go
// also sends its client telemetry (datadog.dogstatsd.client.*) to the
// Agent every 10 s unless statsd.WithoutTelemetry is given; Stats'
// byte counts need it. The errors
// datadog-go reports (it reports them from its own goroutines) reach
// Options.ErrorHandler wrapped in metrics.ErrDelivery, at most one per
// 30 s.
package dogstatsd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/DataDog/datadog-go/v5/statsd"

	"github.com/obskit/obskit/internal/push"
	"github.com/obskit/obskit/metrics"
)

// Defaults of Options.
const (
	DefaultAddr           = "127.0.0.1:8125"
	DefaultFlushInterval  = time.Second
	DefaultMaxTimerValues = 1000
)

// HistogramType selects the DogStatsD type histograms are sent as.
type HistogramType uint8

const (
	// Distribution sends "|d" through ClientDirect.DistributionSamples:
	// percentiles computed by Datadog over every host.
	Distribution HistogramType = iota
	// Histogram sends "|h": percentiles computed by each Agent.
	Histogram
	// Timing sends "|ms" in milliseconds, seconds converted.
	Timing
)

// Stats is the delivery report.
type Stats = push.Stats

// Options configure a Backend. The zero value sends to DefaultAddr.
type Options struct {
	// Addr is the Agent's "host:port" (UDP) or "unix:///path" (Unix
	// domain socket); empty means DefaultAddr.
	Addr string
	// FlushInterval is the time between flushes; 0 means
	// DefaultFlushInterval.
	FlushInterval time.Duration
	// Timeout bounds a flush of the interval loop; 0 means FlushInterval.
	Timeout time.Duration
	// MaxPacketSize bounds a payload; 0 means datadog-go's default (1432
	// bytes for UDP, 8192 for Unix sockets).
	MaxPacketSize int
	// MaxTimerValues bounds the values of one histogram series sent per
	// flush (statsd's name for the same bound); past it a uniform sample
	// with its rate. 0 means DefaultMaxTimerValues.
	MaxTimerValues int
	// HistogramAs selects the type histograms are sent as; the zero
	// value is Distribution.
	HistogramAs HistogramType
	// ErrorHandler receives delivery errors (wrapping
	// metrics.ErrDelivery), at most one per 30 s; nil drops them, Stats
	// still counts.
	ErrorHandler func(error)
	// ClientOptions are passed to datadog-go's statsd.New, for example
	// statsd.WithoutTelemetry(), statsd.WithoutOriginDetection() or
	// statsd.WithWriteTimeout. The backend's own come after them and
	// win: client-side aggregation off (obskit aggregates), mutex mode,
	// MaxPacketSize and datadog-go's error handler.
	ClientOptions []statsd.Option
}

// Backend is a DogStatsD metrics backend. It is safe for concurrent use.
type Backend struct {
	o      Options
	store  *push.Store
	pusher *push.Pusher
	client *statsd.ClientDirect

	vals  []float64 // flush scratch
	errs  clientErrors
	close sync.Once
}

// series is what a Backend keeps per series in push.Info.Data.
type series struct {
	name  string
	tags  []string
	carry float64 // counters: the fraction not sent yet; flush only
}

// clientErrors collects what datadog-go reports from its goroutines.
type clientErrors struct {
	mu        sync.Mutex
	first     error
	n         int
	queueLost uint64
}

func (e *clientErrors) handle(err error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	var full *statsd.ErrorSenderChannelFull
	if errors.As(err, &full) {
		e.queueLost += uint64(full.LostElements)
	}
	if e.first == nil {
		e.first = err
	}
	e.n++
}

// take returns the errors collected since the last take: the first, how
// many there were, and the values datadog-go reported lost to its full
// sender queue.
func (e *clientErrors) take() (n int, queueLost uint64, first error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	n, queueLost, first = e.n, e.queueLost, e.first
	e.first, e.n, e.queueLost = nil, 0, 0
	return n, queueLost, first
}

// New returns a Backend sending to o.Addr. It does not wait for the
// Agent: a UDP socket is connected without a handshake, and a Unix socket
// is dialled at the first write.
func New(o Options) (*Backend, error) {
	if o.Addr == "" {
		o.Addr = DefaultAddr
	}
	if o.FlushInterval < 0 {
		return nil, fmt.Errorf("dogstatsd: FlushInterval %v < 0: %w", o.FlushInterval, metrics.ErrInvalidOption)
	}
	if o.FlushInterval == 0 {
		o.FlushInterval = DefaultFlushInterval
	}
	if o.Timeout < 0 {
		return nil, fmt.Errorf("dogstatsd: Timeout %v < 0: %w", o.Timeout, metrics.ErrInvalidOption)
	}
	if o.MaxTimerValues < 0 {
		return nil, fmt.Errorf("dogstatsd: MaxTimerValues %d < 0: %w", o.MaxTimerValues, metrics.ErrInvalidOption)
	}
	if o.MaxTimerValues == 0 {
		o.MaxTimerValues = DefaultMaxTimerValues
	}
	if o.MaxPacketSize < 0 || o.MaxPacketSize > statsd.MaxUDPPayloadSize {
		return nil, fmt.Errorf("dogstatsd: MaxPacketSize %d outside [0, %d]: %w", o.MaxPacketSize, statsd.MaxUDPPayloadSize, metrics.ErrInvalidOption)
	}
	if o.HistogramAs > Timing {
		return nil, fmt.Errorf("dogstatsd: unknown HistogramAs %d: %w", o.HistogramAs, metrics.ErrInvalidOption)
	}
	if !hasAddrPrefix(o.Addr) {
		// datadog-go would add its default port to a bare host; obskit
		// asks for an explicit one.
		if _, port, err := net.SplitHostPort(o.Addr); err != nil || port == "" {
			return nil, fmt.Errorf("dogstatsd: Addr %q is not host:port or unix:///path: %w", o.Addr, metrics.ErrInvalidOption)
		}
	}
	b := &Backend{o: o}
	client, err := statsd.NewDirect(o.Addr, b.clientOptions()...)
	if err != nil {
		return nil, fmt.Errorf("dogstatsd: %w: %w", metrics.ErrInvalidOption, err)
	}
	b.client = client
	b.store, err = push.NewStore(push.HistogramOptions{MaxValues: o.MaxTimerValues})
	if err != nil {
		client.Close()
		return nil, fmt.Errorf("dogstatsd: %w", err)
	}
	b.pusher, err = push.New(b.store, push.FlusherFunc(func(*push.Batch) error { return b.flush() }), nil, push.Options{
		Name:          "dogstatsd",
		FlushInterval: o.FlushInterval,
		Timeout:       o.Timeout,
		ErrorHandler:  o.ErrorHandler,
	})
	if err != nil {
		client.Close()
		return nil, fmt.Errorf("dogstatsd: %w", err)
	}
	return b, nil
}

func hasAddrPrefix(addr string) bool {
	for _, p := range statsd.AddressPrefixes {
		if strings.HasPrefix(addr, p) {
			return true
		}
	}
	return false
}

// clientOptions are the datadog-go options of the backend's client.
func (b *Backend) clientOptions() []statsd.Option {
	opts := append([]statsd.Option(nil), b.o.ClientOptions...)
	if b.o.MaxPacketSize > 0 {
		opts = append(opts, statsd.WithMaxBytesPerPayload(b.o.MaxPacketSize))
	}
	// Last, so that ClientOptions cannot undo them: obskit aggregates,
	// and a flush reuses the slices it hands over once the call returns,
	// which only the mutex mode allows.
	return append(opts,
		statsd.WithoutClientSideAggregation(),
		statsd.WithMutexMode(),
		statsd.WithErrorHandler(b.errs.handle))
}

// families declares this backend's instruments on its Store.
func (b *Backend) families() push.Families {
	if b == nil || b.pusher == nil {
		return push.Families{Name: "dogstatsd"}
	}
	return push.Families{Name: "dogstatsd", Store: b.store, Info: b.info}
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

// info renders a series' name and tags once, at Bind.
func (b *Backend) info(d *metrics.Desc, lv []string) push.Info {
	s := &series{name: d.FullName(".")}
	s.tags = make([]string, 0, len(d.ConstLabels)+len(lv))
	for _, l := range d.ConstLabels {
		if l.Value != "" {
			s.tags = append(s.tags, Tag(l.Name, l.Value))
		}
	}
	for i, n := range d.Labels {
		if lv[i] != "" {
			s.tags = append(s.tags, Tag(n, lv[i]))
		}
	}
	return push.Info{Desc: d, LabelValues: lv, Key: s.name, Data: s}
}

// Flush hands everything recorded so far to datadog-go and returns once
// datadog-go has written it. Its error wraps metrics.ErrDelivery.
func (b *Backend) Flush(ctx context.Context) error {
	if b == nil || b.pusher == nil {
		return push.NotNew("dogstatsd")
	}
	return b.pusher.Flush(ctx)
}

// Close flushes a last time, stops the flush goroutine and closes
// datadog-go's client. Recording after Close is a no-op counted in
// Stats.DroppedClosed.
func (b *Backend) Close(ctx context.Context) error {
	if b == nil || b.pusher == nil {
		return push.NotNew("dogstatsd")
	}
	err := b.pusher.Close(ctx)
	b.close.Do(func() {
		if cerr := b.client.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("dogstatsd: %w: close: %w", metrics.ErrDelivery, cerr)
		}
	})
	return err
}

// Stats returns the delivery report.
func (b *Backend) Stats() Stats {
	if b == nil || b.pusher == nil {
		return Stats{}
	}
	return b.pusher.Stats()
}

// WriteTo writes one flush to w instead of the Agent, formatted by
// datadog-go as Flush would send it (reading and resetting the series),
// one payload per Write, and returns the bytes written. It starts a
// datadog-go client on w for the call, without telemetry or origin
// detection.
func (b *Backend) WriteTo(w io.Writer) (int64, error) {
	if b == nil || b.pusher == nil {
		return 0, push.NotNew("dogstatsd")
	}
	cw := &countingWriter{w: w}
	// The writer's errors are cw's; the backend's client does not see them.
	opts := append(b.clientOptions(), statsd.WithoutTelemetry(), statsd.WithoutOriginDetection(),
		statsd.WithErrorHandler(func(error) {}))
	c, err := statsd.NewDirectWithWriter(cw, opts...)
	if err != nil {
		return 0, fmt.Errorf("dogstatsd: %w", err)
	}
	var handed int
	b.pusher.Locked(func() { handed, err = b.hand(c) })
	if cerr := c.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = cw.err
	}
	if err == nil {
		b.pusher.CountSent(uint64(handed), uint64(cw.n))
	}
	return cw.n, err
}

type countingWriter struct {
	w   io.Writer
	n   int64
	err error
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	if err != nil && c.err == nil {
		c.err = err
	}
	return n, err
}

func (c *countingWriter) Close() error { return nil }

// handOver is how many values a flush hands to datadog-go between two
// of its Flush calls, so that one flush of many series cannot overflow
// datadog-go's sender queue (2048 payloads for UDP) on its own.
const handOver = 4096

// maxCount is the largest count sent in one flush: 2^62, exact in a
// float64 and in an int64.
const maxCount = 1 << 62

// flush runs one flush of the Pusher through the backend's client and
// accounts for it in Stats from datadog-go's telemetry and errors.
func (b *Backend) flush() error {
	before := b.client.GetTelemetry()
	handed, err := b.hand(b.client)
	after := b.client.GetTelemetry()
	nerr, queueLost, first := b.errs.take()
	sentBytes := after.TotalBytesSent - before.TotalBytesSent
	lostBytes := after.TotalBytesDropped - before.TotalBytesDropped
	var lost uint64
	if first != nil && handed > 0 {
		// Without telemetry (statsd.WithoutTelemetry) a failed flush
		// counts as lost whole.
		lost = uint64(handed)
		if lostBytes+sentBytes > 0 {
			lost = uint64(math.Round(float64(handed) * float64(lostBytes) / float64(sentBytes+lostBytes)))
		}
	}
	queueLost = min(queueLost, lost)
	b.pusher.CountDroppedQueueFull(queueLost)
	b.pusher.CountDroppedWrite(lost - queueLost)
	b.pusher.CountSent(uint64(handed)-lost, sentBytes)
	if first != nil {
		if nerr > 1 {
			first = fmt.Errorf("%w (and %d more from datadog-go)", first, nerr-1)
		}
		err = errors.Join(err, first)
	}
	return err
}

// hand hands every series that changed to c, waits for c's Flush and
// returns the number of values handed.
func (b *Backend) hand(c *statsd.ClientDirect) (handed int, err error) {
	var pending, nerr int
	var first error
	note := func(n int, err error) {
		if err != nil {
			// datadog-go refuses a value for good (a name and tags
			// longer than a payload): no later flush can send it.
			if first == nil {
				first = err
			}
			nerr++
			b.pusher.CountRejected(uint64(n))
			return
		}
		handed += n
		pending += n
		if pending >= handOver {
			pending = 0
			c.Flush()
		}
	}
	for _, ctr := range b.store.Counters() {
		s := ctr.Data.(*series)
		total := ctr.TakeDelta() + s.carry
		whole := math.Floor(total)
		s.carry = total - whole
		if whole == 0 {
			continue
		}
		if whole > maxCount {
			// More than datadog-go's int64 can carry in one flush: the
			// rest waits for the next.
			s.carry += whole - maxCount
			whole = maxCount
		}
		note(1, c.Count(s.name, int64(whole), s.tags, 1))
	}
	for _, g := range b.store.Gauges() {
		v, changed := g.Take()
		if !changed {
			continue
		}
		s := g.Data.(*series)
		note(1, c.Gauge(s.name, v, s.tags, 1))
	}
	for _, h := range b.store.Histograms() {
		s := h.Data.(*series)
		scale := 1.0
		if b.o.HistogramAs == Timing && h.Desc.Unit == metrics.UnitSeconds {
			scale = 1000
		}
		b.vals = h.Take(b.vals, func(sn *push.Snapshot) {
			b.pusher.CountSampled(sn.Count - uint64(len(sn.Values)))
			if b.o.HistogramAs == Distribution {
				note(len(sn.Values), c.DistributionSamples(s.name, sn.Values, s.tags, sn.Rate))
				return
			}
			b.sendEach(c, s, sn, scale, note)
		})
	}
	c.Flush()
	if nerr > 1 {
		first = fmt.Errorf("%w (and %d more refused)", first, nerr-1)
	}
	return handed, first
}

// sendEach hands a histogram interval to datadog-go's Histogram or
// TimeInMilliseconds one value at a time. A sampled interval (rate < 1)
// is handed 1/rate calls per value, dithered so that the calls add up to
// sn.Count, each with the rate: datadog-go keeps each call with that
// probability and marks it "|@rate", so the Agent's count stays unbiased.
func (b *Backend) sendEach(c *statsd.ClientDirect, s *series, sn *push.Snapshot, scale float64, note func(int, error)) {
	send := c.Histogram
	if b.o.HistogramAs == Timing {
		send = c.TimeInMilliseconds
	}
	if sn.Rate >= 1 {
		for _, v := range sn.Values {
			note(1, send(s.name, v*scale, s.tags, 1))
		}
		return
	}
	k, n := uint64(len(sn.Values)), sn.Count
	var err error
	for i, v := range sn.Values {
		// Calls for value i: the values observed that it stands for,
		// n/k, split exactly over the sample.
		calls := (uint64(i)+1)*n/k - uint64(i)*n/k
		for range calls {
			if e := send(s.name, v*scale, s.tags, sn.Rate); e != nil && err == nil {
				err = e
			}
		}
	}
	// What datadog-go keeps is its own draw: count the expected number.
	note(int(k), err)
}
