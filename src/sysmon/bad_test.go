package sysmon

import (
	"bytes"
	"compress/gzip"
	"os"
	"strings"
	"testing"

	"regasmdetect/src/internal/shared"
)

func TestBadTextInput(t *testing.T) {
	fixture, err := os.ReadFile("testdata/synthetic_regasm_children.xml.log")
	if err != nil {
		t.Fatal(err)
	}
	xmlLines := strings.Split(strings.TrimRight(string(fixture), "\n"), "\n")
	good := xmlLines[1]
	jsonFixture, err := os.ReadFile("testdata/synthetic_regasm_children.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	goodJSON := strings.SplitN(string(jsonFixture), "\n", 2)[0]
	tests := []struct {
		name    string
		json    bool
		input   string
		records int
		errs    []string // expected error texts, in order, as path:line: ...
	}{
		{"truncated XML line", false, good[:len(good)/2] + "\n" + good + "\n", 1,
			[]string{"in.log:1: truncated event: a new <Event> starts before </Event>"}},
		{"truncated XML at the end", false, good + "\n" + good[:300], 1,
			[]string{"in.log:2: truncated event: end of input before </Event>"}},
		{"mismatched XML tags", false, strings.Replace(good, "</System>", "</Sys>", 1) + "\n" + good + "\n", 1,
			[]string{"in.log:1: XML at byte"}},
		{"unknown entity", false, strings.Replace(good, "cmd.exe /c whoami", "&bogus;", 1) + "\n" + good + "\n", 1,
			[]string{"in.log:1: XML at byte", "unknown entity &bogus;"}},
		{"stray text", false, "garbage line\n" + good + "\n", 1, []string{"in.log:1: text outside an <Event> element"}},
		{"non-JSON line", true, "not json\n" + goodJSON + "\n", 1,
			[]string{"in.log:1: JSON at byte 0: an event must be a JSON object"}},
		{"JSON array line", true, goodJSON + "\n[1,2]\n" + goodJSON + "\n", 2,
			[]string{"in.log:2: JSON at byte 0: an event must be a JSON object, found '['"}},
		{"truncated JSON line", true, goodJSON[:100] + "\n" + goodJSON + "\n", 1, []string{"in.log:1: JSON at byte"}},
		{"trailing garbage", true, goodJSON + "}\n" + goodJSON + "\n", 1, []string{"in.log:1: JSON at byte", "after the object"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r Reader
			if tt.json {
				r = NewJSONReader(strings.NewReader(tt.input), "in.log")
			} else {
				r = NewXMLReader(strings.NewReader(tt.input), "in.log")
			}
			recs, errs := readAllErrs(t, r)
			if len(recs) != tt.records {
				t.Errorf("%d records, want %d", len(recs), tt.records)
			}
			if len(errs) != 1 {
				t.Fatalf("%d errors %v, want 1", len(errs), errs)
			}
			for _, want := range tt.errs {
				if !strings.Contains(errs[0].Error(), want) {
					t.Errorf("error %q lacks %q", errs[0].Error(), want)
				}
			}
			if st := r.Stats(); st.Errors != 1 || st.ProcessCreations != int64(tt.records) {
				t.Errorf("stats %+v", st)
			}
		})
	}
}

func TestLongLine(t *testing.T) {
	in := strings.Repeat("x", MaxLine+10) + "\n{\"EventID\":1}\n"
	r := NewJSONReader(strings.NewReader(in), "long")
	_, errs := readAllErrs(t, r)
	if len(errs) != 1 || errs[0].Record != 1 || !strings.Contains(errs[0].Error(), "line longer than") {
		t.Fatalf("errors %v", errs)
	}
	if st := r.Stats(); st.Events != 2 || st.Other != 1 {
		t.Errorf("stats %+v", st)
	}
}

// A corrupt chunk in an EVTX file is one RecordError; the other chunks are still read.
func TestCorruptEVTX(t *testing.T) {
	path := shared.Path(t, "data/sysmon/evtx-attack-samples/PanacheSysmon_vs_AtomicRedTeam01.evtx")
	orig, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		flip    []int // byte offsets to invert
		errs    int
		minRecs int
	}{
		{"records of chunk 2", []int{4096 + 2*65536 + 5000, 4096 + 2*65536 + 9000}, 1, 400},
		{"header of chunk 0", []int{4096 + 10}, 1, 400},
		{"two chunks", []int{4096 + 3*65536 + 700, 4096 + 7*65536 + 30000}, 2, 350},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := bytes.Clone(orig)
			for _, o := range tt.flip {
				b[o] ^= 0xff
			}
			r, err := NewEVTXReader(bytes.NewReader(b), int64(len(b)), "bad.evtx")
			if err != nil {
				t.Fatal(err)
			}
			recs, errs := readAllErrs(t, r)
			if len(errs) != tt.errs {
				t.Fatalf("%d errors %v, want %d", len(errs), errs, tt.errs)
			}
			for _, e := range errs {
				if !strings.HasPrefix(e.Error(), "bad.evtx: chunk ") || !strings.Contains(e.Error(), "checksum") {
					t.Errorf("error %q", e)
				}
			}
			if len(recs) < tt.minRecs || len(recs) >= 511 {
				t.Errorf("%d records, want the rest (at least %d, fewer than 511)", len(recs), tt.minRecs)
			}
		})
	}
	if _, err := NewEVTXReader(bytes.NewReader([]byte("ElfFilx")), 7, "x"); err == nil {
		t.Error("a non-EVTX header must fail")
	}
}

