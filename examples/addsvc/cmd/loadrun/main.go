// Command loadrun measures what obskit costs addsvc: it builds addsvc,
// runs it bare (-instrument=false), instrumented with obskit (every
// request traced, spans over OTLP/gRPC to Jaeger, JSON logs to a file,
// metrics to Prometheus and expvar) and instrumented by hand with the
// same telemetry on the libraries obskit wraps (-handwritten: the
// OpenTelemetry SDK, log/slog, client_golang; the reference), drives
// each with the same concurrent clients for the same time, and prints a
// Markdown table: throughput,
// p50/p99 latency, the CPU per request of addsvc, of the load generator
// (this process) and of Jaeger, addsvc's peak RSS, and the spans addsvc
// exported against the spans Jaeger received and the sampled traces
// found complete through Jaeger's query API. -gogc sets the GOGC of
// both variants of addsvc alike.
//
//	go run ./examples/addsvc/cmd/loadrun -c 50 -d 20s
//
// Jaeger must be up (scripts/backend up jaeger). The client runs in
// this process, on the same machine: the figures compare the two
// variants under the same conditions, not the service alone.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/obskit/obskit/examples/addsvc/internal/load"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "loadrun:", err)
		os.Exit(1)
	}
}

type config struct {
	duration, warmup  time.Duration
	concurrency       int
	pairs             int
	otlp, query, mets string
	sample            int
	spansPerCall      int
	jaegerKeep        int
	keep              string
	extra             string
	block             bool
	jaegerPID         string
	variants          []string
	gogc              string
}

func run() error {
	var c config
	flag.DurationVar(&c.duration, "d", 20*time.Second, "measured duration of each run")
	flag.DurationVar(&c.warmup, "warmup", 2*time.Second, "unmeasured load before each run")
	flag.IntVar(&c.concurrency, "c", 50, "concurrent clients")
	flag.IntVar(&c.pairs, "pairs", 1, "rounds: runs of each variant, in the order of -variants")
	flag.StringVar(&c.otlp, "otlp", "127.0.0.1:4317", "Jaeger's OTLP/gRPC receiver")
	flag.StringVar(&c.query, "jaeger", "http://127.0.0.1:16686", "Jaeger's query API")
	flag.StringVar(&c.mets, "jaeger.metrics", "http://127.0.0.1:8888/metrics", "Jaeger's own metrics (otelcol_receiver_accepted_spans_total)")
	flag.IntVar(&c.sample, "sample", 300, "trace IDs, spread over the run, to look up in Jaeger")
	flag.IntVar(&c.spansPerCall, "spans.per.call", 3, "spans each sampled trace must have in Jaeger to count as complete (1 with -args -trace.endpoints=false)")
	flag.IntVar(&c.jaegerKeep, "jaeger.keep", 100000, "traces Jaeger's in-memory store keeps (its default max_traces, evicting the oldest): the lookups are spread over the run's last 90% of that many traces; 0 spreads them over the whole run")
	flag.StringVar(&c.keep, "logs", "", "keep the instrumented runs' JSON logs in this directory (default: a temporary one, removed)")
	flag.StringVar(&c.extra, "args", "", "extra arguments for both instrumented variants of addsvc, space-separated (such as -cpuprofile /tmp/cpu.out)")
	flag.BoolVar(&c.block, "block", true, "run the instrumented addsvc with -spans.block: a full span queue slows requests down instead of dropping spans")
	flag.StringVar(&c.jaegerPID, "jaeger.pidfile", "/tmp/obskit-servers/jaeger/pid", "Jaeger's PID file, to measure the CPU it spends receiving the spans (scripts/backend's)")
	variants := flag.String("variants", "bare,obskit,handwritten", "the variants to run, in this order in each round: bare (no telemetry), obskit (addsvc's wiring), handwritten (the same telemetry written by hand on the SDK, slog and client_golang)")
	flag.StringVar(&c.gogc, "gogc", "", "GOGC of both variants of addsvc (empty: the environment's, Go's default 100 when unset); the load generator keeps its own")
	flag.Parse()
	for v := range strings.SplitSeq(*variants, ",") {
		if v != "bare" && v != "obskit" && v != "handwritten" {
			return fmt.Errorf("-variants: unknown variant %q (bare, obskit or handwritten)", v)
		}
		c.variants = append(c.variants, v)
	}

	dir, err := os.MkdirTemp("", "loadrun")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	bin := filepath.Join(dir, "addsvc")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/obskit/obskit/examples/addsvc").CombinedOutput(); err != nil {
		return fmt.Errorf("go build: %v\n%s", err, out)
	}
	logDir := c.keep
	if logDir == "" {
		logDir = dir
	}

	fmt.Printf("- machine: %s, %d CPUs, %s; load average before: %s\n", cpuModel(), runtime.NumCPU(), runtime.Version(), loadavg())
	gogc := c.gogc
	if gogc == "" {
		gogc = os.Getenv("GOGC")
	}
	if gogc == "" {
		gogc = "100 (default)"
	}
	fmt.Printf("- each run: %d clients, %v warm-up then %v measured; addsvc GOGC=%s; obskit and handwritten: 100%% sampling, %d spans per call over OTLP/gRPC to %s (-spans.block=%v), 2 JSON log lines per call to a file (buffered, flushed every 100 ms); metrics to prometheus+expvar (obskit) or client_golang (handwritten)\n\n",
		c.concurrency, c.warmup, c.duration, gogc, c.spansPerCall, c.otlp, c.block)
	fmt.Println("| run | variant | req/s | p50 | p99 | server CPU µs/req | client CPU µs/req | Jaeger CPU µs/req | peak RSS MiB | spans exported | dropped | Jaeger received (Δ) | sampled traces complete | load avg after |")
	fmt.Println("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
	tput, cpu := map[string][]float64{}, map[string][]float64{}
	for i := 1; i <= c.pairs; i++ {
		for _, v := range c.variants {
			r, err := c.once(bin, logDir, i, v)
			if err != nil {
				return err
			}
			fmt.Println(r.row())
			tput[v] = append(tput[v], r.res.Throughput())
			cpu[v] = append(cpu[v], r.cpuPerReq())
		}
	}
	fmt.Println()
	// On a machine that runs nothing else, the throughput of the two
	// CPUs is what these three processes need per request: the ratio
	// of their CPU per request is what the throughput ratio tends to,
	// and it moves less with the load of other jobs.
	for _, v := range c.variants {
		fmt.Printf("- %s, mean of %d runs: %.0f req/s; CPU per request, addsvc + load generator + Jaeger: %.0f µs\n", v, len(tput[v]), mean(tput[v]), mean(cpu[v]))
	}
	for _, p := range [][2]string{{"obskit", "bare"}, {"handwritten", "bare"}, {"obskit", "handwritten"}} {
		if len(tput[p[0]]) > 0 && len(tput[p[1]]) > 0 {
			fmt.Printf("- ratio %s ÷ %s: throughput %.2f, CPU per request (%s ÷ %s) %.2f\n", p[0], p[1],
				mean(tput[p[0]])/mean(tput[p[1]]), p[1], p[0], mean(cpu[p[1]])/mean(cpu[p[0]]))
		}
	}
	return nil
}

