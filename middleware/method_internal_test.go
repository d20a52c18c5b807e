package middleware

import (
	"net/http"
	"strings"
	"testing"
	"unsafe"
)

// TestKnownMethodConstant: a method read off the wire (a fresh string
// each request) comes back as the package constant, the same address
// every time, so that the metrics identity cache can hit on it.
func TestKnownMethodConstant(t *testing.T) {
	for _, m := range []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodConnect, http.MethodOptions, http.MethodTrace} {
		fresh := strings.Clone(m)
		got := knownMethod(fresh)
		if got != m {
			t.Errorf("knownMethod(%q) = %q", m, got)
		}
		if unsafe.StringData(got) != unsafe.StringData(m) {
			t.Errorf("knownMethod(%q) returned the request's string, not the constant", m)
		}
	}
	for _, m := range []string{"get", "BREW", "", strings.Repeat("X", 1<<10)} {
		if got := knownMethod(m); got != OtherMethod {
			t.Errorf("knownMethod(%q) = %q, want %q", m, got, OtherMethod)
		}
	}
}

func TestRequestAttr(t *testing.T) {
	for _, tc := range []struct {
		in   string
		n    int
		want string
	}{
		{"short", 10, "short"},
		{"abcdef", 3, "abc"},
		{"héllo", 2, "h"}, // é is two bytes: cut before it, not inside
		{"héllo", 3, "hé"},
		{"", 3, ""},
	} {
		got := requestAttr(tc.in, tc.n)
		if got != tc.want {
			t.Errorf("requestAttr(%q, %d) = %q, want %q", tc.in, tc.n, got, tc.want)
		}
		if len(got) > 0 && unsafe.StringData(got) == unsafe.StringData(tc.in) {
			t.Errorf("requestAttr(%q, %d) shares its bytes with the input", tc.in, tc.n)
		}
	}
}
