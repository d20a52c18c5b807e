package grpcmw_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	testgrpc "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/status"

	"github.com/obskit/obskit/logging"
	"github.com/obskit/obskit/metrics"
	"github.com/obskit/obskit/metrics/metricstest"
	"github.com/obskit/obskit/middleware/grpcmw"
)

// testServer implements grpc.testing.TestService. A unary call's payload
// body says what to do: "panic", "wait" (until the call's context ends,
// returning its error, after signalling started), or nothing special:
// answer with ResponseStatus when set, else OK.
type testServer struct {
	testgrpc.UnimplementedTestServiceServer
	started chan struct{}
}

func (s *testServer) UnaryCall(ctx context.Context, req *testgrpc.SimpleRequest) (*testgrpc.SimpleResponse, error) {
	switch string(req.GetPayload().GetBody()) {
	case "panic":
		panic("boom")
	case "wait":
		s.started <- struct{}{}
		<-ctx.Done()
		return nil, ctx.Err()
	}
	if st := req.GetResponseStatus(); st != nil {
		return nil, status.Error(codes.Code(st.Code), st.Message)
	}
	return &testgrpc.SimpleResponse{Payload: req.GetPayload()}, nil
}

// FullDuplexCall answers every request with one response per
// ResponseParameters, then OK when the client closes.
func (s *testServer) FullDuplexCall(stream testgrpc.TestService_FullDuplexCallServer) error {
	for {
		req, err := stream.Recv()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if string(req.GetPayload().GetBody()) == "panic" {
			panic(errors.New("stream boom"))
		}
		for range req.GetResponseParameters() {
			if err := stream.Send(&testgrpc.StreamingOutputCallResponse{}); err != nil {
				return err
			}
		}
	}
}

// StreamingOutputCall sends a response per ResponseParameters, waiting
// IntervalUs before each, and stops early when the call's context ends.
func (s *testServer) StreamingOutputCall(req *testgrpc.StreamingOutputCallRequest, stream testgrpc.TestService_StreamingOutputCallServer) error {
	for _, p := range req.GetResponseParameters() {
		select {
		case <-stream.Context().Done():
			return stream.Context().Err()
		case <-time.After(time.Duration(p.GetIntervalUs()) * time.Microsecond):
		}
		if err := stream.Send(&testgrpc.StreamingOutputCallResponse{}); err != nil {
			return err
		}
	}
	return nil
}

// env is a server and a client over loopback TCP, both instrumented, with
// their metrics, spans and logs in memory.
type env struct {
	metrics   *metricstest.Backend
	spans     *tracetest.SpanRecorder
	srvLog    *syncBuffer
	cliLog    *syncBuffer
	srv       *testServer
	client    testgrpc.TestServiceClient
	cc        *grpc.ClientConn
	addr      string
	serverObs *grpcmw.Server
}

func newEnv(t *testing.T) *env {
	t.Helper()
	return newEnvWithServices(t)
}

// newEnvWithServices is newEnv with a client given services in
// Options.Services.
func newEnvWithServices(t *testing.T, services ...*grpc.ServiceDesc) *env {
	t.Helper()
	e := &env{
		metrics: metricstest.New(),
		spans:   tracetest.NewSpanRecorder(),
		srvLog:  &syncBuffer{},
		cliLog:  &syncBuffer{},
		srv:     &testServer{started: make(chan struct{}, 1)},
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(e.spans))
	t.Cleanup(func() { tp.Shutdown(context.Background()) })
	reg := metrics.New(e.metrics)
	tracer := tp.Tracer("grpcmw_test")

	var err error
	e.serverObs, err = grpcmw.NewServer(grpcmw.Options{Registry: reg, Tracer: tracer,
		Logger: logging.New(e.srvLog, logging.Options{Level: slog.LevelDebug})})
	if err != nil {
		t.Fatal(err)
	}
	s := grpc.NewServer(e.serverObs.ServerOptions()...)
	testgrpc.RegisterTestServiceServer(s, e.srv)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	e.addr = ln.Addr().String()
	go s.Serve(ln)
	t.Cleanup(s.Stop)

	cobs, err := grpcmw.NewClient(grpcmw.Options{Registry: reg, Tracer: tracer, Services: services,
		Logger: logging.New(e.cliLog, logging.Options{Level: slog.LevelDebug})})
	if err != nil {
		t.Fatal(err)
	}
	e.cc, err = grpc.NewClient(e.addr, append(cobs.DialOptions(), grpc.WithTransportCredentials(insecure.NewCredentials()))...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.cc.Close() })
	e.client = testgrpc.NewTestServiceClient(e.cc)
	return e
}

// spansNamed returns the ended spans named name.
func (e *env) spansNamed(name string) []sdktrace.ReadOnlySpan {
	var out []sdktrace.ReadOnlySpan
	for _, s := range e.spans.Ended() {
		if s.Name() == name {
			out = append(out, s)
		}
	}
	return out
}

// awaitSpans waits until n spans have ended: the server's span ends after
// the client has its answer.
func (e *env) awaitSpans(t *testing.T, n int) []sdktrace.ReadOnlySpan {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		got := e.spans.Ended()
		if len(got) >= n {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d spans ended, want %d", len(got), n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func attr(s sdktrace.ReadOnlySpan, key string) (string, bool) {
	for _, kv := range s.Attributes() {
		if string(kv.Key) == key {
			return kv.Value.String(), true
		}
	}
	return "", false
}

// syncBuffer is a bytes.Buffer safe for the server's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

// records parses the JSON lines written so far.
func (b *syncBuffer) records(t *testing.T) []map[string]any {
	t.Helper()
	b.mu.Lock()
	text := b.b.String()
	b.mu.Unlock()
	var recs []map[string]any
	for line := range strings.SplitSeq(strings.TrimSpace(text), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("line %q is not JSON: %v", line, err)
		}
		recs = append(recs, m)
	}
	return recs
}
