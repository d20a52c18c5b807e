// Package cowmap holds a map that is read without a lock and copied on
// every write: for keys that are few and added once (a service's
// operations, a gRPC server's methods), looked up on every call.
package cowmap

import (
	"sync"
	"sync/atomic"
)

// Map is a map from K to V, safe for concurrent use. Its zero value is
// an empty map. A Load takes no lock and allocates nothing; adding a key
// copies the whole map, so the keys must be bounded by the program, not
// by its input.
type Map[K comparable, V any] struct {
	mu sync.Mutex // serialises writers
	m  atomic.Pointer[map[K]V]
}

// Load returns the value stored under k, if any.
func (t *Map[K, V]) Load(k K) (v V, ok bool) {
	if p := t.m.Load(); p != nil {
		v, ok = (*p)[k]
	}
	return v, ok
}

// LoadOrStore returns the value stored under k, storing newValue()
// under it first when there is none. newValue runs under the map's
// lock, at most once per key.
func (t *Map[K, V]) LoadOrStore(k K, newValue func() V) V {
	t.mu.Lock()
	defer t.mu.Unlock()
	old := t.m.Load()
	if old != nil {
		if v, ok := (*old)[k]; ok {
			return v
		}
	}
	var n map[K]V
	if old == nil {
		n = make(map[K]V, 1)
	} else {
		n = make(map[K]V, len(*old)+1)
		for k, v := range *old {
			n[k] = v
		}
	}
	v := newValue()
	n[k] = v
	t.m.Store(&n)
	return v
}
