package cowmap

import (
	"sync"
	"sync/atomic"
	"testing"
)

func TestMap(t *testing.T) {
	var m Map[string, *int]
	if v, ok := m.Load("a"); ok || v != nil {
		t.Fatalf("zero Map: Load = %v, %v", v, ok)
	}
	var made atomic.Int64
	var wg sync.WaitGroup
	got := make([]*int, 8)
	for i := range got {
		wg.Go(func() {
			got[i] = m.LoadOrStore("a", func() *int { made.Add(1); return new(int) })
		})
	}
	wg.Wait()
	if n := made.Load(); n != 1 {
		t.Fatalf("newValue ran %d times for one key, want 1", n)
	}
	for _, p := range got {
		if p != got[0] {
			t.Fatal("LoadOrStore returned different values for one key")
		}
	}
	b := m.LoadOrStore("b", func() *int { return new(int) })
	if v, ok := m.Load("a"); !ok || v != got[0] {
		t.Errorf("Load(a) = %v, %v after adding b: the copy lost it", v, ok)
	}
	if v, ok := m.Load("b"); !ok || v != b {
		t.Errorf("Load(b) = %v, %v", v, ok)
	}
	if allocs := testing.AllocsPerRun(100, func() { m.Load("a") }); allocs != 0 {
		t.Errorf("Load allocates %v times", allocs)
	}
}
