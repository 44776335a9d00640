package e2e

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"testing"

	"regasmdetect/src/cim"
	"regasmdetect/src/internal/shared"
	"regasmdetect/src/internal/splunkdtest"
	"regasmdetect/src/scpv2"
)

func getinfo(args ...string) []byte {
	return splunkdtest.Chunk(splunkdtest.GetInfo(args, nil, "| regasmdetect"), nil)
}

func execute(finished bool, body string) []byte {
	return splunkdtest.Chunk(splunkdtest.ExecuteMeta(finished), []byte(body))
}

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

// TestGetInfoReplies checks the exact getinfo replies of both phases.
func TestGetInfoReplies(t *testing.T) {
	tr, err := splunkdtest.RunRaw(context.Background(), bin, getinfo("phase=map", "sid=1700000000.42", "detection=detect_regasm_spawning_a_process"), 0)
	if err != nil {
		t.Fatal(err)
	}
	clean(t, tr)
	if want := "chunked 1.0,20,0\n{\"type\":\"streaming\"}"; string(tr.Stdout) != want {
		t.Errorf("map getinfo reply = %q, want %q", tr.Stdout, want)
	}
	if tr.ExitCode != 0 {
		t.Errorf("probe exit = %d, want 0", tr.ExitCode)
	}

	tr, err = splunkdtest.RunRaw(context.Background(), bin, getinfo("fillnull_value=n \"x\\", "annotate=t"), 0)
	if err != nil {
		t.Fatal(err)
	}
	clean(t, tr)
	var reply struct {
		Type           string   `json:"type"`
		RequiredFields []string `json:"required_fields"`
		StreamingPreop string   `json:"streaming_preop"`
	}
	if err := json.Unmarshal(tr.GetInfo.Raw, &reply); err != nil {
		t.Fatal(err)
	}
	if reply.Type != "reporting" {
		t.Errorf("type = %q, want reporting", reply.Type)
	}
	if want := `regasmdetect phase=map sid="1700000000.42" detection="detect_regasm_spawning_a_process" fillnull_value="n \"x\\" annotate=true`; reply.StreamingPreop != want {
		t.Errorf("streaming_preop = %q, want %q", reply.StreamingPreop, want)
	}
	// The preop, tokenised as splunkd does, gives back the user's value.
	args, _, err := splunkdtest.Tokenize(reply.StreamingPreop)
	if err != nil || args[4] != `fillnull_value=n "x\` {
		t.Errorf("preop tokens = %q (%v)", args, err)
	}
	need := []string{"_time", "Processes.parent_process_name", "parent_process_name", "Processes.dest", "dest",
		"Processes.parent_process_id", "parent_process_id", cim.PartialCount, cim.PartialFirstTime,
		cim.PartialLastTime, cim.PartialRecords, cim.PartialNullDropped}
	for _, f := range need {
		found := false
		for _, g := range reply.RequiredFields {
			found = found || g == f
		}
		if !found {
			t.Errorf("required_fields %q lacks %q", reply.RequiredFields, f)
		}
	}
}

// TestErrors runs every bad input of the contract through the real binary: one error reply with
// finished:true, nothing after it, a non-zero exit, quiet stderr.
func TestErrors(t *testing.T) {
	okHeader := "\"_time\",\"Processes.parent_process_name\",\"Processes.dest\"\n"
	cases := []struct {
		name  string
		in    []byte
		want  string
		reply int // index of the error reply: 0 = getinfo
	}{
		{"unknown option", getinfo("bogus=1"), `unknown option "bogus"`, 0},
		{"positional argument", getinfo("dest"), `unexpected argument "dest"`, 0},
		{"bad boolean", getinfo("annotate=maybe"), `annotate="maybe": want a boolean`, 0},
		{"unknown detection", getinfo("detection=nope"), `detection="nope"`, 0},
		{"option twice", getinfo("annotate=t", "annotate=f"), "given twice", 0},
		{"bad phase", getinfo("phase=shuffle"), `phase="shuffle"`, 0},
		{"empty fillnull", getinfo("fillnull_value="), "fillnull_value needs", 0},
		{"execute first", execute(true, ""), "expected action getinfo first", 0},
		{"invalid JSON getinfo", []byte("chunked 1.0,9,0\n{\"action\""), "", 0},
		{"getinfo with a body", splunkdtest.Chunk(splunkdtest.GetInfo(nil, nil, ""), []byte("a\n1\n")), "carries a 4-byte body", 0},
		{"malformed header", cat(getinfo(), []byte("chunked 1.0,abc,12\n")), "chunk 2", 1},
		{"not a chunk", cat(getinfo(), []byte("hello\n")), "chunk 2", 1},
		{"truncated body", cat(getinfo(), []byte("chunked 1.0,37,100\n{\"action\":\"execute\",\"finished\":true}a,b\n")), "chunk 2", 1},
		{"truncated metadata", cat(getinfo(), []byte("chunked 1.0,37,0\n{\"action\"")), "chunk 2", 1},
		{"metadata over the limit", cat(getinfo(), []byte("chunked 1.0,999999999999,0\n")), "chunk 2", 1},
		{"body over the limit", cat(getinfo(), []byte("chunked 1.0,2,99999999999999\n{}")), "chunk 2", 1},
		{"invalid JSON execute", cat(getinfo(), splunkdtest.Chunk([]byte("{\"action\":execute}"), nil)), "chunk 2", 1},
		{"unexpected action", cat(getinfo(), splunkdtest.Chunk([]byte(`{"action":"getinfo"}`), nil)), `expected action execute, got "getinfo"`, 1},
		{"bare quote", cat(getinfo(), execute(true, okHeader+"1,re\"gasm.exe,h\n")), "chunk 2", 1},
		{"short row", cat(getinfo(), execute(true, okHeader+"1,regasm.exe\n")), "chunk 2", 1},
		{"unterminated quote", cat(getinfo(), execute(true, okHeader+"1,\"regasm.exe,h\n")), "chunk 2", 1},
		{"bad multivalue", cat(getinfo(), execute(true, "\"Processes.parent_process_name\",\"__mv_Processes.parent_process_name\"\n\"a\",\"$a\"\n")), "multivalue", 1},
		{"bad partial count", cat(getinfo(), execute(true, "dest,user,parent_process,process_name,process,process_id,parent_process_id,regasmdetect_count,regasmdetect_search\nh,u,p,n,c,1,2,x,1700000000.42\n")), "regasmdetect_count", 1},
		{"partial count overflow", cat(getinfo(), execute(true, "dest,user,parent_process,process_name,process,process_id,parent_process_id,regasmdetect_count,regasmdetect_search\nh,u,p,n,c,1,2,18446744073709551615,1700000000.42\nh,u,p,n,c,1,2,1,1700000000.42\n")), "overflows", 1},
		{"counter overflow", cat(getinfo(), execute(true, "regasmdetect_records,regasmdetect_search\n18446744073709551615,1700000000.42\n1,1700000000.42\n")), "overflow", 1},
		{"map phase without sid", getinfo("phase=map"), "needs sid", 0},
		{"error after good chunks", cat(getinfo(), execute(false, okHeader+"1,regasm.exe,h\n"), execute(true, okHeader+"1,\"x\n")), "chunk 3", 2},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tr, err := splunkdtest.RunRaw(context.Background(), bin, c.in, 0)
			if err != nil {
				t.Fatalf("%v (stdout %q)", err, tr.Stdout)
			}
			clean(t, tr)
			if tr.ExitCode == 0 {
				t.Errorf("exit status 0, want non-zero")
			}
			replies := append([]splunkdtest.Reply{tr.GetInfo}, tr.Replies...)
			if len(replies) != c.reply+1 {
				t.Fatalf("%d replies, want %d: %q", len(replies), c.reply+1, tr.Stdout)
			}
			rep := replies[c.reply]
			if !rep.Finished() || rep.Error() == "" {
				t.Fatalf("reply %s: want finished:true with an error", rep.Raw)
			}
			if !strings.Contains(rep.Error(), c.want) {
				t.Errorf("error %q does not contain %q", rep.Error(), c.want)
			}
			if len(rep.Body) != 0 {
				t.Errorf("error reply carries a body: %q", rep.Body)
			}
		})
	}
}

// TestEmptyInput: no request at all is not a session: nothing written, a non-zero exit, one line on stderr.
func TestEmptyInput(t *testing.T) {
	tr, err := splunkdtest.RunRaw(context.Background(), bin, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(tr.Stdout) != 0 || tr.ExitCode == 0 || len(tr.Stderr) == 0 {
		t.Errorf("stdout %q, exit %d, stderr %q", tr.Stdout, tr.ExitCode, tr.Stderr)
	}
}

// TestProbe: a process that gets only the getinfo exchange exits 0 after one reply.
func TestProbe(t *testing.T) {
	tr, err := splunkdtest.RunRaw(context.Background(), bin, getinfo(), 0)
	if err != nil {
		t.Fatal(err)
	}
	clean(t, tr)
	if tr.ExitCode != 0 || len(tr.Replies) != 0 || tr.GetInfo.Error() != "" {
		t.Errorf("exit %d, replies %d, getinfo %s", tr.ExitCode, len(tr.Replies), tr.GetInfo.Raw)
	}
}

// chunks splits a recorded stream into its chunks (metadata, body).
func chunks(t *testing.T, data []byte) [][2][]byte {
	t.Helper()
	r := scpv2.NewReader(bytes.NewReader(data))
	var out [][2][]byte
	for {
		meta, err := r.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(r.Body())
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, [2][]byte{append([]byte(nil), meta...), body})
	}
}

func gunzip(t *testing.T, path string) []byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	data, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// TestRecordings feeds real splunkd execute chunks to the command in its map phase, whose counters row says how
// many records the chunks held: every row of every chunk must be counted, across multibyte text.
func TestRecordings(t *testing.T) {
	cases := []struct {
		path string
		rows []uint64
	}{
		{"data/scpv2/splunk-8.0.3/multibyte_input.gz", []uint64{6638, 5861, 1, 6574, 5926, 6412, 6088, 1741, 1441}},
		{"data/scpv2/splunk-6.3/sum.map.input.gz", []uint64{50000}},
		{"data/scpv2/splunk-6.3/countmatches.input", []uint64{500}},
		{"data/scpv2/splunk-6.3/sum.reduce.input", []uint64{1}},
	}
	for _, c := range cases {
		t.Run(c.path, func(t *testing.T) {
			p := shared.Path(t, c.path)
			var data []byte
			if strings.HasSuffix(p, ".gz") {
				data = gunzip(t, p)
			} else {
				var err error
				if data, err = os.ReadFile(p); err != nil {
					t.Fatal(err)
				}
			}
			recorded := chunks(t, data)
			// Reduce phase on the whole recording as splunkd sent it (its own getinfo, args and all, unless
			// they are another command's options): every request answered, exit 0.
			in := getinfo("phase=map", "sid=1700000000.42")
			for _, ch := range recorded[1:] {
				in = append(in, splunkdtest.Chunk(ch[0], ch[1])...)
			}
			tr, err := splunkdtest.RunRaw(context.Background(), bin, in, 0)
			if err != nil {
				t.Fatal(err)
			}
			clean(t, tr)
			if tr.ExitCode != 0 || len(tr.Replies) != len(c.rows) {
				t.Fatalf("exit %d, %d replies, want 0 and %d; last %s", tr.ExitCode, len(tr.Replies), len(c.rows), tr.Replies[len(tr.Replies)-1].Raw)
			}
			// The map phase is a combiner: it answers earlier requests with empty bodies and sends its
			// partials and counters with the final reply.
			var want uint64
			for _, n := range c.rows {
				want += n
			}
			for i, rep := range tr.Replies[:len(tr.Replies)-1] {
				if len(rep.Body) != 0 {
					t.Errorf("chunk %d: a %d-byte reply before the final one", i+2, len(rep.Body))
				}
			}
			tab, err := splunkdtest.DecodeCSV(tr.Replies[len(tr.Replies)-1].Body)
			if err != nil {
				t.Fatal(err)
			}
			if got := counter(t, tab, cim.PartialRecords); got != want {
				t.Errorf("%d records counted, want %d", got, want)
			}
		})
	}
	// The multibyte recording as recorded, getinfo included (no arguments: the reduce phase): ten replies, the
	// last one final and empty (nothing matches), exit 0, and its session key nowhere.
	p := shared.Path(t, "data/scpv2/splunk-8.0.3/multibyte_input.gz")
	data := gunzip(t, p)
	tr, err := splunkdtest.RunRaw(context.Background(), bin, data, 0)
	if err != nil {
		t.Fatal(err)
	}
	clean(t, tr)
	if bytes.Contains(tr.Stdout, []byte("nwACeZbFjwt")) {
		t.Error("the recording's session key was echoed")
	}
	if tr.ExitCode != 0 || len(tr.Replies) != 9 || !tr.Replies[8].Finished() || len(tr.Replies[8].Body) != 0 {
		t.Errorf("exit %d, %d replies", tr.ExitCode, len(tr.Replies))
	}
}

func counter(t *testing.T, tab *splunkdtest.Table, name string) uint64 {
	t.Helper()
	col := -1
	for j, f := range tab.Fields {
		if f == name {
			col = j
		}
	}
	if col < 0 {
		return 0
	}
	var n uint64
	for _, r := range tab.Rows {
		if len(r[col]) == 1 {
			v, err := strconv.ParseUint(r[col][0], 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			n += v
		}
	}
	return n
}

// TestRecordedMalformed: the hand-damaged recordings must fail cleanly.
func TestRecordedMalformed(t *testing.T) {
	for _, c := range []struct{ path, want string }{
		{"data/scpv2/splunk-6.3/generatehello.input", "chunk 2"},    // EOF inside the execute chunk
		{"data/scpv2/splunk-6.3/pypygeneratetext.input", "chunk 2"}, // a stray newline after the getinfo chunk
	} {
		t.Run(c.path, func(t *testing.T) {
			data, err := os.ReadFile(shared.Path(t, c.path))
			if err != nil {
				t.Fatal(err)
			}
			// Keep everything after the recorded getinfo chunk (its options are another command's).
			var m, b int
			if _, err := fmt.Sscanf(string(data), "chunked 1.0,%d,%d\n", &m, &b); err != nil {
				t.Fatal(err)
			}
			cut := bytes.IndexByte(data, '\n') + 1 + m + b
			in := append(getinfo(), data[cut:]...)
			tr, err := splunkdtest.RunRaw(context.Background(), bin, in, 0)
			if err != nil {
				t.Fatal(err)
			}
			clean(t, tr)
			if tr.ExitCode == 0 || len(tr.Replies) != 1 || !strings.Contains(tr.Replies[0].Error(), c.want) {
				t.Fatalf("exit %d, replies %q", tr.ExitCode, tr.Stdout)
			}
		})
	}
}
