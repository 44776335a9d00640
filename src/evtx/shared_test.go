package evtx

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"strings"
	"testing"

	"regasmdetect/src/internal/shared"
)

// The shared EVTX files and their JSON renderings made by another implementation (libevtx's evtxexport): the
// same records in the same order.
var sharedFiles = []struct {
	base           string
	records, chunk int
}{
	{"data/sysmon/evtx-attack-samples/PanacheSysmon_vs_AtomicRedTeam01", 565, 0},
	{"data/sysmon/evtx-attack-samples/panache_sysmon_vs_EDRTestingScript", 122, 0},
	{"data/sysmon/omerbenamram-evtx/sysmon", 358, 0},
}

// decoded is one record as this package renders it, in the JSON rendering's shape.
type decoded struct {
	id     uint64
	system map[string]string
	data   map[string]string
	ndata  int
}

// decodeAll reads every record of an EVTX stream in file order; chunk and record errors fail the test.
func decodeAll(t testing.TB, r io.Reader) []decoded {
	t.Helper()
	rd, err := NewReader(r)
	if err != nil {
		t.Fatal(err)
	}
	d := NewDecoder()
	buf := make([]byte, ChunkSize)
	var out []decoded
	for {
		i, off, err := rd.Next(buf)
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatalf("chunk %d at %d: %v", i, off, err)
		}
		if _, err := d.Reset(buf); err != nil {
			if errors.Is(err, ErrNoChunk) {
				continue
			}
			t.Fatalf("chunk %d at %d: %v", i, off, err)
		}
		for {
			rec, err := d.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("chunk %d at %d: %v", i, off, err)
			}
			out = append(out, render(rec))
		}
	}
}

var jsonSystem = map[Field]string{Provider: "Provider", EventID: "EventID", EventRecordID: "EventRecordID",
	TimeCreated: "TimeCreated", Computer: "Computer", Channel: "Channel", UserID: "SecurityUserID"}

func render(rec *Record) decoded {
	d := decoded{id: rec.ID, system: map[string]string{}, data: map[string]string{}, ndata: rec.NumData()}
	for f, k := range jsonSystem {
		if v, ok := rec.Field(f); ok {
			d.system[k] = string(v)
		}
	}
	for i := 0; i < rec.NumData(); i++ {
		n, v := rec.Data(i)
		d.data[string(n)] = string(v)
	}
	return d
}

// TestSharedJSONRenderings decodes every shared EVTX file and compares every record with the JSON rendering of
// the same record made by libevtx: the System fields kept and every EventData pair, by value.
func TestSharedJSONRenderings(t *testing.T) {
	var records, fields int
	for _, f := range sharedFiles {
		t.Run(f.base[strings.LastIndexByte(f.base, '/')+1:], func(t *testing.T) {
			file, err := os.Open(shared.Path(t, f.base+".evtx"))
			if err != nil {
				t.Fatal(err)
			}
			defer file.Close()
			got := decodeAll(t, file)
			want := readJSONL(t, shared.Path(t, f.base+".jsonl"))
			if len(got) != f.records || len(want) != f.records {
				t.Fatalf("%d records decoded, %d in the JSON rendering, want %d", len(got), len(want), f.records)
			}
			for i := range got {
				g, w := got[i], want[i]
				for k, wv := range w.system {
					if _, kept := g.system[k]; !kept && !keptSystem(k) {
						continue
					}
					if g.system[k] != wv {
						t.Errorf("record %d: System %s = %q, want %q", g.id, k, g.system[k], wv)
					}
					fields++
				}
				if len(g.system) != 7 {
					t.Errorf("record %d: %d System fields %v, want 7", g.id, len(g.system), g.system)
				}
				if g.ndata != len(w.data) || len(g.data) != len(w.data) {
					t.Errorf("record %d: %d Data elements (%d names), want %d", g.id, g.ndata, len(g.data), len(w.data))
				}
				for k, wv := range w.data {
					if gv, ok := g.data[k]; !ok || gv != wv {
						t.Errorf("record %d: Data %s = %q (%v), want %q", g.id, k, gv, ok, wv)
					}
					fields++
				}
				records++
			}
		})
	}
	t.Logf("%d records, %d fields compared", records, fields)
}

func keptSystem(k string) bool {
	for _, v := range jsonSystem {
		if v == k {
			return true
		}
	}
	return false
}

func readJSONL(t testing.TB, path string) []decoded {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []decoded
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var line struct {
			System    map[string]string
			EventData map[string]string
		}
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		d := decoded{system: map[string]string{}, data: line.EventData}
		for k, v := range line.System {
			if keptSystem(k) {
				d.system[k] = v
			}
		}
		if d.data == nil {
			d.data = map[string]string{}
		}
		out = append(out, d)
	}
	return out
}
