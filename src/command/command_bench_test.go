package command

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"regasmdetect/src/internal/splunkdtest"
)

// benchStream builds a splunkd-shaped stream: a getinfo, then chunks of Splunk-quoted CSV records with
// Endpoint.Processes fields and __mv_ twins, about 0.5 % of them with a regasm parent.
func benchStream(records, chunk int) []byte {
	fields := []string{"_time", "Processes.dest", "Processes.user", "Processes.parent_process",
		"Processes.parent_process_name", "Processes.process_name", "Processes.process", "Processes.process_id",
		"Processes.parent_process_id", "Processes.process_path", "Processes.process_guid", "Processes.vendor_product"}
	rng := rand.New(rand.NewPCG(1, 2))
	out := splunkdtest.Chunk(splunkdtest.GetInfo(nil, nil, "| regasmdetect"), nil)
	for start := 0; start < records; start += chunk {
		end := min(start+chunk, records)
		t := &splunkdtest.Table{Fields: fields}
		for i := start; i < end; i++ {
			parent := "explorer.exe"
			if rng.IntN(200) == 0 {
				parent = "RegAsm.exe"
			}
			child := []string{"cmd.exe", "powershell.exe", "conhost.exe"}[rng.IntN(3)]
			rec := []string{strconv.Itoa(1700000000 + i), "WKS-" + strconv.Itoa(rng.IntN(500)) + ".corp.example", `CORP\jdoe`,
				`"C:\Windows\Microsoft.NET\Framework64\v4.0.30319\` + parent + `" /U "C:\Users\Public\a,b.dll"`, parent, child,
				child + ` /c "echo {x} & whoami"`, strconv.Itoa(1000 + rng.IntN(40)), strconv.Itoa(500 + rng.IntN(10)),
				`C:\Windows\System32\` + child, "{8C5D2E11-1234-5678-9ABC-0123456789AB}", "Microsoft Sysmon"}
			row := make([][]string, len(rec))
			for j, v := range rec {
				row[j] = []string{v}
			}
			t.Rows = append(t.Rows, row)
		}
		out = append(out, splunkdtest.Chunk(splunkdtest.ExecuteMeta(end == records), t.EncodeCSV(t.Rows))...)
	}
	return out
}

// BenchmarkRun measures the whole execute path in process: framing, CSV, binding, filter and aggregation.
func BenchmarkRun(b *testing.B) {
	stream := benchStream(100_000, 50_000)
	b.SetBytes(int64(len(stream)))
	b.ReportAllocs()
	for b.Loop() {
		if code := Run(bytes.NewReader(stream), io.Discard); code != 0 {
			b.Fatalf("exit %d", code)
		}
	}
}

// BenchmarkGetInfo measures a getinfo-only exchange in process (a probe without the process start).
func BenchmarkGetInfo(b *testing.B) {
	stream := splunkdtest.Chunk(splunkdtest.GetInfo(nil, nil, "| regasmdetect"), nil)
	b.ReportAllocs()
	for b.Loop() {
		if code := Run(bytes.NewReader(stream), io.Discard); code != 0 {
			b.Fatalf("exit %d", code)
		}
	}
}

// groupStream builds a stream of records that all match, in groups groups (records%groups picks the group):
// the reduce phase's cost per group, against the same records in few groups. Each record's process command
// line carries its group number; the other by-fields are the same in every record, as in benchstream -groups.
func groupStream(w io.Writer, records, groups int) error {
	const header = `"_time","Processes.dest","Processes.user","Processes.parent_process","Processes.parent_process_name",` +
		`"Processes.process_name","Processes.process","Processes.process_id","Processes.parent_process_id",` +
		`"Processes.process_path","Processes.parent_process_path","Processes.process_guid","Processes.vendor_product"` + "\n"
	if _, err := w.Write(splunkdtest.Chunk(splunkdtest.GetInfo(nil, nil, "| regasmdetect"), nil)); err != nil {
		return err
	}
	const chunk = 50_000
	var body []byte
	for start := 0; start < records; start += chunk {
		end := min(start+chunk, records)
		body = append(body[:0], header...)
		for i := start; i < end; i++ {
			body = strconv.AppendInt(body, int64(1700000000+i), 10)
			body = append(body, `.5,"WKS-0001.corp.example","CORP\jdoe","""C:\Windows\Microsoft.NET\Framework64\v4.0.30319\RegAsm.exe"" /U ""C:\Users\Public\a,b.dll""","RegAsm.exe","cmd.exe","cmd.exe /c ""echo {`...)
			body = strconv.AppendInt(body, int64(i%groups), 10)
			body = append(body, `} & whoami""",1000,500,"C:\Windows\System32\cmd.exe","C:\Windows\Microsoft.NET\Framework64\v4.0.30319\RegAsm.exe","{8C5D2E11-1234-5678-9ABC-`...)
			body = fmt.Appendf(body, "%012X", i)
			body = append(body, "}\",\"Microsoft Sysmon\"\n"...)
		}
		if _, err := w.Write(splunkdtest.Chunk(splunkdtest.ExecuteMeta(end == records), body)); err != nil {
			return err
		}
	}
	return nil
}

var benchGroupRecords = flag.Int("groups.records", 200_000, "records of BenchmarkRunGroups")

// BenchmarkRunGroups measures the reduce phase at the default budget with every record its own group against
// the same records in 100 groups: the cost of a group (table insert, spill, merge, result row).
func BenchmarkRunGroups(b *testing.B) {
	n := *benchGroupRecords
	for _, tc := range []struct {
		name   string
		groups int
	}{{"few", 100}, {"distinct", n}} {
		b.Run(tc.name, func(b *testing.B) {
			// From a file, not memory: the stream must not count in the heap that the budget's memory limit
			// bounds.
			path := filepath.Join(b.TempDir(), "stream")
			f, err := os.Create(path)
			if err == nil {
				err = groupStream(f, n, tc.groups)
			}
			if err == nil {
				err = f.Close()
			}
			st, err2 := os.Stat(path)
			if err != nil || err2 != nil {
				b.Fatal(err, err2)
			}
			b.SetBytes(st.Size())
			b.ReportAllocs()
			for b.Loop() {
				f, err := os.Open(path)
				if err != nil {
					b.Fatal(err)
				}
				code := Run(f, io.Discard)
				f.Close()
				if code != 0 {
					b.Fatalf("exit %d", code)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/record")
		})
	}
}
