package benchmarks

import "syscall"

// threadCPU returns the CPU time the calling thread has used, and true,
// where the platform can tell (getrusage RUSAGE_THREAD).
func threadCPU() (int64, bool) {
	const rusageThread = 1
	var ru syscall.Rusage
	if err := syscall.Getrusage(rusageThread, &ru); err != nil {
		return 0, false
	}
	return ru.Utime.Nano() + ru.Stime.Nano(), true
}
