package atomicfloat

import (
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
