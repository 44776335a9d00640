// Command benchscan measures `regasmdetect scan` end to end, as a whole process, on the shared Sysmon logs
// replicated (20 copies by default), beside the floor `cat FILE | wc -l` measured in the same run. It prints,
// per format, the median wall time, throughput, the ratio to the floor, CPU time (user+system) and peak RSS.
//
//	go build -o build/regasmdetect ./src/cmd/regasmdetect && go run ./src/cmd/benchscan -bin build/regasmdetect
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"syscall"
	"time"
)

type run struct {
	wall, cpu time.Duration
	rssKB     int64
}

func measure(name string, args ...string) (run, error) {
	cmd := exec.Command(name, args...)
	cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
	start := time.Now()
	err := cmd.Run()
	wall := time.Since(start)
	if err != nil {
		if _, ok := err.(*exec.ExitError); !ok {
			return run{}, err
		}
	}
	st := cmd.ProcessState
	ru, _ := st.SysUsage().(*syscall.Rusage)
	r := run{wall: wall, cpu: st.UserTime() + st.SystemTime()}
	if ru != nil {
		r.rssKB = ru.Maxrss
	}
	return r, nil
}

func median(rs []run) run {
	walls := make([]run, len(rs))
	copy(walls, rs)
	slices.SortFunc(walls, func(a, b run) int { return int(a.wall - b.wall) })
	m := walls[len(walls)/2]
	cpus := make([]time.Duration, len(rs))
	for i, r := range rs {
		cpus[i] = r.cpu
	}
	slices.Sort(cpus)
	m.cpu = cpus[len(cpus)/2]
	return m
}

func main() {
	bin := flag.String("bin", "build/regasmdetect", "the regasmdetect binary")
	data := flag.String("data", "../shared/data/sysmon", "the shared Sysmon logs")
	copies := flag.Int("copies", 20, "copies of each log in the input")
	runs := flag.Int("runs", 5, "runs of each command (medians are printed)")
	flag.Parse()
	dir, err := os.MkdirTemp("", "benchscan-")
	if err != nil {
		fail(err)
	}
	defer os.RemoveAll(dir)
	fmt.Printf("%d copies, medians of %d runs, GOMAXPROCS of the scanner: all cores\n", *copies, *runs)
	fmt.Printf("%-22s %8s %9s %9s %9s %7s %9s %9s\n", "input", "MB", "scan s", "MB/s", "floor s", "ratio", "CPU s", "RSS MiB")
	for _, c := range []struct{ name, rel string }{
		{"XmlWinEventLog", "evtx-attack-samples/ALL_sysmon_events.xml.log"},
		{"JSON lines (OTRF)", "otrf/otrf_all_sysmon_eid1.jsonl"},
		{"JSON lines (evtx_dump)", "evtx-attack-samples/ALL_sysmon_events.jsonl"},
	} {
		src, err := os.ReadFile(filepath.Join(*data, c.rel))
		if err != nil {
			fail(err)
		}
		path := filepath.Join(dir, filepath.Base(c.rel))
		f, err := os.Create(path)
		if err != nil {
			fail(err)
		}
		for i := 0; i < *copies; i++ {
			if _, err := f.Write(src); err != nil {
				fail(err)
			}
		}
		if err := f.Close(); err != nil {
			fail(err)
		}
		size := float64(len(src) * *copies)
		var scans, floors []run
		for i := 0; i < *runs; i++ {
			fl, err := measure("sh", "-c", `cat "$1" | wc -l`, "sh", path)
			if err != nil {
				fail(err)
			}
			sc, err := measure(*bin, "scan", "--quiet", "--format", "csv", path)
			if err != nil {
				fail(err)
			}
			floors, scans = append(floors, fl), append(scans, sc)
		}
		s, fl := median(scans), median(floors)
		fmt.Printf("%-22s %8.1f %9.3f %9.0f %9.3f %7.2f %9.3f %9.1f\n", c.name, size/1e6, s.wall.Seconds(),
			size/1e6/s.wall.Seconds(), fl.wall.Seconds(), fl.wall.Seconds()/s.wall.Seconds(), s.cpu.Seconds(), float64(s.rssKB)/1024)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "benchscan:", err)
	os.Exit(1)
}
