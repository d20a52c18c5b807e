package benchmarks

import (
	"runtime"
	"testing"
)

// cpuClock measures the CPU time of a serial benchmark's loop, reported
// as cpu-ns/op beside ns/op. On a machine shared with other work, ns/op
// counts the time the benchmark waited for a core; cpu-ns/op counts only
// the time it ran, so libraries measured minutes apart compare fairly.
// Linux only; elsewhere nothing is reported.
type cpuClock struct {
	start int64
	ok    bool
}

// startCPU pins the benchmark to its thread and reads its CPU time. Call
// it just before the b.Loop loop and stop after it.
func startCPU() cpuClock {
	runtime.LockOSThread()
	t, ok := threadCPU()
	return cpuClock{t, ok}
}

func (c cpuClock) stop(b *testing.B) {
	t, ok := threadCPU()
	runtime.UnlockOSThread()
	if c.ok && ok && b.N > 0 {
		b.ReportMetric(float64(t-c.start)/float64(b.N), "cpu-ns/op")
	}
}
