package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/obskit/obskit/backends/circonus"
	"github.com/obskit/obskit/backends/dogstatsd"
	"github.com/obskit/obskit/backends/expvar"
	"github.com/obskit/obskit/backends/graphite"
	"github.com/obskit/obskit/backends/influx"
	"github.com/obskit/obskit/backends/otlp"
	"github.com/obskit/obskit/backends/prometheus"
	"github.com/obskit/obskit/backends/statsd"
	"github.com/obskit/obskit/internal/push"
	"github.com/obskit/obskit/metrics"
)

// backendNames are the values -metrics accepts.
var backendNames = []string{"prometheus", "expvar", "statsd", "dogstatsd", "graphite", "influx", "circonus", "otlp"}

// backendFlags are the flags of the metrics backends: -metrics picks
// them, the others say where each one sends.
type backendFlags struct {
	names         string
	pushInterval  time.Duration
	statsdAddr    string
	dogstatsdAddr string
	graphiteAddr  string
	graphiteWeb   string
	influxURL     string
	influxDB      string
	circonusURL   string
	otlpEndpoint  string
	otlpProtocol  string
	otlpInsecure  bool
	otlpService   string
}

func (f *backendFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.names, "metrics", "prometheus,expvar", "metrics backends, comma-separated: "+strings.Join(backendNames, ", "))
	fs.DurationVar(&f.pushInterval, "push.interval", 10*time.Second, "how often push backends (statsd, dogstatsd, graphite, influx, circonus, otlp) send")
	fs.StringVar(&f.statsdAddr, "statsd.addr", statsd.DefaultAddr, "statsd daemon, UDP host:port")
	fs.StringVar(&f.dogstatsdAddr, "dogstatsd.addr", dogstatsd.DefaultAddr, "Datadog Agent's DogStatsD server, UDP host:port or unix:///path")
	fs.StringVar(&f.graphiteAddr, "graphite.addr", graphite.DefaultAddr, "carbon's plaintext receiver, TCP host:port")
	fs.StringVar(&f.graphiteWeb, "graphite.web", "", "graphite-web's URL, only to print where to read the metrics")
	fs.StringVar(&f.influxURL, "influx.url", influx.DefaultURL, "InfluxDB 1.x HTTP API")
	fs.StringVar(&f.influxDB, "influx.db", "addsvc", "InfluxDB database, created at start when missing")
	fs.StringVar(&f.circonusURL, "circonus.url", "", "Circonus HTTPTrap check submission URL (required with -metrics=circonus)")
	fs.StringVar(&f.otlpEndpoint, "otlp.metrics.endpoint", "127.0.0.1:4317", "OpenTelemetry Collector receiving metrics, host:port")
	fs.StringVar(&f.otlpProtocol, "otlp.metrics.protocol", "grpc", "grpc or http")
	fs.BoolVar(&f.otlpInsecure, "otlp.metrics.insecure", true, "send OTLP metrics without TLS")
}

// pushBackend is what a push backend adds to metrics.Backend.
type pushBackend interface {
	Flush(ctx context.Context) error
	Close(ctx context.Context) error
	Stats() push.Stats
}

// picked is one metrics backend chosen by -metrics.
type picked struct {
	name string
	metrics.Backend
	// A pull backend serves its metrics on route.
	route   string
	handler http.Handler
	// A push backend sends them; main closes it on the way out, which
	// delivers its last values.
	push pushBackend
	// look says where to read the endpoint request counter, whose full
	// name is given.
	look func(name string) string
}

