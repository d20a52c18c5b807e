package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/obskit/obskit/examples/addsvc/internal/load"
	"github.com/obskit/obskit/internal/itest"
)

// counts are endpoint request counts by method and outcome.
type counts map[load.Key]float64

// TestBackendsDeliverAtShutdown runs the binary against each real server
// scripts/backend starts, with push backends set never to flush on their
// own (-push.interval 1h): everything a backend holds at SIGTERM reaches
// the server only through the Close at shutdown. It sends a mix of calls
// (one in five a business error), signals the binary, and reads the
// endpoint request counts back through the server's own query API; they
// must equal what the client saw, exactly. A pull backend is read before
// the signal. Circonus, which has no broker here, submits to a trap of
// the test's own.
func TestBackendsDeliverAtShutdown(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary against real servers")
	}
	cases := []struct {
		name string
		// setup finds the server and returns addsvc's flags and a
		// reader of the counts of namespace.
		setup func(t *testing.T) (args []string, read func(ns, base string) (counts, error))
		pull  bool
	}{
		{name: "prometheus", pull: true, setup: func(t *testing.T) ([]string, func(ns, base string) (counts, error)) {
			return nil, func(ns, base string) (counts, error) { return readPrometheus(base+"/metrics", ns) }
		}},
		{name: "graphite", setup: func(t *testing.T) ([]string, func(ns, base string) (counts, error)) {
			web := itest.URL(t, "graphite-web", "http://127.0.0.1:18080", "/metrics/find?query=*")
			carbon := itest.Addr(t, "carbon", "tcp://127.0.0.1:12003", itest.DialTCP)
			return []string{"-graphite.addr", carbon}, func(ns, _ string) (counts, error) {
				ss, err := itest.GraphiteRender(web, fmt.Sprintf("seriesByTag('name=%s.endpoint.requests')", ns), "-15min")
				c := counts{}
				for _, s := range ss {
					c[load.Key{Method: s.Tags["operation"], Outcome: s.Tags["outcome"]}] += s.Sum()
				}
				return c, err
			}
		}},
		{name: "statsd", setup: func(t *testing.T) ([]string, func(ns, base string) (counts, error)) {
			web := itest.URL(t, "graphite-web", "http://127.0.0.1:18080", "/metrics/find?query=*")
			itest.Addr(t, "carbon", "tcp://127.0.0.1:12003", itest.DialTCP)
			addr := itest.Addr(t, "statsd", "udp://127.0.0.1:18125", itest.StatsdHealth)
			return []string{"-statsd.addr", addr}, func(ns, _ string) (counts, error) {
				prefix := "stats.counters." + ns + ".endpoint.requests."
				ss, err := itest.GraphiteRender(web, prefix+"*.*.count", "-15min")
				c := counts{}
				for _, s := range ss {
					nodes := strings.Split(strings.TrimPrefix(s.Target, prefix), ".")
					if len(nodes) == 3 {
						c[load.Key{Method: nodes[0], Outcome: nodes[1]}] += s.Sum()
					}
				}
				return c, err
			}
		}},
		{name: "dogstatsd", setup: func(t *testing.T) ([]string, func(ns, base string) (counts, error)) {
			// No Datadog Agent runs here; the statsd daemon 0.9 reads
			// DogStatsD's "|#" tags into Graphite tags.
			web := itest.URL(t, "graphite-web", "http://127.0.0.1:18080", "/metrics/find?query=*")
			itest.Addr(t, "carbon", "tcp://127.0.0.1:12003", itest.DialTCP)
			addr := itest.Addr(t, "statsd", "udp://127.0.0.1:18125", itest.StatsdHealth)
			return []string{"-dogstatsd.addr", addr}, func(ns, _ string) (counts, error) {
				ss, err := itest.GraphiteRender(web, fmt.Sprintf("seriesByTag('name=stats.counters.%s.endpoint.requests.count')", ns), "-15min")
				c := counts{}
				for _, s := range ss {
					c[load.Key{Method: s.Tags["operation"], Outcome: s.Tags["outcome"]}] += s.Sum()
				}
				return c, err
			}
		}},
		{name: "influx", setup: func(t *testing.T) ([]string, func(ns, base string) (counts, error)) {
			u := itest.URL(t, "influxdb", "http://127.0.0.1:18086", "/ping")
			const db = "obskit_addsvc_test"
			return []string{"-influx.url", u, "-influx.db", db}, func(ns, _ string) (counts, error) {
				return readInflux(u, db, ns)
			}
		}},
		{name: "circonus", setup: func(t *testing.T) ([]string, func(ns, base string) (counts, error)) {
			// No Circonus broker runs here: a trap of the test's own,
			// which sums the counters circonus-gometrics submits.
			trap := newTrap(t)
			return []string{"-circonus.url", trap.URL + "/module/httptrap/check/secret"}, func(ns, _ string) (counts, error) {
				return trap.counts(ns + ".endpoint.requests"), nil
			}
		}},
		{name: "otlp", setup: func(t *testing.T) ([]string, func(ns, base string) (counts, error)) {
			// The collector of scripts/servers/otelcol.sh receives on
			// 14317 and serves what it received, in Prometheus format,
			// on its exporter's /metrics.
			u := itest.URL(t, "otelcol", "http://127.0.0.1:18889", "/metrics")
			grpc := itest.Addr(t, "otelcol-grpc", "tcp://127.0.0.1:14317", itest.DialTCP)
			return []string{"-otlp.metrics.endpoint", grpc}, func(ns, _ string) (counts, error) {
				return readPrometheus(u+"/metrics", ns)
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			args, read := tc.setup(t)
			ns := "addsvc_" + randHex(t)
			args = append(args, "-metrics", tc.name, "-namespace", ns, "-push.interval", "1h", "-spans", "/dev/null")
			cmd, base, logs := start(t, args...)

			res := load.Run(context.Background(), load.Options{BaseURL: base, Requests: 300, Concurrency: 4})
			if res.Failures() != 0 || res.Errors() != 60 {
				t.Fatalf("load: %d failures, %d errors, want 0 and 60; first: %v", res.Failures(), res.Errors(), res.FirstError)
			}
			want := counts{}
			for k, n := range res.Counts {
				want[k] = float64(n)
			}
			var pulled counts
			if tc.pull {
				var err error
				if pulled, err = read(ns, base); err != nil {
					t.Fatal(err)
				}
			}

			if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
				t.Fatal(err)
			}
			var closed, exit map[string]any
			for rec := range logs {
				switch rec["msg"] {
				case "metrics backend closed":
					closed = rec
				case "exit":
					exit = rec
				}
			}
			if err := cmd.Wait(); err != nil {
				t.Errorf("addsvc exited with %v after SIGTERM; exit line %v", err, exit)
			}
			if !tc.pull && (closed == nil || closed["dropped"] != 0.0 || closed["sent"] == 0.0) {
				t.Errorf("backend closed line = %v, want values sent and none dropped", closed)
			}

			got := pulled
			deadline := time.Now().Add(90 * time.Second) // servers store asynchronously; graphite-web indexes tags slowly under load
			for !tc.pull {
				var err error
				got, err = read(ns, base)
				if err == nil && equalCounts(got, want) {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("%s read back %v (last error %v), want %v", tc.name, got, err, want)
				}
				time.Sleep(500 * time.Millisecond)
			}
			if !equalCounts(got, want) {
				t.Errorf("%s read back %v, want %v", tc.name, got, want)
			}
		})
	}
}

