package e2e

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"regasmdetect/src/internal/golden"
	"regasmdetect/src/internal/splunkdtest"
	"regasmdetect/src/sample"
	"regasmdetect/src/scan"
)

// plans are the deployments every search is run under: the result must not depend on them.
var plans = []splunkdtest.Plan{
	{},                    // search head only, one chunk
	{ChunkRows: []int{1}}, // one row per chunk
	{ChunkRows: []int{2, 1, 5}, Awkward: true},
	{Indexers: 1}, // map phase on one indexer
	{Indexers: 3, ChunkRows: []int{1, 3}, Awkward: true, Seed: 7},
	{Indexers: 5, ChunkRows: []int{2}, Seed: 11},
	{Indexers: 8, Seed: 99, Awkward: true},
}

func sampleRecords(t *testing.T) *splunkdtest.Table {
	t.Helper()
	ps, err := sample.Processes()
	if err != nil {
		t.Fatal(err)
	}
	return splunkdtest.FromProcesses(ps)
}

// TestSampleSearch runs the bundled sample through the command under every plan and both detections, with
// and without fillnull_value and annotate, and compares with golden files.
func TestSampleSearch(t *testing.T) {
	records := sampleRecords(t)
	for _, args := range [][]string{
		nil,
		{"fillnull_value=null", "summariesonly=false", "allow_old_summaries=true"},
		{"annotate=true"},
		{"detection=detect_regsvcs_spawning_a_process", "annotate=1"},
	} {
		name := "default"
		if len(args) > 0 {
			name = strings.NewReplacer("=", "-", "_", "-").Replace(strings.Join(args, "+"))
		}
		t.Run(name, func(t *testing.T) {
			var first string
			for i, plan := range plans {
				res, err := splunkdtest.Search(context.Background(), bin, args, records, plan)
				if err != nil {
					t.Fatalf("plan %d: %v", i, err)
				}
				clean(t, res.Reduce)
				for _, m := range res.Maps {
					clean(t, m)
				}
				got := render(res.Table)
				if i == 0 {
					first = got
					golden.Check(t, filepath.Join("testdata", "sample."+name+".golden"), []byte(got), "go test ./src/e2e -update rewrites it")
					continue
				}
				if got != first {
					t.Errorf("plan %+v gives\n%s\nwant\n%s", plan, got, first)
				}
			}
		})
	}
}

func render(t *splunkdtest.Table) string {
	var b strings.Builder
	w := csv.NewWriter(&b)
	w.Write(t.Fields)
	for _, r := range t.Strings() {
		w.Write(r)
	}
	w.Flush()
	return b.String()
}

// TestScanMatchesSearch feeds the same events through the scanner and, as CSV records, through the search
// command under the emulator: identical rows once times are rendered as security_content_ctime does.
func TestScanMatchesSearch(t *testing.T) {
	dir := t.TempDir()
	logPath := filepath.Join(dir, sample.Name)
	if err := os.WriteFile(logPath, sample.Sysmon, 0o644); err != nil {
		t.Fatal(err)
	}
	records := sampleRecords(t)
	for _, c := range []struct {
		args []string
		scan []string
	}{
		{nil, nil},
		{[]string{"fillnull_value=null"}, []string{"--fillnull-value", "null"}},
		{[]string{"detection=detect_regsvcs_spawning_a_process"}, []string{"--detection", "detect_regsvcs_spawning_a_process"}},
		{[]string{"annotate=true"}, []string{"--annotate"}},
	} {
		res, err := splunkdtest.Search(context.Background(), bin, c.args, records, splunkdtest.Plan{Indexers: 2, Seed: 5})
		if err != nil {
			t.Fatal(err)
		}
		want := res.Table.Strings()
		for _, r := range want {
			for j, f := range res.Table.Fields {
				if (f == "firstTime" || f == "lastTime") && r[j] != "" {
					sec, err := strconv.ParseFloat(r[j], 64)
					if err != nil {
						t.Fatal(err)
					}
					r[j] = scan.CTime(sec, time.UTC)
				}
			}
		}
		args := append([]string{"scan", "--format", "csv", "--quiet"}, c.scan...)
		out, err := exec.Command(bin, append(args, logPath)...).Output()
		if err != nil {
			t.Fatalf("scan %v: %v", c.scan, err)
		}
		recs, err := csv.NewReader(bytes.NewReader(out)).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		header, rows := recs[0], recs[1:]
		if len(c.scan) > 0 && c.scan[0] == "--annotate" {
			// The scanner adds mitre_attack_id; the command does not.
			header = header[:len(header)-1]
			for i := range rows {
				rows[i] = rows[i][:len(rows[i])-1]
			}
		}
		if !reflect.DeepEqual(header, res.Table.Fields) {
			t.Errorf("%v: scan header %q, search header %q", c.scan, header, res.Table.Fields)
		}
		if len(rows) == 0 || !reflect.DeepEqual(rows, want) {
			t.Errorf("%v: scan rows\n%q\nsearch rows\n%q", c.scan, rows, want)
		}
	}
}

