package otlp

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	colmetricpb "go.opentelemetry.io/proto/otlp/collector/metrics/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/proto"

	"github.com/obskit/obskit/metrics"
)

// rejecting is an OTLP receiver that accepts every request and reports
// that it rejected n of its points (an OTLP partial success).
type rejecting struct {
	colmetricpb.UnimplementedMetricsServiceServer
	n int64

	mu     sync.Mutex
	tokens []string // the x-token header of each request
}

func (r *rejecting) token(t string) {
	r.mu.Lock()
	r.tokens = append(r.tokens, t)
	r.mu.Unlock()
}

func (r *rejecting) response() *colmetricpb.ExportMetricsServiceResponse {
	if r.n == 0 {
		return &colmetricpb.ExportMetricsServiceResponse{}
	}
	return &colmetricpb.ExportMetricsServiceResponse{PartialSuccess: &colmetricpb.ExportMetricsPartialSuccess{
		RejectedDataPoints: r.n, ErrorMessage: "too old"}}
}

func (r *rejecting) Export(ctx context.Context, _ *colmetricpb.ExportMetricsServiceRequest) (*colmetricpb.ExportMetricsServiceResponse, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	r.token(strings.Join(md.Get("x-token"), ","))
	return r.response(), nil
}

func (r *rejecting) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	r.token(req.Header.Get("X-Token"))
	io.Copy(io.Discard, req.Body) //nolint:errcheck
	out, _ := proto.Marshal(r.response())
	w.Header().Set("Content-Type", "application/x-protobuf")
	w.Write(out) //nolint:errcheck
}

// TestPartialSuccessOverTheWire checks that points a receiver rejects are
// counted and reported, over both transports, through the exporters'
// own partial-success errors; and that Options.Headers are sent.
func TestPartialSuccessOverTheWire(t *testing.T) {
	recv := &rejecting{n: 2}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gs := grpc.NewServer()
	colmetricpb.RegisterMetricsServiceServer(gs, recv)
	go gs.Serve(ln) //nolint:errcheck
	defer gs.Stop()
	hs := httptest.NewServer(recv)
	defer hs.Close()

	for _, o := range []Options{
		{Protocol: ProtocolGRPC, Endpoint: ln.Addr().String()},
		{Protocol: ProtocolHTTP, Endpoint: strings.TrimPrefix(hs.URL, "http://")},
	} {
		t.Run(string(o.Protocol), func(t *testing.T) {
			var reported error
			o.Insecure, o.FlushInterval, o.Timeout = true, time.Hour, 5*time.Second
			o.Headers = map[string]string{"x-token": "s3cret"}
			o.ErrorHandler = func(err error) { reported = err }
			b, err := New(o)
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close(context.Background())
			c, _ := metrics.New(b).NewCounter(metrics.Opts{Name: "c", Labels: []string{"k"}})
			for _, v := range []string{"a", "b", "c"} {
				c.With("k", v).Add(1)
			}
			if err := b.Flush(context.Background()); !errors.Is(err, metrics.ErrDelivery) || !strings.Contains(err.Error(), "rejected 2 of 3") {
				t.Errorf("Flush = %v, want ErrDelivery: rejected 2 of 3", err)
			}
			if reported == nil || !strings.Contains(reported.Error(), "too old") {
				t.Errorf("error handler got %v", reported)
			}
			if st := b.Stats(); st.Sent != 1 || st.DroppedRejected != 2 || st.FlushErrors != 1 || st.Queued != 0 {
				t.Errorf("Stats = %+v", st)
			}
			recv.mu.Lock()
			if n := len(recv.tokens); n == 0 || recv.tokens[n-1] != "s3cret" {
				t.Errorf("x-token headers received: %q, want s3cret", recv.tokens)
			}
			recv.mu.Unlock()
		})
	}
}

// TestTLS exports over TLS to receivers whose certificate only
// Options.TLSConfig trusts.
func TestTLS(t *testing.T) {
	recv := &rejecting{}
	hs := httptest.NewTLSServer(recv)
	defer hs.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gs := grpc.NewServer(grpc.Creds(credentials.NewServerTLSFromCert(&hs.TLS.Certificates[0])))
	colmetricpb.RegisterMetricsServiceServer(gs, recv)
	go gs.Serve(ln) //nolint:errcheck
	defer gs.Stop()
	roots := x509.NewCertPool()
	roots.AddCert(hs.Certificate())

	for _, o := range []Options{
		{Protocol: ProtocolGRPC, Endpoint: ln.Addr().String()},
		{Protocol: ProtocolHTTP, Endpoint: strings.TrimPrefix(hs.URL, "https://")},
	} {
		t.Run(string(o.Protocol), func(t *testing.T) {
			o.FlushInterval, o.Timeout = time.Hour, 5*time.Second
			o.TLSConfig = &tls.Config{RootCAs: roots, ServerName: "example.com", MinVersion: tls.VersionTLS12}
			b, err := New(o)
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close(context.Background())
			c, _ := metrics.New(b).NewCounter(metrics.Opts{Name: "c"})
			c.Add(1)
			if err := b.Flush(context.Background()); err != nil {
				t.Errorf("Flush over TLS: %v", err)
			}
			if st := b.Stats(); st.Sent != 1 {
				t.Errorf("Stats = %+v", st)
			}
		})
	}
}
