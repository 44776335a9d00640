package detectset

import (
	"strconv"
	"syscall"
	"testing"
	"time"

	"regasmdetect/src/cim"
	"regasmdetect/src/engine"
)

// BenchmarkOnePass runs every compilable detection of the snapshot over the shared real logs' process
// creations, parsed beforehand and replayed in a loop: the cost per record after parsing (mapping the
// record's values into the set's slots included). BenchmarkSeparate is the floor it replaces: each detection
// fed every record on its own. The sub-benchmark "filtered" leaves out the detections whose tstats has no
// where clause (hunting searches that filter after aggregating, through a lookup or | search): they
// aggregate every record, whatever the pre-test, and their cost is the engine's grouping.
func BenchmarkOnePass(b *testing.B) {
	all := checkoutDetections(b)
	var filtered []*engine.Detection
	for _, d := range all {
		if d.Search().Where != nil {
			filtered = append(filtered, d)
		}
	}
	procs := readProcesses(b)
	b.Run("all", func(b *testing.B) { benchOnePass(b, all, procs) })
	b.Run("filtered", func(b *testing.B) { benchOnePass(b, filtered, procs) })
}

func benchOnePass(b *testing.B, dets []*engine.Detection, procs []cim.Process) {
	set, err := New(dets)
	if err != nil {
		b.Fatal(err)
	}
	run, err := set.NewRunner([]engine.Options{{Annotate: true}})
	if err != nil {
		b.Fatal(err)
	}
	fields := set.Fields()
	cims := make([]cim.Field, len(fields))
	for i, f := range fields {
		cims[i] = -1
		if cf, ok := cim.FieldByName(f); ok {
			cims[i] = cf
		}
	}
	times := make([][]byte, len(procs))
	for i := range procs {
		times[i] = strconv.AppendFloat(nil, procs[i].Time, 'f', -1, 64)
	}
	rec := set.NewRecord()
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cpuTime()
	i := 0
	for b.Loop() {
		p := &procs[i%len(procs)]
		rec.Reset()
		for sl, cf := range cims {
			if cf >= 0 {
				rec.Add(sl, p.Values[cf])
			}
		}
		rec.SetTime(times[i%len(procs)])
		run.Add(rec)
		i++
	}
	reportRate(b, cpu0)
	b.ReportMetric(float64(set.Len()), "detections")
}

func BenchmarkSeparate(b *testing.B) {
	dets := checkoutDetections(b)
	procs := readProcesses(b)
	ref := newSeparate(dets, engine.Options{Annotate: true})
	slots := make([][]cim.Field, len(dets))
	for i, d := range dets {
		for _, f := range d.Fields() {
			cf, ok := cim.FieldByName(f)
			if !ok {
				cf = -1
			}
			slots[i] = append(slots[i], cf)
		}
	}
	t := []byte("1700000000")
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cpuTime()
	i := 0
	for b.Loop() {
		p := &procs[i%len(procs)]
		for d := range dets {
			r := ref.recs[d]
			r.Reset()
			for sl, cf := range slots[d] {
				if cf >= 0 {
					r.Add(sl, p.Values[cf])
				}
			}
			r.SetTime(t)
			ref.aggs[d].Add(r)
		}
		i++
	}
	reportRate(b, cpu0)
}

// cpuTime is the process's user and system CPU time. On a machine shared with other work, wall time per
// operation measures the machine's load; CPU time measures the code (the loop runs on one goroutine).
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportRate reports records per second of wall time and per second of CPU time (one core).
func reportRate(b *testing.B, cpu0 time.Duration) {
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
	if cpu := cpuTime() - cpu0; cpu > 0 {
		b.ReportMetric(float64(b.N)/cpu.Seconds(), "records/cpu-s")
	}
}
