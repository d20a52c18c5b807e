package main

import (
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"

	"golang.org/x/perf/benchfmt"
	"golang.org/x/perf/benchmath"
	"golang.org/x/perf/benchproc"
)

// The units a report shows, as benchfmt's Reader tidies them.
const (
	unitTime   = "sec/op"
	unitBytes  = "B/op"
	unitAllocs = "allocs/op"
)

// confidence is benchstat's default confidence level for the ± ranges;
// with it, benchmath needs at least 6 runs of a benchmark for a finite
// range.
const confidence = 0.95

// assumption is benchstat's default: no assumption about the
// distribution (median, order-statistic confidence interval and the
// Mann-Whitney U test).
var assumption = benchmath.AssumeNothing

// Stat is the summary of one unit of one library in one scenario.
type Stat struct {
	Sample  *benchmath.Sample
	Summary benchmath.Summary
}

// Row is one library's measurements in one scenario.
type Row struct {
	Library string
	Units   map[string]*Stat
	values  map[string][]float64
}

// Obskit reports whether the row measures obskit rather than a peer.
func (r *Row) Obskit() bool { return isObskit(r.Library) }

// Baseline reports whether the row is a baseline rather than a library:
// the part of the work every library does, named "…-only" ("clock-only":
// the clock reads of an instrumenting middleware; "request-only": parsing
// the request an HTTP middleware is given), "baseline…", or a bare
// standard-library operation ("atomic.AddUint64", the floor of a bound
// counter's Add). Its ratio is
// shown but it is never listed as a faster peer nor drawn.
func (r *Row) Baseline() bool {
	return strings.HasSuffix(r.Library, "-only") || strings.HasPrefix(r.Library, "baseline") ||
		strings.HasPrefix(r.Library, "atomic.")
}

func isObskit(library string) bool {
	return library == "obskit" || strings.HasPrefix(library, "obskit/") || strings.HasPrefix(library, "obskit-")
}

// Scenario is one benchmark, at one GOMAXPROCS, with one row per library
// in the order the run printed them.
type Scenario struct {
	Name  string // the benchmark name without "Benchmark" or the library
	Procs int    // GOMAXPROCS (-cpu) it ran at
	Rows  []*Row
}

// Title is the scenario's name with its -cpu when that is part of the
// comparison.
func (s *Scenario) Title() string {
	return fmt.Sprintf("%s (-cpu %d)", s.Name, s.Procs)
}

func (s *Scenario) row(library string) *Row {
	for _, r := range s.Rows {
		if r.Library == library {
			return r
		}
	}
	return nil
}

// Pair is the comparison of one peer row with the obskit row it is read
// against: Ratio is obskit's median time over the peer's.
type Pair struct {
	Scenario *Scenario
	Obskit   *Row
	Peer     *Row
	// Ratio is obskit ÷ peer of the median sec/op; Lo and Hi bound it by
	// the two confidence intervals (obskit's low over the peer's high, and
	// the reverse). They are infinite where an interval is.
	Ratio, Lo, Hi float64
	// Compare is benchmath's test of the two samples; the difference is
	// significant when Compare.P < Compare.Alpha.
	Compare benchmath.Comparison
}

// Significant reports whether the two libraries' times differ by
// benchstat's test.
func (p *Pair) Significant() bool { return p.Compare.P < p.Compare.Alpha }

// PeerFaster reports whether the peer, not a baseline, is significantly
// faster.
func (p *Pair) PeerFaster() bool { return !p.Peer.Baseline() && p.Significant() && p.Ratio > 1 }

// PeerAhead reports whether the peer, not a baseline, has the lower
// median time but the difference is not significant.
func (p *Pair) PeerAhead() bool { return !p.Peer.Baseline() && !p.Significant() && p.Ratio > 1 }

// Summary is everything a report says about one raw results file.
type Summary struct {
	// Config holds the file configuration lines of the raw file ("cpu",
	// "goos", and the obskit-* lines cmd/report writes), the first value
	// seen for each key.
	Config    map[string]string
	Scenarios []*Scenario
	Pairs     []*Pair
	// LoadRun is the output of examples/addsvc/cmd/loadrun (its
	// Markdown tables and ratio lines), and LoadRunName the file it was
	// read from; empty when there is none.
	LoadRun, LoadRunName string
}

