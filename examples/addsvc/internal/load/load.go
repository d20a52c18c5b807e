// Package load drives addsvc's HTTP API: a fixed mix of Sum and Concat
// calls, one in five a business error, from a number of concurrent
// clients, for a count of requests or a duration. It counts what the
// client saw per method and outcome, so that a test can compare the
// counts with what a metrics backend received, and reports throughput
// and latency percentiles.
package load

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Options configure Run.
type Options struct {
	// BaseURL is addsvc's HTTP address, such as "http://127.0.0.1:8080".
	BaseURL string
	// Requests is the number of requests to send; 0 means as many as
	// Duration allows.
	Requests int
	// Duration bounds the run when Requests is 0.
	Duration time.Duration
	// Concurrency is the number of clients sending at once; 0 means 8.
	Concurrency int
	// Timeout bounds one request; 0 means 10 s.
	Timeout time.Duration
}

// Outcome names what became of a call, as addsvc's metrics name it.
const (
	Success       = "success"        // 200
	BusinessError = "business_error" // 422: the service refused the arguments
	Failed        = "failed"         // anything else: transport error, 4xx, 5xx
)

// Key is a method and an outcome.
type Key struct{ Method, Outcome string }

// Result is what a Run saw.
type Result struct {
	Requests    int64
	Concurrency int
	Elapsed     time.Duration
	// Counts by method ("Sum", "Concat") and outcome.
	Counts map[Key]int64
	// Latencies of every request, sorted.
	Latencies []time.Duration
	// FirstError is the first transport error or unexpected status, or
	// nil.
	FirstError error
}

// Errors counts the calls that did not succeed.
func (r *Result) Errors() int64 {
	var n int64
	for k, c := range r.Counts {
		if k.Outcome != Success {
			n += c
		}
	}
	return n
}

// Failures counts the calls that failed for another reason than a
// business error: they are not part of the intended mix.
func (r *Result) Failures() int64 {
	return r.Counts[Key{"Sum", Failed}] + r.Counts[Key{"Concat", Failed}]
}

// Quantile returns the q-quantile of the latencies (nearest rank).
func (r *Result) Quantile(q float64) time.Duration {
	if len(r.Latencies) == 0 {
		return 0
	}
	i := int(q*float64(len(r.Latencies))+0.5) - 1
	return r.Latencies[max(0, min(i, len(r.Latencies)-1))]
}

// Throughput is the requests per second.
func (r *Result) Throughput() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Requests) / r.Elapsed.Seconds()
}

// WriteTo writes the summary: requests, errors, latency.
func (r *Result) WriteTo(w io.Writer) (int64, error) {
	var b bytes.Buffer
	fmt.Fprintf(&b, "requests  %d in %v at concurrency %d: %.0f req/s\n",
		r.Requests, r.Elapsed.Round(time.Millisecond), r.Concurrency, r.Throughput())
	for _, m := range []string{"Sum", "Concat"} {
		fmt.Fprintf(&b, "  %-7s %d success, %d business_error (422), %d failed\n", m,
			r.Counts[Key{m, Success}], r.Counts[Key{m, BusinessError}], r.Counts[Key{m, Failed}])
	}
	fmt.Fprintf(&b, "errors    %d (%d business errors by design, %d failed)\n", r.Errors(), r.Errors()-r.Failures(), r.Failures())
	if r.FirstError != nil {
		fmt.Fprintf(&b, "          first failure: %v\n", r.FirstError)
	}
	fmt.Fprintf(&b, "latency   p50 %v  p99 %v  max %v\n", round(r.Quantile(0.5)), round(r.Quantile(0.99)), round(r.Quantile(1)))
	n, err := w.Write(b.Bytes())
	return int64(n), err
}

func round(d time.Duration) time.Duration {
	if d > time.Millisecond {
		return d.Round(10 * time.Microsecond)
	}
	return d.Round(time.Microsecond)
}

// call is the i-th request of the mix: Sum and Concat alternate, and one
// call of each in five is a business error.
func call(i int) (method, path string, body []byte) {
	bad := (i/2)%5 == 4
	if i%2 == 0 {
		if bad {
			return "Sum", "/sum", []byte(`{"a":0,"b":0}`)
		}
		return "Sum", "/sum", []byte(`{"a":` + strconv.Itoa(i) + `,"b":2}`)
	}
	if bad {
		return "Concat", "/concat", []byte(`{"a":"abcdefgh","b":"ijk"}`)
	}
	return "Concat", "/concat", []byte(`{"a":"ab","b":"cd"}`)
}

// Run sends the requests and returns what it saw. It stops early, with
// what it has, when ctx is done.
func Run(ctx context.Context, o Options) *Result {
	if o.Concurrency <= 0 {
		o.Concurrency = 8
	}
	if o.Timeout <= 0 {
		o.Timeout = 10 * time.Second
	}
	tr := &http.Transport{MaxIdleConnsPerHost: o.Concurrency, MaxConnsPerHost: o.Concurrency}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: o.Timeout}
	if o.Requests <= 0 && o.Duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, o.Duration)
		defer cancel()
	}

	var (
		next     atomic.Int64
		mu       sync.Mutex
		res      = &Result{Concurrency: o.Concurrency, Counts: map[Key]int64{}}
		wg       sync.WaitGroup
		firstErr error
	)
	start := time.Now()
	for range o.Concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			counts := map[Key]int64{}
			var lat []time.Duration
			var werr error
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if o.Requests > 0 && i >= o.Requests {
					break
				}
				method, path, body := call(i)
				t0 := time.Now()
				outcome, err := do(ctx, client, o.BaseURL+path, body)
				if ctx.Err() != nil && err != nil {
					break // the run ended under it: not counted
				}
				lat = append(lat, time.Since(t0))
				counts[Key{method, outcome}]++
				if err != nil && werr == nil {
					werr = err
				}
			}
			mu.Lock()
			defer mu.Unlock()
			for k, c := range counts {
				res.Counts[k] += c
				res.Requests += c
			}
			res.Latencies = append(res.Latencies, lat...)
			if firstErr == nil {
				firstErr = werr
			}
		}()
	}
	wg.Wait()
	res.Elapsed = time.Since(start)
	res.FirstError = firstErr
	slices.Sort(res.Latencies)
	return res
}

func do(ctx context.Context, client *http.Client, url string, body []byte) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return Failed, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return Failed, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK:
		return Success, nil
	case http.StatusUnprocessableEntity:
		return BusinessError, nil
	}
	return Failed, fmt.Errorf("POST %s: %s", url, resp.Status)
}
