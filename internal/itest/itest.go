// Package itest finds the real servers that integration tests read back
// from. scripts/backend starts them on 127.0.0.1; a test asks for one by
// name and is skipped with a clear message when it is absent, except when
// CI=true, where an absent server fails the test.
package itest

import (
	"net/http"
	"os"
	"strings"
	"testing"
	"time"
)

// URL returns the base URL of the named server (for example "prometheus"),
// taken from OBSKIT_<NAME>_URL or else def, after checking that
// healthPath answers 2xx there. When the server does not answer, the
// test is skipped, or fails when the CI environment variable is "true".
func URL(t testing.TB, name, def, healthPath string) string {
	t.Helper()
	env := "OBSKIT_" + strings.ToUpper(name) + "_URL"
	base := os.Getenv(env)
	if base == "" {
		base = def
	}
	base = strings.TrimRight(base, "/")
	client := &http.Client{Timeout: 2 * time.Second}
	resp, err := client.Get(base + healthPath)
	if err == nil {
		resp.Body.Close()
		if resp.StatusCode/100 == 2 {
			return base
		}
		err = &statusError{resp.Status}
	}
	msg := name + " is not reachable at " + base + healthPath + " (" + err.Error() + "); start it with `scripts/backend up " + name + "` or set " + env
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

type statusError struct{ status string }

func (e *statusError) Error() string { return "status " + e.status }