type outcome struct {
	n            int
	variant      string // bare, obskit or handwritten
	res          *load.Result
	cpu          time.Duration
	clientCPU    time.Duration // the load generator's, this process's
	jaegerCPU    time.Duration // -1: unknown
	rssKiB       int64
	exported     int64
	dropped      int64
	received     int64
	found, asked int
	traces       int     // traces of the run (endpoint log lines)
	window       int     // the lookups were among the last window traces; 0 for all
	lastMiss     float64 // position in the run, 0 to 1, of the last sampled trace not found; -1 for none
	loadAfter    string
}

func (o outcome) row() string {
	variant := o.variant
	switch variant {
	case "bare":
		variant = "bare (-instrument=false)"
	case "handwritten":
		variant = "handwritten (-handwritten)"
	}
	spans, drop, recv, found := "—", "—", "—", "—"
	if o.instrumented() {
		spans, drop = strconv.FormatInt(o.exported, 10), strconv.FormatInt(o.dropped, 10)
		recv = strconv.FormatInt(o.received, 10)
		found = fmt.Sprintf("%d / %d", o.found, o.asked)
		if o.window > 0 && o.traces > o.window {
			found += fmt.Sprintf(" among the last %d of %d", o.window, o.traces)
		}
		if o.lastMiss >= 0 {
			found += fmt.Sprintf(" (every miss in the first %.0f%% of those)", 100*o.lastMiss)
		}
	}
	reqs := float64(max(o.res.Requests, 1))
	jaeger := "?"
	if o.jaegerCPU >= 0 {
		jaeger = fmt.Sprintf("%.0f", float64(o.jaegerCPU.Microseconds())/reqs)
	}
	return fmt.Sprintf("| %d | %s | %.0f | %v | %v | %.0f | %.0f | %s | %.1f | %s | %s | %s | %s | %s |",
		o.n, variant, o.res.Throughput(), o.res.Quantile(0.5).Round(time.Microsecond), o.res.Quantile(0.99).Round(10*time.Microsecond),
		float64(o.cpu.Microseconds())/reqs, float64(o.clientCPU.Microseconds())/reqs, jaeger, float64(o.rssKiB)/1024, spans, drop, recv, found, o.loadAfter)
}

