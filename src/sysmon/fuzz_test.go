package sysmon

import (
	"bytes"
	"encoding/binary"
	"io"
	"os"
	"path/filepath"
	"regasmdetect/src/internal/evtxcraft"
	"strings"
	"testing"

	"regasmdetect/src/cim"
	"regasmdetect/src/internal/shared"
)

// drain reads r to the end and checks the reader's invariants; it fails on a non-record error.
func drain(t *testing.T, r Reader) {
	var p cim.Process
	var recs, errs int64
	for i := 0; ; i++ {
		if i > 1_000_000 {
			t.Fatal("reader does not end")
		}
		err := r.Next(&p)
		if err == io.EOF {
			break
		}
		if err != nil {
			if _, ok := err.(*RecordError); !ok {
				t.Fatalf("non-record error on in-memory input: %v", err)
			}
			errs++
			continue
		}
		recs++
	}
	st := r.Stats()
	if st.ProcessCreations != recs || st.Errors != errs || st.Other < 0 || st.Events < st.ProcessCreations+st.Other {
		t.Fatalf("stats %+v, saw %d records and %d errors", st, recs, errs)
	}
}

func fixtureLines(f *testing.F, name string, n int) {
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		f.Fatal(err)
	}
	lines := strings.SplitAfter(string(b), "\n")
	for i := 0; i < len(lines) && i < n; i++ {
		f.Add([]byte(lines[i]))
	}
}

func FuzzXMLReader(f *testing.F) {
	fixtureLines(f, "synthetic_regasm_children.xml.log", 3)
	b, _ := os.ReadFile("testdata/synthetic_regasm_children.pretty.xml")
	f.Add(b[:min(len(b), 3000)])
	f.Add([]byte("<Event><System><EventID>1</EventID></System></Event>"))
	f.Add([]byte("<Events><Event x='&amp;&#x41;&#65;'><![CDATA[a]]><!-- c --></Event>\n</Events>"))
	f.Fuzz(func(t *testing.T, in []byte) {
		drain(t, NewXMLReader(bytes.NewReader(in), "fuzz"))
	})
}

func FuzzJSONReader(f *testing.F) {
	fixtureLines(f, "synthetic_regasm_children.evtx_dump.jsonl", 2)
	fixtureLines(f, "synthetic_regasm_children.otrf.jsonl", 1)
	fixtureLines(f, "synthetic_regasm_children.jsonl", 1)
	f.Add([]byte(`{"winlog":{"event_id":"1","provider_name":"Microsoft-Windows-Sysmon","event_data":{"Image":"C:\\a\\b.exe"},"user":{"identifier":"S-1-5-18"}},"@timestamp":"2020-01-01T00:00:00Z"}`))
	f.Add([]byte(`{"Provider":"Microsoft-Windows-Sysmon","EventID":1,"EventData":"{\"Image\":\"x\\\\y.exe\",\"UtcTime\":\"2022-05-13 08:54:08.420\"}"}`))
	f.Add([]byte("{\"a\":[1,-2.5e3,true,null,\"\\ud83d\\ude00\"]}\n[]\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		drain(t, NewJSONReader(bytes.NewReader(in), "fuzz"))
	})
}

// evtxSeed builds a one-chunk EVTX image from the first chunk of a shared file (not committed), or nil.
func evtxSeed() []byte {
	root := shared.Root()
	if root == "" {
		return nil
	}
	b, err := os.ReadFile(filepath.Join(root, "data/sysmon/omerbenamram-evtx/sysmon.evtx"))
	if err != nil || len(b) < 4096+evtxChunkSize {
		return nil
	}
	return b[:4096+evtxChunkSize]
}

// FuzzEVTXReader reads a whole EVTX image with one worker and with three: no panic, no hang, and the same
// records, errors and counts call by call. When the input's last byte is odd, it is padded with zeros to whole
// chunks and the checksums of every chunk are fixed, so that mutations reach the binary XML as a crafted
// file's would.
func FuzzEVTXReader(f *testing.F) {
	if s := evtxSeed(); s != nil {
		f.Add(s)
	}
	hdr := make([]byte, 4096+evtxChunkSize)
	copy(hdr, evtxMagic)
	binary.LittleEndian.PutUint16(hdr[36:], 1)
	binary.LittleEndian.PutUint16(hdr[38:], 3)
	binary.LittleEndian.PutUint16(hdr[40:], 4096)
	f.Add(hdr)
	f.Fuzz(func(t *testing.T, in []byte) {
		if len(in) > 8<<20 || len(in) == 0 {
			return
		}
		if in[len(in)-1]&1 == 1 && len(in) > 4096 {
			in = append(bytes.Clone(in), make([]byte, (evtxChunkSize-(len(in)-4096)%evtxChunkSize)%evtxChunkSize)...)
			for off := 4096; off+evtxChunkSize <= len(in); off += evtxChunkSize {
				evtxcraft.FixChecksums(in[off : off+evtxChunkSize])
			}
		}
		r, err := newEVTXReader(bytes.NewReader(in), "fuzz", 1)
		if err != nil {
			return
		}
		want := steps(t, r)
		r, err = newEVTXReader(bytes.NewReader(in), "fuzz", 3)
		if err != nil {
			t.Fatal(err)
		}
		got := steps(t, r)
		if len(got) != len(want) {
			t.Fatalf("%d calls with three workers, %d with one", len(got), len(want))
		}
		for i := range got {
			if got[i] != want[i] {
				t.Fatalf("call %d: %+v with three workers, %+v with one", i, got[i], want[i])
			}
		}
	})
}
