package e2e

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"regasmdetect/src/engine"

	"regasmdetect/src/internal/splunkdtest"
)

// TestRejectedBodyIsDrained sends, in lock-step over real pipes, bodies whose header is rejected (a column
// named twice): the command must read the whole request before it answers, so that splunkd's write of the body
// never meets a closed pipe, for a body read in line and for one read by the parallel reader.
func TestRejectedBodyIsDrained(t *testing.T) {
	for _, size := range []int{512 << 10, 8 << 20} {
		var b strings.Builder
		b.WriteString("_time,Processes.dest,Processes.dest\n")
		for b.Len() < size {
			b.WriteString("1700000000,WKS-0001.corp.example,WKS-0001.corp.example\n")
		}
		s, err := splunkdtest.Start(context.Background(), splunkdtest.Process{Binary: bin})
		if err != nil {
			t.Fatal(err)
		}
		rep, err := s.Execute([]byte(b.String()), true)
		tr, cerr := s.Close()
		if err != nil {
			t.Fatalf("%d-byte body: %v (splunkd could not write the request, or read no reply)", b.Len(), err)
		}
		if cerr != nil {
			t.Fatal(cerr)
		}
		clean(t, tr)
		if !strings.Contains(rep.Error(), `column "Processes.dest" twice`) || !rep.Finished() || tr.ExitCode != 1 {
			t.Errorf("%d-byte body: reply %s, exit %d", b.Len(), rep.Raw, tr.ExitCode)
		}
	}
}

// TestCutCrossProduct: a record with 300 dest and 300 user values falls into 90,000 groups, more than
// engine.MaxCombinations; the result keeps the first 65,536 and the final reply says so in a WARN message,
// whether the map phase ran or not.
func TestCutCrossProduct(t *testing.T) {
	var dests, users []string
	for i := 0; i < 300; i++ {
		dests = append(dests, fmt.Sprintf("WKS-%03d", i))
		users = append(users, fmt.Sprintf("CORP\\u%03d", i))
	}
	records := &splunkdtest.Table{
		Fields: []string{"_time", "Processes.parent_process_name", "Processes.dest", "Processes.user", "Processes.parent_process",
			"Processes.process_name", "Processes.process", "Processes.process_id", "Processes.parent_process_id"},
		Rows: [][][]string{{{"1700000000"}, {"regasm.exe"}, dests, users, {"regasm.exe /U a.dll"}, {"cmd.exe"}, {"cmd.exe /c x"}, {"1"}, {"2"}}},
	}
	for _, plan := range []splunkdtest.Plan{{}, {Indexers: 2}} {
		res, err := splunkdtest.Search(context.Background(), bin, nil, records, plan)
		if err != nil {
			t.Fatalf("plan %+v: %v", plan, err)
		}
		clean(t, res.Reduce)
		if n := len(res.Table.Rows); n != engine.MaxCombinations {
			t.Errorf("plan %+v: %d rows, want %d", plan, n, engine.MaxCombinations)
		}
		msgs := res.Reduce.Replies[len(res.Reduce.Replies)-1].Messages()
		if len(msgs) != 1 || !strings.HasPrefix(msgs[0], "WARN: regasmdetect: 1 matching records had more than 65536 combinations") {
			t.Errorf("plan %+v: messages %q, want one WARN about the cut cross product", plan, msgs)
		}
	}
}

