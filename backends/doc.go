// Package backends documents the conventions every obskit metrics backend
// follows, so that a user who has learnt one backend knows them all and
// swapping one for another is one constructor call in func main. The
// backends themselves live in the sub-packages (prometheus, expvar,
// statsd, dogstatsd, graphite, influx, circonus, otlp); this package has
// no code.
//
// # Construction
//
// Every backend package exports
//
//	type Options struct{ … }
//	func New(o Options) (*Backend, error)
//
// Options is a struct whose zero value is usable wherever the backend can
// have a sensible default (a field left zero takes its documented
// default, named Default<Field> when it is a constant). New validates
// every option and returns an error that wraps metrics.ErrInvalidOption
// for a bad one; it never fails because a server is not up yet (it does
// not dial in a way that can fail).
//
// # Option names
//
// A field that names the same thing has the same name, type and meaning
// in every package that has it:
//
//	Addr              string         host:port of a server (statsd, dogstatsd, graphite);
//	                                 "" means DefaultAddr
//	URL               string         an HTTP endpoint (influx: the API's base URL, "" means
//	                                 DefaultURL; circonus: the check's submission URL, required)
//	UDPAddr           string         host:port of a UDP listener used instead of URL (influx)
//	FlushInterval     time.Duration  time between flushes; 0 means DefaultFlushInterval
//	                                 (1 s for statsd and dogstatsd, 10 s for graphite,
//	                                 influx and circonus)
//	Timeout           time.Duration  bounds a flush of the interval loop, and a Flush or
//	                                 Close whose ctx has no deadline; 0 means FlushInterval
//	TLSConfig         *tls.Config    HTTPS settings (influx, circonus, otlp); nil means the
//	                                 system's roots
//	ErrorHandler      func(error)    receives delivery errors (wrapping metrics.ErrDelivery),
//	                                 at most one per 30 s; nil drops them, Stats still counts
//	MaxQueuedFlushes  int            flushes kept for another attempt while the server cannot
//	                                 be reached; 0 means 10, negative keeps none
//	MaxPacketSize     int            bytes in one UDP datagram (statsd 1432, influx 512 by
//	                                 default; over statsd's TCP, one write of 16 KiB)
//	MaxBatchSize      int            bytes in the body of one HTTP write (influx)
//	MaxTimerValues    int            raw values of one histogram series sent per flush
//	                                 (statsd timers, dogstatsd distributions); past it a
//	                                 uniform sample with its "@rate"; 0 means 1000
//	CounterTotals     bool           send each counter's running total, every flush once it
//	                                 is not 0, instead of the delta of each interval
//	                                 (graphite, influx; statsd's protocol has deltas only)
//	StopIdleAfter     time.Duration  stop sending a gauge not recorded into for this long,
//	                                 until it is recorded into again; 0 never stops
//	                                 (graphite, influx; statsd sends only what changed)
//	RelativeAccuracy  float64        relative error of histogram quantiles (graphite);
//	                                 0 means 0.01
//
// # Errors
//
// A declaration a backend cannot represent returns an error from the
// Registry's constructor that wraps a metrics sentinel: two names that
// collide after mapping to the backend's convention wrap
// metrics.ErrConflict; a name or label the backend cannot express wraps
// metrics.ErrInvalidName or metrics.ErrInvalidLabel (backendtest checks
// the collisions listed in Harness.Collisions). A backend that can take
// back a declaration it accepted implements metrics.Undeclarer, so that
// metrics.Tee makes a declaration on several backends all or nothing.
// Delivery failures of
// push backends wrap metrics.ErrDelivery and reach Options.ErrorHandler,
// rate-limited so that a dead server cannot flood a log.
//
// A Backend not made by New (new(Backend), a zero Backend, a nil
// *Backend) never panics: its Declare methods, Flush, Close and WriteTo
// return an error wrapping metrics.ErrInvalidOption ("Backend not made by
// New"), Stats returns the zero Stats, and prometheus's Handler serves
// 404. Only expvar's zero Backend is documented as usable, with the
// default Options.
//
// # Pull and push
//
// Pull backends (prometheus, expvar) add Handler() http.Handler. Push
// backends (statsd, dogstatsd, graphite, influx, circonus, otlp) add
//
//	func (b *Backend) Flush(ctx context.Context) error // deliver what was recorded so far
//	func (b *Backend) Close(ctx context.Context) error // flush, stop, release; recording after it is a no-op
//	func (b *Backend) Stats() Stats                    // the delivery report
//
// Recording into a push backend aggregates in memory with atomics and
// never blocks on the network; while a server is unreachable at most
// Options.MaxQueuedFlushes unsent flushes are kept, the oldest dropped
// first and counted in Stats. Close delivers everything recorded before
// it when the server is reachable, and counts what it could not deliver.
// Every push backend keeps the same lifecycle:
//
//   - Flush and Close return by their ctx's deadline, also while another
//     flush is stuck on a server that accepts and never reads; a Flush
//     whose ctx is already done returns its error and takes nothing.
//   - A second Close, concurrent or later, waits for the first and
//     returns nil; Flush after Close returns an error wrapping
//     metrics.ErrDelivery; recording after Close is a no-op counted in
//     Stats.DroppedClosed (a recording under way at the instant of Close
//     may be neither: at most one per goroutine recording then).
//   - A value the server can never take (a line longer than a UDP
//     datagram, an HTTP 4xx) is dropped and counted in
//     Stats.DroppedRejected, not retried; everything else that fails is
//     retried from the bounded queue.
package backends
