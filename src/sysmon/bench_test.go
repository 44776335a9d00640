package sysmon

import (
	"bytes"
	"io"
	"os"
	"testing"

	"regasmdetect/src/cim"
	"regasmdetect/src/internal/shared"
)

// benchReader reads copies of the shared log rel (one when copies is omitted) with the readers mk makes.
func benchReader(b *testing.B, rel string, mk func(data []byte) Reader, copies ...int) {
	data, err := os.ReadFile(shared.Path(b, rel))
	if err != nil {
		b.Fatal(err)
	}
	if len(copies) > 0 {
		data = bytes.Repeat(data, copies[0])
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	var p cim.Process
	var events int64
	for b.Loop() {
		r := mk(data)
		for {
			err := r.Next(&p)
			if err == io.EOF {
				break
			}
			if err != nil {
				if _, ok := err.(*RecordError); !ok {
					b.Fatal(err)
				}
			}
		}
		events += r.Stats().Events
	}
	b.ReportMetric(float64(events)/b.Elapsed().Seconds(), "events/s")
}

func BenchmarkXMLLines(b *testing.B) {
	benchReader(b, "data/sysmon/evtx-attack-samples/ALL_sysmon_events.xml.log", func(d []byte) Reader {
		return NewXMLReader(bytes.NewReader(d), "bench")
	})
}

func BenchmarkJSONLines(b *testing.B) {
	benchReader(b, "data/sysmon/evtx-attack-samples/ALL_sysmon_events.jsonl", func(d []byte) Reader {
		return NewJSONReader(bytes.NewReader(d), "bench")
	})
}

func BenchmarkJSONLinesOTRF(b *testing.B) {
	benchReader(b, "data/sysmon/otrf/otrf_all_sysmon_eid1.jsonl", func(d []byte) Reader {
		return NewJSONReader(bytes.NewReader(d), "bench")
	})
}

// The parallel reader over 20 copies of a log (a block per worker needs more than one copy), on every core.
func benchParallel(b *testing.B, rel string, format Format) {
	benchReader(b, rel, func(d []byte) Reader {
		return NewParallelReader(bytes.NewReader(d), format, "bench", 0)
	}, 20)
}

func BenchmarkXMLLinesParallel(b *testing.B) {
	benchParallel(b, "data/sysmon/evtx-attack-samples/ALL_sysmon_events.xml.log", XML)
}

func BenchmarkJSONLinesParallel(b *testing.B) {
	benchParallel(b, "data/sysmon/evtx-attack-samples/ALL_sysmon_events.jsonl", JSON)
}

func BenchmarkJSONLinesOTRFParallel(b *testing.B) {
	benchParallel(b, "data/sysmon/otrf/otrf_all_sysmon_eid1.jsonl", JSON)
}

func BenchmarkEVTX(b *testing.B) {
	benchReader(b, "data/sysmon/evtx-attack-samples/PanacheSysmon_vs_AtomicRedTeam01.evtx", func(d []byte) Reader {
		r, err := NewEVTXReader(bytes.NewReader(d), int64(len(d)), "bench")
		if err != nil {
			b.Fatal(err)
		}
		return r
	})
}

// Allocation per process-creation event of the text readers: none (the values go to the record's own storage,
// reused from one record to the next).
func TestAllocsPerEvent(t *testing.T) {
	line, err := os.ReadFile("testdata/synthetic_regasm_children.xml.log")
	if err != nil {
		t.Fatal(err)
	}
	one := line[bytes.IndexByte(line, '\n')+1:]
	one = one[:bytes.IndexByte(one, '\n')+1]
	big := bytes.Repeat(one, 200)
	jl, _ := os.ReadFile("testdata/synthetic_regasm_children.otrf.jsonl")
	jone := jl[:bytes.IndexByte(jl, '\n')+1]
	jbig := bytes.Repeat(jone, 200)
	for _, tt := range []struct {
		name string
		r    Reader
	}{
		{"xml", NewXMLReader(bytes.NewReader(big), "a")},
		{"json", NewJSONReader(bytes.NewReader(jbig), "a")},
	} {
		var p cim.Process
		tt.r.Next(&p) // warm up buffers
		n := testing.AllocsPerRun(100, func() {
			if err := tt.r.Next(&p); err != nil {
				t.Fatal(err)
			}
		})
		if n > 0 {
			t.Errorf("%s: %v allocations per event, want none", tt.name, n)
		}
	}
}
