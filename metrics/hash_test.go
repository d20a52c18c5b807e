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

// FuzzShortPaths checks the call-free paths of the content lookup
// against the ones they stand for: hashShort must equal hashString (the
// table is filled with the latter and searched with the former), and
// sameString must be ==.
func FuzzShortPaths(f *testing.F) {
	for _, s := range []string{"", "a", "GET", "200", "POST", "DELETE", "12345678", "123456789", "ünï", "a\x00b"} {
		f.Add(s, strings.Clone(s))
		f.Add(s, s+"x")
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		if got, want := hashShort(42, a), hashString(42, a); got != want {
			t.Fatalf("hashShort(%q) = %x, hashString %x", a, got, want)
		}
		if got := sameString(a, b); got != (a == b) {
			t.Fatalf("sameString(%q, %q) = %v", a, b, got)
		}
		if !sameString(a, strings.Clone(a)) {
			t.Fatalf("sameString(%q, its copy) = false", a)
		}
	})
}
