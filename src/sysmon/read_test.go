package sysmon

import (
	"archive/zip"
	"bytes"
	"errors"
	"io"
	"testing"

	"regasmdetect/src/cim"
	"regasmdetect/src/internal/shared"
)

// readAll drains r, failing the test on any error, and returns the records.
func readAll(t testing.TB, r Reader) []cim.Process {
	t.Helper()
	out, errs := readAllErrs(t, r)
	for _, e := range errs {
		t.Errorf("Next: %v", e)
	}
	return out
}

// readAllErrs drains r and returns the records and the record errors; any other error fails the test.
func readAllErrs(t testing.TB, r Reader) ([]cim.Process, []*RecordError) {
	t.Helper()
	var out []cim.Process
	var errs []*RecordError
	for i := 0; ; i++ {
		if i > 10_000_000 {
			t.Fatal("reader does not end")
		}
		var p cim.Process
		err := r.Next(&p)
		if err == io.EOF {
			return out, errs
		}
		var re *RecordError
		if errors.As(err, &re) {
			errs = append(errs, re)
			continue
		}
		if err != nil {
			t.Fatalf("Next: %v", err)
		}
		out = append(out, p)
	}
}

func openShared(t testing.TB, rel string) (Reader, Format) {
	t.Helper()
	path := shared.Path(t, rel)
	in, err := Open(path, Options{})
	if err != nil {
		t.Fatalf("Open(%s): %v", rel, err)
	}
	t.Cleanup(func() { in.Close() })
	return in.Events, in.Format
}

// The counts of sysmon-cim.md §4.1 and the shared data README.
func TestSharedFileCounts(t *testing.T) {
	tests := []struct {
		rel          string
		format       Format
		events, eid1 int64
		errLines     []int64 // lines of expected record errors
	}{
		{"data/sysmon/evtx-attack-samples/PanacheSysmon_vs_AtomicRedTeam01.evtx", EVTX, 565, 511, nil},
		{"data/sysmon/evtx-attack-samples/PanacheSysmon_vs_AtomicRedTeam01.xml.log", XML, 565, 511, nil},
		{"data/sysmon/evtx-attack-samples/PanacheSysmon_vs_AtomicRedTeam01.jsonl", JSON, 565, 511, nil},
		{"data/sysmon/evtx-attack-samples/panache_sysmon_vs_EDRTestingScript.evtx", EVTX, 122, 96, nil},
		{"data/sysmon/evtx-attack-samples/panache_sysmon_vs_EDRTestingScript.xml.log", XML, 122, 96, nil},
		{"data/sysmon/evtx-attack-samples/panache_sysmon_vs_EDRTestingScript.jsonl", JSON, 122, 96, nil},
		// The README counts 3,241 events and 1,491 EID 1 for both renderings of ALL_sysmon_events, which holds
		// for the .jsonl only. The .xml.log has 3,235 <Event> elements: 8 records of the .jsonl are missing,
		// 2 Security-Auditing events are rendered in their place, and lines 1596-1597 are a stray fragment of
		// an event (one bad record). Of its events, 1,486 are Sysmon EID 1.
		{"data/sysmon/evtx-attack-samples/ALL_sysmon_events.xml.log", XML, 3235, 1486, []int64{1596}},
		{"data/sysmon/evtx-attack-samples/ALL_sysmon_events.jsonl", JSON, 3241, 1491, nil},
		{"data/sysmon/evtx-attack-samples/subset_regasm_regsvcs_mentions.xml.log", XML, 23, 13, nil},
		{"data/sysmon/evtx-attack-samples/subset_regasm_regsvcs_mentions.jsonl", JSON, 23, 13, nil},
		{"data/sysmon/omerbenamram-evtx/sysmon.evtx", EVTX, 358, 227, nil},
		{"data/sysmon/omerbenamram-evtx/sysmon.xml.log", XML, 358, 227, nil},
		{"data/sysmon/omerbenamram-evtx/sysmon.jsonl", JSON, 358, 227, nil},
		{"data/sysmon/otrf/otrf_all_sysmon_eid1.jsonl", JSON, 2021, 2021, nil},
	}
	for _, tt := range tests {
		t.Run(tt.rel, func(t *testing.T) {
			r, f := openShared(t, tt.rel)
			if f != tt.format {
				t.Errorf("format %v, want %v", f, tt.format)
			}
			recs, errs := readAllErrs(t, r)
			if len(errs) != len(tt.errLines) {
				t.Errorf("%d record errors %v, want at lines %v", len(errs), errs, tt.errLines)
			}
			for i, e := range errs {
				if i < len(tt.errLines) && e.Record != tt.errLines[i] {
					t.Errorf("error %d at line %d, want %d: %v", i, e.Record, tt.errLines[i], e)
				}
			}
			st := r.Stats()
			want := Stats{Events: tt.events, ProcessCreations: tt.eid1, Other: tt.events - tt.eid1,
				Errors: int64(len(tt.errLines))}
			if st != want || int64(len(recs)) != tt.eid1 {
				t.Errorf("stats %+v (%d records), want %+v", st, len(recs), want)
			}
			for _, p := range recs {
				if !p.HasTime || p.Get(cim.Dest) == Unknown || p.Get(cim.ProcessName) == Unknown ||
					p.Get(cim.ParentProcessName) == "" || p.Record <= 0 {
					t.Errorf("record %d: incomplete mapping %+v", p.Record, p)
					break
				}
			}
		})
	}
}

