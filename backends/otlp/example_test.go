package otlp_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"

	colmetricpb "go.opentelemetry.io/proto/otlp/collector/metrics/v1"
	"google.golang.org/protobuf/proto"

	"github.com/obskit/obskit/backends/otlp"
	"github.com/obskit/obskit/metrics"
)

func Example() {
	// A stand-in for an OpenTelemetry Collector's OTLP/HTTP receiver that
	// prints the sums it is sent. In a service, Endpoint is the
	// collector's, e.g. "127.0.0.1:4317" over gRPC.
	collector := httptest.NewServer(http.HandlerFunc(printSums))
	defer collector.Close()

	b, err := otlp.New(otlp.Options{
		Protocol:    otlp.ProtocolHTTP,
		Endpoint:    strings.TrimPrefix(collector.URL, "http://"),
		Insecure:    true,
		ServiceName: "addsvc",
	})
	if err != nil {
		log.Fatal(err)
	}
	reg := metrics.New(b, metrics.WithNamespace("addsvc"))
	requests, err := reg.NewCounter(metrics.Opts{
		Name:   "requests",
		Help:   "Requests handled.",
		Unit:   "{request}",
		Labels: []string{"http.request.method"},
	})
	if err != nil {
		log.Fatal(err)
	}
	requests.With("http.request.method", "GET").Add(3)

	// Close exports what was recorded (so does every FlushInterval).
	if err := b.Close(context.Background()); err != nil {
		log.Fatal(err)
	}
	// Output:
	// service.name=addsvc addsvc.requests {request} monotonic=true http.request.method=GET 3
}

func printSums(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	var req colmetricpb.ExportMetricsServiceRequest
	if err := proto.Unmarshal(body, &req); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	for _, rm := range req.ResourceMetrics {
		var service string
		for _, kv := range rm.Resource.Attributes {
			if kv.Key == "service.name" {
				service = kv.Value.GetStringValue()
			}
		}
		for _, sm := range rm.ScopeMetrics {
			for _, m := range sm.Metrics {
				for _, p := range m.GetSum().GetDataPoints() {
					a := p.Attributes[0]
					fmt.Printf("service.name=%s %s %s monotonic=%v %s=%s %v\n", service, m.Name, m.Unit,
						m.GetSum().IsMonotonic, a.Key, a.Value.GetStringValue(), p.GetAsDouble())
				}
			}
		}
	}
	w.Header().Set("Content-Type", "application/x-protobuf")
	out, _ := proto.Marshal(&colmetricpb.ExportMetricsServiceResponse{})
	w.Write(out)
}
