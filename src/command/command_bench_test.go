package command

import (
	"bytes"
	"io"
	"math/rand/v2"
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
