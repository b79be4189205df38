package matcher

import (
	"flag"
	"runtime"
	"sort"
	"sync"
	"syscall"
	"testing"
	"time"
)

// cpuTime is the process's user+system CPU time: on this shared machine it shows the cost of
// the work apart from time spent waiting for a core.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// benchCommands is the workload size; smaller values are for profiling under cachegrind.
var benchCommands = flag.Int("matcher.benchcmds", 3_000_000, "commands in the exchange-core benchmark workload")

var (
	benchOnce sync.Once
	benchWarm []benchCmd
	benchRun  []benchCmd
	benchSnap []byte // state after warm-up
)

// benchSetup generates the workload once per process (not timed) and snapshots the warmed book.
func benchSetup(b *testing.B) {
	benchOnce.Do(func() {
		benchWarm, benchRun, _ = exchangeCoreWorkload(b, 42, *benchCommands)
		bk, err := NewBook(benchSpec())
		if err != nil {
			b.Fatal(err)
		}
		var cmd Command
		for i := range benchWarm {
			benchWarm[i].toCommand(&cmd, uint64(i+1))
			bk.Apply(&cmd)
		}
		benchSnap = bk.Snapshot()
	})
}

// benchBook restores the warmed-up book and collects garbage (earlier books), so no GC cycle
// runs while the timer is on: the timed loop itself never allocates.
func benchBook(b *testing.B) *Book {
	bk, err := Restore(benchSnap)
	if err != nil {
		b.Fatal(err)
	}
	runtime.GC()
	return bk
}

// BenchmarkExchangeCoreWorkload replays the exchange-core style workload (9% GTC, 3% IOC, 6%
// cancel, 82% move; about 1,000 resting orders on about 750 levels) and reports commands per
// second. When b.N exceeds the 3M commands the book is rebuilt from the warm-up snapshot outside
// the timer and the log starts again.
func BenchmarkExchangeCoreWorkload(b *testing.B) {
	benchSetup(b)
	bk := benchBook(b)
	var cmd Command
	base := uint64(len(benchWarm))
	b.ReportAllocs()
	b.ResetTimer()
	start, cpu0 := time.Now(), cpuTime()
	paused, pausedCPU := time.Duration(0), time.Duration(0)
	for i, j := 0, 0; i < b.N; i, j = i+1, j+1 {
		if j == len(benchRun) {
			b.StopTimer()
			t0, c0 := time.Now(), cpuTime()
			bk, j = benchBook(b), 0
			paused, pausedCPU = paused+time.Since(t0), pausedCPU+cpuTime()-c0
			b.StartTimer()
		}
		benchRun[j].toCommand(&cmd, base+uint64(j)+1)
		bk.Apply(&cmd)
	}
	elapsed, cpu := time.Since(start)-paused, cpuTime()-cpu0-pausedCPU
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "ops/s")
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/op")
}

// BenchmarkExchangeCoreLatency times every command of the same workload with time.Now and
// reports the p50, p99 and p99.9 apply latency, and the median of an empty interval
// (timer-p50-ns: what the timer itself adds to each figure).
func BenchmarkExchangeCoreLatency(b *testing.B) {
	benchSetup(b)
	bk := benchBook(b)
	var cmd Command
	base := uint64(len(benchWarm))
	empty := make([]time.Duration, 10_000)
	for i := range empty {
		t0 := time.Now()
		empty[i] = time.Since(t0)
	}
	sort.Slice(empty, func(i, j int) bool { return empty[i] < empty[j] })
	lat := make([]time.Duration, 0, min(b.N, len(benchRun)))
	b.ReportAllocs()
	b.ResetTimer()
	for i, j := 0, 0; i < b.N; i, j = i+1, j+1 {
		if j == len(benchRun) {
			b.StopTimer()
			bk, j = benchBook(b), 0
			b.StartTimer()
		}
		benchRun[j].toCommand(&cmd, base+uint64(j)+1)
		t0 := time.Now()
		bk.Apply(&cmd)
		d := time.Since(t0)
		if len(lat) < cap(lat) {
			lat = append(lat, d)
		}
	}
	b.StopTimer()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	q := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))].Nanoseconds()) }
	b.ReportMetric(q(0.50), "p50-ns")
	b.ReportMetric(q(0.99), "p99-ns")
	b.ReportMetric(q(0.999), "p999-ns")
	b.ReportMetric(float64(empty[len(empty)/2].Nanoseconds()), "timer-p50-ns")
}