func TestDetectAndParseFormat(t *testing.T) {
	for in, want := range map[string]Format{
		"ElfFile\x00rest": EVTX, "\xef\xbb\xbf  <Event": XML, "\n{\"a\":1}": JSON,
		"_time,Processes.dest\n1,a": CSV, "hello": Auto, "": Auto,
	} {
		if got := Detect([]byte(in)); got != want {
			t.Errorf("Detect(%q) = %v, want %v", in, got, want)
		}
	}
	for _, f := range []Format{Auto, XML, JSON, EVTX, CSV} {
		if g, err := ParseFormat(strings.ToUpper(f.String())); err != nil || g != f {
			t.Errorf("ParseFormat(%v) = %v, %v", f, g, err)
		}
	}
	if _, err := ParseFormat("yaml"); err == nil || !strings.Contains(err.Error(), `"yaml"`) {
		t.Errorf("ParseFormat(yaml): %v", err)
	}
}

func TestOpenCSVAndGzippedEVTX(t *testing.T) {
	dir := t.TempDir()
	csvPath := dir + "/x.csv"
	os.WriteFile(csvPath, []byte("_time,Processes.dest\n1,a\n"), 0o600)
	if in, err := Open(csvPath, Options{}); err != nil || in.Format != CSV || in.Events != nil || in.Text == nil {
		t.Errorf("CSV: %+v %v", in, err)
	} else {
		in.Close()
	}
	src := shared.Path(t, "data/sysmon/evtx-attack-samples/panache_sysmon_vs_EDRTestingScript.evtx")
	raw, _ := os.ReadFile(src)
	var gz bytes.Buffer
	zw := newGzipWriter(&gz)
	zw.Write(raw)
	zw.Close()
	gzPath := dir + "/x.evtx.gz"
	os.WriteFile(gzPath, gz.Bytes(), 0o600)
	in, err := Open(gzPath, Options{})
	if err != nil || in.Format != EVTX || !in.Gzip {
		t.Fatalf("Open gzipped EVTX: %+v %v", in, err)
	}
	recs := readAll(t, in.Events)
	if err := in.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if len(recs) != 96 {
		t.Errorf("%d records, want 96", len(recs))
	}
}

func newGzipWriter(w *bytes.Buffer) *gzip.Writer { return gzip.NewWriter(w) }
