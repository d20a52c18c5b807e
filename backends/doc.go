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
// default); fields that name the same thing have the same name in every
// package: Addr (host:port of a server), URL (an HTTP endpoint),
// FlushInterval, Timeout, TLSConfig, ErrorHandler, MaxQueuedFlushes,
// MaxPacketSize. New validates every option and returns an error that
// wraps metrics.ErrInvalidOption for a bad one; it never fails because a
// server is not up yet (it does not dial in a way that can fail).
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
package backends
