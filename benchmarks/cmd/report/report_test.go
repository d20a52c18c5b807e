package main

import (
	"bytes"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
)

// rawLines returns six result lines for name with the given ns/op values
// (one per run), and the given B/op and allocs/op.
func rawLines(name string, bytesPerOp, allocs int, ns ...float64) string {
	var b strings.Builder
	for _, v := range ns {
		fmt.Fprintf(&b, "Benchmark%s \t 1000000\t %g ns/op\t %d B/op\t %d allocs/op\n", name, v, bytesPerOp, allocs)
	}
	return b.String()
}

var six = func(base float64) []float64 {
	return []float64{base, base * 1.01, base * 0.99, base * 1.02, base * 0.98, base}
}

// fixture is a small raw file covering every grouping rule: a library
// split at "obskit/…", scenarios nested above the library, one benchmark
// at two GOMAXPROCS, a baseline, a tie and a benchmark with no obskit row.
var fixture = "obskit-date: 2026-11-26 12:00 UTC\n" +
	"obskit-cores: 2\n" +
	"obskit-go: go1.26.8\n" +
	"obskit-note: A noisy shared machine.\n" +
	"goos: linux\ngoarch: amd64\npkg: github.com/obskit/obskit/benchmarks\ncpu: Test CPU @ 1GHz\n" +
	rawLines("Front/obskit/prometheus-2", 0, 0, six(10)...) +
	rawLines("Front/obskit/expvar-2", 0, 0, six(20)...) +
	rawLines("Front/client_golang-2", 0, 0, six(5)...) +
	rawLines("Front/go-kit/expvar-2", 64, 1, six(40)...) +
	rawLines("Front/tally-2", 16, 1, six(30)...) +
	rawLines("Nested/const/obskit-2", 0, 0, six(3)...) +
	rawLines("Nested/const/client_golang-2", 0, 0, six(9)...) +
	rawLines("Nested/fresh/obskit-2", 0, 0, six(6)...) +
	rawLines("Nested/fresh/client_golang-2", 0, 0, 6.5, 5.5, 6.2, 5.8, 6.1, 5.9) +
	rawLines("Middleware/obskit-2", 0, 0, six(150)...) +
	rawLines("Middleware/clock-only-2", 0, 0, six(100)...) +
	rawLines("Middleware/request-only-2", 0, 0, six(50)...) +
	rawLines("Middleware/atomic.AddUint64-2", 0, 0, six(1)...) +
	"PASS\nok  \tgithub.com/obskit/obskit/benchmarks\t12.3s\n" +
	"goos: linux\ngoarch: amd64\npkg: github.com/obskit/obskit/benchmarks\ncpu: Test CPU @ 1GHz\n" +
	rawLines("CountParallel/obskit", 0, 0, six(4)...) +
	rawLines("CountParallel/client_golang", 0, 0, six(8)...) +
	rawLines("CountParallel/obskit-2", 0, 0, six(12)...) +
	rawLines("CountParallel/client_golang-2", 0, 0, six(6)...) +
	rawLines("Lonely/x-2", 0, 0, six(1)...) +
	"PASS\n"

