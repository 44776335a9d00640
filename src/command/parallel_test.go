package command

import (
	"bytes"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

	"regasmdetect/src/internal/splunkdtest"
)

// tricky builds records that stress block cutting: quoted newlines and commas, multivalue fields, empty
// values, one row longer than several blocks.
func tricky(seed uint64, n int) *splunkdtest.Table {
	rng := rand.New(rand.NewPCG(seed, 3))
	fields := []string{"_time", "Processes.dest", "Processes.user", "Processes.parent_process", "Processes.parent_process_name",
		"Processes.process_name", "Processes.process", "Processes.process_id", "Processes.parent_process_id"}
	t := &splunkdtest.Table{Fields: fields}
	pick := func(xs ...string) string { return xs[rng.IntN(len(xs))] }
	for i := 0; i < n; i++ {
		proc := pick(`cmd.exe /c "a, b"`, "powershell\n-enc \"AA\"", "x", "")
		if i == n/2 {
			proc = strings.Repeat("long \"quoted\", value\n", 2000) // about 44 KB
		}
		rec := [][]string{
			{strconv.Itoa(1700000000 + i)}, {pick("WKS-1", "wks-2")}, {pick(`CORP\jdoe`, `CORP\müller`)},
			{pick(`regasm.exe /U "a,b.dll"`, "x\ny")}, {pick("regasm.exe", "RegAsm.exe", "explorer.exe", "cmd.exe")},
			{pick("cmd.exe", "conhost.exe")}, nil, {pick("1", "2", "3")}, {pick("10", "20", "")},
		}
		if proc != "" {
			rec[6] = []string{proc}
		}
		if rng.IntN(7) == 0 {
			rec[4] = []string{"regasm.exe", pick("cmd.exe", "RegAsm.exe")}
		}
		if rec[8][0] == "" {
			rec[8] = nil
		}
		t.Rows = append(t.Rows, rec)
	}
	return t
}

func streamOf(args []string, bodies ...[]byte) []byte {
	out := splunkdtest.Chunk(splunkdtest.GetInfo(args, nil, "| regasmdetect"), nil)
	for i, b := range bodies {
		out = append(out, splunkdtest.Chunk(splunkdtest.ExecuteMeta(i == len(bodies)-1), b)...)
	}
	return out
}

// runWith runs the command on stream with the parallel reader on or off, and small blocks.
func runWith(t *testing.T, stream []byte, parallel bool) (string, int) {
	t.Helper()
	savedMin, savedBlock := parallelMin, blockSize
	defer func() { parallelMin, blockSize = savedMin, savedBlock }()
	parallelMin, blockSize = 1<<62, 4096
	if parallel {
		parallelMin = 0
	}
	var out bytes.Buffer
	code := Run(bytes.NewReader(stream), &out)
	return out.String(), code
}

// TestParallelMatchesSerial: the parallel reader gives the very bytes the in-line reader gives, in both
// phases, over many small blocks, rows cut anywhere, a row longer than a block, and empty bodies.
func TestParallelMatchesSerial(t *testing.T) {
	for seed := uint64(1); seed <= 4; seed++ {
		tab := tricky(seed, 3000)
		bodies := [][]byte{tab.EncodeCSV(tab.Rows[:1000]), nil, tab.EncodeCSV(tab.Rows[1000:1001]), tab.EncodeCSV(tab.Rows[1001:]), tab.EncodeCSV(nil)}
		for _, args := range [][]string{nil, {"annotate=t", "fillnull_value=NULL"}, {"phase=map", "sid=1700000000.42", "annotate=t"}} {
			stream := streamOf(args, bodies...)
			serial, code1 := runWith(t, stream, false)
			par, code2 := runWith(t, stream, true)
			if code1 != 0 || code2 != 0 {
				t.Fatalf("seed %d %v: exit %d and %d: %s", seed, args, code1, code2, par)
			}
			if serial != par {
				t.Fatalf("seed %d %v: parallel output differs:\n%.2000s\nserial:\n%.2000s", seed, args, par, serial)
			}
			if !strings.Contains(serial, "regasm") {
				t.Fatalf("seed %d %v: no result rows: %.500s", seed, args, serial)
			}
		}
	}
}

