package apitest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"runtime/debug"
	"slices"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
	"google.golang.org/grpc"

	"github.com/obskit/obskit/backends/circonus"
	"github.com/obskit/obskit/backends/dogstatsd"
	"github.com/obskit/obskit/backends/expvar"
	"github.com/obskit/obskit/backends/graphite"
	"github.com/obskit/obskit/backends/influx"
	"github.com/obskit/obskit/backends/otlp"
	"github.com/obskit/obskit/backends/prometheus"
	"github.com/obskit/obskit/backends/statsd"
	"github.com/obskit/obskit/internal/push"
	"github.com/obskit/obskit/logging"
	"github.com/obskit/obskit/metrics"
	"github.com/obskit/obskit/metrics/metricstest"
	"github.com/obskit/obskit/middleware"
	"github.com/obskit/obskit/middleware/grpcmw"
	"github.com/obskit/obskit/tracing"
)

// ctorCase is one call of an exported constructor with zero and nil
// arguments. ctor names the constructor as the completeness test finds
// it in the source: the package's directory in the module, a dot, the
// function's name ("backends/statsd.New", "metrics.Tee").
type ctorCase struct {
	ctor string
	args string // the arguments, for the subtest's name
	run  func(t *testing.T)
}

// zeroCases lists the calls. Each asserts an error wrapping the
// documented sentinel or, where the zero value is documented as valid, a
// usable result whose obvious methods are then called once.
func zeroCases() []ctorCase {
	return []ctorCase{
		// metrics: New cannot fail; its errors come from every
		// declaration.
		{"metrics.New", "nil backend", func(t *testing.T) {
			wantDeclareErr(t, metrics.New(nil), metrics.ErrInvalidOption)
		}},
		{"metrics.New", "nil Option", func(t *testing.T) {
			wantDeclareErr(t, metrics.New(metrics.Discard(), nil), metrics.ErrInvalidOption)
		}},
		{"metrics.New", "zero Opts", func(t *testing.T) {
			wantDeclareErrOpts(t, metrics.New(metrics.Discard()), metrics.Opts{}, metrics.ErrInvalidName)
		}},
		{"metrics.New", "zero options", func(t *testing.T) {
			wantDeclareOK(t, metrics.New(metrics.Discard(),
				metrics.WithNamespace(""), metrics.WithConstLabels(nil), metrics.WithErrorHandler(nil)))
		}},
		{"metrics.New", "WithCardinalityLimit(0)", func(t *testing.T) {
			wantDeclareErr(t, metrics.New(metrics.Discard(), metrics.WithCardinalityLimit(0)), metrics.ErrInvalidOption)
		}},
		{"metrics.Tee", "no backend", func(t *testing.T) {
			wantDeclareOK(t, metrics.New(metrics.Tee()))
		}},
		{"metrics.Tee", "nil backend", func(t *testing.T) {
			wantDeclareErr(t, metrics.New(metrics.Tee(nil)), metrics.ErrInvalidOption)
			wantDeclareErr(t, metrics.New(metrics.Tee(metricstest.New(), nil)), metrics.ErrInvalidOption)
		}},
		{"metrics.Discard", "", func(t *testing.T) {
			wantDeclareOK(t, metrics.New(metrics.Discard()))
		}},
		{"metrics/metricstest.New", "", func(t *testing.T) {
			b := metricstest.New()
			wantDeclareOK(t, metrics.New(b))
			if got := b.Counter("apitest_zero_c"); got != 1 {
				t.Errorf("Counter = %v, want 1", got)
			}
			wantNilDescErr(t, b)
		}},

		// Backends: the zero Options is valid for all but those that
		// need a destination. Pull backends serve what was declared;
		// push backends flush and close within a short deadline with
		// nothing listening, or with whatever listens at the default
		// address.
		{"backends/prometheus.New", "zero Options", func(t *testing.T) {
			b, err := prometheus.New(prometheus.Options{})
			if err != nil {
				t.Fatal(err)
			}
			wantDeclareOK(t, metrics.New(b))
			wantServes(t, b.Handler(), "apitest_zero_c")
			wantNilDescErr(t, b)
		}},
		{"backends/expvar.New", "zero Options", func(t *testing.T) {
			b, err := expvar.New(expvar.Options{})
			if err != nil {
				t.Fatal(err)
			}
			// expvar publishes process-wide, once per name: a name
			// of its own for each run of the test (-count).
			expvarRuns++
			o := zeroOpts
			o.Name = fmt.Sprintf("apitest_zero_%d", expvarRuns)
			for _, err := range declare(metrics.New(b), o) {
				if err != nil {
					t.Errorf("declaration: %v", err)
				}
			}
			wantServes(t, b.Handler(), o.Name+"_c")
			wantNilDescErr(t, b)
		}},
		{"backends/statsd.New", "zero Options", func(t *testing.T) {
			b, err := statsd.New(statsd.Options{})
			if err != nil {
				t.Fatal(err)
			}
			wantPushUsable(t, b)
		}},
		{"backends/dogstatsd.New", "zero Options", func(t *testing.T) {
			b, err := dogstatsd.New(dogstatsd.Options{})
			if err != nil {
				t.Fatal(err)
			}
			wantPushUsable(t, b)
		}},
		{"backends/graphite.New", "zero Options", func(t *testing.T) {
			b, err := graphite.New(graphite.Options{})
			if err != nil {
				t.Fatal(err)
			}
			wantPushUsable(t, b)
		}},
		{"backends/influx.New", "zero Options", func(t *testing.T) {
			// The zero value names no database: documented as an
			// error to set.
			b, err := influx.New(influx.Options{})
			if !errors.Is(err, metrics.ErrInvalidOption) || b != nil {
				t.Errorf("New = %v, %v; want nil, ErrInvalidOption", b, err)
			}
		}},
		{"backends/influx.New", "zero Options but Database", func(t *testing.T) {
			b, err := influx.New(influx.Options{Database: "apitest"})
			if err != nil {
				t.Fatal(err)
			}
			wantPushUsable(t, b)
		}},
		{"backends/circonus.New", "zero Options", func(t *testing.T) {
			// SubmissionURL is required.
			b, err := circonus.New(circonus.Options{})
			if !errors.Is(err, metrics.ErrInvalidOption) || b != nil {
				t.Errorf("New = %v, %v; want nil, ErrInvalidOption", b, err)
			}
		}},
		{"backends/circonus.New", "zero Options but SubmissionURL", func(t *testing.T) {
			// A trap that answers: with none, circonus-gometrics
			// retries for seconds in a goroutine that outlives Close
			// (see the report of issue 8), which goleak would flag.
			trap := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				io.Copy(io.Discard, r.Body)
				io.WriteString(w, `{"stats":3}`)
			}))
			defer trap.Close()
			b, err := circonus.New(circonus.Options{URL: trap.URL + "/write/apitest"})
			if err != nil {
				t.Fatal(err)
			}
			wantPushUsable(t, b)
		}},
		{"backends/otlp.New", "zero Options", func(t *testing.T) {
			b, err := otlp.New(otlp.Options{})
			if err != nil {
				t.Fatal(err)
			}
			wantPushUsable(t, b)
		}},

		// middleware
		{"middleware.NewHTTPHandler", "nil next", func(t *testing.T) {
			h, err := middleware.NewHTTPHandler(nil, middleware.HTTPOptions{})
			if err == nil || h != nil {
				t.Errorf("NewHTTPHandler(nil) = %v, %v; want nil, an error", h, err)
			}
		}},
		{"middleware.NewHTTPHandler", "zero HTTPOptions", func(t *testing.T) {
			h, err := middleware.NewHTTPHandler(http.NotFoundHandler(), middleware.HTTPOptions{})
			if err != nil {
				t.Fatal(err)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
			if rec.Code != http.StatusNotFound {
				t.Errorf("status %d, want 404 from the handler wrapped", rec.Code)
			}
		}},
		{"middleware.NewHTTPHandler", "Registry over nil backend", func(t *testing.T) {
			h, err := middleware.NewHTTPHandler(http.NotFoundHandler(), middleware.HTTPOptions{Registry: metrics.New(nil)})
			if !errors.Is(err, metrics.ErrInvalidOption) || h != nil {
				t.Errorf("NewHTTPHandler = %v, %v; want nil, ErrInvalidOption", h, err)
			}
		}},
		{"middleware.NewTransport", "nil base, zero HTTPOptions", func(t *testing.T) {
			rt, err := middleware.NewTransport(nil, middleware.HTTPOptions{})
			if err != nil {
				t.Fatal(err)
			}
			srv := httptest.NewServer(http.NotFoundHandler())
			defer srv.Close()
			req, err := http.NewRequest(http.MethodGet, srv.URL, nil)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := rt.RoundTrip(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			// nil base is http.DefaultTransport: leave no idle
			// connection's goroutines for goleak.
			http.DefaultTransport.(*http.Transport).CloseIdleConnections()
			if resp.StatusCode != http.StatusNotFound {
				t.Errorf("status %d, want 404", resp.StatusCode)
			}
		}},
		{"middleware.NewTransport", "Registry over nil backend", func(t *testing.T) {
			rt, err := middleware.NewTransport(nil, middleware.HTTPOptions{Registry: metrics.New(nil)})
			if !errors.Is(err, metrics.ErrInvalidOption) || rt != nil {
				t.Errorf("NewTransport = %v, %v; want nil, ErrInvalidOption", rt, err)
			}
		}},
		{"middleware.NewInstrumenting", "nil Registry", func(t *testing.T) {
			in, err := middleware.NewInstrumenting(nil, middleware.InstrumentingOptions{})
			if !errors.Is(err, metrics.ErrInvalidOption) || in != nil {
				t.Errorf("NewInstrumenting(nil) = %v, %v; want nil, ErrInvalidOption", in, err)
			}
		}},
		{"middleware.NewInstrumenting", "Registry over nil backend", func(t *testing.T) {
			in, err := middleware.NewInstrumenting(metrics.New(nil), middleware.InstrumentingOptions{})
			if !errors.Is(err, metrics.ErrInvalidOption) || in != nil {
				t.Errorf("NewInstrumenting = %v, %v; want nil, ErrInvalidOption", in, err)
			}
		}},
		{"middleware.NewInstrumenting", "zero InstrumentingOptions", func(t *testing.T) {
			b := metricstest.New()
			in, err := middleware.NewInstrumenting(metrics.New(b), middleware.InstrumentingOptions{})
			if err != nil {
				t.Fatal(err)
			}
			wantEndpoint(t, middleware.Instrument[any, any](in, ""))
			wantNilNext(t, middleware.Instrument[any, any](in, ""))
			wantNilNext(t, middleware.Chain(middleware.Instrument[any, any](in, "")))
			var calls float64
			for _, s := range b.Series("endpoint.requests") {
				calls += s.Value()
			}
			if calls != 1 {
				t.Errorf("endpoint.requests counted %v calls, want 1", calls)
			}
		}},
		{"middleware.Instrument", "nil Instrumenting", func(t *testing.T) {
			wantEndpoint(t, middleware.Instrument[any, any](nil, ""))
			wantNilNext(t, middleware.Instrument[any, any](nil, ""))
		}},
		{"middleware.NewObserver", "zero ObserverOptions", func(t *testing.T) {
			o, err := middleware.NewObserver(middleware.ObserverOptions{})
			if err != nil {
				t.Fatal(err)
			}
			_, end := o.Start(context.Background(), "")
			err = errors.New("failed")
			end(&err)
			_, end = o.Start(context.Background(), "")
			end(nil)
		}},
		{"middleware.NewObserver", "Registry over nil backend", func(t *testing.T) {
			o, err := middleware.NewObserver(middleware.ObserverOptions{Registry: metrics.New(nil)})
			if !errors.Is(err, metrics.ErrInvalidOption) || o != nil {
				t.Errorf("NewObserver = %v, %v; want nil, ErrInvalidOption", o, err)
			}
		}},
		{"middleware.Chain", "nil middlewares", func(t *testing.T) {
			wantEndpoint(t, middleware.Chain[any, any](nil))
			wantEndpoint(t, middleware.Chain[any, any](nil, nil))
		}},
		{"middleware.Chain", "identity middlewares", func(t *testing.T) {
			id := func(next middleware.Endpoint[any, any]) middleware.Endpoint[any, any] { return next }
			wantEndpoint(t, middleware.Chain(id))
			wantEndpoint(t, middleware.Chain(id, id))
		}},

		// middleware/grpcmw: every field of Options is optional.
		{"middleware/grpcmw.NewServer", "zero Options", func(t *testing.T) {
			s, err := grpcmw.NewServer(grpcmw.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if len(s.ServerOptions()) == 0 {
				t.Error("ServerOptions is empty")
			}
			resp, err := s.UnaryInterceptor(context.Background(), nil,
				&grpc.UnaryServerInfo{FullMethod: "/apitest.Zero/Call"},
				func(ctx context.Context, req any) (any, error) { return "ok", nil })
			if err != nil || resp != "ok" {
				t.Errorf("UnaryInterceptor = %v, %v; want ok, nil", resp, err)
			}
		}},
		{"middleware/grpcmw.NewServer", "Registry over nil backend", func(t *testing.T) {
			s, err := grpcmw.NewServer(grpcmw.Options{Registry: metrics.New(nil)})
			if !errors.Is(err, metrics.ErrInvalidOption) || s != nil {
				t.Errorf("NewServer = %v, %v; want nil, ErrInvalidOption", s, err)
			}
		}},
		{"middleware/grpcmw.NewClient", "zero Options", func(t *testing.T) {
			c, err := grpcmw.NewClient(grpcmw.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if len(c.DialOptions()) == 0 {
				t.Error("DialOptions is empty")
			}
		}},
		{"middleware/grpcmw.NewClient", "nil service", func(t *testing.T) {
			c, err := grpcmw.NewClient(grpcmw.Options{Services: []*grpc.ServiceDesc{nil}})
			if err == nil || c != nil {
				t.Errorf("NewClient = %v, %v; want nil, an error", c, err)
			}
		}},
		{"middleware/grpcmw.NewClient", "Registry over nil backend", func(t *testing.T) {
			c, err := grpcmw.NewClient(grpcmw.Options{Registry: metrics.New(nil)})
			if !errors.Is(err, metrics.ErrInvalidOption) || c != nil {
				t.Errorf("NewClient = %v, %v; want nil, ErrInvalidOption", c, err)
			}
		}},

		// logging
		{"logging.New", "nil writer, zero Options", func(t *testing.T) {
			l := logging.New(nil, logging.Options{})
			if l == nil {
				t.Fatal("New returned nil")
			}
			if !l.Enabled(context.Background(), slog.LevelInfo) || l.Enabled(context.Background(), slog.LevelDebug) {
				t.Error("the zero Options does not log at Info and above")
			}
		}},
		{"logging.New", "zero Options", func(t *testing.T) {
			var buf bytes.Buffer
			logging.New(&buf, logging.Options{}).InfoContext(context.Background(), "zero")
			if !strings.Contains(buf.String(), `"msg":"zero"`) {
				t.Errorf("logged %q, want a JSON record", buf.String())
			}
		}},
		{"logging.NewTraceHandler", "nil handler", func(t *testing.T) {
			h := logging.NewTraceHandler(nil)
			ctx := context.Background()
			if h.Enabled(ctx, slog.LevelError) {
				t.Error("a nil handler is enabled")
			}
			rec := slog.NewRecord(time.Now(), slog.LevelError, "zero", 0)
			if err := h.Handle(ctx, rec); err != nil {
				t.Errorf("Handle: %v", err)
			}
			slog.New(h.WithAttrs(nil).WithGroup("")).ErrorContext(ctx, "zero")
		}},
		{"logging.EndpointMiddleware", "nil logger, zero EndpointOptions", func(t *testing.T) {
			wantEndpoint(t, logging.EndpointMiddleware[any, any](nil, "", logging.EndpointOptions{}))
			wantNilNext(t, logging.EndpointMiddleware[any, any](nil, "", logging.EndpointOptions{}))
		}},
		{"logging.EndpointMiddleware", "zero EndpointOptions", func(t *testing.T) {
			var buf bytes.Buffer
			m := logging.EndpointMiddleware[any, any](logging.New(&buf, logging.Options{}), "", logging.EndpointOptions{})
			wantEndpoint(t, m)
			if buf.Len() == 0 {
				t.Error("the call was not logged")
			}
			wantNilNext(t, m)
		}},

		// tracing
		{"tracing.NewProvider", "zero Options", func(t *testing.T) {
			tp, shutdown, err := tracing.NewProvider(context.Background(), tracing.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if tp == nil || shutdown == nil {
				t.Fatal("NewProvider returned a nil provider or shutdown without an error")
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			if err := shutdown(ctx); err != nil {
				t.Errorf("shutdown: %v", err)
			}
		}},
		{"tracing.NewProvider", "nil context", func(t *testing.T) {
			//lint:ignore SA1012 a nil context is what is tested
			tp, shutdown, err := tracing.NewProvider(nil, tracing.Options{})
			if err != nil {
				if tp != nil || shutdown != nil {
					t.Errorf("NewProvider returned a provider or shutdown beside %v", err)
				}
				return
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			if err := shutdown(ctx); err != nil {
				t.Errorf("shutdown: %v", err)
			}
		}},
		{"tracing.NewProvider", "Registry over nil backend", func(t *testing.T) {
			tp, shutdown, err := tracing.NewProvider(context.Background(), tracing.Options{Registry: metrics.New(nil)})
			if !errors.Is(err, metrics.ErrInvalidOption) || tp != nil || shutdown != nil {
				t.Errorf("NewProvider = %v, shutdown set %v, %v; want nil, ErrInvalidOption", tp, shutdown != nil, err)
			}
		}},
		{"tracing.EndpointMiddleware", "nil tracer, zero EndpointOptions", func(t *testing.T) {
			wantEndpoint(t, tracing.EndpointMiddleware[any, any](nil, "", tracing.EndpointOptions{}))
			wantNilNext(t, tracing.EndpointMiddleware[any, any](nil, "", tracing.EndpointOptions{}))
		}},
		{"tracing.Propagator", "", func(t *testing.T) {
			if len(tracing.Propagator().Fields()) == 0 {
				t.Error("Propagator has no fields")
			}
		}},
	}
}

// TestMain checks that what the constructors start is stopped by the
// Close, shutdown or Flush that the cases call.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// TestZeroAndNil runs every case of zeroCases, and turns a panic into a
// failure that names the constructor.
func TestZeroAndNil(t *testing.T) {
	for _, c := range zeroCases() {
		t.Run(c.ctor+" "+c.args, func(t *testing.T) {
			defer func() {
				if r := recover(); r != nil {
					t.Errorf("%s (%s) panicked: %v\n%s", c.ctor, c.args, r, debug.Stack())
				}
			}()
			c.run(t)
		})
	}
}

// declare declares one instrument of each kind on reg and records a
// value on each.
func declare(reg *metrics.Registry, o metrics.Opts) []error {
	named := func(suffix string) metrics.Opts {
		n := o
		if n.Name != "" {
			n.Name += suffix
		}
		return n
	}
	c, ec := reg.NewCounter(named("_c"))
	if ec == nil {
		c.Add(1)
	}
	g, eg := reg.NewGauge(named("_g"))
	if eg == nil {
		g.Set(1)
	}
	h, eh := reg.NewHistogram(named("_h"))
	if eh == nil {
		h.Observe(1)
	}
	return []error{ec, eg, eh}
}

// expvarRuns counts the runs of the expvar case, which run one at a time.
var expvarRuns int

var zeroOpts = metrics.Opts{Name: "apitest_zero", Help: "A declaration with no label."}

func wantDeclareOK(t *testing.T, reg *metrics.Registry) {
	t.Helper()
	for _, err := range declare(reg, zeroOpts) {
		if err != nil {
			t.Errorf("declaration: %v", err)
		}
	}
}

func wantDeclareErr(t *testing.T, reg *metrics.Registry, want error) {
	t.Helper()
	wantDeclareErrOpts(t, reg, zeroOpts, want)
}

func wantDeclareErrOpts(t *testing.T, reg *metrics.Registry, o metrics.Opts, want error) {
	t.Helper()
	for _, err := range declare(reg, o) {
		if !errors.Is(err, want) {
			t.Errorf("declaration: err = %v, want %v", err, want)
		}
	}
}

// wantNilDescErr calls the Backend's Declare methods directly with a nil
// Desc, as only a caller other than the Registry can: an error wrapping
// metrics.ErrInvalidOption, never a panic now or at the first Bind.
func wantNilDescErr(t *testing.T, b metrics.Backend) {
	t.Helper()
	_, ec := b.DeclareCounter(nil)
	_, eg := b.DeclareGauge(nil)
	_, eh := b.DeclareHistogram(nil)
	for i, err := range []error{ec, eg, eh} {
		if !errors.Is(err, metrics.ErrInvalidOption) {
			t.Errorf("Declare %s of a nil Desc: err = %v, want ErrInvalidOption", []string{"counter", "gauge", "histogram"}[i], err)
		}
	}
}

// wantServes asserts that a pull backend's Handler answers 200 with a
// body naming what was declared.
func wantServes(t *testing.T, h http.Handler, name string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), name) {
		t.Errorf("Handler: %d, body without %q:\n%.2000s", rec.Code, name, rec.Body.String())
	}
}

type pushBackend interface {
	metrics.Backend
	Flush(ctx context.Context) error
	Close(ctx context.Context) error
}

// wantPushUsable declares and records through a Registry over b, then
// flushes and closes it, each within a short deadline. Nothing needs to
// listen at the default address: a failed delivery is an error wrapping
// ErrDelivery or the context's error, never a panic or a hang. After
// Close, Flush returns push.ErrClosed and Close nil, at once.
func wantPushUsable(t *testing.T, b pushBackend) {
	t.Helper()
	wantDeclareOK(t, metrics.New(b))
	wantNilDescErr(t, b)
	sensible := func(op string, err error, d time.Duration) {
		t.Helper()
		if err != nil && !errors.Is(err, metrics.ErrDelivery) && !errors.Is(err, context.DeadlineExceeded) &&
			!errors.Is(err, push.ErrClosed) {
			t.Errorf("%s: %v, want nil, ErrDelivery, the deadline or push.ErrClosed", op, err)
		}
		// A hang is what this catches. circonus's Close waits up to
		// 2 s for a submission in flight whatever the deadline (its
		// push.Transport.Close takes no context).
		if d > 5*time.Second {
			t.Errorf("%s took %v past a 300 ms deadline", op, d)
		}
	}
	for _, op := range []struct {
		name string
		f    func(context.Context) error
	}{{"Flush", b.Flush}, {"Close", b.Close}, {"Flush after Close", b.Flush}, {"Close again", b.Close}} {
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		start := time.Now()
		err := op.f(ctx)
		cancel()
		sensible(op.name, err, time.Since(start))
	}
}

// wantEndpoint applies m to an endpoint and calls the result: the
// endpoint's response comes back.
func wantEndpoint(t *testing.T, m middleware.Middleware[any, any]) {
	t.Helper()
	e := m(func(ctx context.Context, req any) (any, error) { return req, nil })
	resp, err := e(context.Background(), "zero")
	if err != nil || resp != "zero" {
		t.Errorf("endpoint = %v, %v; want zero, nil", resp, err)
	}
}

// wantNilNext applies m to a nil endpoint: the result fails every call
// with an error wrapping metrics.ErrInvalidOption instead of panicking.
func wantNilNext(t *testing.T, m middleware.Middleware[any, any]) {
	t.Helper()
	e := m(nil)
	if e == nil {
		t.Fatal("middleware of a nil endpoint is nil")
	}
	for range 2 {
		if _, err := e(context.Background(), "zero"); !errors.Is(err, metrics.ErrInvalidOption) {
			t.Errorf("endpoint over a nil one: err = %v, want ErrInvalidOption", err)
		}
	}
}

// TestZeroCasesComplete parses the module's packages and fails when an
// exported function named New…, or returning a type of its package that
// has a Close method, has no case in zeroCases; and when a case names a
// function that does not exist.
func TestZeroCasesComplete(t *testing.T) {
	root := moduleRoot(t)
	found := exportedConstructors(t, root)
	covered := map[string]bool{}
	for _, c := range zeroCases() {
		if covered[c.ctor] {
			continue
		}
		covered[c.ctor] = true
		if !found.all[c.ctor] {
			t.Errorf("zeroCases names %s, which is not an exported function of the module", c.ctor)
		}
	}
	if len(found.required) == 0 {
		t.Fatal("no constructor found: the walk is broken")
	}
	for _, name := range found.required {
		if !covered[name] {
			t.Errorf("%s is not called by zeroCases: add a case with zero and nil arguments", name)
		}
	}
}

// moduleRoot is the directory of the module's go.mod, two levels up.
func moduleRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil || !bytes.HasPrefix(b, []byte("module github.com/obskit/obskit\n")) {
		t.Fatalf("%s is not the module's root: %v", root, err)
	}
	return root
}

type constructors struct {
	all      map[string]bool // every exported function, by "dir.Name"
	required []string        // those that zeroCases must call
}

// exportedConstructors walks the module's source directories, leaving
// out internal/, examples/, testdata, other modules (a directory with
// its own go.mod) and _test.go files.
func exportedConstructors(t *testing.T, root string) constructors {
	t.Helper()
	out := constructors{all: map[string]bool{}}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			return nil
		}
		rel, _ := filepath.Rel(root, path)
		rel = filepath.ToSlash(rel)
		base := d.Name()
		if rel != "." {
			if base == "internal" || base == "examples" || base == "testdata" ||
				strings.HasPrefix(base, ".") || strings.HasPrefix(base, "_") {
				return filepath.SkipDir
			}
			if _, err := os.Stat(filepath.Join(path, "go.mod")); err == nil {
				return filepath.SkipDir
			}
		}
		fset := token.NewFileSet()
		var files []*ast.File
		entries, err := os.ReadDir(path)
		if err != nil {
			return err
		}
		for _, e := range entries {
			n := e.Name()
			if e.IsDir() || !strings.HasSuffix(n, ".go") || strings.HasSuffix(n, "_test.go") {
				continue
			}
			f, err := parser.ParseFile(fset, filepath.Join(path, n), nil, parser.SkipObjectResolution)
			if err != nil {
				return err
			}
			if f.Name.Name == "main" {
				return nil
			}
			files = append(files, f)
		}
		// The types of the package that have a Close method.
		closers := map[string]bool{}
		for _, f := range files {
			for _, decl := range f.Decls {
				fd, ok := decl.(*ast.FuncDecl)
				if ok && fd.Recv != nil && fd.Name.Name == "Close" && len(fd.Recv.List) == 1 {
					closers[typeName(fd.Recv.List[0].Type)] = true
				}
			}
		}
		for _, f := range files {
			for _, decl := range f.Decls {
				fd, ok := decl.(*ast.FuncDecl)
				if !ok || fd.Recv != nil || !fd.Name.IsExported() {
					continue
				}
				key := rel + "." + fd.Name.Name
				if rel == "." {
					key = fd.Name.Name
				}
				out.all[key] = true
				need := strings.HasPrefix(fd.Name.Name, "New")
				if fd.Type.Results != nil {
					for _, r := range fd.Type.Results.List {
						if closers[typeName(r.Type)] {
							need = true
						}
					}
				}
				if need && !slices.Contains(out.required, key) {
					out.required = append(out.required, key)
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// typeName is the name of a type expression of the package itself, with
// pointers and type arguments taken off; "" for anything else.
func typeName(e ast.Expr) string {
	for {
		switch x := e.(type) {
		case *ast.StarExpr:
			e = x.X
		case *ast.IndexExpr:
			e = x.X
		case *ast.IndexListExpr:
			e = x.X
		case *ast.Ident:
			return x.Name
		default:
			return ""
		}
	}
}

// zeroCall is one call of an exported method on a value not made by its
// constructor. call returns the method's error, or an error of the test's
// own when what it returned is wrong; wantErr says that the method
// returns an error, which must then wrap metrics.ErrInvalidOption unless
// the type's zero value is documented as usable.
type zeroCall struct {
	method  string
	call    func() error
	wantErr bool
}

// zeroValueCalls returns a call of every method of v that the backends
// export: the Declare methods (with a valid Desc, so that the guard and
// not the nil-Desc check answers), Flush, Close, Stats, WriteTo, Handler
// and Undeclare, whichever v has. Each Desc has a name of its own,
// prefixed by prefix.
func zeroValueCalls(v any, prefix string) []zeroCall {
	desc := func(k metrics.Kind) *metrics.Desc {
		return &metrics.Desc{Kind: k, Name: prefix + "_" + k.String(), Help: "A declaration on a zero Backend."}
	}
	ctxCall := func(f func(context.Context) error) func() error {
		return func() error {
			ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
			defer cancel()
			return f(ctx)
		}
	}
	var calls []zeroCall
	if b, ok := v.(metrics.Backend); ok {
		calls = append(calls,
			zeroCall{"DeclareCounter", func() error { _, err := b.DeclareCounter(desc(metrics.KindCounter)); return err }, true},
			zeroCall{"DeclareGauge", func() error { _, err := b.DeclareGauge(desc(metrics.KindGauge)); return err }, true},
			zeroCall{"DeclareHistogram", func() error { _, err := b.DeclareHistogram(desc(metrics.KindHistogram)); return err }, true},
		)
	}
	if b, ok := v.(interface{ Flush(context.Context) error }); ok {
		calls = append(calls, zeroCall{"Flush", ctxCall(b.Flush), true})
	}
	if b, ok := v.(interface{ Close(context.Context) error }); ok {
		calls = append(calls, zeroCall{"Close", ctxCall(b.Close), true})
	}
	if b, ok := v.(interface{ Stats() push.Stats }); ok {
		calls = append(calls, zeroCall{"Stats", func() error {
			if s := b.Stats(); s != (push.Stats{}) {
				return fmt.Errorf("Stats() = %+v, want the zero Stats", s)
			}
			return nil
		}, false})
	}
	if b, ok := v.(io.WriterTo); ok {
		calls = append(calls, zeroCall{"WriteTo", func() error {
			var buf bytes.Buffer
			n, err := b.WriteTo(&buf)
			if n != 0 || buf.Len() != 0 {
				return fmt.Errorf("WriteTo wrote %d bytes (%d reported), want none", buf.Len(), n)
			}
			return err
		}, true})
	}
	if b, ok := v.(interface{ Handler() http.Handler }); ok {
		calls = append(calls, zeroCall{"Handler", func() error {
			h := b.Handler()
			if h == nil {
				return errors.New("Handler() = nil")
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
			if rec.Code >= 500 {
				return fmt.Errorf("Handler answered %d", rec.Code)
			}
			return nil
		}, false})
	}
	if b, ok := v.(interface{ Undeclare(*metrics.Desc) }); ok {
		calls = append(calls, zeroCall{"Undeclare", func() error { b.Undeclare(desc(metrics.KindCounter)); return nil }, false})
	}
	return calls
}

// zeroValueRuns counts the runs of TestZeroValueTypes, which run one at
// a time.
var zeroValueRuns int

// TestZeroValueTypes calls every exported method of each backend's
// Backend made with new instead of New, and the endpoint of Instrument
// over new(middleware.Instrumenting): no panic; the methods that return
// an error return one wrapping metrics.ErrInvalidOption, Stats the zero
// Stats, and a Registry over the Backend fails every declaration the same
// way; expvar's zero Backend, documented as usable, succeeds. It fails
// when a type gains an exported method that the test does
// not call.
func TestZeroValueTypes(t *testing.T) {
	noPanic := func(t *testing.T, what string, f func()) {
		t.Helper()
		defer func() {
			if r := recover(); r != nil {
				t.Errorf("%s panicked: %v\n%s", what, r, debug.Stack())
			}
		}()
		f()
	}
	// expvar publishes into the process's registry, which cannot take a
	// name back: every run of the test declares names of its own.
	zeroValueRuns++
	for _, c := range []struct {
		name string
		v    metrics.Backend
		// usable: the zero value is documented as a Backend with the
		// default Options (expvar), so its methods succeed.
		usable bool
	}{
		{"statsd", new(statsd.Backend), false},
		{"dogstatsd", new(dogstatsd.Backend), false},
		{"graphite", new(graphite.Backend), false},
		{"influx", new(influx.Backend), false},
		{"circonus", new(circonus.Backend), false},
		{"otlp", new(otlp.Backend), false},
		{"prometheus", new(prometheus.Backend), false},
		{"expvar", new(expvar.Backend), true},
	} {
		t.Run(c.name, func(t *testing.T) {
			prefix := fmt.Sprintf("apitest_zero_value%d_%s", zeroValueRuns, c.name)
			var called []string
			for _, zc := range zeroValueCalls(c.v, prefix) {
				called = append(called, zc.method)
				noPanic(t, zc.method, func() {
					err := zc.call()
					switch {
					case zc.wantErr && !c.usable && !errors.Is(err, metrics.ErrInvalidOption):
						t.Errorf("%s: err = %v, want ErrInvalidOption", zc.method, err)
					case (!zc.wantErr || c.usable) && err != nil:
						t.Errorf("%s: %v", zc.method, err)
					}
				})
			}
			noPanic(t, "a Registry's declarations", func() {
				o := metrics.Opts{Name: prefix + "_registry", Help: "A declaration through a Registry."}
				if c.usable {
					for _, err := range declare(metrics.New(c.v), o) {
						if err != nil {
							t.Errorf("declaration: %v", err)
						}
					}
					return
				}
				wantDeclareErrOpts(t, metrics.New(c.v), o, metrics.ErrInvalidOption)
			})
			typ := reflect.TypeOf(c.v)
			for i := range typ.NumMethod() {
				if m := typ.Method(i).Name; !slices.Contains(called, m) {
					t.Errorf("(*%s.Backend).%s has no call in zeroValueCalls", c.name, m)
				}
			}
		})
	}
	t.Run("middleware.Instrumenting", func(t *testing.T) {
		in := new(middleware.Instrumenting)
		if n := reflect.TypeOf(in).NumMethod(); n != 0 {
			t.Errorf("*middleware.Instrumenting has %d exported methods; call them here", n)
		}
		// Documented: Instrument over an Instrumenting not made by
		// NewInstrumenting passes calls through unrecorded, and still
		// fails the calls of a nil endpoint.
		noPanic(t, "Instrument's endpoint", func() {
			wantEndpoint(t, middleware.Instrument[any, any](in, "op"))
		})
		noPanic(t, "Instrument over a nil endpoint", func() {
			wantNilNext(t, middleware.Instrument[any, any](in, "op"))
		})
	})
}
