package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"time"

	"regasmdetect/src/internal/splunkdtest"
)

// The scale measurements generate their streams on the fly, through a pipe, as splunkd writes them: a 10 M
// record stream is about 5 GB and is never stored.

// shape says which records a generated stream holds.
type shape int

const (
	mixed    shape = iota // 0.5 % regasm parents, as the 1 M stream
	distinct              // every record a detection, each in its own group
	few                   // every record a detection, in 100 groups
)

var shapeNames = [...]string{"mixed (0.5% detections)", "every record a detection, each its own group", "every record a detection, 100 groups"}

// fastGen writes Splunk-quoted CSV records without formatting each one from scratch.
type fastGen struct {
	rng   *rand.Rand
	hosts []string
	users []string
	kids  []string
}

func newFastGen() *fastGen {
	g := &fastGen{rng: rand.New(rand.NewPCG(3, 4))}
	for i := 0; i < 2000; i++ {
		g.hosts = append(g.hosts, fmt.Sprintf(`"WKS-%04d.corp.example"`, i))
	}
	g.users = []string{`"CORP\jdoe"`, `"CORP\müller"`, `"CORP\o'brien"`, `"NT AUTHORITY\SYSTEM"`}
	g.kids = []string{"cmd.exe", "powershell.exe", "conhost.exe", "chrome.exe"}
	return g
}

const fastHeader = `"_time","Processes.dest","Processes.user","Processes.parent_process","Processes.parent_process_name",` +
	`"Processes.process_name","Processes.process","Processes.process_id","Processes.parent_process_id",` +
	`"Processes.process_path","Processes.parent_process_path","Processes.process_guid","Processes.process_hash","Processes.vendor_product"` + "\n"

