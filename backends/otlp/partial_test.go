package otlp

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	colmetricpb "go.opentelemetry.io/proto/otlp/collector/metrics/v1"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"

	"github.com/obskit/obskit/metrics"
)

// rejecting is an OTLP receiver that accepts every request and reports
// that it rejected n of its points (an OTLP partial success).
type rejecting struct {
	colmetricpb.UnimplementedMetricsServiceServer
	n int64
}

func (r *rejecting) response() *colmetricpb.ExportMetricsServiceResponse {
	return &colmetricpb.ExportMetricsServiceResponse{PartialSuccess: &colmetricpb.ExportMetricsPartialSuccess{
		RejectedDataPoints: r.n, ErrorMessage: "too old"}}
}

func (r *rejecting) Export(context.Context, *colmetricpb.ExportMetricsServiceRequest) (*colmetricpb.ExportMetricsServiceResponse, error) {
	return r.response(), nil
}

func (r *rejecting) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	io.Copy(io.Discard, req.Body) //nolint:errcheck
	out, _ := proto.Marshal(r.response())
	w.Header().Set("Content-Type", "application/x-protobuf")
	w.Write(out) //nolint:errcheck
}

// TestPartialSuccessOverTheWire checks that points a receiver rejects are
// counted and reported, over both transports, through the exporters'
// own partial-success errors.
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
		})
	}
}