// trap is an HTTPTrap check for circonus-gometrics' submissions: it
// answers each PUT of a JSON object of metrics as a broker does, and sums
// the counters (type "L") by name.
type trap struct {
	*httptest.Server
	mu  sync.Mutex
	sum map[string]float64
}

func newTrap(t *testing.T) *trap {
	tr := &trap{sum: map[string]float64{}}
	tr.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var ms map[string]struct {
			Type  string          `json:"_type"`
			Value json.RawMessage `json:"_value"`
		}
		if r.Method != http.MethodPut || json.NewDecoder(r.Body).Decode(&ms) != nil {
			http.Error(w, "want a PUT of a JSON object", http.StatusBadRequest)
			return
		}
		tr.mu.Lock()
		for name, m := range ms {
			if v, err := strconv.ParseFloat(string(m.Value), 64); err == nil && m.Type == "L" {
				tr.sum[name] += v
			}
		}
		tr.mu.Unlock()
		fmt.Fprintf(w, `{"stats":%d}`, len(ms))
	}))
	t.Cleanup(tr.Close)
	return tr
}

// counts returns the sums of the counters named name|ST[operation:…,outcome:…].
func (tr *trap) counts(name string) counts {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	c := counts{}
	for n, v := range tr.sum {
		tags, ok := strings.CutPrefix(n, name+"|ST[")
		if !ok {
			continue
		}
		var k load.Key
		for tag := range strings.SplitSeq(strings.TrimSuffix(tags, "]"), ",") {
			switch cat, val, _ := strings.Cut(tag, ":"); cat {
			case "operation":
				k.Method = val
			case "outcome":
				k.Outcome = val
			}
		}
		c[k] += v
	}
	return c
}

