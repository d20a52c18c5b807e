// Package itest finds the real servers that integration tests read back
// from. scripts/backend starts them on 127.0.0.1; a test asks for one by
// name and is skipped with a clear message when it is absent, except when
// CI=true, where an absent server fails the test.
package itest

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"
)

// URL returns the base URL of the named server (for example "prometheus"),
// taken from OBSKIT_<NAME>_URL (a '-' in the name becomes '_') or else def, after checking that
// healthPath answers 2xx there. When the server does not answer, the
// test is skipped, or fails when the CI environment variable is "true".
func URL(t testing.TB, name, def, healthPath string) string {
	t.Helper()
	env := envName(name)
	base := os.Getenv(env)
	if base == "" {
		base = def
	}
	base = strings.TrimRight(base, "/")
	client := &http.Client{Timeout: 10 * time.Second} // a loaded graphite-web can take seconds
	resp, err := client.Get(base + healthPath)
	if err == nil {
		resp.Body.Close()
		if resp.StatusCode/100 == 2 {
			return base
		}
		err = &statusError{resp.Status}
	}
	absent(t, name, base+healthPath, env, err)
	return ""
}

func envName(name string) string {
	return "OBSKIT_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_")) + "_URL"
}

func absent(t testing.TB, name, where, env string, err error) {
	t.Helper()
	msg := name + " is not reachable at " + where + " (" + err.Error() + "); start it with `scripts/backend up " + name + "` or set " + env
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// Addr returns the host:port of the named server that speaks no HTTP
// (carbon's tcp://127.0.0.1:12003, statsd's udp://127.0.0.1:18125), taken
// from OBSKIT_<NAME>_URL or else def, after check(host:port) succeeds;
// otherwise the test is skipped, or fails under CI=true, as with URL.
func Addr(t testing.TB, name, def string, check func(addr string) error) string {
	t.Helper()
	env := envName(name)
	u := os.Getenv(env)
	if u == "" {
		u = def
	}
	addr := u
	if _, rest, ok := strings.Cut(u, "://"); ok {
		addr = strings.TrimRight(rest, "/")
	}
	if err := check(addr); err != nil {
		absent(t, name, u, env, err)
		return ""
	}
	return addr
}

// DialTCP is an Addr check: the server accepts a TCP connection.
func DialTCP(addr string) error {
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		return err
	}
	return c.Close()
}

type statusError struct{ status string }

func (e *statusError) Error() string { return "status " + e.status }

// GetJSON gets url with client and decodes its JSON body into v. An
// answer other than 200 OK, or one that does not decode, is an error
// quoting the start of the body.
func GetJSON(client *http.Client, url string, v any) error {
	resp, err := client.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s: %.200s", url, resp.Status, body)
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("GET %s: decoding %.200s: %w", url, body, err)
	}
	return nil
}
