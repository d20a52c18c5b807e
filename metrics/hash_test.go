package metrics

import (
	"strings"
	"testing"
)

// TestHashStringSpreads checks that strings differing in any one byte,
// or only in length, hash apart: the child cache relies on it for speed
// (correctness never depends on it, values are always compared).
func TestHashStringSpreads(t *testing.T) {
	seen := map[uint64]string{}
	add := func(s string) {
		h := hashString(0x1234, s)
		if prev, ok := seen[h]; ok && prev != s {
			t.Fatalf("hashString(%q) == hashString(%q)", s, prev)
		}
		seen[h] = s
	}
	for n := 0; n <= 40; n++ {
		base := strings.Repeat("a", n)
		add(base)
		for i := 0; i < n; i++ {
			b := []byte(base)
			b[i] = 'b'
			add(string(b))
		}
	}
	add("\x00")
	add("\x00\x00")
}