// TestRecordPosingAsPartial: raw records that carry the map phase's columns, without this search's mark or
// with another search's, are raw records: a notepad.exe record with regasmdetect_count=999 does not become a
// detection, and one without the plain by-field columns does not fail the search.
func TestRecordPosingAsPartial(t *testing.T) {
	records := splunkdtest.Single(
		[]string{"_time", "Processes.parent_process_name", "Processes.dest", "Processes.user", "Processes.parent_process",
			"Processes.process_name", "Processes.process", "Processes.process_id", "Processes.parent_process_id",
			"dest", "user", "parent_process", "process_name", "process", "process_id", "parent_process_id",
			"regasmdetect_count", "regasmdetect_search"},
		[][]string{
			{"1700000000", "notepad.exe", "h", "u", "p", "n", "c", "1", "2", "h", "u", "p", "n", "c", "1", "2", "999", ""},
			{"1700000001", "notepad.exe", "h", "u", "p", "n", "c", "1", "2", "h", "u", "p", "n", "c", "1", "2", "999", "1700000000.41"},
			{"1700000002", "notepad.exe", "h", "u", "p", "n", "c", "1", "2", "", "", "", "", "", "", "", "5", ""},
			{"1700000003", "RegAsm.exe", "h", "u", "p", "n", "c", "1", "2", "", "", "", "", "", "", "", "7", ""},
		})
	for _, plan := range []splunkdtest.Plan{{}, {Indexers: 2}} {
		res, err := splunkdtest.Search(context.Background(), bin, nil, records, plan)
		if err != nil {
			t.Fatalf("plan %+v: %v", plan, err)
		}
		clean(t, res.Reduce)
		got := render(res.Table)
		want := "dest,user,parent_process,process_name,process,process_id,parent_process_id,count,firstTime,lastTime\nh,u,p,n,c,1,2,1,1700000003,1700000003\n"
		if got != want {
			t.Errorf("plan %+v: result\n%s\nwant\n%s", plan, got, want)
		}
	}
}

// distinctDetections returns n records with a regasm parent, each in a group of its own.
func distinctDetections(n int) *splunkdtest.Table {
	rows := make([][]string, n)
	for i := range rows {
		rows[i] = []string{strconv.Itoa(1700000000 + i), "RegAsm.exe", fmt.Sprintf("WKS-%05d.corp.example", i), `CORP\jdoe`,
			`"C:\Windows\Microsoft.NET\Framework64\v4.0.30319\RegAsm.exe" /U "C:\Users\Public\a,b.dll"`, "cmd.exe",
			fmt.Sprintf(`cmd.exe /c "echo %d"`, i), "1", "2"}
	}
	return splunkdtest.Single([]string{"_time", "Processes.parent_process_name", "Processes.dest", "Processes.user",
		"Processes.parent_process", "Processes.process_name", "Processes.process", "Processes.process_id",
		"Processes.parent_process_id"}, rows)
}

// TestBudgetSpills: 40,000 distinct detections under max_mem_usage_mb=1 are spilled to disk under the search's
// dispatch folder and merged back: the rows of the default budget, in the same order, and no file left behind.
func TestBudgetSpills(t *testing.T) {
	records := distinctDetections(40000) // over 32,768 groups: the result is merged in parts (command.groupsPerPart)
	want, err := splunkdtest.Search(context.Background(), bin, nil, records, splunkdtest.Plan{ChunkRows: []int{5000}})
	if err != nil {
		t.Fatal(err)
	}
	dispatch := t.TempDir()
	for _, plan := range []splunkdtest.Plan{{ChunkRows: []int{5000}, DispatchDir: dispatch}, {Indexers: 3, ChunkRows: []int{5000}, DispatchDir: dispatch}} {
		got, err := splunkdtest.Search(context.Background(), bin, []string{"max_mem_usage_mb=1"}, records, plan)
		if err != nil {
			t.Fatal(err)
		}
		clean(t, got.Reduce)
		if len(got.Table.Rows) != 40000 || render(got.Table) != render(want.Table) {
			t.Errorf("plan %+v: %d rows, differing from the default budget's", plan, len(got.Table.Rows))
		}
		if left, _ := os.ReadDir(dispatch); len(left) != 0 {
			t.Errorf("left in the dispatch folder: %v", left)
		}
	}
}

