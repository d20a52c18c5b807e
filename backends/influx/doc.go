// Package influx is the obskit metrics backend for InfluxDB 1.x (and
// servers that accept its /write API and line protocol). It aggregates
// on the hot path in memory (internal/push: atomics, no lock on counters
// and gauges, no allocation, no network) and writes one batch of points
// every FlushInterval: over HTTP to /write by default, over UDP with
// Options.UDPAddr.
//
//	b, err := influx.New(influx.Options{URL: "http://127.0.0.1:8086", Database: "metrics"})
//	reg := metrics.New(b, metrics.WithNamespace("addsvc"))
//	defer b.Close(ctx) // writes everything recorded
//
// # Mapping
//
//	obskit                          InfluxDB                            rule
//	namespace "addsvc", "requests"  measurement addsvc.requests         the full name, joined by '.'
//	labels method=GET code=200      tags code=200,method=GET            const labels and declared labels,
//	                                                                    sorted by key; an empty value is
//	                                                                    left out (InfluxDB has no empty tag,
//	                                                                    and a missing tag reads as "")
//	counter Add(2), Add(0.5)        field count=2.5 (float)             the delta since the last flush; no
//	                                                                    point when it is 0
//	  with Options.CounterTotals    field count=102.5 (float)           the running total since New, every
//	                                                                    flush once it is not 0
//	gauge Set(3), Add(-1)           field value=2 (float)               every flush once recorded into (see
//	                                                                    Options.StopIdleAfter)
//	histogram                       fields count, sum, min, max,        of the values observed since the
//	                                p50, p90, p95, p99 (floats)         last flush, then reset; no point
//	                                                                    when none; quantiles within 1%
//	                                                                    (internal/sketch)
//	unit "s", "By", …               values as recorded                  durations stay in seconds; the unit
//	                                                                    is not part of the measurement
//	flush time                      timestamp in Options.Precision      one timestamp for a whole flush
//
// Reading back in InfluxQL: a counter's total is
// SELECT sum("count") FROM "addsvc.requests" WHERE "method" = 'GET'
// (last("count") with CounterTotals); a gauge's value last("value"); a
// histogram's count and sum over a time range sum("count") and
// sum("sum"). Quantiles of different flushes do not add up: read them
// per flush.
//
// # Escaping
//
// The line protocol is written with the client library's own escaping
// (github.com/influxdata/influxdb1-client/models: MakeKey for the
// measurement and tags, the same float format as Point.PrecisionString),
// rendered once per series when it is bound, not per flush. Tag values
// are first passed through SanitizeTagValue, because the line protocol
// cannot carry what the library does not escape: an ASCII control
// character (a line break would start a new point) and a backslash that
// ends a value or precedes ',', ' ' or '=' (the server would read the
// delimiter after it as escaped) each become '_'. Every other byte and
// every non-ASCII letter arrives intact. Metric and label names are
// obskit's portable names, which need no escaping. NaN and ±Inf, which
// InfluxDB cannot store, are not written.
//
// # Delivery
//
// One flush is one batch: its points are packed into writes of at most
// MaxBatchSize bytes (HTTP) or MaxPacketSize bytes (UDP datagrams). The
// HTTP write is made here with net/http rather than with the client
// library's v2 Client.Write, which takes no context and drops the
// answer's status: the status tells what to do with a batch the server
// did not take.
//
//   - 2xx: written; Stats.Sent counts its points.
//   - 4xx (database not found, a field type conflict, a parse error,
//     authentication): the same batch would be refused again, so it is
//     dropped, counted in Stats.DroppedRejected and reported with the
//     server's message ("404 Not Found: database not found: \"x\"",
//     "400 Bad Request: partial write: field type conflict: …"). It is
//     not retried, so a conflict is reported once per flush that meets it
//     (and the ErrorHandler at most once per 30 s), not in a loop. A
//     partial write ("partial write: … dropped=N"), where InfluxDB stored
//     the batch's other points, counts N points as rejected and the rest
//     as sent.
//   - 5xx and connection errors: the batch stays queued and is retried
//     first at a later flush, with exponential backoff (the flush loop
//     writes again after FlushInterval, at least 1 s, doubling after each
//     failure up to a minute, jittered; an explicit Flush or Close tries
//     at once); at most MaxQueuedFlushes flushes wait, the oldest dropped
//     first and counted in Stats.DroppedQueueFull, so an unreachable
//     server costs bounded memory and one request per backoff step.
//
// Close writes a last flush and counts in Stats.DroppedClosed what it
// could not deliver. A point keeps the time of the flush that made it,
// so a batch written late still lands at its time.
package influx
