package sysmon

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"regasmdetect/src/cim"
	"regasmdetect/src/internal/evtxcraft"
	"regasmdetect/src/internal/shared"
)

// step is what one call to Next gave, with the counts after it.
type step struct {
	p     string // the record, rendered
	err   string
	stats Stats
}

func renderProcess(p *cim.Process) string {
	return fmt.Sprintf("%v %v %s %d %q", p.Time, p.HasTime, p.Source, p.Record, p.Values)
}

func steps(t testing.TB, r Reader) []step {
	t.Helper()
	var out []step
	for i := 0; ; i++ {
		if i > 1_000_000 {
			t.Fatal("reader does not end")
		}
		var s step
		var p cim.Process
		err := r.Next(&p)
		s.p = renderProcess(&p)
		s.stats = r.Stats()
		if err == io.EOF {
			return append(out, s)
		}
		if err != nil {
			var re *RecordError
			if !errors.As(err, &re) {
				t.Fatalf("Next: %v", err)
			}
			s.err, s.p = err.Error(), ""
		}
		out = append(out, s)
	}
}

// evtxVariants returns the shared EVTX files and damaged copies of one: the crafted template count, a flipped
// records byte, a cut in the middle of a chunk.
func evtxVariants(t *testing.T) map[string][]byte {
	m := map[string][]byte{}
	for _, rel := range []string{
		"data/sysmon/evtx-attack-samples/PanacheSysmon_vs_AtomicRedTeam01.evtx",
		"data/sysmon/evtx-attack-samples/panache_sysmon_vs_EDRTestingScript.evtx",
		"data/sysmon/omerbenamram-evtx/sysmon.evtx",
	} {
		b, err := os.ReadFile(shared.Path(t, rel))
		if err != nil {
			t.Fatal(err)
		}
		m[rel[strings.LastIndexByte(rel, '/')+1:]] = b
	}
	b := m["sysmon.evtx"]
	crafted, err := evtxcraft.TemplateCount(b, 3, 0xFFFFFFFF)
	if err != nil {
		t.Fatal(err)
	}
	m["crafted"] = crafted
	flipped := bytes.Clone(b)
	flipped[4096+2*evtxChunkSize+3000] ^= 0xff
	m["flipped"] = flipped
	m["truncated"] = b[:4096+5*evtxChunkSize+1234]
	return m
}

// TestEVTXParallelSameAsSequential: with 2, 3 or 8 workers the reader gives what it gives with one, call by
// call: the same records, the same errors in the same places, the same counts after each call.
func TestEVTXParallelSameAsSequential(t *testing.T) {
	for name, b := range evtxVariants(t) {
		r, err := newEVTXReader(bytes.NewReader(b), name, 1)
		if err != nil {
			t.Fatal(err)
		}
		want := steps(t, r)
		for _, workers := range []int{2, 3, 8} {
			r, err := newEVTXReader(bytes.NewReader(b), name, workers)
			if err != nil {
				t.Fatal(err)
			}
			got := steps(t, r)
			if len(got) != len(want) {
				t.Fatalf("%s, %d workers: %d calls, want %d", name, workers, len(got), len(want))
			}
			for i := range got {
				if got[i] != want[i] {
					t.Fatalf("%s, %d workers: call %d: %+v, want %+v", name, workers, i, got[i], want[i])
				}
			}
		}
		t.Logf("%s: %d calls, %+v", name, len(want), want[len(want)-1].stats)
	}
}

