// Package push is the machinery shared by obskit's push backends
// (statsd, dogstatsd, graphite, influx, circonus): in-memory aggregation
// on the hot path, a flush loop, packing of lines into payloads, a bounded
// queue of unsent payloads, reconnecting transports and the delivery
// report. A backend supplies only what is its own: how a series is named
// and how one flush is formatted (or handed to a wire client).
//
// # Recording: Store and its series
//
// A backend keeps one Store. Its Family.Bind calls Store.NewCounter,
// NewGauge or NewHistogram once per label set (the metrics.Registry
// caches handles, so Bind is rare) and returns the series, which is the
// metrics handle: *Counter, *Gauge and *Histogram implement
// metrics.CounterHandle, GaugeHandle and HistogramHandle. Recording takes
// no lock, allocates nothing and never touches the network:
//
//   - Counter.Add adds to a float64 with a compare-and-swap
//     (internal/atomicfloat), so fractional deltas are kept. A flush
//     takes the sum since the last flush and resets it (TakeDelta); a
//     counter with no change reports zero and a backend sends nothing.
//   - Gauge.Set stores, Gauge.Add adds to the same value, so Set then Add
//     between two flushes ends at the right value. A flush reads the
//     value and whether it was recorded into since the last flush (Take).
//   - Histogram.Observe records into one of two buffers (hot and cold, as
//     client_golang's histograms do): a flush flips them, waits for
//     observations already under way in the old one, reads it and resets
//     it, so nothing is lost or counted twice and the steady state
//     allocates nothing. A buffer holds, as the Store's HistogramOptions
//     ask, an internal/sketch.Sketch (exact count, sum, min, max and
//     relative-error quantiles; its Add takes the sketch's own short
//     mutex) and/or up to MaxValues raw values (statsd timers, Datadog
//     distributions). Past MaxValues the buffer keeps a uniform sample
//     (reservoir sampling) and reports the rate, so a backend can send
//     the sample with "@rate" and the server's counts stay unbiased.
//
// After Store.Close, recording is a no-op counted in DroppedClosed. A
// recording under way at the instant of Close (past its check, not yet
// added when Close's flush takes the series) is neither delivered nor
// counted: at most one per goroutine recording at that instant. Closing
// that window would cost every recording two more atomic operations.
//
// # Flushing: Pusher
//
// New starts a Pusher: one goroutine that flushes every FlushInterval;
// Flush(ctx) flushes now, Close(ctx) flushes a last time, stops the
// goroutine and closes the Transport. A flush calls the backend's
// Flusher, which reads and resets the Store's series (Store.Counters,
// Gauges, Histograms) and appends one line per value to a Batch. The
// Batch packs lines into payloads of at most MaxPayloadSize bytes
// (whole lines only, each ending in '\n'; a line longer than that is a
// payload of its own), in buffers reused from flush to flush. The
// Pusher then sends the payloads through the Transport in order.
//
// A payload the Transport could not send stays queued, with the rest of
// its flush, and is retried first at the next flush; at most
// MaxQueuedFlushes flushes wait, the oldest is dropped when one more
// comes, and its lines are counted in Stats.DroppedQueueFull (and
// reported). A Transport that returns an error wrapping ErrRejected has
// its payload dropped and counted in DroppedRejected, not retried. Memory
// therefore stays bounded however long a server is down. What Close
// cannot deliver is counted in DroppedClosed.
//
// Transports: UDP (NewUDP) sends each payload as one datagram; TCP
// (NewTCP) writes payloads to one stream, checks before each write that
// the server has not closed it, and redials after a failure with
// exponential backoff and jitter (Backoff), so a dead server costs one failed
// dial per backoff step, not one per flush. A backend with its own wire
// client (datadog-go, an HTTP API) implements Transport itself, or
// passes a nil Transport and delivers from its Flusher, returning the
// error.
//
// Every delivery error reaches Options.ErrorHandler wrapped in
// metrics.ErrDelivery, at most once per ErrorInterval; the errors
// suppressed in between are counted in the next message.
//
// WriteTo formats one flush and writes it to any io.Writer instead of
// the Transport (Go kit's WriteTo): the same path a test reads byte for
// byte.
package push