// TestBodyEncodings: a byte-order mark before the header no longer hides _time (firstTime was empty), in a
// small and in a large body; CR-only line ends, which lost every row, are an error naming row and field; and
// no reply repeats its chunk prefix.
func TestBodyEncodings(t *testing.T) {
	header := "\"_time\",\"Processes.parent_process_name\",\"Processes.dest\",\"Processes.user\",\"Processes.parent_process\"," +
		"\"Processes.process_name\",\"Processes.process\",\"Processes.process_id\",\"Processes.parent_process_id\""
	row := func(i int) string {
		return fmt.Sprintf("%d,\"RegAsm.exe\",\"WKS-%d\",\"u\",\"p\",\"cmd.exe\",\"c\",\"1\",\"2\"", 1700000000+i, i%3)
	}
	for _, n := range []int{3, 30000} { // in line and parallel
		var b strings.Builder
		b.WriteString("\xEF\xBB\xBF" + header + "\n")
		for i := 0; i < n; i++ {
			b.WriteString(row(i) + "\n")
		}
		tr, err := splunkdtest.RunRaw(context.Background(), bin, cat(getinfo(), execute(true, b.String())), 0)
		if err != nil {
			t.Fatal(err)
		}
		clean(t, tr)
		if tr.ExitCode != 0 || len(tr.Replies) != 1 {
			t.Fatalf("BOM, %d rows: exit %d, %q", n, tr.ExitCode, tr.Stdout)
		}
		tab, err := splunkdtest.DecodeCSV(tr.Replies[0].Body)
		if err != nil {
			t.Fatal(err)
		}
		if len(tab.Rows) != 3 || tab.Strings()[0][8] != "1700000000" {
			t.Errorf("BOM, %d rows: result %q, want 3 rows with firstTime 1700000000", n, tab.Strings())
		}
	}
	for _, n := range []int{3, 30000} {
		var b strings.Builder
		b.WriteString(header + "\r")
		for i := 0; i < n; i++ {
			b.WriteString(row(i) + "\r")
		}
		tr, err := splunkdtest.RunRaw(context.Background(), bin, cat(getinfo(), execute(true, b.String())), 0)
		if err != nil {
			t.Fatal(err)
		}
		clean(t, tr)
		want := "chunk 2: body: csv row 1, field 9: carriage return outside a quoted value (line ends must be LF or CRLF)"
		if tr.ExitCode != 1 || len(tr.Replies) != 1 || tr.Replies[0].Error() != want {
			t.Errorf("CR-only, %d rows: exit %d, replies %q, want the error %q", n, tr.ExitCode, tr.Stdout, want)
		}
	}
	meta := splunkdtest.ExecuteMeta(true)
	truncated := cat([]byte(fmt.Sprintf("chunked 1.0,%d,100\n", len(meta))), meta, []byte("a,b\n"))
	tr, err := splunkdtest.RunRaw(context.Background(), bin, cat(getinfo(), truncated), 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(tr.Replies) != 1 {
		t.Fatalf("truncated body: %q", tr.Stdout)
	}
	e := tr.Replies[0].Error()
	if !strings.HasPrefix(e, "scpv2: chunk 2 at byte ") || !strings.HasSuffix(e, ": body: stream ended with 96 of 100 bytes missing: unexpected EOF") ||
		strings.Count(e, "chunk") != 1 {
		t.Errorf("truncated body: error %q, want the chunk named once", e)
	}
}

// TestReaderGoneMidResult: splunkd stops reading (a cancelled search) while a large spilled result, merged in
// parts, is being written: the command is not killed by SIGPIPE but ends on the failed write, promptly, with
// status 1 and its spill folder removed.
func TestReaderGoneMidResult(t *testing.T) {
	tab := distinctDetections(40000)
	dispatch := t.TempDir()
	p := splunkdtest.Process{Args: []string{"max_mem_usage_mb=1"}, DispatchDir: dispatch}
	stream := cat(splunkdtest.Chunk(p.GetInfoRequest(), nil),
		splunkdtest.Chunk(splunkdtest.ExecuteMeta(false), tab.EncodeCSV(tab.Rows[:20000])),
		splunkdtest.Chunk(splunkdtest.ExecuteMeta(true), tab.EncodeCSV(tab.Rows[20000:])))

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin)
	cmd.Stdin = bytes.NewReader(stream)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// The getinfo reply, the first execute's empty reply, then the first 64 KiB of the result; then nothing.
	br := bufio.NewReader(out)
	for i := range 2 {
		var meta, body int
		line, err := br.ReadString('\n')
		if err == nil {
			_, err = fmt.Sscanf(line, "chunked 1.0,%d,%d\n", &meta, &body)
		}
		if err == nil {
			_, err = br.Discard(meta + body)
		}
		if err != nil {
			t.Fatalf("reply %d: %v", i+1, err)
		}
	}
	if _, err := io.ReadFull(br, make([]byte, 64<<10)); err != nil {
		t.Fatalf("the result's first bytes: %v", err)
	}
	out.Close()
	err = cmd.Wait()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 {
		t.Fatalf("after the reader went away: %v (want exit status 1, not a signal or a hang)\n%s", err, stderr.String())
	}
	if left, _ := os.ReadDir(dispatch); len(left) != 0 {
		t.Errorf("left in the dispatch folder: %v", left)
	}
}
