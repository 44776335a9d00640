// Command benchscan measures `regasmdetect scan` end to end, as a whole process, on the shared Sysmon logs
// replicated (20 copies by default), beside a floor measured in the same run: `cat FILE | wc -l` for the text
// formats (one file of copies), `cat FILES | wc -c` for EVTX (a folder of copies of the shared .evtx files, since
// an EVTX file cannot be concatenated). It prints, per format, the median wall time, throughput, the ratio to the
// floor, CPU time (user+system), peak RSS and the target throughput of the scanner on this 2-core machine.
// GOMAXPROCS=1 in the environment makes the scanner read with one core (its sequential readers).
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
	procs := "all cores"
	if v := os.Getenv("GOMAXPROCS"); v != "" {
		procs = v + " (from the environment)"
	}
	fmt.Printf("%d copies, medians of %d runs, GOMAXPROCS of the scanner: %s\n", *copies, *runs, procs)
	loadAverage("before the runs")
	fmt.Printf("%-22s %8s %9s %9s %9s %7s %9s %9s  %s\n", "input", "MB", "scan s", "MB/s", "floor s", "ratio", "CPU s", "RSS MiB", "target")
	for _, c := range []struct {
		name   string
		rels   []string
		target float64 // MB/s
	}{
		{"XmlWinEventLog", []string{"evtx-attack-samples/ALL_sysmon_events.xml.log"}, 500},
		{"JSON lines (OTRF)", []string{"otrf/otrf_all_sysmon_eid1.jsonl"}, 600},
		{"JSON lines (evtx_dump)", []string{"evtx-attack-samples/ALL_sysmon_events.jsonl"}, 600},
		{"EVTX", []string{"evtx-attack-samples/PanacheSysmon_vs_AtomicRedTeam01.evtx",
			"evtx-attack-samples/panache_sysmon_vs_EDRTestingScript.evtx", "omerbenamram-evtx/sysmon.evtx"}, 100},
	} {
		var path string
		var size float64
		var floorCmd string
		if len(c.rels) == 1 {
			// One file holding the copies, one after the other.
			path, size, err = concatenated(dir, filepath.Join(*data, c.rels[0]), *copies)
			floorCmd = `cat "$1" | wc -l`
		} else {
			// A folder of copies: the scanner walks it, the floor reads every file.
			path, size, err = replicated(dir, *data, c.rels, *copies)
			floorCmd = `cat "$1"/* | wc -c`
		}
		if err != nil {
			fail(err)
		}
		var scans, floors []run
		for i := 0; i < *runs; i++ {
			fl, err := measure("sh", "-c", floorCmd, "sh", path)
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
		mbs := size / 1e6 / s.wall.Seconds()
		met := "met"
		if mbs < c.target {
			met = "NOT met"
		}
		fmt.Printf("%-22s %8.1f %9.3f %9.0f %9.3f %7.2f %9.3f %9.1f  >= %.0f MB/s: %s\n", c.name, size/1e6, s.wall.Seconds(),
			mbs, fl.wall.Seconds(), fl.wall.Seconds()/s.wall.Seconds(), s.cpu.Seconds(), float64(s.rssKB)/1024, c.target, met)
	}
	loadAverage("after the runs")
}

// loadAverage prints the load average (Linux), which says how far the machine was from quiet.
func loadAverage(when string) {
	if la, err := os.ReadFile("/proc/loadavg"); err == nil {
		fmt.Printf("load average %s: %s", when, la)
	}
}

// concatenated writes copies of the file src one after the other into one file in dir and returns its path and
// size.
func concatenated(dir, src string, copies int) (string, float64, error) {
	b, err := os.ReadFile(src)
	if err != nil {
		return "", 0, err
	}
	path := filepath.Join(dir, filepath.Base(src))
	f, err := os.Create(path)
	if err != nil {
		return "", 0, err
	}
	for i := 0; i < copies; i++ {
		if _, err := f.Write(b); err != nil {
			f.Close()
			return "", 0, err
		}
	}
	return path, float64(len(b) * copies), f.Close()
}

// replicated writes copies of each file of rels (under data) into a new folder in dir and returns its path and
// the total size.
func replicated(dir, data string, rels []string, copies int) (string, float64, error) {
	out := filepath.Join(dir, "evtx")
	if err := os.Mkdir(out, 0o755); err != nil {
		return "", 0, err
	}
	var size float64
	for _, rel := range rels {
		b, err := os.ReadFile(filepath.Join(data, rel))
		if err != nil {
			return "", 0, err
		}
		for i := 0; i < copies; i++ {
			name := fmt.Sprintf("%02d-%s", i, filepath.Base(rel))
			if err := os.WriteFile(filepath.Join(out, name), b, 0o644); err != nil {
				return "", 0, err
			}
			size += float64(len(b))
		}
	}
	return out, size, nil
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "benchscan:", err)
	os.Exit(1)
}
