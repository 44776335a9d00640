// Command benchstream is `make bench`: it writes a synthetic SCPv2 stream shaped like splunkd's (a getinfo, then
// execute chunks of Splunk-quoted CSV with Endpoint.Processes fields and __mv_ twins), then times, in the same
// run, the pipe floor `cat stream | wc -l` and `cat stream | regasmdetect`, and the getinfo-only exchange of a
// probe process. It reports medians of several runs, the ratio to the floor, and the command's peak RSS, and
// checks the command's result against groups counted independently while generating.
package main

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"regasmdetect/src/internal/splunkdtest"
)

func main() {
	bin := flag.String("bin", "build/regasmdetect", "the regasmdetect executable")
	records := flag.Int("records", 1_000_000, "records in the stream")
	chunk := flag.Int("chunk", 50_000, "records per execute chunk")
	runs := flag.Int("runs", 7, "timed runs of each pipeline (the median is reported)")
	keep := flag.String("stream", "", "write the stream to this file and keep it (default: a temporary file)")
	scaleList := flag.String("scale", "", "instead: comma-separated record counts generated on the fly through a pipe (1000000,10000000), peak RSS against input size")
	groups := flag.Int("groups", 0, "instead: records of the reduce measurement, each its own group, against the same number in 100 groups")
	indexers := flag.String("indexers", "", "instead: comma-separated indexer counts (8,32) for the emulator's map/reduce with records split unevenly")
	flag.Parse()
	var err error
	switch {
	case *scaleList != "" || *groups > 0:
		var ns []int
		for _, f := range strings.Split(*scaleList, ",") {
			if f == "" {
				continue
			}
			n, perr := strconv.Atoi(f)
			if perr != nil {
				fmt.Fprintln(os.Stderr, "benchstream: -scale:", perr)
				os.Exit(2)
			}
			ns = append(ns, n)
		}
		err = scale(*bin, ns, *groups, *runs)
	case *indexers != "":
		err = emulate(*bin, *indexers)
	default:
		err = run(*bin, *records, *chunk, *runs, *keep)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchstream:", err)
		os.Exit(1)
	}
}