// TestRandomSplits generates random records (random case, multivalue parents and children, nulls, prefixed
// and plain columns, non-numeric times, decoys) and checks that every deployment plan gives the same rows.
func TestRandomSplits(t *testing.T) {
	for seed := uint64(1); seed <= 6; seed++ {
		records := randomRecords(seed, 400)
		var first string
		for i, plan := range plans {
			plan.Seed = plan.Seed*31 + seed
			if plan.Indexers == 0 {
				plan.Seed = 0
			}
			res, err := splunkdtest.Search(context.Background(), bin, []string{"annotate=t"}, records, plan)
			if err != nil {
				t.Fatalf("seed %d plan %d: %v", seed, i, err)
			}
			got := render(res.Table)
			if i == 0 {
				first = got
				if len(res.Table.Rows) < 5 {
					t.Fatalf("seed %d: only %d rows: the generator makes too few matches", seed, len(res.Table.Rows))
				}
				continue
			}
			if got != first {
				t.Fatalf("seed %d plan %+v:\n%s\nwant\n%s", seed, plan, got, first)
			}
		}
	}
}

func randomRecords(seed uint64, n int) *splunkdtest.Table {
	rng := rand.New(rand.NewPCG(seed, 1))
	fields := []string{"_time", "Processes.dest", "dest", "Processes.user", "Processes.parent_process",
		"Processes.parent_process_name", "parent_process_name", "Processes.process_name", "Processes.process",
		"Processes.process_id", "Processes.parent_process_id"}
	pick := func(xs ...string) string { return xs[rng.IntN(len(xs))] }
	parents := []string{"regasm.exe", "RegAsm.exe", "REGASM.EXE", "regasm.exe.bak", "xregasm.exe", "RegAsm.ex", "cmd.exe", "regsvcs.exe"}
	t := &splunkdtest.Table{Fields: fields}
	for i := 0; i < n; i++ {
		rec := make([][]string, len(fields))
		one := func(j int, v string) {
			if v != "" {
				rec[j] = []string{v}
			}
		}
		one(0, pick(strconv.Itoa(1700000000+rng.IntN(5000)), fmt.Sprintf("%d.%03d", 1700000000+rng.IntN(5000), rng.IntN(1000)), "not-a-time", ""))
		host := pick("WKS-1", "wks-1", "DC01", "")
		if rng.IntN(2) == 0 {
			one(1, host)
		} else {
			one(2, host) // only the plain column
		}
		one(3, pick(`CORP\jdoe`, `CORP\müller`, `CORP\o'brien`, ""))
		one(4, pick(`regasm.exe /U a.dll`, `"C:\x\RegAsm.exe" b,c.dll`))
		// The parent's name in one or both columns, sometimes multivalue.
		if rng.IntN(5) == 0 {
			rec[5] = []string{pick(parents...), pick(parents...)}
		} else if rng.IntN(2) == 0 {
			one(5, pick(parents...))
		} else {
			one(6, pick(parents...))
		}
		if rng.IntN(6) == 0 {
			rec[7] = []string{pick("cmd.exe", "conhost.exe"), pick("powershell.exe", "cmd.exe")}
		} else {
			one(7, pick("cmd.exe", "powershell.exe", "conhost.exe", "Cmd.exe"))
		}
		one(8, pick(`cmd.exe /c "a & b"`, "powershell -enc AAAA$", "x\ny"))
		one(9, pick("100", "200", "300"))
		one(10, pick("10", "20", ""))
		t.Rows = append(t.Rows, rec)
	}
	return t
}