// equalCounts compares the non-zero counts.
func equalCounts(got, want counts) bool {
	for k, v := range got {
		if v != 0 && want[k] != v {
			return false
		}
	}
	for k, v := range want {
		if got[k] != v {
			return false
		}
	}
	return true
}

func randHex(t *testing.T) string {
	b := make([]byte, 4)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// readPrometheus reads <ns>_endpoint_requests_total from a Prometheus
// text endpoint.
func readPrometheus(u, ns string) (counts, error) {
	fams, err := metricFamilies(http.DefaultClient, u)
	if err != nil {
		return nil, err
	}
	c := counts{}
	f := fams[ns+"_endpoint_requests_total"]
	if f == nil {
		return c, fmt.Errorf("no %s_endpoint_requests_total at %s", ns, u)
	}
	for _, m := range f.Metric {
		l := map[string]string{}
		for _, p := range m.Label {
			l[p.GetName()] = p.GetValue()
		}
		c[load.Key{Method: l["operation"], Outcome: l["outcome"]}] += m.GetCounter().GetValue()
	}
	return c, nil
}

// readInflux sums the count field of <ns>.endpoint.requests by operation
// and outcome, in InfluxQL.
func readInflux(base, db, ns string) (counts, error) {
	q := url.Values{"db": {db}, "q": {fmt.Sprintf(`SELECT sum("count") FROM "%s.endpoint.requests" GROUP BY "operation","outcome"`, ns)}}
	resp, err := http.Get(base + "/query?" + q.Encode())
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	var r struct {
		Results []struct {
			Series []struct {
				Tags   map[string]string `json:"tags"`
				Values [][]any           `json:"values"`
			} `json:"series"`
			Error string `json:"error"`
		} `json:"results"`
	}
	if err := json.Unmarshal(body, &r); err != nil {
		return nil, fmt.Errorf("influx: %w: %.200s", err, body)
	}
	c := counts{}
	for _, res := range r.Results {
		if res.Error != "" {
			return nil, fmt.Errorf("influx: %s", res.Error)
		}
		for _, s := range res.Series {
			for _, v := range s.Values {
				if f, ok := v[1].(float64); ok && len(v) == 2 {
					c[load.Key{Method: s.Tags["operation"], Outcome: s.Tags["outcome"]}] += f
				}
			}
		}
	}
	return c, nil
}

// TestNewBackendRefuses: a name -metrics does not know, and a backend
// whose options are invalid, fail at start with the flag named.
func TestNewBackendRefuses(t *testing.T) {
	for _, tc := range []struct{ names, want string }{
		{"prometheus,nosuch", `unknown backend "nosuch"`},
		{"circonus", "-metrics=circonus"}, // no -circonus.url
		{" , ", "no backend named"},
	} {
		f := backendFlags{names: tc.names, pushInterval: time.Second}
		bs, err := newBackends(context.Background(), &f, func(error) {})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("-metrics=%q: %v, %v; want an error with %q", tc.names, bs, err, tc.want)
		}
	}
}
