package scan

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"regasmdetect/src/internal/shared"
)

// BenchmarkScan measures the whole scanner (read, map, detect, print) per input format.
func BenchmarkScan(b *testing.B) {
	csvPath := filepath.Join(b.TempDir(), "export.csv")
	var sb strings.Builder
	sb.WriteString("_time,Processes.dest,Processes.user,Processes.parent_process_name,Processes.parent_process,Processes.process_name,Processes.process,Processes.process_id,Processes.parent_process_id,Processes.process_path,Processes.process_guid\n")
	for i := 0; i < 100000; i++ {
		parent := "explorer.exe"
		if i%200 == 0 {
			parent = "RegAsm.exe"
		}
		fmt.Fprintf(&sb, "%d.%03d,WKS-%d.corp.example,CORP\\jdoe,%s,\"\"\"C:\\Windows\\%s\"\" /U \"\"a,b.dll\"\"\",cmd.exe,\"cmd.exe /c \"\"echo & whoami\"\"\",%d,%d,C:\\Windows\\System32\\cmd.exe,{8C5D2E11-1234-5678-9ABC-0123456789AB}\n",
			1700000000+i, i%1000, i%500, parent, parent, 1000+i%40, 500+i%10)
	}
	if err := os.WriteFile(csvPath, []byte(sb.String()), 0o644); err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct{ name, path string }{
		{"xml", "data/sysmon/evtx-attack-samples/ALL_sysmon_events.xml.log"},
		{"jsonl", "data/sysmon/evtx-attack-samples/ALL_sysmon_events.jsonl"},
		{"otrf-jsonl", "data/sysmon/otrf/otrf_all_sysmon_eid1.jsonl"},
		{"evtx", "data/sysmon/evtx-attack-samples/PanacheSysmon_vs_AtomicRedTeam01.evtx"},
		{"csv", ""},
	} {
		b.Run(c.name, func(b *testing.B) {
			p := csvPath
			if c.path != "" {
				p = shared.Path(b, c.path)
			}
			st, err := os.Stat(p)
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(st.Size())
			b.ReportAllocs()
			for b.Loop() {
				if code := Main([]string{"--quiet", "--format", "csv", p}, nil, io.Discard, io.Discard); code == ExitErrors && c.name != "xml" {
					b.Fatalf("exit %d", code)
				}
			}
		})
	}
}
