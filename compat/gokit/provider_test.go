package gokit_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-kit/kit/metrics/provider"

	"github.com/obskit/obskit/compat/gokit"
	"github.com/obskit/obskit/metrics"
	"github.com/obskit/obskit/metrics/metricstest"
)

var _ provider.Provider = (*gokit.Provider)(nil)

func TestNewProviderErrors(t *testing.T) {
	reg, _ := newRegistry(t)
	for _, tc := range []struct {
		name string
		reg  *metrics.Registry
		opts gokit.ProviderOptions
	}{
		{"nil registry", nil, gokit.ProviderOptions{}},
		{"negative timeout", reg, gokit.ProviderOptions{Timeout: -time.Second}},
		{"empty instrument name", reg, gokit.ProviderOptions{Instruments: map[string]metrics.Opts{"": {}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := gokit.NewProvider(tc.reg, tc.opts)
			if !errors.Is(err, metrics.ErrInvalidOption) || p != nil {
				t.Errorf("NewProvider = %v, %v; want nil and an error wrapping ErrInvalidOption", p, err)
			}
		})
	}
}

// TestProviderDeclares: the Provider declares Go kit's names with what
// Instruments says, and defaults (Go kit's name as help, no labels)
// otherwise.
func TestProviderDeclares(t *testing.T) {
	reg, b := newRegistry(t)
	p, err := gokit.NewProvider(reg, gokit.ProviderOptions{Instruments: map[string]metrics.Opts{
		"request_duration_seconds": {
			Name:    "request.duration",
			Help:    "Request latency.",
			Unit:    metrics.UnitSeconds,
			Labels:  []string{"method", "success"},
			Buckets: []float64{0.1, 1},
		},
	}})
	if err != nil {
		t.Fatal(err)
	}
	p.NewHistogram("request_duration_seconds", 50).With("method", "Sum", "success", "true").Observe(0.5)
	p.NewCounter("request-count").Add(1)
	p.NewGauge("in_flight").Set(2)
	if err := p.Err(); err != nil {
		t.Fatal(err)
	}

	d := b.Desc("ns.request.duration")
	if d == nil {
		t.Fatal("request.duration not declared")
	}
	if d.Help != "Request latency." || d.Unit != metrics.UnitSeconds || len(d.Labels) != 2 || len(d.Buckets) != 2 {
		t.Errorf("request.duration declared as %+v", d)
	}
	if h := b.Histogram("ns.request.duration", "method", "Sum", "success", "true"); h.Count != 1 {
		t.Errorf("request.duration: %d observations, want 1", h.Count)
	}
	d = b.Desc("ns.request_count")
	if d == nil || d.Help != "request-count" || d.Kind != metrics.KindCounter || len(d.Labels) != 0 {
		t.Fatalf("request-count declared as %+v, want counter ns.request_count with help %q", d, "request-count")
	}
	if got := b.Counter("ns.request_count"); got != 1 {
		t.Errorf("request_count = %v, want 1", got)
	}
	if got := b.Gauge("ns.in_flight"); got != 2 {
		t.Errorf("in_flight = %v, want 2", got)
	}
	if d := b.Desc("ns.in_flight"); d == nil || d.Kind != metrics.KindGauge {
		t.Errorf("in_flight declared as %+v", d)
	}

	// The same name and kind again is the same instrument.
	p.NewCounter("request-count").Add(2)
	if got := b.Counter("ns.request_count"); got != 3 || p.Err() != nil {
		t.Errorf("request_count = %v (err %v), want 3 with no error", got, p.Err())
	}
}

// TestProviderUndeclaredLabels: Go kit code that sets labels the Provider
// was not told about records without them, is counted, and never panics.
func TestProviderUndeclaredLabels(t *testing.T) {
	var handled []error
	b := metricstest.New()
	reg := metrics.New(b, metrics.WithNamespace("ns2"), metrics.WithErrorHandler(func(err error) { handled = append(handled, err) }))
	p, err := gokit.NewProvider(reg, gokit.ProviderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	c := p.NewCounter("requests")
	c.With("method", "Sum").Add(1)
	c.With("method", "Concat").Add(1)
	if got := b.Counter("ns2.requests"); got != 2 {
		t.Errorf("requests = %v, want 2 (both calls, labels dropped)", got)
	}
	if s := reg.Stats(); s.UndeclaredLabels != 2 {
		t.Errorf("Stats().UndeclaredLabels = %d, want 2", s.UndeclaredLabels)
	}
	var hp *metrics.HotPathError
	if len(handled) != 1 || !errors.As(handled[0], &hp) || hp.Problem != metrics.ProblemUndeclaredLabel {
		t.Errorf("error handler got %v, want one undeclared-label HotPathError", handled)
	}
}

// TestProviderDeclarationErrors: a declaration the Registry rejects is
// reported and yields an instrument that records nothing, not a panic.
func TestProviderDeclarationErrors(t *testing.T) {
	reg, b := newRegistry(t)
	var handled []error
	p, err := gokit.NewProvider(reg, gokit.ProviderOptions{ErrorHandler: func(err error) { handled = append(handled, err) }})
	if err != nil {
		t.Fatal(err)
	}
	p.NewCounter("requests").Add(1)
	p.NewGauge("requests").Set(5)               // another kind under the same name
	p.NewHistogram("2xx.latency", 0).Observe(1) // a segment starting with a digit
	if got := b.Counter("ns.requests"); got != 1 {
		t.Errorf("requests = %v, want 1", got)
	}
	if len(handled) != 2 {
		t.Fatalf("error handler got %d errors, want 2: %v", len(handled), handled)
	}
	if !errors.Is(handled[0], metrics.ErrConflict) || !errors.Is(handled[1], metrics.ErrInvalidName) {
		t.Errorf("errors %v, want ErrConflict then ErrInvalidName", handled)
	}
	if err := p.Err(); !errors.Is(err, metrics.ErrConflict) || !errors.Is(err, metrics.ErrInvalidName) {
		t.Errorf("Err() = %v, want both errors", err)
	}
}

func TestSanitizeName(t *testing.T) {
	for in, want := range map[string]string{
		"requests":                 "requests",
		"request_duration_seconds": "request_duration_seconds",
		"addsvc.sum.count":         "addsvc.sum.count",
		"request-count":            "request_count",
		"http/server:latency µs":   "http_server_latency__s",
	} {
		if got := gokit.SanitizeName(in); got != want {
			t.Errorf("SanitizeName(%q) = %q, want %q", in, got, want)
		}
	}
}

type closer struct {
	mu       sync.Mutex
	calls    int
	deadline bool
	err      error
}

func (c *closer) Close(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls++
	_, c.deadline = ctx.Deadline()
	return c.err
}

// TestProviderStop: Stop closes the Closer once, with a deadline, and
// reports its error.
func TestProviderStop(t *testing.T) {
	reg, _ := newRegistry(t)
	c := &closer{err: metrics.ErrDelivery}
	var handled []error
	p, err := gokit.NewProvider(reg, gokit.ProviderOptions{Closer: c, ErrorHandler: func(err error) { handled = append(handled, err) }})
	if err != nil {
		t.Fatal(err)
	}
	p.Stop()
	p.Stop()
	if c.calls != 1 || !c.deadline {
		t.Errorf("Close called %d times (deadline %v), want once with a deadline", c.calls, c.deadline)
	}
	if len(handled) != 1 || !errors.Is(handled[0], metrics.ErrDelivery) || !errors.Is(p.Err(), metrics.ErrDelivery) {
		t.Errorf("handled %v, Err %v; want the Closer's error", handled, p.Err())
	}

	// Without a Closer, Stop does nothing and reports nothing.
	p, err = gokit.NewProvider(reg, gokit.ProviderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	p.Stop()
	if err := p.Err(); err != nil {
		t.Errorf("Err() = %v after Stop without a Closer", err)
	}
}

// TestProviderConcurrent: Go kit services ask for instruments from many
// goroutines; run with -race.
func TestProviderConcurrent(t *testing.T) {
	reg, b := newRegistry(t)
	p, err := gokit.NewProvider(reg, gokit.ProviderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 100 {
				p.NewCounter("requests").Add(1)
				p.NewGauge("requests") // conflicting, reported
			}
		})
	}
	wg.Wait()
	if got := b.Counter("ns.requests"); got != 800 {
		t.Errorf("requests = %v, want 800", got)
	}
	err = p.Err()
	if !errors.Is(err, metrics.ErrConflict) || !strings.Contains(err.Error(), "784 more errors") {
		t.Errorf("Err() = %v, want 16 conflicts and 784 more counted", err)
	}
}

// FuzzSanitizeName: whatever Go kit code names an instrument, the
// sanitised name holds only the bytes obskit's grammar allows, sanitising
// again changes nothing, and a name that was valid is kept as it is.
func FuzzSanitizeName(f *testing.F) {
	for _, s := range []string{"requests", "request-count", "a.b_c", "µs", "\xff\xfe", "", "2xx", "a..b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		got := gokit.SanitizeName(name)
		for i := 0; i < len(got); i++ {
			c := got[i]
			if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '.') {
				t.Fatalf("SanitizeName(%q) = %q: byte %d is %q", name, got, i, c)
			}
		}
		if again := gokit.SanitizeName(got); again != got {
			t.Fatalf("SanitizeName(%q) = %q, and again %q", name, got, again)
		}
		if _, err := metrics.New(metrics.Discard()).NewCounter(metrics.Opts{Name: name}); err == nil && got != name {
			t.Fatalf("valid name %q sanitised to %q", name, got)
		}
	})
}
