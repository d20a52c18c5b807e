package push

// Stats is a push backend's delivery report: what it has flushed, sent
// and dropped since it was made. Each push backend exports it as its own
// Stats type (type Stats = push.Stats).
type Stats struct {
	// Flushes counts flushes run (on the interval, by Flush and by Close).
	Flushes uint64
	// FlushErrors counts flushes, or parts of one, whose delivery failed.
	FlushErrors uint64
	// Sent counts values delivered: lines, points or samples, as the
	// backend's protocol counts them.
	Sent uint64
	// BytesSent counts payload bytes written to the server.
	BytesSent uint64
	// Queued is the number of unsent payloads waiting to be retried.
	Queued int
	// DroppedQueueFull counts values dropped because the retry queue was
	// full while the server was unreachable (the oldest go first).
	DroppedQueueFull uint64
	// DroppedRejected counts values the server rejected and that are not
	// retried (a client error such as HTTP 4xx).
	DroppedRejected uint64
	// DroppedSampled counts raw histogram values not sent individually
	// because a series exceeded its per-flush bound; they are represented
	// by a sample rate, not lost.
	DroppedSampled uint64
	// DroppedWrite counts values that a wire client of the backend's
	// own failed to write and does not retry (datadog-go drops a payload
	// whose write fails).
	DroppedWrite uint64
	// DroppedClosed counts values that could not be delivered by Close,
	// and values recorded after Close.
	DroppedClosed uint64
	// LastError is the last delivery error, or nil.
	LastError error
}

// Dropped is the number of values lost for any reason. DroppedSampled
// is not a loss and is not included.
func (s Stats) Dropped() uint64 {
	return s.DroppedQueueFull + s.DroppedRejected + s.DroppedWrite + s.DroppedClosed
}
