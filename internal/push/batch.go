package push

import (
	"bytes"
	"time"
)

var nl = []byte{'\n'}

// Batch collects the lines of one flush and packs them into payloads of
// at most the Pusher's MaxPayloadSize bytes, in buffers reused from flush
// to flush. A backend's Flusher formats each line into Scratch and hands
// it to Line.
type Batch struct {
	// Now is the time of the flush, for backends that timestamp lines.
	Now time.Time

	max      int
	payloads []payload
	free     *[][]byte
	scratch  []byte
	lines    int
}

type payload struct {
	b     []byte
	lines int
}

// Scratch returns an empty buffer to format one line into; pass it (or
// what append returned) to Line. Its memory is reused by the next line.
func (b *Batch) Scratch() []byte { return b.scratch[:0] }

// Line adds one line; the Batch adds the final newline. A line may hold
// several lines joined by '\n' that must travel in one payload, in order
// (statsd's negative gauge); each counts as a line. A line goes into the current payload when it fits, else it
// starts a new one; a line longer than the payload size is a payload of
// its own.
func (b *Batch) Line(line []byte) {
	need := len(line) + 1
	n := len(b.payloads)
	if n == 0 || len(b.payloads[n-1].b)+need > b.max && len(b.payloads[n-1].b) > 0 {
		b.payloads = append(b.payloads, payload{b: b.buffer(need)})
		n++
	}
	p := &b.payloads[n-1]
	p.b = append(p.b, line...)
	p.b = append(p.b, '\n')
	k := 1 + bytes.Count(line, nl)
	p.lines += k
	b.lines += k
	b.scratch = line[:0]
}

// Lines returns the number of lines added so far.
func (b *Batch) Lines() int { return b.lines }

func (b *Batch) buffer(need int) []byte {
	if b.free != nil {
		if f := *b.free; len(f) > 0 {
			buf := f[len(f)-1]
			*b.free = f[:len(f)-1]
			return buf[:0]
		}
	}
	return make([]byte, 0, max(b.max, need))
}