func run(bin string, records, chunk, runs int, keep string) error {
	path := keep
	if path == "" {
		dir, err := os.MkdirTemp("", "regasmdetect-bench-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		path = filepath.Join(dir, "stream.scpv2")
	}
	t0 := time.Now()
	size, groups, matches, err := generate(path, records, chunk)
	if err != nil {
		return err
	}
	fmt.Printf("stream: %d records, %d bytes (%.0f B/record), %d-record chunks, %d regasm-parent records in %d groups; written in %v\n",
		records, size, float64(size)/float64(records), chunk, matches, groups, time.Since(t0).Round(time.Millisecond))

	// Both pipelines read the stream through a pipe from cat, as splunkd feeds the command (stdin a pipe, stdout
	// a pipe read by this process), alternately, so that they see the same load.
	var floor, cmd, cpu []time.Duration
	var rss []int64
	for i := 0; i < runs; i++ {
		d, _, _, _, err := pipeline(path, "wc", "-l")
		if err != nil {
			return fmt.Errorf("cat | wc -l: %w", err)
		}
		floor = append(floor, d)
		d, maxrss, c, out, err := pipeline(path, bin)
		if err != nil {
			return fmt.Errorf("cat | regasmdetect: %w", err)
		}
		cmd = append(cmd, d)
		cpu = append(cpu, c)
		rss = append(rss, maxrss)
		if i == 0 {
			if err := check(out, groups); err != nil {
				return err
			}
		}
	}
	mf, mc := median(floor), median(cmd)
	mb := float64(size) / 1e6
	fmt.Printf("cat stream | wc -l        median %8.3f s  %7.0f MB/s   runs %v\n", mf.Seconds(), mb/mf.Seconds(), secs(floor))
	fmt.Printf("cat stream | regasmdetect median %8.3f s  %7.0f MB/s   runs %v\n", mc.Seconds(), mb/mc.Seconds(), secs(cmd))
	fmt.Printf("pipe-fed, as splunkd runs it: %.0f%% of the pipe floor (target >= 80%%); %.0f k records/s; command CPU median %.3f s\n",
		100*mf.Seconds()/mc.Seconds(), float64(records)/mc.Seconds()/1e3, median(cpu).Seconds())
	fmt.Printf("peak RSS of regasmdetect: median %.1f MiB, max %.1f MiB (target <= 32 MiB)\n", float64(medianInt(rss))/1024, float64(slices.Max(rss))/1024)

	var probes []time.Duration
	for i := 0; i < 21; i++ {
		d, err := probe(bin)
		if err != nil {
			return fmt.Errorf("getinfo probe: %w", err)
		}
		probes = append(probes, d)
	}
	fmt.Printf("getinfo-only exchange (spawn, getinfo, reply, EOF, exit): median %.2f ms over %d runs (target < 5 ms)\n",
		float64(median(probes).Microseconds())/1000, len(probes))
	return getinfoAgainstHelloWorld(bin, 41) // getinfo.go
}

// generate writes the stream and returns its size and the number of distinct groups and matching records,
// counted here independently of the command.
func generate(path string, records, chunk int) (size int64, groups, matches int, err error) {
	f, err := os.Create(path)
	if err != nil {
		return 0, 0, 0, err
	}
	defer f.Close()
	w := bufio.NewWriterSize(f, 1<<20)
	w.Write(splunkdtest.Chunk(splunkdtest.GetInfo(nil, nil, "| regasmdetect"), nil))
	fields := []string{"_time", "Processes.dest", "Processes.user", "Processes.parent_process",
		"Processes.parent_process_name", "Processes.process_name", "Processes.process", "Processes.process_id",
		"Processes.parent_process_id", "Processes.process_path", "Processes.parent_process_path",
		"Processes.process_guid", "Processes.process_hash", "Processes.vendor_product"}
	rng := rand.New(rand.NewPCG(1, 2))
	seen := map[string]bool{}
	var body bytes.Buffer
	for start := 0; start < records; start += chunk {
		end := min(start+chunk, records)
		body.Reset()
		t := &splunkdtest.Table{Fields: fields}
		for i := start; i < end; i++ {
			host := fmt.Sprintf("WKS-%04d.corp.example", rng.IntN(2000))
			user := []string{`CORP\jdoe`, `CORP\müller`, `CORP\o'brien`, `NT AUTHORITY\SYSTEM`}[rng.IntN(4)]
			parent, child := "explorer.exe", []string{"cmd.exe", "powershell.exe", "conhost.exe", "chrome.exe"}[rng.IntN(4)]
			r := rng.IntN(1000)
			switch {
			case r < 5: // 0.5 % regasm parents, in mixed case
				parent = []string{"regasm.exe", "RegAsm.exe", "REGASM.EXE"}[rng.IntN(3)]
			case r < 8: // decoys
				parent = []string{"regasm.exe.bak", "xregasm.exe", "RegAsm.ex"}[rng.IntN(3)]
			}
			pid, ppid := strconv.Itoa(1000+rng.IntN(40)), strconv.Itoa(500+rng.IntN(10))
			pcmd := `"C:\Windows\Microsoft.NET\Framework64\v4.0.30319\` + parent + `" /U "C:\Users\Public\a,b.dll"`
			cmdline := child + ` /c "echo {x} & whoami"`
			rec := []string{strconv.Itoa(1700000000+i) + "." + strconv.Itoa(rng.IntN(1000)), host, user, pcmd, parent, child, cmdline, pid, ppid,
				`C:\Windows\System32\` + child, `C:\Windows\Microsoft.NET\Framework64\v4.0.30319\` + parent,
				fmt.Sprintf("{%08X-1234-5678-9ABC-%012X}", rng.Uint32(), rng.Uint64()&0xffffffffffff),
				fmt.Sprintf("SHA256=%064X", rng.Uint64()), "Microsoft Sysmon"}
			row := make([][]string, len(rec))
			for j, v := range rec {
				row[j] = []string{v}
			}
			t.Rows = append(t.Rows, row)
			if strings.EqualFold(parent, "regasm.exe") {
				matches++
				seen[strings.Join([]string{host, user, pcmd, child, cmdline, pid, ppid}, "\x00")] = true
			}
		}
		body.Write(t.EncodeCSV(t.Rows))
		w.Write(splunkdtest.Chunk(splunkdtest.ExecuteMeta(end == records), body.Bytes()))
	}
	if err := w.Flush(); err != nil {
		return 0, 0, 0, err
	}
	// Write the pages back now, so that no run is timed while the kernel flushes them.
	if err := f.Sync(); err != nil {
		return 0, 0, 0, err
	}
	st, err := f.Stat()
	if err != nil {
		return 0, 0, 0, err
	}
	return st.Size(), len(seen), matches, nil
}

// pipeline runs `cat path | prog args...` and returns the wall time, prog's peak RSS in KiB, its CPU time
// (user and system) and its stdout.
func pipeline(path, prog string, args ...string) (time.Duration, int64, time.Duration, []byte, error) {
	pr, pw, err := os.Pipe()
	if err != nil {
		return 0, 0, 0, nil, err
	}
	cat := exec.Command("cat", path)
	cat.Stdout = pw
	p := exec.Command(prog, args...)
	p.Stdin = pr
	var out bytes.Buffer
	p.Stdout = &out
	p.Stderr = os.Stderr
	start := time.Now()
	if err := cat.Start(); err != nil {
		return 0, 0, 0, nil, err
	}
	if err := p.Start(); err != nil {
		return 0, 0, 0, nil, err
	}
	pw.Close()
	pr.Close()
	peak := watchPeak(p.Process.Pid)
	errCat, errP := cat.Wait(), p.Wait()
	d := time.Since(start)
	hwm := peak()
	if errCat != nil {
		return 0, 0, 0, nil, errCat
	}
	if errP != nil {
		return 0, 0, 0, nil, errP
	}
	rss := hwm
	if rss == 0 {
		// No /proc: the child's rusage, which on Linux may include the parent's pages from before exec.
		if ru, ok := p.ProcessState.SysUsage().(*syscall.Rusage); ok {
			rss = ru.Maxrss
		}
	}
	return d, rss, p.ProcessState.UserTime() + p.ProcessState.SystemTime(), out.Bytes(), nil
}

// watchPeak samples the process's VmHWM (peak resident set since exec) in /proc until the returned function is
// called, which returns the last value seen in KiB (0 without /proc). The kernel keeps the high-water mark, so
// sampling misses nothing but the last milliseconds of the process's life, when it only releases memory. The
// child's rusage is not used: its ru_maxrss counts the parent's pages shared until exec.
func watchPeak(pid int) func() int64 {
	var mu sync.Mutex
	var peak int64
	done := make(chan struct{})
	finished := make(chan struct{})
	path := fmt.Sprintf("/proc/%d/status", pid)
	go func() {
		defer close(finished)
		for {
			if b, err := os.ReadFile(path); err == nil {
				for _, line := range strings.Split(string(b), "\n") {
					if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
						n, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
						mu.Lock()
						peak = max(peak, n)
						mu.Unlock()
					}
				}
			}
			select {
			case <-done:
				return
			case <-time.After(2 * time.Millisecond):
			}
		}
	}()
	return func() int64 {
		close(done)
		<-finished
		mu.Lock()
		defer mu.Unlock()
		return peak
	}
}

// check compares the command's final result with the groups counted while generating.
func check(out []byte, groups int) error {
	replies, err := splunkdtest.ParseReplies(out)
	if err != nil {
		return fmt.Errorf("command output: %w", err)
	}
	last := replies[len(replies)-1]
	if e := last.Error(); e != "" {
		return fmt.Errorf("command error: %s", e)
	}
	t, err := splunkdtest.DecodeCSV(last.Body)
	if err != nil {
		return err
	}
	if len(t.Rows) != groups {
		return fmt.Errorf("command returned %d rows, the generator counted %d groups", len(t.Rows), groups)
	}
	fmt.Printf("result: %d rows, as counted independently\n", len(t.Rows))
	return nil
}

// probe times a getinfo-only process: spawn, getinfo, reply, EOF, exit.
func probe(bin string) (time.Duration, error) {
	start := time.Now()
	p := exec.Command(bin)
	p.Stdin = bytes.NewReader(splunkdtest.Chunk(splunkdtest.GetInfo(nil, nil, "| regasmdetect"), nil))
	out, err := p.Output()
	d := time.Since(start)
	if err != nil {
		return 0, err
	}
	if !bytes.HasPrefix(out, []byte("chunked 1.0,")) {
		return 0, fmt.Errorf("unexpected reply %q", out)
	}
	return d, nil
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

func medianInt(xs []int64) int64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}

func secs(ds []time.Duration) string {
	parts := make([]string, len(ds))
	for i, d := range ds {
		parts[i] = strconv.FormatFloat(d.Seconds(), 'f', 3, 64)
	}
	return "[" + strings.Join(parts, " ") + "]"
}
