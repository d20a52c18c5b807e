// Command report runs obskit's benchmark suite beside its peers and
// writes REPORT.md: the machine, one table per scenario of time, bytes and
// allocations per op with benchstat's ranges, the ratio obskit ÷ peer,
// and an SVG chart of those ratios (report.svg).
//
// From the benchmarks directory:
//
//	go run ./cmd/report                       # run the suite (12 rounds), then report
//	go run ./cmd/report -in report-raw.txt    # report on an earlier run
//	go run ./cmd/report -bench Frontend -count 10 -benchtime 1s
//
// The suite runs as two `go test` commands: the benchmarks whose names
// end in Parallel (the contention cases) with -cpu 1,2, the others at the
// default GOMAXPROCS. Both run -count times with -count=1, taking turns,
// so that load from elsewhere falls on every library alike. The raw output, with lines recording the machine
// and the commands, goes to -raw, so that a later -in reports on the same
// run exactly. Summaries come from golang.org/x/perf (benchfmt to read,
// benchproc to filter and group, benchmath for medians, ranges and
// significance), as benchstat's own.
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"time"
)

func main() {
	if err := run(os.Args[1:], os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "report:", err)
		os.Exit(1)
	}
}

type options struct {
	in, raw, out, svg string
	loadrun           string
	bench, filter     string
	benchtime, note   string
	dir               string
	count             int
}

func run(args []string, stderr io.Writer) error {
	var o options
	fs := flag.NewFlagSet("report", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.in, "in", "", "read this raw `file` of go test -bench output instead of running the suite")
	fs.StringVar(&o.raw, "raw", "report-raw.txt", "write the raw output of the run to `file`")
	fs.StringVar(&o.out, "out", "REPORT.md", "write the report to `file`")
	fs.StringVar(&o.svg, "svg", "report.svg", "write the chart to `file` (linked from the report by its path relative to it)")
	fs.StringVar(&o.loadrun, "loadrun", "loadrun.txt", "put this `file`, the output of examples/addsvc/cmd/loadrun, in the report's load-run section (none when it does not exist)")
	fs.StringVar(&o.bench, "bench", ".", "run the benchmarks whose top-level names match `regexp`")
	fs.StringVar(&o.filter, "filter", "", "keep only the results matching this benchproc `filter` (go doc golang.org/x/perf/benchproc/syntax)")
	fs.StringVar(&o.benchtime, "benchtime", "100ms", "go test -benchtime for each run")
	fs.StringVar(&o.note, "note", "", "a paragraph about the run to put under the machine table (recorded in the raw file)")
	fs.StringVar(&o.dir, "dir", ".", "the benchmarks module's `directory`")
	// Twelve short rounds rather than six long ones: on a loaded machine
	// the medians have more chances to fall in a quiet moment, and the
	// ranges came out a third as wide for the same total time.
	fs.IntVar(&o.count, "count", 12, "runs of each benchmark, taken in turns (benchstat needs 6 for a 95% range)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	rawPath := o.in
	if rawPath == "" {
		if o.count < 1 {
			return errors.New("-count must be at least 1")
		}
		if err := runSuite(o, stderr); err != nil {
			return err
		}
		rawPath = o.raw
	}
	raw, err := os.ReadFile(rawPath)
	if err != nil {
		return err
	}
	sum, err := Summarize(bytes.NewReader(raw), rawPath, o.filter)
	if err != nil {
		return fmt.Errorf("%s: %w", rawPath, err)
	}
	if len(sum.Scenarios) == 0 {
		return fmt.Errorf("%s: no benchmark results", rawPath)
	}
	if lr, err := os.ReadFile(o.loadrun); err == nil {
		sum.LoadRun, sum.LoadRunName = string(lr), relTo(o.out, o.loadrun)
	} else if !errors.Is(err, os.ErrNotExist) {
		return err
	}
	var chart bytes.Buffer
	if err := WriteChart(&chart, sum); err != nil {
		return fmt.Errorf("chart: %w", err)
	}
	if err := os.WriteFile(o.svg, chart.Bytes(), 0o644); err != nil {
		return err
	}
	var md bytes.Buffer
	if err := WriteMarkdown(&md, sum, relTo(o.out, rawPath), relTo(o.out, o.svg)); err != nil {
		return err
	}
	if err := os.WriteFile(o.out, md.Bytes(), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "report: %d scenarios, %d comparisons: wrote %s and %s\n", len(sum.Scenarios), len(sum.Pairs), o.out, o.svg)
	return nil
}

// relTo returns target's path relative to the directory of file, for a
// link from file to target.
func relTo(file, target string) string {
	rel, err := filepath.Rel(filepath.Dir(file), target)
	if err != nil {
		return filepath.ToSlash(target)
	}
	return filepath.ToSlash(rel)
}

// runSuite runs the benchmarks and writes their raw output, after lines
// recording the machine and the commands, to o.raw. Progress goes to
// stderr.
func runSuite(o options, stderr io.Writer) error {
	names, err := listBenchmarks(o.dir, o.bench, stderr)
	if err != nil {
		return err
	}
	var serial, parallel []string
	for _, n := range names {
		if strings.HasSuffix(n, "Parallel") {
			parallel = append(parallel, n)
		} else {
			serial = append(serial, n)
		}
	}
	// Each command runs o.count times with -count=1, in turns, rather than
	// once with -count=o.count: go test repeats each sub-benchmark back to
	// back, so a burst of load from elsewhere on the machine would fall on
	// all the runs of one library; taking turns spreads it over all.
	base := []string{"test", "-run=NONE", "-benchmem", "-count=1", "-benchtime=" + o.benchtime}
	var cmds [][]string
	if len(serial) > 0 {
		cmds = append(cmds, append(append([]string{}, base...), "-bench="+exactly(serial), "."))
	}
	if len(parallel) > 0 {
		cmds = append(cmds, append(append([]string{}, base...), "-cpu=1,2", "-bench="+exactly(parallel), "."))
	}
	if len(cmds) == 0 {
		return fmt.Errorf("no benchmark matches -bench %q", o.bench)
	}
	var shown []string
	for _, c := range cmds {
		shown = append(shown, "go "+strings.Join(c, " "))
	}

	// go test's stdout (to the raw output and stderr) and its stderr are
	// copied by two goroutines: one lock keeps their writes to stderr apart.
	progress := &lockedWriter{w: stderr}
	loadStart := loadAverage()
	var out bytes.Buffer
	// A benchmark that fails (one that needs a server the load makes
	// time out, say) does not cost the run the others' results: its
	// failure is recorded and reported.
	var failed []string
	for round := 1; round <= o.count; round++ {
		for i, c := range cmds {
			fmt.Fprintf(progress, "report: round %d of %d: %s\n", round, o.count, shown[i])
			var this bytes.Buffer
			cmd := exec.Command("go", c...)
			cmd.Dir = o.dir
			cmd.Stdout = io.MultiWriter(&this, progress)
			cmd.Stderr = progress
			err := cmd.Run()
			out.Write(this.Bytes())
			if err != nil {
				names := failures(this.String())
				if len(names) == 0 {
					return fmt.Errorf("%s: %w", shown[i], err)
				}
				for _, n := range names {
					failed = append(failed, fmt.Sprintf("%s (round %d)", n, round))
				}
			}
		}
	}
	// The machine goes first, as configuration lines that apply to every
	// result after them, written once the run is over so that they can
	// hold the load average at its end too.
	var raw bytes.Buffer
	kv := machine(o, strings.Join(shown, " ; "))
	if loadStart != "" {
		kv = append(kv, [2]string{cfgLoad, loadStart + " at the start, " + loadAverage() + " at the end"})
	}
	if len(failed) > 0 {
		kv = append(kv, [2]string{cfgFailed, strings.Join(failed, ", ")})
	}
	for _, kv := range kv {
		fmt.Fprintf(&raw, "%s: %s\n", kv[0], kv[1])
	}
	raw.Write(out.Bytes())
	return os.WriteFile(o.raw, raw.Bytes(), 0o644)
}

// failures returns the benchmarks go test's output reports as failed.
func failures(out string) []string {
	var names []string
	for _, line := range strings.Split(out, "\n") {
		if _, rest, ok := strings.Cut(line, "--- FAIL: "); ok {
			if f := strings.Fields(rest); len(f) > 0 {
				names = append(names, f[0])
			}
		}
	}
	return names
}

type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// listBenchmarks returns the top-level benchmarks matching pattern.
func listBenchmarks(dir, pattern string, stderr io.Writer) ([]string, error) {
	cmd := exec.Command("go", "test", "-run=NONE", "-list="+pattern, ".")
	cmd.Dir = dir
	cmd.Stderr = stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go test -list: %w", err)
	}
	var names []string
	for _, line := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(line, "Benchmark") {
			names = append(names, strings.TrimSpace(line))
		}
	}
	return names, nil
}