// counterparts names, for a peer that records into the same system as
// one of obskit's backends, that backend: the peer's ratio is taken
// against "obskit/<backend>" (or "obskit-<backend>") when the scenario has
// that row. A peer is found here by its name or the name's first element
// ("otel-sdk-WithAttributes" is "otel-sdk"). A peer named
// "<family>/<backend>" or "go-kit-<backend>" (Go kit's adapters:
// "go-kit/statsd") is paired by its last element without being listed
// here. Every other peer is read against the scenario's main obskit row:
// "obskit", else "obskit/prometheus", else the first obskit row.
var counterparts = map[string]string{
	"client_golang":      "prometheus",
	"victoriametrics":    "prometheus",
	"datadog-go":         "dogstatsd",
	"otel-sdk":           "otlp",
	"circonus-gometrics": "circonus",
	"influxdb1-client":   "influx",
}

// counterpart returns the obskit row that peer is compared with in s, or
// nil if s has no obskit row.
func (s *Scenario) counterpart(peer string) *Row {
	backend, ok := counterparts[peer]
	for name, b := range counterparts {
		if !ok && (strings.HasPrefix(peer, name+"-") || strings.HasPrefix(peer, name+"/")) {
			backend, ok = b, true
		}
	}
	if !ok {
		if i := strings.LastIndexAny(peer, "/"); i >= 0 {
			backend = peer[i+1:]
		} else if rest, found := strings.CutPrefix(peer, "go-kit-"); found {
			backend = rest
		}
	}
	if backend != "" {
		for _, name := range []string{"obskit/" + backend, "obskit-" + backend} {
			if r := s.row(name); r != nil {
				return r
			}
		}
	}
	if r := s.row("obskit"); r != nil {
		return r
	}
	if r := s.row("obskit/prometheus"); r != nil {
		return r
	}
	for _, r := range s.Rows {
		if r.Obskit() {
			return r
		}
	}
	return nil
}

// result is one benchmark line, reduced to what grouping needs.
type result struct {
	base  string   // the benchmark function's name without "Benchmark"
	sub   []string // the sub-benchmark name, split at '/'
	procs int
	units map[string]float64
}

// Summarize reads raw `go test -bench` output, keeps the results filter
// matches (benchproc's filter syntax; "" keeps all), groups them into
// scenarios and summarises each library's runs with benchmath, the way
// benchstat does.
//
// A benchmark's sub-name is split into scenario and library: the library
// starts at the first element that begins with "obskit" in any row of that
// benchmark ("Frontend/fresh/obskit/expvar" is scenario "Frontend/fresh",
// library "obskit/expvar"), and the peers' names start at the same depth.
// A benchmark with no obskit row is one scenario whose libraries are its
// whole sub-names.
func Summarize(r io.Reader, fileName, filter string) (*Summary, error) {
	if filter == "" {
		filter = "*"
	}
	f, err := benchproc.NewFilter(filter)
	if err != nil {
		return nil, fmt.Errorf("filter: %w", err)
	}
	var parser benchproc.ProjectionParser
	baseProj, err := parser.Parse(".name", f)
	if err != nil {
		return nil, err
	}
	procsProj, err := parser.Parse("/gomaxprocs", f)
	if err != nil {
		return nil, err
	}
	baseField, procsField := baseProj.Fields()[0], procsProj.Fields()[0]

	sum := &Summary{Config: map[string]string{}}
	var results []result
	reader := benchfmt.NewReader(r, fileName)
	for reader.Scan() {
		switch rec := reader.Result().(type) {
		case *benchfmt.SyntaxError:
			// Lines go test prints that are not results (PASS, ok …) are
			// not syntax errors; a malformed result line is.
			return nil, rec
		case *benchfmt.Result:
			for _, c := range rec.Config {
				if _, ok := sum.Config[c.Key]; !ok && c.File {
					sum.Config[c.Key] = string(c.Value)
				}
			}
			ok, err := f.Apply(rec)
			if err != nil {
				return nil, err
			}
			if !ok {
				continue
			}
			procs := 1
			if s := procsProj.Project(rec).Get(procsField); s != "" {
				if procs, err = strconv.Atoi(s); err != nil {
					return nil, fmt.Errorf("%s: GOMAXPROCS %q: %w", rec.Name.Full(), s, err)
				}
			}
			res := result{base: baseProj.Project(rec).Get(baseField), procs: procs, units: map[string]float64{}}
			_, parts := rec.Name.Parts()
			for _, p := range parts {
				if p[0] == '/' {
					res.sub = append(res.sub, string(p[1:]))
				}
			}
			for _, v := range rec.Values {
				res.units[v.Unit] = v.Value
			}
			results = append(results, res)
		}
	}
	if err := reader.Err(); err != nil {
		return nil, err
	}
	sum.Scenarios = group(results)
	for _, s := range sum.Scenarios {
		for _, row := range s.Rows {
			row.Units = map[string]*Stat{}
			for unit, vals := range row.values {
				sample := benchmath.NewSample(vals, &benchmath.DefaultThresholds)
				row.Units[unit] = &Stat{Sample: sample, Summary: assumption.Summary(sample, confidence)}
			}
		}
		for _, row := range s.Rows {
			if row.Obskit() {
				continue
			}
			if p := pair(s, row); p != nil {
				sum.Pairs = append(sum.Pairs, p)
			}
		}
	}
	return sum, nil
}