// The OTRF LSASS capture: 53,698 events, 269 Sysmon EID 1, read from the zip member.
func TestOTRFZipCounts(t *testing.T) {
	if testing.Short() {
		t.Skip("106 MB")
	}
	path := shared.Path(t, "data/sysmon/otrf/metasploit_logonpasswords_lsass_memory_dump.zip")
	zr, err := zip.OpenReader(path)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	if len(zr.File) != 1 {
		t.Fatalf("%d members, want 1", len(zr.File))
	}
	m, err := zr.File[0].Open()
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	r := NewJSONReader(m, zr.File[0].Name)
	recs := readAll(t, r)
	want := Stats{Events: 53698, ProcessCreations: 269, Other: 53698 - 269}
	if st := r.Stats(); st != want || len(recs) != 269 {
		t.Fatalf("stats %+v (%d records), want %+v", st, len(recs), want)
	}
}

// sameValues reports whether a and b hold the same field values.
func sameValues(a, b *cim.Process) bool {
	for f := range a.Values {
		if !bytes.Equal(a.Values[f], b.Values[f]) {
			return false
		}
	}
	return true
}

// TestPlainRun compares plainRun, which tests eight bytes at a time, with a byte-by-byte scan: every length up to
// 20, every start, a stop byte (or none) at every place, among fillers next to the stop bytes' values.
func TestPlainRun(t *testing.T) {
	slow := func(b []byte, i int) int {
		for i < len(b) && b[i] != '"' && b[i] != '\\' && b[i] >= 0x20 {
			i++
		}
		return i
	}
	fillers := []byte{0x20, 0x21, '"' + 1, '\\' - 1, '\\' + 1, 0x7f, 0x80, 0xa2, 0xdc, 0xff, 'a'}
	stops := []int{-1, 0x00, 0x01, 0x1f, '"', '\\'}
	for n := 0; n <= 20; n++ {
		for _, fill := range fillers {
			for _, stop := range stops {
				for at := 0; at < max(n, 1); at++ {
					b := bytes.Repeat([]byte{fill}, n)
					if stop >= 0 && at < n {
						b[at] = byte(stop)
					}
					for start := 0; start <= n; start++ {
						if got, want := plainRun(b, start), slow(b, start); got != want {
							t.Fatalf("plainRun(%q, %d) = %d, want %d", b, start, got, want)
						}
					}
				}
			}
		}
	}
}
