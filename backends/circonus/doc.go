// Package circonus is the obskit metrics backend for Circonus: it submits
// to an HTTPTrap check (or a circonus-agent) through circonus-gometrics
// (v2), configured with the check's submission URL and no API token, so
// that its check manager stays off and nothing but the trap is
// contacted. Recording aggregates on the hot path in memory
// (internal/push: atomics, no allocation, no network, none of
// circonus-gometrics' locks or map look-ups); every FlushInterval the
// flush is handed to circonus-gometrics and submitted.
//
//	b, err := circonus.New(circonus.Options{URL: "https://trap.example:43191/module/httptrap/<uuid>/<secret>"})
//	reg := metrics.New(b, metrics.WithNamespace("addsvc"))
//	defer b.Close(ctx) // submits everything recorded
//
// # Mapping
//
//	obskit                          Circonus (JSON the trap receives)        rule
//	namespace "addsvc", "requests"  "addsvc.requests"                        the full name, joined by '.'
//	labels method=GET code=200      "addsvc.requests|ST[code:200,method:GET]" stream tags: const and declared
//	                                                                         labels sorted by category
//	label value "a,b" / "ü" / "x y" "…|ST[k:b\"YSxi\"]"                      base64 in b"…" (see Escaping)
//	counter Add(2), Add(0.5)        {"_type":"L","_value":2}                 the integer part of the delta;
//	                                                                         the fraction is carried to the
//	                                                                         next flush (see Counters)
//	gauge Set(3), Add(-1.5)         {"_type":"n","_value":1.5}               a float64; every flush once
//	                                                                         recorded into
//	histogram                       {"_type":"n","_value":["H[1.2e-03]=5",…]} log-linear bins of the values
//	                                                                         observed since the last flush
//	unit "s", "By", …               values as recorded                       durations stay in seconds
//
// # Counters
//
// circonus-gometrics' counters are unsigned integers, and obskit's take
// float deltas. Each flush sends the integer part of the running total
// less what was sent before, so the fraction is carried, never dropped:
// Add(0.5) twice sends 1 at the second flush, and the trap's sum of a
// counter is always the integer part of everything added (102.5 reads
// back as 102 until another 0.5 arrives). A flush in which a counter's
// integer part did not move sends nothing for it.
//
// # Histograms
//
// Observations go into the same 1%-relative-error sketch as the other
// push backends (internal/sketch: 40 ns, no allocation), not into
// circonus-gometrics' histogram (a mutex, a map look-up and a sorted
// insert: about 190 ns). At flush each of the sketch's buckets is
// recorded with its count into circonus-gometrics' log-linear histogram
// (RecordCountForValue): counts are exact; a value lands in the Circonus
// bin of its bucket's representative, which is within 1% of it, so a
// value within 1% of a bin boundary may be counted in the neighbouring
// bin. Circonus' bins hold two significant digits (1% to 10% wide); its
// sums and quantiles come from them, so a sum is approximate (a bin
// counts as its midpoint).
//
// # Escaping
//
// A stream tag value is written as it is when every byte is printable
// ASCII other than space and , : [ ] | " ' ` \, and otherwise base64
// encoded (standard, padded) inside b"…": a delimiter, a control
// character or a non-ASCII letter can therefore never add a tag, end the
// list or change the metric's name, and every value arrives intact after
// decoding. Category names are obskit's portable label names and metric
// names its portable names, which need no escaping.
//
// # Delivery
//
// circonus-gometrics' Flush returns nothing, retries a failed PUT 3
// times (go-retryablehttp, 1 to 5 s apart) and returns at once, sending
// nothing, when a flush of its own is already running. The backend
// therefore turns its automatic flush off, runs one submission at a time,
// and reads each outcome from what it logs: a submission counts as sent
// only when circonus-gometrics logged that it was; its [ERROR] and
// [WARN] lines are the error, passed to ErrorHandler wrapped in
// metrics.ErrDelivery.
//
//   - 2xx: sent; Stats.Sent counts metrics (one per series and flush).
//   - 4xx: not retried by circonus-gometrics and dropped here too:
//     counted in Stats.DroppedRejected.
//   - 5xx and connection errors: after circonus-gometrics' retries the
//     submission stays queued and is retried first at the next flush; at
//     most MaxQueuedFlushes flushes wait, the oldest dropped first and
//     counted in Stats.DroppedQueueFull.
//
// A submission runs in its own goroutine, so its retries never hold the
// hot path and Flush and Close return when their context ends even while
// circonus-gometrics is still retrying. The next flush waits for that
// submission before it starts one: when it turns out to have delivered
// the payload the next flush would retry, it is not submitted twice.
// A flush costs what circonus-gometrics spends on a submission: it
// creates and copies a histogram per series, about 25 KB and 15 to 80 µs
// per histogram series on a busy two-core machine (BenchmarkInfluxCirconusFlush:
// 1 000 series 30 to 80 ms, 100 000 series 12 to 18 s), so with very many
// histogram series keep FlushInterval and Timeout above that.
//
// Close delivers everything recorded before it when the trap answers, and
// counts in Stats.DroppedClosed what it could not deliver; it waits at
// most 2 s for a submission still retrying, and abandons it after that.
package circonus
