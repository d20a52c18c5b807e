package expvar_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/obskit/obskit/backends/expvar"
	"github.com/obskit/obskit/metrics"
)

// TestHandlerServesOwnInstrumentsOnly: by default the handler serves the
// Backend's instruments and nothing else of the process: not expvar's
// cmdline (the command line, secrets in flags included) or memstats,
// nor another Backend's instruments. ProcessVars serves them all.
func TestHandlerServesOwnInstrumentsOnly(t *testing.T) {
	mine, theirs := newBackend(t), newBackend(t)
	ns := uniqueNamespace("own")
	if _, err := metrics.New(mine, metrics.WithNamespace(ns)).NewCounter(metrics.Opts{Name: "b_requests"}); err != nil {
		t.Fatal(err)
	}
	if _, err := metrics.New(mine, metrics.WithNamespace(ns)).NewGauge(metrics.Opts{Name: "a_inflight"}); err != nil {
		t.Fatal(err)
	}
	if _, err := metrics.New(theirs, metrics.WithNamespace(ns+"_other")).NewCounter(metrics.Opts{Name: "requests"}); err != nil {
		t.Fatal(err)
	}
	get := func(h http.Handler) map[string]json.RawMessage {
		t.Helper()
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/debug/vars", nil))
		if ct := w.Header().Get("Content-Type"); ct != "application/json; charset=utf-8" {
			t.Errorf("Content-Type %q", ct)
		}
		var vars map[string]json.RawMessage
		if err := json.Unmarshal(w.Body.Bytes(), &vars); err != nil {
			t.Fatalf("body %q: %v", w.Body.String(), err)
		}
		return vars
	}

	vars := get(mine.Handler())
	if len(vars) != 2 || vars[ns+".b_requests"] == nil || vars[ns+".a_inflight"] == nil {
		t.Errorf("default handler serves %v, want exactly %s.b_requests and %s.a_inflight", keys(vars), ns, ns)
	}

	all, err := expvar.New(expvar.Options{ProcessVars: true})
	if err != nil {
		t.Fatal(err)
	}
	vars = get(all.Handler())
	for _, name := range []string{"cmdline", "memstats", ns + ".b_requests", ns + "_other.requests"} {
		if vars[name] == nil {
			t.Errorf("ProcessVars handler lacks %q", name)
		}
	}
}

func keys(m map[string]json.RawMessage) []string {
	var k []string
	for n := range m {
		k = append(k, n)
	}
	return k
}