// record appends record i of the stream and reports whether it is a detection and its group (-1: none counted
// here, the mixed shape's groups are counted by key).
func (g *fastGen) record(b []byte, i int, sh shape) (out []byte, match bool, key string) {
	parent := "explorer.exe"
	r := g.rng.IntN(1000)
	switch {
	case sh != mixed:
		parent = "RegAsm.exe"
	case r < 5:
		parent = [...]string{"regasm.exe", "RegAsm.exe", "REGASM.EXE"}[g.rng.IntN(3)]
	case r < 8:
		parent = [...]string{"regasm.exe.bak", "xregasm.exe", "RegAsm.ex"}[g.rng.IntN(3)]
	}
	match = sh != mixed || r < 5
	host, user := g.hosts[g.rng.IntN(len(g.hosts))], g.users[g.rng.IntN(len(g.users))]
	child := g.kids[g.rng.IntN(len(g.kids))]
	pid, ppid := 1000+g.rng.IntN(40), 500+g.rng.IntN(10)
	tag := 0 // makes the process command line, and so the group, distinct
	switch sh {
	case distinct:
		tag = i
		host, user, child, pid, ppid = g.hosts[0], g.users[0], g.kids[0], 1000, 500
	case few:
		tag = i % 100
		host, user, child, pid, ppid = g.hosts[0], g.users[0], g.kids[0], 1000, 500
	}
	b = strconv.AppendInt(b, int64(1700000000+i), 10)
	b = append(b, '.')
	b = strconv.AppendInt(b, int64(g.rng.IntN(1000)), 10)
	b = append(b, ',')
	b = append(b, host...)
	b = append(b, ',')
	b = append(b, user...)
	pstart := len(b)
	b = append(b, `,"""C:\Windows\Microsoft.NET\Framework64\v4.0.30319\`...)
	b = append(b, parent...)
	b = append(b, `"" /U ""C:\Users\Public\a,b.dll""","`...)
	b = append(b, parent...)
	b = append(b, `","`...)
	b = append(b, child...)
	b = append(b, `","`...)
	b = append(b, child...)
	b = append(b, ` /c ""echo {`...)
	b = strconv.AppendInt(b, int64(tag), 10)
	b = append(b, `} & whoami""",`...)
	b = strconv.AppendInt(b, int64(pid), 10)
	b = append(b, ',')
	b = strconv.AppendInt(b, int64(ppid), 10)
	kend := len(b)
	b = append(b, `,"C:\Windows\System32\`...)
	b = append(b, child...)
	b = append(b, `","C:\Windows\Microsoft.NET\Framework64\v4.0.30319\`...)
	b = append(b, parent...)
	b = append(b, `","{`...)
	b = appendHex(b, g.rng.Uint64(), 8)
	b = append(b, `-1234-5678-9ABC-`...)
	b = appendHex(b, g.rng.Uint64(), 12)
	b = append(b, `}","SHA256=`...)
	for k := 0; k < 4; k++ {
		b = appendHex(b, g.rng.Uint64(), 16)
	}
	b = append(b, `","Microsoft Sysmon"`+"\n"...)
	if match && sh == mixed {
		key = string(b[pstart:kend]) + "\x00" + host + "\x00" + user
	}
	return b, match, key
}

func appendHex(b []byte, v uint64, n int) []byte {
	const digits = "0123456789ABCDEF"
	for i := n - 1; i >= 0; i-- {
		b = append(b, digits[(v>>(4*uint(i)))&15])
	}
	return b
}

// writeStream writes a getinfo and records in chunks to w and returns the bytes written and the number of
// groups the command must find.
func writeStream(w io.Writer, records, chunk int, sh shape) (int64, int, error) {
	bw := bufio.NewWriterSize(w, 1<<20)
	n, _ := bw.Write(splunkdtest.Chunk(splunkdtest.GetInfo(nil, nil, "| regasmdetect"), nil))
	total := int64(n)
	g := newFastGen()
	keys := map[string]struct{}{}
	body := make([]byte, 0, 32<<20)
	for start := 0; start < records; start += chunk {
		end := min(start+chunk, records)
		body = append(body[:0], fastHeader...)
		for i := start; i < end; i++ {
			var key string
			body, _, key = g.record(body, i, sh)
			if key != "" {
				keys[key] = struct{}{}
			}
		}
		hdr := splunkdtest.Chunk(splunkdtest.ExecuteMeta(end == records), nil)
		hdr = bytes.Replace(hdr, []byte(",0\n"), []byte(","+strconv.Itoa(len(body))+"\n"), 1)
		for _, p := range [][]byte{hdr, body} {
			n, err := bw.Write(p)
			total += int64(n)
			if err != nil {
				return total, 0, err
			}
		}
	}
	if err := bw.Flush(); err != nil {
		return total, 0, err
	}
	switch sh {
	case distinct:
		return total, records, nil
	case few:
		return total, min(records, 100), nil
	}
	return total, len(keys), nil
}

// live runs the generator into prog's standard input through a pipe and returns the wall time, prog's peak
// RSS in KiB, its CPU time, its stdout (read into buf, emptied first) and the stream's size and groups; when ph
// is not nil, it gets when the stream was written and when the first MiB of output came.
//
// The caller passes the same buf to every run: a reply of hundreds of MB read into a fresh, growing buffer costs
// this process seconds of page faults on some machines (2 to 3.7 s for 436 MB on the shared 2-core VM), which
// the wall time would charge to the command. splunkd, which knows the body's length from the chunk header, does
// not grow a buffer either.
func live(buf *bytes.Buffer, ph *phases, records, chunk int, sh shape, prog string, args ...string) (d time.Duration, rss int64, cpu time.Duration, out []byte, size int64, groups int, err error) {
	p := exec.Command(prog, args...)
	stdin, err := p.StdinPipe()
	if err != nil {
		return
	}
	buf.Reset()
	tw := &timedWriter{w: buf}
	p.Stdout = tw
	p.Stderr = os.Stderr
	start := time.Now()
	tw.start = start
	if err = p.Start(); err != nil {
		return
	}
	peak := watchPeak(p.Process.Pid)
	size, groups, werr := writeStream(stdin, records, chunk, sh)
	written := time.Since(start)
	stdin.Close()
	perr := p.Wait()
	d = time.Since(start)
	if ph != nil {
		*ph = phases{written: written, firstMB: tw.first}
	}
	rss = peak()
	if werr != nil {
		err = fmt.Errorf("write stream: %w", werr)
		return
	}
	if perr != nil {
		err = perr
		return
	}
	cpu = p.ProcessState.UserTime() + p.ProcessState.SystemTime()
	return d, rss, cpu, buf.Bytes(), size, groups, nil
}

// scale measures the command on streams generated on the fly: records of the mixed shape against the
// generator's own floor (generator | wc -l) with peak RSS, to show memory flat in the input size; and the
// reduce phase with many distinct groups against few groups.
func scale(bin string, records []int, groups, runs int) error {
	var out bytes.Buffer // reused by every run (see live)
	for _, n := range records {
		var floor, cmd []time.Duration
		var rss []int64
		var size int64
		for i := 0; i < runs; i++ {
			d, _, _, _, _, _, err := live(&out, nil, n, 50_000, mixed, "wc", "-l")
			if err != nil {
				return fmt.Errorf("generator | wc -l: %w", err)
			}
			floor = append(floor, d)
			d, r, _, out, sz, want, err := live(&out, nil, n, 50_000, mixed, bin)
			if err != nil {
				return fmt.Errorf("generator | regasmdetect: %w", err)
			}
			size = sz
			if i == 0 {
				if err := check(out, want); err != nil {
					return err
				}
			}
			cmd = append(cmd, d)
			rss = append(rss, r)
		}
		mf, mc := median(floor), median(cmd)
		fmt.Printf("%d records, %.2f GB generated through a pipe: generator | wc -l %.3f s, generator | regasmdetect %.3f s (%.0f%% of the floor), peak RSS median %.1f MiB, max %.1f MiB (runs %v / %v)\n",
			n, float64(size)/1e9, mf.Seconds(), mc.Seconds(), 100*mf.Seconds()/mc.Seconds(),
			float64(medianInt(rss))/1024, float64(slices.Max(rss))/1024, secs(floor), secs(cmd))
	}
	if groups <= 0 {
		return nil
	}
	type res struct {
		d, cpu, written, firstMB time.Duration
		rss                      int64
	}
	measure := func(sh shape) (res, error) {
		var ds, cpus, written, firsts []time.Duration
		var rss []int64
		// Run 0 is not timed: it checks the result, and the reply buffer grows to the result's size there (a
		// 436 MB buffer grown while reading costs this process seconds of page faults, which the wall time
		// would charge to the command; splunkd knows a reply's length from its header).
		for i := 0; i <= runs; i++ {
			var ph phases
			d, r, cpu, out, _, want, err := live(&out, &ph, groups, 50_000, sh, bin)
			if err != nil {
				return res{}, err
			}
			if i == 0 {
				if err := check(out, want); err != nil {
					return res{}, err
				}
				continue
			}
			ds, cpus, rss = append(ds, d), append(cpus, cpu), append(rss, r)
			written, firsts = append(written, ph.written), append(firsts, ph.firstMB)
		}
		return res{median(ds), median(cpus), median(written), median(firsts), medianInt(rss)}, nil
	}
	// Interleaved, so that both see the same load.
	fewR, err := measure(few)
	if err != nil {
		return err
	}
	manyR, err := measure(distinct)
	if err != nil {
		return err
	}
	for _, x := range []struct {
		sh shape
		r  res
	}{{few, fewR}, {distinct, manyR}} {
		fmt.Printf("%d records, %s: median %.3f s (%.0f k records/s), CPU %.3f s, peak RSS %.1f MiB\n", groups, shapeNames[x.sh],
			x.r.d.Seconds(), float64(groups)/x.r.d.Seconds()/1e3, x.r.cpu.Seconds(), float64(x.r.rss)/1024)
		if x.r.firstMB > 0 {
			fmt.Printf("  stream written at %.3f s, first MiB of the result at %.3f s (medians)\n", x.r.written.Seconds(), x.r.firstMB.Seconds())
		}
	}
	fmt.Printf("%d distinct groups at %.0f%% of the few-groups throughput (target >= 50%%), within the default max_mem_usage_mb=200\n",
		groups, 100*fewR.d.Seconds()/manyR.d.Seconds())
	return nil
}

// phases are the moments of a run, from its start: the whole stream written (the command has taken all but the
// pipe's buffer), and the first MiB of output read (a large result is being written).
type phases struct{ written, firstMB time.Duration }

// timedWriter notes when the first MiB is written through it.
type timedWriter struct {
	w     io.Writer
	n     int
	start time.Time
	first time.Duration
}

func (t *timedWriter) Write(p []byte) (int, error) {
	t.n += len(p)
	if t.first == 0 && t.n > 1<<20 {
		t.first = time.Since(t.start)
	}
	return t.w.Write(p)
}