// group makes the scenarios, in the order their first result appears.
func group(results []result) []*Scenario {
	// The depth at which the library starts, per benchmark function.
	depth := map[string]int{}
	for _, r := range results {
		for i, s := range r.sub {
			if isObskit(s) {
				if d, ok := depth[r.base]; !ok || i < d {
					depth[r.base] = i
				}
				break
			}
		}
	}
	type scenarioKey struct {
		name  string
		procs int
	}
	index := map[scenarioKey]*Scenario{}
	var out []*Scenario
	for _, r := range results {
		d := min(depth[r.base], len(r.sub))
		if len(r.sub) > 0 && d == len(r.sub) {
			d = len(r.sub) - 1 // a row too short to hold a library: its last element is one
		}
		name := strings.Join(append([]string{r.base}, r.sub[:d]...), "/")
		library := strings.Join(r.sub[d:], "/")
		k := scenarioKey{name, r.procs}
		s := index[k]
		if s == nil {
			s = &Scenario{Name: name, Procs: r.procs}
			index[k] = s
			out = append(out, s)
		}
		row := s.row(library)
		if row == nil {
			row = &Row{Library: library, values: map[string][]float64{}}
			s.Rows = append(s.Rows, row)
		}
		for unit, v := range r.units {
			row.values[unit] = append(row.values[unit], v)
		}
	}
	return out
}

func pair(s *Scenario, peer *Row) *Pair {
	o := s.counterpart(peer.Library)
	if o == nil {
		return nil
	}
	ot, pt := o.Units[unitTime], peer.Units[unitTime]
	if ot == nil || pt == nil || pt.Summary.Center == 0 {
		return nil
	}
	return &Pair{
		Scenario: s,
		Obskit:   o,
		Peer:     peer,
		Ratio:    ot.Summary.Center / pt.Summary.Center,
		Lo:       ot.Summary.Lo / pt.Summary.Hi,
		Hi:       ot.Summary.Hi / pt.Summary.Lo,
		Compare:  assumption.Compare(ot.Sample, pt.Sample),
	}
}

// SortedConfig returns the config keys in order, for a stable report.
func (s *Summary) SortedConfig() []string {
	keys := make([]string, 0, len(s.Config))
	for k := range s.Config {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// formatTime formats seconds per op with a unit suited to its size.
func formatTime(sec float64) string {
	switch ns := sec * 1e9; {
	case math.IsNaN(ns) || math.IsInf(ns, 0):
		return "?"
	case ns < 10:
		return fmt.Sprintf("%.2f ns", ns)
	case ns < 1000:
		return fmt.Sprintf("%.1f ns", ns)
	case ns < 1e6:
		return fmt.Sprintf("%.2f µs", ns/1e3)
	default:
		return fmt.Sprintf("%.2f ms", ns/1e6)
	}
}

// formatCount formats bytes or allocations per op.
func formatCount(v float64) string {
	if v == math.Trunc(v) && math.Abs(v) < 1e15 {
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	return strconv.FormatFloat(v, 'f', 1, 64)
}

// formatRatio formats a ratio with two or three significant digits.
func formatRatio(r float64) string {
	switch {
	case math.IsNaN(r) || math.IsInf(r, 0):
		return "?"
	case r < 0.1:
		return fmt.Sprintf("%.3f×", r)
	case r < 10:
		return fmt.Sprintf("%.2f×", r)
	default:
		return fmt.Sprintf("%.0f×", r)
	}
}