// newBackend is the one place that picks a metrics backend: one
// constructor call per name. Nothing else in addsvc depends on the
// choice. onErr receives the delivery errors of push backends.
func newBackend(ctx context.Context, name string, f *backendFlags, onErr func(error)) (picked, error) {
	p := picked{name: name}
	var err error
	switch name {
	case "prometheus":
		var b *prometheus.Backend
		b, err = prometheus.New(prometheus.Options{})
		p.Backend, p.route = b, "GET /metrics"
		if b != nil {
			p.handler = b.Handler()
		}
		p.look = func(n string) string {
			return fmt.Sprintf("curl -s http://ADDR/metrics | grep %s_total", strings.ReplaceAll(n, ".", "_"))
		}
	case "expvar":
		var b *expvar.Backend
		b, err = expvar.New(expvar.Options{})
		p.Backend, p.route = b, "GET /debug/vars"
		if b != nil {
			p.handler = b.Handler()
		}
		p.look = func(n string) string { return fmt.Sprintf("curl -s http://ADDR/debug/vars   (key %q)", n) }
	case "statsd":
		var b *statsd.Backend
		b, err = statsd.New(statsd.Options{Addr: f.statsdAddr, FlushInterval: f.pushInterval, ErrorHandler: onErr})
		p.Backend, p.push = b, b
		p.look = func(n string) string {
			return fmt.Sprintf("the statsd daemon at %s; in Graphite: stats.counters.%s.<operation>.<outcome>.count%s",
				f.statsdAddr, n, renderHint(f.graphiteWeb, fmt.Sprintf("stats.counters.%s.*.*.count", n)))
		}
	case "dogstatsd":
		var b *dogstatsd.Backend
		b, err = dogstatsd.New(dogstatsd.Options{Addr: f.dogstatsdAddr, FlushInterval: f.pushInterval, ErrorHandler: onErr})
		p.Backend, p.push = b, b
		p.look = func(n string) string {
			return fmt.Sprintf("the Datadog Agent at %s; in Datadog: sum:%s{*} by {operation,outcome}.as_count()", f.dogstatsdAddr, n)
		}
	case "graphite":
		var b *graphite.Backend
		b, err = graphite.New(graphite.Options{Addr: f.graphiteAddr, FlushInterval: f.pushInterval, ErrorHandler: onErr})
		p.Backend, p.push = b, b
		p.look = func(n string) string {
			return fmt.Sprintf("carbon at %s, tagged series %s;operation=…;outcome=…%s",
				f.graphiteAddr, n, renderHint(f.graphiteWeb, fmt.Sprintf("seriesByTag('name=%s')", n)))
		}
	case "influx":
		if err = createInfluxDB(ctx, f.influxURL, f.influxDB); err != nil {
			onErr(err) // not fatal: the server may come up later; the backend reports what it cannot write
		}
		var b *influx.Backend
		b, err = influx.New(influx.Options{URL: f.influxURL, Database: f.influxDB, FlushInterval: f.pushInterval, ErrorHandler: onErr})
		p.Backend, p.push = b, b
		p.look = func(n string) string {
			return fmt.Sprintf(`curl -sG %s/query --data-urlencode db=%s --data-urlencode 'q=SELECT sum("count") FROM "%s" GROUP BY "operation","outcome"'`,
				f.influxURL, f.influxDB, n)
		}
	case "circonus":
		var b *circonus.Backend
		b, err = circonus.New(circonus.Options{URL: f.circonusURL, FlushInterval: f.pushInterval, ErrorHandler: onErr})
		p.Backend, p.push = b, b
		p.look = func(n string) string {
			return fmt.Sprintf("the HTTPTrap check's metrics %s|ST[operation:…,outcome:…]", n)
		}
	case "otlp":
		var b *otlp.Backend
		b, err = otlp.New(otlp.Options{Endpoint: f.otlpEndpoint, Protocol: otlpProtocol(f.otlpProtocol), Insecure: f.otlpInsecure,
			ServiceName: f.otlpService, FlushInterval: f.pushInterval, ErrorHandler: onErr})
		p.Backend, p.push = b, b
		p.look = func(n string) string {
			return fmt.Sprintf("the collector at %s: %s (a Prometheus exporter shows %s_total)",
				f.otlpEndpoint, n, strings.ReplaceAll(n, ".", "_"))
		}
	default:
		return p, fmt.Errorf("-metrics: unknown backend %q (want %s)", name, strings.Join(backendNames, ", "))
	}
	if err != nil {
		return p, fmt.Errorf("-metrics=%s: %w", name, err)
	}
	return p, nil
}

// newBackends makes the backends of a comma-separated list. On error it
// closes what it made.
func newBackends(ctx context.Context, f *backendFlags, onErr func(error)) ([]picked, error) {
	var bs []picked
	seen := map[string]bool{}
	for name := range strings.SplitSeq(f.names, ",") {
		name = strings.TrimSpace(name)
		if name == "" || seen[name] {
			continue
		}
		seen[name] = true
		p, err := newBackend(ctx, name, f, onErr)
		if err != nil {
			closeBackends(bs, time.Second)
			return nil, err
		}
		bs = append(bs, p)
	}
	if len(bs) == 0 {
		return nil, errors.New("-metrics: no backend named")
	}
	return bs, nil
}

// tee is the one metrics.Backend of bs.
func tee(bs []picked) metrics.Backend {
	if len(bs) == 1 {
		return bs[0].Backend
	}
	all := make([]metrics.Backend, len(bs))
	for i, b := range bs {
		all[i] = b.Backend
	}
	return metrics.Tee(all...)
}

// backendClose is what closing one push backend delivered.
type backendClose struct {
	name  string
	stats push.Stats
	err   error
}

// closeBackends closes the push backends of bs, each within timeout,
// which delivers what they still hold.
func closeBackends(bs []picked, timeout time.Duration) []backendClose {
	var out []backendClose
	for _, b := range bs {
		if b.push == nil {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		err := b.push.Close(ctx)
		cancel()
		out = append(out, backendClose{name: b.name, stats: b.push.Stats(), err: err})
	}
	return out
}

func otlpProtocol(s string) otlp.Protocol {
	if s == "http" {
		return otlp.ProtocolHTTP
	}
	return otlp.Protocol(s) // "grpc", or what otlp.New refuses
}

func renderHint(web, target string) string {
	if web == "" {
		return ""
	}
	return "\n              " + strings.TrimRight(web, "/") + "/render?format=json&from=-1h&target=" + url.QueryEscape(target)
}

// createInfluxDB creates db, which InfluxDB 1.x does not do on a write;
// creating one that exists is not an error there.
func createInfluxDB(ctx context.Context, base, db string) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	form := url.Values{"q": {fmt.Sprintf("CREATE DATABASE %q", db)}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(base, "/")+"/query",
		strings.NewReader(form.Encode()))
	if err != nil {
		return fmt.Errorf("influx: create database %q: %w", db, err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("influx: create database %q: %w", db, err)
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("influx: create database %q: %s", db, resp.Status)
	}
	return nil
}
