package e2e

import (
	"bytes"
	"compress/gzip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"regasmdetect/src/internal/shared"
	"regasmdetect/src/sample"
)

// TestScanParallelSameAsSequential runs the scanner as a process with one core (GOMAXPROCS=1: the sequential
// readers) and with two and four (XML and JSON lines read on every core), over inputs of many blocks with bad
// records spread through them, as files, gzip-compressed and on standard input: standard output and standard
// error (rows, record errors with their lines, the summary) are the same bytes.
func TestScanParallelSameAsSequential(t *testing.T) {
	dir := t.TempDir()
	xmlLog, err := os.ReadFile(shared.Path(t, "data/sysmon/evtx-attack-samples/ALL_sysmon_events.xml.log"))
	if err != nil {
		t.Fatal(err)
	}
	jsonLog, err := os.ReadFile(shared.Path(t, "data/sysmon/otrf/otrf_all_sysmon_eid1.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	// Several copies with bad records between them, and the sample's RegAsm launches so that rows come out.
	var xb, jb bytes.Buffer
	xb.WriteString("\xef\xbb\xbf")
	for i := 0; i < 4; i++ {
		xb.Write(sample.Sysmon)
		xb.Write(xmlLog)
		xb.WriteString("<Event><System><EventID>1</EventID>\nnot xml\n")
		jb.Write(jsonLog)
		jb.WriteString("{\"EventID\": 1, oops\n\n[1]\n")
	}
	write := func(name string, b []byte) string {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	gz := func(b []byte) []byte {
		var out bytes.Buffer
		w := gzip.NewWriter(&out)
		w.Write(b)
		w.Close()
		return out.Bytes()
	}
	xmlPath := write("events.xml.log", xb.Bytes())
	jsonPath := write("events.jsonl", jb.Bytes())
	xmlGz := write("events.xml.log.gz", gz(xb.Bytes()))
	for _, c := range []struct {
		name  string
		args  []string
		stdin []byte
		row   string // in a row on standard output ("" for none)
		error string // in a record error on standard error
	}{
		{"xml", []string{xmlPath}, nil, "RegAsm", "truncated event"},
		{"json", []string{jsonPath}, nil, "", "expected a key"},
		{"both and gzip", []string{jsonPath, xmlGz, xmlPath}, nil, "RegAsm", "events.xml.log.gz:"},
		{"xml on standard input", []string{"-"}, xb.Bytes(), "RegAsm", "standard input:"},
	} {
		run := func(procs string) (string, string) {
			args := append([]string{"scan", "--detection", "all", "--annotate", "--format", "jsonl"}, c.args...)
			cmd := exec.Command(bin, args...)
			cmd.Env = append(os.Environ(), "GOMAXPROCS="+procs)
			if c.stdin != nil {
				cmd.Stdin = bytes.NewReader(c.stdin)
			}
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			if err := cmd.Run(); err != nil {
				if _, ok := err.(*exec.ExitError); !ok {
					t.Fatal(err)
				}
			}
			return stdout.String(), stderr.String()
		}
		wantOut, wantErr := run("1")
		if !strings.Contains(wantOut, c.row) || !strings.Contains(wantErr, c.error) {
			t.Fatalf("%s: the sequential run shows no row or no record error:\n%s\n%s", c.name, wantOut, wantErr)
		}
		for _, procs := range []string{"2", "4"} {
			gotOut, gotErr := run(procs)
			if gotOut != wantOut {
				t.Errorf("%s, GOMAXPROCS=%s: standard output differs from GOMAXPROCS=1", c.name, procs)
			}
			if gotErr != wantErr {
				t.Errorf("%s, GOMAXPROCS=%s: standard error differs from GOMAXPROCS=1:\n%s\nwant\n%s", c.name, procs, gotErr, wantErr)
			}
		}
	}
}