// cpuPerReq is the CPU time per request of addsvc, the load generator
// and Jaeger (when known) together, in µs.
func (o outcome) cpuPerReq() float64 {
	t := o.cpu + o.clientCPU
	if o.instrumented() && o.jaegerCPU > 0 {
		t += o.jaegerCPU
	}
	return float64(t.Microseconds()) / float64(max(o.res.Requests, 1))
}

// instrumented reports whether the run sent spans.
func (o outcome) instrumented() bool { return o.variant != "bare" }

func (c *config) once(bin, logDir string, n int, variant string) (outcome, error) {
	o := outcome{n: n, variant: variant}
	instrumented := o.instrumented()
	service := fmt.Sprintf("addsvc-loadrun-%d-%d-%s", time.Now().Unix(), n, variant)
	args := []string{"-addr", "127.0.0.1:0", "-grpc.addr", "127.0.0.1:0", "-instrument=" + strconv.FormatBool(instrumented)}
	if variant == "handwritten" {
		args = append(args, "-handwritten")
	}
	if instrumented {
		args = append(args, "-otlp.endpoint", c.otlp, "-service", service)
		if c.block {
			args = append(args, "-spans.block")
		}
		args = append(args, strings.Fields(c.extra)...)
	}
	logPath := filepath.Join(logDir, service+".log")
	logf, err := os.Create(logPath)
	if err != nil {
		return o, err
	}
	defer logf.Close()
	receivedBefore, _ := c.accepted()
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = logf, os.Stderr
	if c.gogc != "" {
		cmd.Env = append(os.Environ(), "GOGC="+c.gogc)
	}
	if err := cmd.Start(); err != nil {
		return o, err
	}
	defer cmd.Process.Kill()
	addr, err := waitAddr(logPath, 30*time.Second)
	if err != nil {
		return o, err
	}
	base := "http://" + addr

	load.Run(context.Background(), load.Options{BaseURL: base, Duration: c.warmup, Concurrency: c.concurrency})
	jpid := 0
	if b, err := os.ReadFile(c.jaegerPID); err == nil {
		jpid, _ = strconv.Atoi(strings.TrimSpace(string(b)))
	}
	cpu0, jcpu0, ccpu0 := cpuTime(cmd.Process.Pid), cpuTime(jpid), cpuTime(os.Getpid())
	stopRSS := make(chan struct{})
	rss := make(chan int64)
	go func() { rss <- peakRSS(cmd.Process.Pid, stopRSS) }()
	o.res = load.Run(context.Background(), load.Options{BaseURL: base, Duration: c.duration, Concurrency: c.concurrency})
	o.cpu = cpuTime(cmd.Process.Pid) - cpu0
	o.clientCPU = cpuTime(os.Getpid()) - ccpu0
	o.jaegerCPU = -1
	if jpid > 0 {
		o.jaegerCPU = cpuTime(jpid) - jcpu0
	}
	close(stopRSS)
	o.rssKiB = <-rss
	o.loadAfter = loadavg()
	if f := o.res.Failures(); f > 0 {
		fmt.Fprintf(os.Stderr, "loadrun: %d requests failed; first: %v\n", f, o.res.FirstError)
	}

	cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		fmt.Fprintf(os.Stderr, "loadrun: addsvc exited with %v (see %s)\n", err, logPath)
	}
	if !instrumented {
		return o, nil
	}
	ids, traces, shutdown, err := scanLog(logPath, c.sample, c.jaegerKeep*9/10)
	if err != nil {
		return o, err
	}
	o.exported, o.dropped = int64(num(shutdown["exported"])), int64(num(shutdown["dropped"]))
	// Jaeger stores what it received shortly after: wait for its count to
	// settle.
	var last int64 = -1
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(time.Second) {
		after, err := c.accepted()
		if err != nil {
			return o, err
		}
		o.received = after - receivedBefore
		if o.received == last && o.received >= o.exported {
			break
		}
		last = o.received
	}
	o.asked, o.traces, o.lastMiss, o.window = len(ids), traces, -1, c.jaegerKeep*9/10
	for i, id := range ids {
		if c.traceSpans(id) >= c.spansPerCall {
			o.found++
		} else {
			o.lastMiss = float64(i+1) / float64(len(ids))
		}
	}
	return o, nil
}

