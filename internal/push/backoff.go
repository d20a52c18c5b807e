package push

import (
	"math/rand/v2"
	"time"
)

// Backoff spaces out a transport's attempts after failures: after a
// failure no attempt is due for a wait that starts at Min, doubles on
// each further failure up to Max, and is jittered to between half and all
// of that; a success starts over. It is not safe for concurrent use: the
// transport's own lock guards it.
type Backoff struct {
	Min, Max time.Duration

	cur     time.Duration
	next    time.Time // no attempt before this
	lastErr error
}

// Due reports whether an attempt may be made now.
func (b *Backoff) Due() bool { return !time.Now().Before(b.next) }

// LastErr returns the error of the last failure, or nil after a success.
func (b *Backoff) LastErr() error { return b.lastErr }

// Failed records a failed attempt and sets the wait before the next.
func (b *Backoff) Failed(err error) {
	if b.cur == 0 {
		b.cur = b.Min
	} else {
		b.cur = min(2*b.cur, b.Max)
	}
	b.next = time.Now().Add(b.cur/2 + rand.N(b.cur/2+1))
	b.lastErr = err
}

// Succeeded records a successful attempt: the next failure waits Min.
func (b *Backoff) Succeeded() { b.cur, b.next, b.lastErr = 0, time.Time{}, nil }

// Reset makes the next attempt due at once, keeping the wait that a
// further failure doubles (an explicit Flush or Close).
func (b *Backoff) Reset() { b.next = time.Time{} }