// exactly is a -bench pattern matching exactly the named top-level
// benchmarks (and all their sub-benchmarks).
func exactly(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = regexp.QuoteMeta(n)
	}
	return "^(" + strings.Join(q, "|") + ")$"
}

// machine describes this machine and the run as benchfmt configuration
// lines (key, value).
func machine(o options, command string) [][2]string {
	goVersion := runtime.Version()
	if out, err := exec.Command("go", "env", "GOVERSION").Output(); err == nil {
		goVersion = strings.TrimSpace(string(out))
	}
	kernel := runtime.GOOS
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		kernel = "Linux " + strings.TrimSpace(string(b))
	}
	kv := [][2]string{
		{cfgDate, time.Now().UTC().Format("2006-01-02 15:04 MST")},
		{cfgGo, goVersion},
		{cfgCores, fmt.Sprint(runtime.NumCPU())},
		{cfgKernel, kernel},
		{cfgCount, fmt.Sprint(o.count)},
		{cfgBenchtime, o.benchtime},
		{cfgCommand, command},
	}
	if cpu := cpuModel(); cpu != "" {
		kv = append(kv, [2]string{cfgCPU, cpu})
	}
	if o.note != "" {
		kv = append(kv, [2]string{cfgNote, strings.Join(strings.Fields(o.note), " ")})
	}
	return kv
}

// loadAverage returns the 1, 5 and 15 minute load averages from
// /proc/loadavg, or "" where there is none.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return ""
	}
	return strings.Join(f[:3], " ")
}

// cpuModel returns the CPU's model name from /proc/cpuinfo, or "" where
// there is none (go test's own "cpu:" line is used then).
func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return ""
	}
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return ""
}
