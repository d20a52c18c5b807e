package atomicfloat

import (
	"math"
	"sync"
	"testing"
)

func TestConcurrentAdd(t *testing.T) {
	var f Float64
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 1000 {
				f.Add(0.5)
			}
		}()
	}
	wg.Wait()
	if got := f.Load(); got != 4000 {
		t.Fatalf("Load = %v, want 4000", got)
	}
	if old := f.Swap(-1.5); old != 4000 || f.Load() != -1.5 {
		t.Fatalf("Swap returned %v, then Load %v", old, f.Load())
	}
	f.Store(2)
	if got := f.Add(-3); got != -1 {
		t.Fatalf("Add returned %v, want -1", got)
	}
}

// TestCounter: whole and fractional deltas, deltas too large for an
// int64, concurrent adders and Take all sum exactly.
func TestCounter(t *testing.T) {
	var k Counter
	k.Add(1)
	k.Add(0.25)
	k.Add(2)
	k.Add(0.5)
	if got := k.Load(); got != 3.75 {
		t.Fatalf("Load = %v, want 3.75", got)
	}
	if w, f := k.Take(); w != 3 || f != 0.75 || k.Load() != 0 {
		t.Fatalf("Take = %v, %v, then Load %v; want 3, 0.75, then 0", w, f, k.Load())
	}
	var big Counter
	big.Add(math.Ldexp(1, 63)) // 2^63: does not fit an int64
	big.Add(math.Ldexp(1, 70))
	if got, want := big.Load(), math.Ldexp(1, 63)+math.Ldexp(1, 70); got != want {
		t.Fatalf("big Load = %v, want %v", got, want)
	}
	var exact Counter
	exact.Add(1 << 53)
	exact.Add(1)
	if w, _ := exact.Take(); w != 1<<53+1 {
		t.Fatalf("Take whole = %d, want 2^53+1", w)
	}
	var c Counter
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 1000 {
				c.Add(1)
				c.Add(0.5)
			}
		}()
	}
	wg.Wait()
	if got := c.Load(); got != 12000 {
		t.Fatalf("concurrent Load = %v, want 12000", got)
	}
}