// TestParallelErrors: an error deep in a large body is reported with the same text, row number included,
// whichever reader found it.
func TestParallelErrors(t *testing.T) {
	tab := tricky(9, 4000)
	good := tab.EncodeCSV(tab.Rows)
	lines := strings.SplitAfter(string(good), "\n")
	// Cut a row-aligned prefix of about 3/4 of the body, then append a bad row and a few good ones.
	prefix := strings.Join(lines[:len(lines)*3/4], "")
	for _, bad := range []string{
		`1,"WKS-1",x,y,re"gasm.exe,cmd.exe,c,1,2,,,,,,,,,` + "\n",
		`1,"WKS-1",x` + "\n",
		`1,"WKS-1",x,y,regasm.exe,cmd.exe,c,1,2,,,,,"$a",,,,` + "\n",
		`1,"WKS-1",x,y,"regasm.exe` + "\n",
	} {
		body := []byte(prefix + bad + strings.Join(lines[1:20], ""))
		stream := streamOf(nil, good, body)
		serial, code1 := runWith(t, stream, false)
		par, code2 := runWith(t, stream, true)
		if code1 == 0 || code2 == 0 {
			t.Fatalf("bad row %q accepted", bad)
		}
		if serial != par {
			t.Errorf("bad row %q:\nparallel %q\nserial   %q", bad, par[strings.LastIndex(par, "chunked"):], serial[strings.LastIndex(serial, "chunked"):])
		}
		if !strings.Contains(serial, "chunk 3: body") {
			t.Errorf("error does not name chunk 3: %q", serial)
		}
	}
}

// FuzzParallel: for any body, the parallel reader answers exactly as the in-line reader does.
func FuzzParallel(f *testing.F) {
	tab := tricky(5, 40)
	f.Add(tab.EncodeCSV(tab.Rows), false)
	f.Add([]byte("\"Processes.parent_process_name\",dest\nregasm.exe,\"a\nb\"\n\r\nRegAsm.exe,x"), true)
	f.Add([]byte("\n\r\nparent_process_name,dest,user,parent_process,process_name,process,process_id,parent_process_id\nregasm.exe,h,u,p,n,c,1,2\n"), false)
	f.Fuzz(func(t *testing.T, body []byte, mapPhase bool) {
		var args []string
		if mapPhase {
			args = []string{"phase=map", "sid=1700000000.42"}
		}
		stream := streamOf(args, body, body)
		serial, code1 := runWith(t, stream, false)
		par, code2 := runWith(t, stream, true)
		if serial != par || code1 != code2 {
			t.Fatalf("parallel (exit %d):\n%q\nserial (exit %d):\n%q", code2, par, code1, serial)
		}
	})
}

// TestParallelTruncated: a large body cut short by EOF fails the same way with either reader.
func TestParallelTruncated(t *testing.T) {
	tab := tricky(11, 3000)
	stream := streamOf(nil, tab.EncodeCSV(tab.Rows))
	for _, cut := range []int{len(stream) - 1, len(stream) - 5000, len(stream) / 2} {
		serial, code1 := runWith(t, stream[:cut], false)
		par, code2 := runWith(t, stream[:cut], true)
		if code1 == 0 || code2 == 0 || serial != par {
			t.Fatalf("cut at %d: exit %d/%d\nparallel %q\nserial   %q", cut, code2, code1, par[strings.LastIndex(par, "chunked"):], serial[strings.LastIndex(serial, "chunked"):])
		}
		if !strings.Contains(serial, "missing") && !strings.Contains(serial, "EOF") {
			t.Errorf("cut at %d: error does not say the stream ended: %q", cut, serial[strings.LastIndex(serial, "chunked"):])
		}
	}
}