// TestEVTXDamage: each damaged copy gives one error naming the file, the chunk and its offset, and every other
// record.
func TestEVTXDamage(t *testing.T) {
	v := evtxVariants(t)
	tests := []struct {
		name, want string
		creations  int64
	}{
		{"crafted", "crafted: record 1862: chunk 3 at offset 200704, byte 1748: template argument count 4294967295 exceeds the 2428 bytes left", 226},
		{"flipped", "flipped: chunk 2 at offset 135168, byte 52: event records checksum", 0},
		{"truncated", "truncated: chunk 5 at offset 331776: truncated chunk: 1234 of 65536 bytes", 0},
	}
	for _, tt := range tests {
		r, err := NewEVTXStream(bytes.NewReader(v[tt.name]), tt.name)
		if err != nil {
			t.Fatal(err)
		}
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		start := time.Now()
		recs, errs := readAllErrs(t, r)
		elapsed := time.Since(start)
		runtime.ReadMemStats(&after)
		if len(errs) != 1 || !strings.HasPrefix(errs[0].Error(), tt.want) {
			t.Errorf("%s: errors %v, want %q", tt.name, errs, tt.want)
		}
		if tt.creations > 0 && int64(len(recs)) != tt.creations {
			t.Errorf("%s: %d process creations, want %d", tt.name, len(recs), tt.creations)
		}
		if tt.creations == 0 && (len(recs) == 0 || len(recs) >= 227) {
			t.Errorf("%s: %d process creations: want the undamaged chunks' ones", tt.name, len(recs))
		}
		if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 64<<20 || elapsed > 10*time.Second {
			t.Errorf("%s: %d bytes allocated, %v", tt.name, alloc, elapsed)
		}
		t.Logf("%s: %v (%d process creations, %v, %d KiB allocated)", tt.name, errs, len(recs), elapsed, (after.TotalAlloc-before.TotalAlloc)>>10)
	}
}

// TestEVTXClose: closing a reader part way stops its goroutines.
func TestEVTXClose(t *testing.T) {
	b := evtxVariants(t)["PanacheSysmon_vs_AtomicRedTeam01.evtx"]
	base := runtime.NumGoroutine()
	for i := 0; i < 5; i++ {
		r, err := newEVTXReader(bytes.NewReader(b), "x", 4)
		if err != nil {
			t.Fatal(err)
		}
		var p cim.Process
		for j := 0; j < 10*i; j++ {
			if err := r.Next(&p); err != nil {
				t.Fatal(err)
			}
		}
		r.Close()
		if err := r.Next(&p); err != io.EOF {
			t.Errorf("Next after Close: %v", err)
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > base && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > base {
		t.Errorf("%d goroutines, %d before", n, base)
	}
}

// TestEVTXAllocsPerEvent: once a reader's buffers have grown, the EVTX reader allocates nothing per event: a
// stream of the same file's chunks ten times over costs at most about one allocation per extra event, the one
// Map makes to lower-case IntegrityLevel.
func TestEVTXAllocsPerEvent(t *testing.T) {
	b := evtxVariants(t)["PanacheSysmon_vs_AtomicRedTeam01.evtx"]
	ten := bytes.Clone(b)
	for i := 1; i < 10; i++ {
		ten = append(ten, b[4096:]...)
	}
	for _, workers := range []int{1, 2} {
		count := func(img []byte) (float64, int64) {
			var events int64
			allocs := testing.AllocsPerRun(3, func() {
				r, err := newEVTXReader(bytes.NewReader(img), "x", workers)
				if err != nil {
					t.Fatal(err)
				}
				var p cim.Process
				for r.Next(&p) != io.EOF {
				}
				events = r.Stats().Events
			})
			return allocs, events
		}
		a1, e1 := count(b)
		a10, e10 := count(ten)
		if e10 != 10*e1 {
			t.Fatalf("%d events in ten copies, %d in one", e10, e1)
		}
		perEvent := (a10 - a1) / float64(e10-e1)
		if perEvent > 1.0 {
			t.Errorf("%d workers: %.3f allocations per event (%v for %d events, %v for %d)", workers, perEvent, a10, e10, a1, e1)
		}
		t.Logf("%d workers: %v allocations for %d events, %v for %d: %.4f per extra event", workers, a1, e1, a10, e10, perEvent)
	}
}

// BenchmarkEVTXOneWorker is BenchmarkEVTX decoding on one goroutine.
func BenchmarkEVTXOneWorker(b *testing.B) {
	benchReader(b, "data/sysmon/evtx-attack-samples/PanacheSysmon_vs_AtomicRedTeam01.evtx", func(d []byte) Reader {
		r, err := newEVTXReader(bytes.NewReader(d), "bench", 1)
		if err != nil {
			b.Fatal(err)
		}
		return r
	})
}
