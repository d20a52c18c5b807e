package tracing_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log"
	"time"

	"github.com/obskit/obskit/middleware"
	"github.com/obskit/obskit/tracing"
)

func Example() {
	ctx := context.Background()

	// In func main: one provider for the service. The zero Options write
	// spans as JSON to os.Stdout; here they go to a buffer so that the
	// example can show what was exported. For a collector or Jaeger use
	//   tracing.Options{Exporter: tracing.ExporterOTLPHTTP, Endpoint: "127.0.0.1:4318", Insecure: true}
	var out bytes.Buffer
	tp, shutdown, err := tracing.NewProvider(ctx, tracing.Options{
		ServiceName: "addsvc",
		Writer:      &out,
	})
	if err != nil {
		log.Fatal(err)
	}
	tracer := tp.Tracer("addsvc")

	// Wrap the endpoint: one span per call, named after the operation.
	var sum middleware.Endpoint[[2]int, int] = func(_ context.Context, req [2]int) (int, error) {
		return req[0] + req[1], nil
	}
	sum = tracing.EndpointMiddleware[[2]int, int](tracer, "Sum", tracing.EndpointOptions{})(sum)

	ctx, span := tracer.Start(ctx, "request")
	n, err := sum(ctx, [2]int{1, 2})
	span.End()
	fmt.Println("sum:", n, err)

	// On the way out: shutdown exports every span that has ended.
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := shutdown(sctx); err != nil {
		log.Fatal(err)
	}

	dec := json.NewDecoder(&out)
	for dec.More() {
		var s struct{ Name string }
		if err := dec.Decode(&s); err != nil {
			log.Fatal(err)
		}
		fmt.Println("exported span:", s.Name)
	}
	// Output:
	// sum: 3 <nil>
	// exported span: Sum
	// exported span: request
}
