// Package atomicfloat is a float64 updated atomically, the value store of
// every in-memory counter and gauge handle.
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