func summarizeFixture(t *testing.T, filter string) *Summary {
	t.Helper()
	s, err := Summarize(strings.NewReader(fixture), "fixture.txt", filter)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func findPair(t *testing.T, s *Summary, scenario string, procs int, peer string) *Pair {
	t.Helper()
	for _, p := range s.Pairs {
		if p.Scenario.Name == scenario && p.Scenario.Procs == procs && p.Peer.Library == peer {
			return p
		}
	}
	t.Fatalf("no pair %s (-cpu %d) / %s", scenario, procs, peer)
	return nil
}

func TestSummarizeGroups(t *testing.T) {
	s := summarizeFixture(t, "")
	type scen struct {
		name  string
		procs int
		libs  string
	}
	var got []scen
	for _, sc := range s.Scenarios {
		var libs []string
		for _, r := range sc.Rows {
			libs = append(libs, r.Library)
		}
		got = append(got, scen{sc.Name, sc.Procs, strings.Join(libs, ",")})
	}
	want := []scen{
		{"Front", 2, "obskit/prometheus,obskit/expvar,client_golang,go-kit/expvar,tally"},
		{"Nested/const", 2, "obskit,client_golang"},
		{"Nested/fresh", 2, "obskit,client_golang"},
		{"Middleware", 2, "obskit,clock-only,request-only,atomic.AddUint64"},
		{"CountParallel", 1, "obskit,client_golang"},
		{"CountParallel", 2, "obskit,client_golang"},
		{"Lonely", 2, "x"},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("scenarios:\ngot  %v\nwant %v", got, want)
	}
	if s.Config["cpu"] != "Test CPU @ 1GHz" || s.Config[cfgCores] != "2" || s.Config[cfgNote] != "A noisy shared machine." {
		t.Errorf("config = %v", s.Config)
	}
}

func TestSummarizeStats(t *testing.T) {
	s := summarizeFixture(t, "")
	row := s.Scenarios[0].Rows[0] // Front/obskit/prometheus
	st := row.Units[unitTime]
	if st == nil || len(st.Sample.Values) != 6 {
		t.Fatalf("obskit/prometheus time sample = %+v", st)
	}
	// The median of 9.8, 9.9, 10, 10, 10.1, 10.2 ns, in seconds.
	if got := st.Summary.Center; math.Abs(got-10e-9) > 1e-15 {
		t.Errorf("median = %g, want 1e-8", got)
	}
	if !(st.Summary.Lo <= st.Summary.Center && st.Summary.Center <= st.Summary.Hi) || math.IsInf(st.Summary.Lo, 0) {
		t.Errorf("range [%g, %g] around %g", st.Summary.Lo, st.Summary.Hi, st.Summary.Center)
	}
	if b := s.Scenarios[0].Rows[3].Units[unitBytes].Summary.Center; b != 64 {
		t.Errorf("go-kit/expvar B/op = %g, want 64", b)
	}
	if a := s.Scenarios[0].Rows[4].Units[unitAllocs].Summary.Center; a != 1 {
		t.Errorf("tally allocs/op = %g, want 1", a)
	}
}

func TestSummarizeFiveRunsHaveNoRange(t *testing.T) {
	raw := rawLines("X/obskit", 0, 0, 1, 2, 3, 4, 5) + rawLines("X/peer", 0, 0, 1, 2, 3, 4, 5)
	s, err := Summarize(strings.NewReader(raw), "five", "")
	if err != nil {
		t.Fatal(err)
	}
	sum := s.Scenarios[0].Rows[0].Units[unitTime].Summary
	if got := sum.PctRangeString(); got != "∞" {
		t.Errorf("range of five runs = %q, want ∞ (benchmath needs six at 95%%)", got)
	}
}

func TestPairs(t *testing.T) {
	s := summarizeFixture(t, "")
	tests := []struct {
		scenario    string
		procs       int
		peer        string
		obskit      string
		ratio       float64
		significant bool
		peerFaster  bool
	}{
		{"Front", 2, "client_golang", "obskit/prometheus", 2, true, true},
		{"Front", 2, "go-kit/expvar", "obskit/expvar", 0.5, true, false},
		{"Front", 2, "tally", "obskit/prometheus", 1.0 / 3, true, false},
		{"Nested/const", 2, "client_golang", "obskit", 1.0 / 3, true, false},
		{"Nested/fresh", 2, "client_golang", "obskit", 6 / 6.0, false, false},
		{"Middleware", 2, "clock-only", "obskit", 1.5, true, false}, // a baseline is never a faster peer
		{"Middleware", 2, "request-only", "obskit", 3, true, false},
		{"Middleware", 2, "atomic.AddUint64", "obskit", 150, true, false},
		{"CountParallel", 1, "client_golang", "obskit", 0.5, true, false},
		{"CountParallel", 2, "client_golang", "obskit", 2, true, true},
	}
	for _, tt := range tests {
		p := findPair(t, s, tt.scenario, tt.procs, tt.peer)
		if p.Obskit.Library != tt.obskit {
			t.Errorf("%s/%s: compared with %s, want %s", tt.scenario, tt.peer, p.Obskit.Library, tt.obskit)
		}
		if math.Abs(p.Ratio-tt.ratio) > 1e-9 {
			t.Errorf("%s/%s: ratio %g, want %g", tt.scenario, tt.peer, p.Ratio, tt.ratio)
		}
		if !(p.Lo <= p.Ratio && p.Ratio <= p.Hi) {
			t.Errorf("%s/%s: ratio %g outside [%g, %g]", tt.scenario, tt.peer, p.Ratio, p.Lo, p.Hi)
		}
		if p.Significant() != tt.significant || p.PeerFaster() != tt.peerFaster {
			t.Errorf("%s/%s: significant %v (p=%g), peer faster %v; want %v, %v", tt.scenario, tt.peer,
				p.Significant(), p.Compare.P, p.PeerFaster(), tt.significant, tt.peerFaster)
		}
	}
	for _, p := range s.Pairs {
		if p.Scenario.Name == "Lonely" {
			t.Errorf("a scenario with no obskit row has a pair: %+v", p)
		}
	}
	if len(s.Pairs) != len(tests) {
		t.Errorf("%d pairs, want %d", len(s.Pairs), len(tests))
	}
}

func TestCounterpart(t *testing.T) {
	sc := func(libs ...string) *Scenario {
		s := &Scenario{Name: "S"}
		for _, l := range libs {
			s.Rows = append(s.Rows, &Row{Library: l})
		}
		return s
	}
	tests := []struct {
		scenario *Scenario
		peer     string
		want     string
	}{
		{sc("obskit/prometheus", "obskit/statsd"), "go-kit/statsd", "obskit/statsd"},
		{sc("obskit/prometheus", "obskit/dogstatsd"), "datadog-go", "obskit/dogstatsd"},
		{sc("obskit/expvar", "obskit/prometheus"), "victoriametrics", "obskit/prometheus"},
		{sc("obskit/expvar", "obskit/prometheus"), "go-kit/graphite", "obskit/prometheus"}, // no graphite row yet
		{sc("obskit/expvar", "obskit"), "tally", "obskit"},
		{sc("obskit/expvar", "obskit/statsd"), "tally", "obskit/expvar"},
		{sc("obskit-ObserveContext", "obskit"), "client_golang", "obskit"},
		{sc("obskit-statsd", "obskit-graphite"), "go-kit-graphite", "obskit-graphite"},
		{sc("obskit-statsd", "obskit-graphite"), "go-kit-statsd", "obskit-statsd"},
		{sc("obskit-influx", "obskit-circonus"), "circonus-gometrics-Increment", "obskit-circonus"},
		{sc("obskit-circonus", "obskit-influx"), "influxdb1-client-point-per-event", "obskit-influx"},
		{sc("obskit-influx", "obskit-circonus"), "tally", "obskit-influx"},
		{sc("obskit", "obskit/otlp"), "otel-sdk-WithAttributes", "obskit/otlp"},
		{sc("obskit", "obskit-exponential"), "otel-sdk-WithAttributes", "obskit"},
	}
	for _, tt := range tests {
		if got := tt.scenario.counterpart(tt.peer); got == nil || got.Library != tt.want {
			t.Errorf("counterpart(%s) = %v, want %s", tt.peer, got, tt.want)
		}
	}
	if got := sc("client_golang").counterpart("tally"); got != nil {
		t.Errorf("counterpart with no obskit row = %v, want nil", got)
	}
}

func TestSummarizeFilter(t *testing.T) {
	s := summarizeFixture(t, ".name:Front")
	if len(s.Scenarios) != 1 || s.Scenarios[0].Name != "Front" {
		t.Errorf("filtered scenarios = %d, first %q", len(s.Scenarios), s.Scenarios[0].Name)
	}
	if _, err := Summarize(strings.NewReader(fixture), "f", "(("); err == nil {
		t.Error("a malformed filter was accepted")
	}
}

func TestSummarizeSyntaxError(t *testing.T) {
	_, err := Summarize(strings.NewReader("BenchmarkX-2 \t 10\t twelve ns/op\n"), "bad.txt", "")
	if err == nil {
		t.Fatal("a malformed result line was accepted")
	}
	if !strings.Contains(err.Error(), "bad.txt") {
		t.Errorf("error %q does not name the file", err)
	}
}

func TestWriteMarkdown(t *testing.T) {
	s := summarizeFixture(t, "")
	var b bytes.Buffer
	if err := WriteMarkdown(&b, s, "raw.txt", "chart.svg"); err != nil {
		t.Fatal(err)
	}
	md := b.String()
	for _, want := range []string{
		"| date | 2026-11-26 12:00 UTC |",
		"| CPU | Test CPU @ 1GHz |",
		"| cores | 2 |",
		"| Go | go1.26.8 |",
		"| runs per benchmark | not recorded |",
		"A noisy shared machine.",
		"![obskit ÷ peer, log scale](chart.svg)",
		"[raw.txt](raw.txt)",
		"### CountParallel (-cpu 1)",
		"### CountParallel (-cpu 2)",
		"### Nested/fresh\n",
		"| obskit/prometheus | 10.0 ns ±",
		"| go-kit/expvar | 40.0 ns ±",
		" | 64 ±0% | 1 ±0% | 0.50× (",
		"| obskit/expvar |\n",
		"| clock-only (baseline) |",
		"| request-only (baseline) |",
		"| Front | client_golang | 5.00 ns | obskit/prometheus | 10.0 ns | 2.00× (",
		"| CountParallel (-cpu 2) | client_golang | 6.00 ns | obskit | 12.0 ns | 2.00× (",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	if !regexp.MustCompile(`\| client_golang \| 6\.00 ns ±\d+% \| 0 ±0% \| 0 ±0% \| ~ 1\.00× `).MatchString(md) {
		t.Error("the tie in Nested/fresh is not marked ~")
	}
	faster := md[strings.Index(md, "## Where a peer is faster"):strings.Index(md, "## Load run of addsvc")]
	if strings.Contains(faster, "calls it a tie") {
		t.Errorf("the fixture has no peer ahead within noise, but the report lists some:\n%s", faster)
	}
	if strings.Contains(faster, "-only") || strings.Contains(faster, "tally") {
		t.Errorf("faster-peer list holds a baseline or a slower peer:\n%s", faster)
	}
	if n := strings.Count(faster, "\n| ") - 1; n != 2 { // minus the header row
		t.Errorf("faster-peer list has %d rows, want 2:\n%s", n, faster)
	}
}

// TestWriteMarkdownLoadRun: the load run's output goes into its own
// section, verbatim, with a link to its file; without one the section
// says how to make it.
func TestWriteMarkdownLoadRun(t *testing.T) {
	s := summarizeFixture(t, "")
	var b bytes.Buffer
	if err := WriteMarkdown(&b, s, "raw.txt", "chart.svg"); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "## Load run of addsvc\n\nNo load run recorded") {
		t.Error("a report without a load run does not say so")
	}
	table := "| run | variant | req/s |\n|---|---|---|\n| 1 | bare | 30000 |\n\nratio obskit ÷ bare: throughput 0.44"
	s.LoadRun, s.LoadRunName = "\n"+table+"\n\n", "loadrun.txt"
	b.Reset()
	if err := WriteMarkdown(&b, s, "raw.txt", "chart.svg"); err != nil {
		t.Fatal(err)
	}
	md := b.String()
	sec := md[strings.Index(md, "## Load run of addsvc"):strings.Index(md, "## Scenarios")]
	for _, want := range []string{"[loadrun.txt](loadrun.txt)", table + "\n\n", "[LOAD.md](LOAD.md)"} {
		if !strings.Contains(sec, want) {
			t.Errorf("load-run section lacks %q:\n%s", want, sec)
		}
	}
}

func TestWriteMarkdownPeerAheadWithinNoise(t *testing.T) {
	raw := rawLines("X/obskit", 0, 0, 10, 11, 12, 13, 14, 15) + rawLines("X/peer", 0, 0, 9.5, 10.5, 11.5, 12.5, 13.5, 14.5) +
		rawLines("X/slower", 0, 0, six(30)...)
	s, err := Summarize(strings.NewReader(raw), "ahead", "")
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := WriteMarkdown(&b, s, "r", "c"); err != nil {
		t.Fatal(err)
	}
	md := b.String()
	faster := md[strings.Index(md, "## Where a peer is faster"):strings.Index(md, "## Load run of addsvc")]
	if !strings.Contains(faster, "No peer is significantly faster") {
		t.Errorf("a tie is listed as significantly faster:\n%s", faster)
	}
	if !strings.Contains(faster, "calls it a tie") || !strings.Contains(faster, "| X | peer | 12.0 ns | obskit | 12.5 ns | ~ 1.04× (") {
		t.Errorf("the peer ahead within noise is not listed:\n%s", faster)
	}
	if strings.Contains(faster, "slower") {
		t.Errorf("a slower peer is listed:\n%s", faster)
	}
}

func TestRatioCellSmallP(t *testing.T) {
	vals := func(base float64) []float64 {
		v := make([]float64, 12)
		for i := range v {
			v[i] = base + float64(i)/100
		}
		return v
	}
	raw := rawLines("X/obskit", 0, 0, vals(10)...) + rawLines("X/peer", 0, 0, vals(20)...)
	s, err := Summarize(strings.NewReader(raw), "small-p", "")
	if err != nil {
		t.Fatal(err)
	}
	if got := ratioCell(s.Pairs[0]); !strings.HasSuffix(got, " p<0.001") || strings.HasPrefix(got, "~") {
		t.Errorf("ratio cell = %q, want a significant ratio with p<0.001", got)
	}
}

func TestWriteChart(t *testing.T) {
	s := summarizeFixture(t, "")
	var b bytes.Buffer
	if err := WriteChart(&b, s); err != nil {
		t.Fatal(err)
	}
	svg := b.String()
	if !strings.HasPrefix(svg, "<?xml") || !strings.Contains(svg, "<svg") || !strings.HasSuffix(strings.TrimSpace(svg), "</svg>") {
		t.Fatalf("not an SVG document: %.200s", svg)
	}
	for _, want := range []string{"Front · client_golang", "CountParallel (-cpu 2) · client_golang", ">1×<"} {
		if !strings.Contains(svg, want) {
			t.Errorf("chart lacks %q", want)
		}
	}
	if strings.Contains(svg, "-only") {
		t.Error("chart draws a baseline")
	}
	if err := WriteChart(&b, &Summary{}); err != nil {
		t.Errorf("chart of nothing: %v", err)
	}
}

func TestRunFromFile(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "raw", "run.txt")
	if err := os.MkdirAll(filepath.Dir(in), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(in, []byte(fixture), 0o644); err != nil {
		t.Fatal(err)
	}
	out, svg := filepath.Join(dir, "REPORT.md"), filepath.Join(dir, "r.svg")
	var stderr bytes.Buffer
	if err := run([]string{"-in", in, "-out", out, "-svg", svg}, &stderr); err != nil {
		t.Fatalf("run: %v\n%s", err, stderr.String())
	}
	md, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(md, []byte("](r.svg)")) || !bytes.Contains(md, []byte("](raw/run.txt)")) {
		t.Errorf("links not relative to the report:\n%.600s", md)
	}
	if b, err := os.ReadFile(svg); err != nil || !bytes.Contains(b, []byte("<svg")) {
		t.Errorf("chart file: %v", err)
	}
	if !strings.Contains(stderr.String(), "7 scenarios, 10 comparisons") {
		t.Errorf("stderr = %q", stderr.String())
	}
	if err := run([]string{"-in", filepath.Join(dir, "missing.txt")}, &stderr); err == nil {
		t.Error("a missing -in file was accepted")
	}
	if err := os.WriteFile(in, []byte("PASS\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := run([]string{"-in", in, "-out", out, "-svg", svg}, &stderr); err == nil {
		t.Error("a file with no results was accepted")
	}
}

func TestExactly(t *testing.T) {
	re := regexp.MustCompile(exactly([]string{"BenchmarkA", "BenchmarkA.B"}))
	for name, want := range map[string]bool{
		"BenchmarkA": true, "BenchmarkA.B": true, "BenchmarkAB": false, "BenchmarkAx": false, "xBenchmarkA": false,
	} {
		if re.MatchString(name) != want {
			t.Errorf("%s matches %v, want %v", name, !want, want)
		}
	}
}

func TestFormat(t *testing.T) {
	tests := []struct{ got, want string }{
		{formatTime(4.321e-9), "4.32 ns"},
		{formatTime(26.3e-9), "26.3 ns"},
		{formatTime(1503e-9), "1.50 µs"},
		{formatTime(2.5e-3), "2.50 ms"},
		{formatTime(math.Inf(1)), "?"},
		{formatCount(456), "456"},
		{formatCount(0.5), "0.5"},
		{formatRatio(0.037), "0.037×"},
		{formatRatio(1.234), "1.23×"},
		{formatRatio(27.4), "27×"},
		{formatRatio(math.NaN()), "?"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
}

// TestRunSuite runs the suite of a small module of its own: the
// Parallel benchmark at -cpu 1,2, the other at the default, each in
// -count rounds, with the machine recorded in the raw file.
func TestRunSuite(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs a benchmark module (-short)")
	}
	dir := t.TempDir()
	files := map[string]string{
		"go.mod": "module example.com/suite\n\ngo 1.22\n",
		"suite_test.go": `package suite

import "testing"

func BenchmarkWork(b *testing.B) {
	b.Run("obskit", func(b *testing.B) { for b.Loop() {} })
	b.Run("peer", func(b *testing.B) { for b.Loop() {} })
}

func BenchmarkWorkParallel(b *testing.B) {
	b.Run("obskit", func(b *testing.B) { b.RunParallel(func(pb *testing.PB) { for pb.Next() {} }) })
	b.Run("peer", func(b *testing.B) { b.RunParallel(func(pb *testing.PB) { for pb.Next() {} }) })
}

func BenchmarkOther(b *testing.B) { for b.Loop() {} }

func BenchmarkWorkBroken(b *testing.B) { b.Fatal("no server") }
`,
	}
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	raw, out, svg := filepath.Join(dir, "raw.txt"), filepath.Join(dir, "REPORT.md"), filepath.Join(dir, "r.svg")
	var stderr bytes.Buffer
	err := run([]string{"-dir", dir, "-bench", "Work", "-count", "2", "-benchtime", "1x",
		"-raw", raw, "-out", out, "-svg", svg, "-note", "a  test\nnote"}, &stderr)
	if err != nil {
		t.Fatalf("run: %v\n%s", err, stderr.String())
	}
	b, err := os.ReadFile(raw)
	if err != nil {
		t.Fatal(err)
	}
	s, err := Summarize(bytes.NewReader(b), raw, "")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, sc := range s.Scenarios {
		for _, r := range sc.Rows {
			got = append(got, fmt.Sprintf("%s-%d/%s×%d", sc.Name, sc.Procs, r.Library, len(r.Units[unitTime].Sample.Values)))
		}
	}
	procs := runtime.GOMAXPROCS(0)
	want := []string{
		fmt.Sprintf("Work-%d/obskit×2", procs), fmt.Sprintf("Work-%d/peer×2", procs),
		"WorkParallel-1/obskit×2", "WorkParallel-1/peer×2", "WorkParallel-2/obskit×2", "WorkParallel-2/peer×2",
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("rows:\ngot  %v\nwant %v", got, want)
	}
	if s.Config[cfgCount] != "2" || s.Config[cfgBenchtime] != "1x" || s.Config[cfgNote] != "a test note" || s.Config[cfgDate] == "" || s.Config[cfgGo] == "" {
		t.Errorf("config = %v", s.Config)
	}
	if _, err := os.Stat("/proc/loadavg"); err == nil && !strings.Contains(s.Config[cfgLoad], " at the end") {
		t.Errorf("load average = %q", s.Config[cfgLoad])
	}
	cmd := s.Config[cfgCommand]
	if !strings.Contains(cmd, "-bench=^(BenchmarkWork|BenchmarkWorkBroken)$") || !strings.Contains(cmd, "-cpu=1,2 -bench=^(BenchmarkWorkParallel)$") || strings.Contains(cmd, "Other") {
		t.Errorf("commands = %q", cmd)
	}
	if got := s.Config[cfgFailed]; got != "BenchmarkWorkBroken (round 1), BenchmarkWorkBroken (round 2)" {
		t.Errorf("failed = %q", got)
	}
	md, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(md, []byte("| **failed** (no results from these runs) | BenchmarkWorkBroken (round 1)")) {
		t.Errorf("the report does not name the failed benchmark:\n%.1500s", md)
	}
	if strings.Count(stderr.String(), "report: round ") != 4 {
		t.Errorf("want 2 rounds of 2 commands:\n%s", stderr.String())
	}
}
