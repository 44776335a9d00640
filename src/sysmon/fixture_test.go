package sysmon

import (
	"path/filepath"
	"testing"

	"regasmdetect/src/cim"
)

// The synthetic fixtures hold the same eleven hand-made events (built from real record 3614) in every shape.
var syntheticFiles = []struct {
	name   string
	format Format
}{
	{"synthetic_regasm_children.xml.log", XML},
	{"synthetic_regasm_children.xml.log.gz", XML},
	{"synthetic_regasm_children.pretty.xml", XML},
	{"synthetic_regasm_children.evtx_dump.jsonl", JSON},
	{"synthetic_regasm_children.jsonl", JSON},
	{"synthetic_regasm_children.jsonl.gz", JSON},
	{"synthetic_regasm_children.otrf.jsonl", JSON},
}

func readFixture(t *testing.T, name string, want Format) ([]cim.Process, Stats) {
	t.Helper()
	in, err := Open(filepath.Join("testdata", name), Options{})
	if err != nil {
		t.Fatalf("Open(%s): %v", name, err)
	}
	defer in.Close()
	if in.Format != want {
		t.Errorf("%s: format %v, want %v", name, in.Format, want)
	}
	return readAll(t, in.Events), in.Events.Stats()
}

func TestSyntheticFixturesAgree(t *testing.T) {
	ref, st := readFixture(t, syntheticFiles[0].name, XML)
	if len(ref) != 11 || st.Other != 1 || st.Events != 12 {
		t.Fatalf("reference: %d records, stats %+v; want 11 records and 1 other event", len(ref), st)
	}
	for _, sf := range syntheticFiles[1:] {
		got, _ := readFixture(t, sf.name, sf.format)
		if len(got) != len(ref) {
			t.Errorf("%s: %d records, want %d", sf.name, len(got), len(ref))
			continue
		}
		for i := range ref {
			if !sameValues(&got[i], &ref[i]) || got[i].Time != ref[i].Time || got[i].HasTime != ref[i].HasTime {
				t.Errorf("%s: record %d differs from the XML line:\n%s", sf.name, i, diff(ref[i], got[i]))
			}
		}
	}
}

func TestSyntheticFixtureValues(t *testing.T) {
	recs, _ := readFixture(t, "synthetic_regasm_children.xml.log", XML)
	want := []struct {
		parentName, processName, parentPID string
		line                               int64
	}{
		{"RegAsm.exe", "cmd.exe", "6176", 2},
		{"RegAsm.exe", "powershell.exe", "6176", 3},
		{"RegAsm.exe", "conhost.exe", "6176", 4},
		{"RegAsm.exe", "cmd.exe", "6176", 5},
		{"RegSvcs.exe", "cmd.exe", "1060", 6},
		{"REGASM.EXE", "cmd.exe", "6176", 7},
		{"Regasm.exe", "child app.exe", "6176", 8},
		{"RegAsm.exe", "cmd.exe", "6176", 9},
		{"RegAsm.exe", "cmd.exe", "", 10},
		{"regasm.exe.bak", "cmd.exe", "6176", 11},
		{"xregasm.exe", "cmd.exe", "6176", 12},
	}
	if len(recs) != len(want) {
		t.Fatalf("%d records, want %d", len(recs), len(want))
	}
	for i, w := range want {
		p := recs[i]
		if p.Get(cim.ParentProcessName) != w.parentName || p.Get(cim.ProcessName) != w.processName ||
			p.Get(cim.ParentProcessID) != w.parentPID || p.Record != w.line {
			t.Errorf("record %d: parent %q, process %q, ppid %q, line %d; want %+v", i, p.Get(cim.ParentProcessName),
				p.Get(cim.ProcessName), p.Get(cim.ParentProcessID), p.Record, w)
		}
	}
	if got, want := recs[7].Get(cim.ProcessCommandLine), "cmd.exe /c echo \"a&b\" <tag> caf\u00e9 \u2603 > out.txt"; got != want {
		t.Errorf("entities and non-ASCII: %q, want %q (unescaped once)", got, want)
	}
	if recs[0].Get(cim.ProcessID) != recs[3].Get(cim.ProcessID) || recs[0].Time >= recs[3].Time {
		t.Errorf("records 1 and 4 must share the by-fields and differ in time: %v %v", recs[0], recs[3])
	}
	if got := recs[6].Get(cim.ParentProcessPath); got != `C:\Program Files\Odd Tools\Regasm.exe` {
		t.Errorf("path with spaces: %q", got)
	}
	if recs[0].Time != 1563547570.101 {
		t.Errorf("_time %v, want 1563547570.101", recs[0].Time)
	}
}
