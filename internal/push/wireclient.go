package push

// This file holds what a backend with a wire client of its own (datadog-go)
// needs from a Pusher made with a nil Transport: its Flusher hands the
// series to the client and reports here what the client says it wrote and
// dropped.

// CountSent adds values and bytes that a backend's own wire client
// delivered to Stats.Sent and Stats.BytesSent.
func (p *Pusher) CountSent(values, bytes uint64) {
	p.sent.Add(values)
	p.bytes.Add(bytes)
}

// CountDroppedQueueFull adds n to Stats.DroppedQueueFull: values a wire
// client dropped because its own queue was full.
func (p *Pusher) CountDroppedQueueFull(n uint64) { p.droppedQueue.Add(n) }

// CountDroppedWrite adds n to Stats.DroppedWrite: values a wire client
// failed to write and does not retry.
func (p *Pusher) CountDroppedWrite(n uint64) { p.droppedWrite.Add(n) }

// Locked runs f while no flush runs, so that f may read and reset the
// Store's series as a Flusher does (a backend's WriteTo through its own
// client). It counts as a flush in Stats.
func (p *Pusher) Locked(f func()) {
	p.sem <- struct{}{}
	defer p.unlock()
	p.flushes.Add(1)
	f()
}
