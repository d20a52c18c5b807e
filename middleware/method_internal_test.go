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