// waitAddr reads addsvc's first log line, which names its address.
func waitAddr(path string, timeout time.Duration) (string, error) {
	for deadline := time.Now().Add(timeout); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		f, err := os.Open(path)
		if err != nil {
			return "", err
		}
		line, _ := bufio.NewReader(f).ReadBytes('\n')
		f.Close()
		var rec struct{ Msg, Addr string }
		if json.Unmarshal(line, &rec) == nil && rec.Msg == "listening" {
			return rec.Addr, nil
		}
	}
	return "", fmt.Errorf("addsvc did not log its address within %v (%s)", timeout, path)
}

// scanLog returns sample trace IDs spread evenly over the last window
// endpoint log lines (all of them when window is 0) in the order of the
// run, the number of traces, and the tracing shutdown record.
func scanLog(path string, sample, window int) ([]string, int, map[string]any, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, nil, err
	}
	defer f.Close()
	var ids []string
	var shutdown map[string]any
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<16), 1<<20)
	for sc.Scan() {
		line := sc.Bytes()
		switch {
		case strings.Contains(string(line), `"msg":"endpoint call"`):
			var rec struct {
				TraceID string `json:"trace_id"`
			}
			if json.Unmarshal(line, &rec) == nil {
				ids = append(ids, rec.TraceID)
			}
		case strings.Contains(string(line), `"msg":"tracing shutdown"`):
			if err := json.Unmarshal(line, &shutdown); err != nil {
				return nil, 0, nil, err
			}
		}
	}
	if shutdown == nil {
		return nil, 0, nil, errors.New("no tracing shutdown line in " + path)
	}
	n := len(ids)
	if window > 0 && n > window {
		ids = ids[n-window:]
	}
	if len(ids) <= sample {
		return ids, n, shutdown, sc.Err()
	}
	picked := make([]string, 0, sample)
	for i := range sample {
		picked = append(picked, ids[i*len(ids)/sample])
	}
	return picked, n, shutdown, sc.Err()
}

// accepted is the spans Jaeger's OTLP receiver has accepted, from all
// senders, since it started.
func (c *config) accepted() (int64, error) {
	resp, err := http.Get(c.mets)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	var total float64
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<16), 1<<20)
	for sc.Scan() {
		l := sc.Text()
		if strings.HasPrefix(l, "otelcol_receiver_accepted_spans_total{") {
			f, err := strconv.ParseFloat(l[strings.LastIndexByte(l, ' ')+1:], 64)
			if err == nil {
				total += f
			}
		}
	}
	return int64(total), sc.Err()
}

// traceSpans is the number of spans Jaeger holds for the trace.
func (c *config) traceSpans(id string) int {
	resp, err := http.Get(c.query + "/api/v3/traces/" + id)
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return strings.Count(string(body), `"spanId"`)
}

// cpuTime is the user and system CPU time of pid so far.
func cpuTime(pid int) time.Duration {
	if pid <= 0 {
		return 0
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	s := string(b)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	// After the command: state is field 3, utime 14 and stime 15.
	ut, _ := strconv.ParseInt(fields[11], 10, 64)
	st, _ := strconv.ParseInt(fields[12], 10, 64)
	return time.Duration(ut+st) * time.Second / 100 // USER_HZ is 100 on Linux
}

// peakRSS samples the resident set of pid until stop, and returns the
// largest in KiB.
func peakRSS(pid int, stop <-chan struct{}) int64 {
	var peak int64
	t := time.NewTicker(250 * time.Millisecond)
	defer t.Stop()
	for {
		if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid)); err == nil {
			for l := range strings.SplitSeq(string(b), "\n") {
				if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
					kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
					peak = max(peak, kb)
				}
			}
		}
		select {
		case <-stop:
			return peak
		case <-t.C:
		}
	}
}

func loadavg() string {
	b, _ := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

func cpuModel() string {
	b, _ := os.ReadFile("/proc/cpuinfo")
	for l := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "model name"); ok {
			return strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), ":"))
		}
	}
	return runtime.GOARCH
}

func num(v any) float64 { f, _ := v.(float64); return f }

func mean(xs []float64) float64 {
	var s float64
	for _, x := range xs {
		s += x
	}
	return s / float64(max(len(xs), 1))
}
