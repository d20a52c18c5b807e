// Package atomicfloat is a float64 updated atomically, the value store of
// every in-memory counter and gauge handle, and Counter, a counter's
// value kept exact in whole increments.
package atomicfloat

import (
	"math"
	"sync/atomic"
)

// Float64 is a float64 that is safe for concurrent use. The zero value
// is 0.
type Float64 struct {
	bits atomic.Uint64
}

// Load returns the value.
func (f *Float64) Load() float64 { return math.Float64frombits(f.bits.Load()) }

// Store sets the value.
func (f *Float64) Store(v float64) { f.bits.Store(math.Float64bits(v)) }

// Add adds delta and returns the new value.
func (f *Float64) Add(delta float64) float64 {
	for {
		old := f.bits.Load()
		v := math.Float64frombits(old) + delta
		if f.bits.CompareAndSwap(old, math.Float64bits(v)) {
			return v
		}
	}
}

// Swap sets the value to v and returns the old one: a push backend's
// read-and-reset of a delta.
func (f *Float64) Swap(v float64) float64 {
	return math.Float64frombits(f.bits.Swap(math.Float64bits(v)))
}

// Counter is a counter's value, safe for concurrent use: whole
// increments in an integer, fractions in a Float64, as client_golang
// keeps its counters, so that a count of whole increments stays exact
// past 2^53 of them. The zero value is 0. A *Counter is a bound counter
// handle (metrics.CounterHandle) as it is: a backend that hands it out
// makes Add one call with nothing in between.
type Counter struct {
	whole atomic.Uint64
	frac  Float64
}

// Add adds delta, which is finite and ≥ 0.
func (c *Counter) Add(delta float64) {
	// int64, not uint64: one conversion instruction on amd64. A delta at
	// or past 2^63 converts to a value that does not round-trip, and takes
	// the float path.
	if w := int64(delta); float64(w) == delta {
		c.whole.Add(uint64(w))
		return
	}
	// Float64.Add's loop, written out: it returns nothing, and the
	// whole path above then compiles without a jump.
	for {
		old := c.frac.bits.Load()
		if c.frac.bits.CompareAndSwap(old, math.Float64bits(math.Float64frombits(old)+delta)) {
			return
		}
	}
}

// Load returns the value.
func (c *Counter) Load() float64 { return float64(c.whole.Load()) + c.frac.Load() }

// Take returns the whole and fractional parts added since the last Take
// and resets them to zero: a push backend's read-and-reset of a delta,
// which it can carry exactly while it is not delivered.
func (c *Counter) Take() (whole uint64, frac float64) { return c.whole.Swap(0), c.frac.Swap(0) }
