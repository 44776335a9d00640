package engine

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"reflect"
	"strconv"
	"testing"
)

// TestPlanMergeSameRows splits merges of runs and groups in memory (equal keys in several sources, runs long
// enough to have many restart points) into parts of many sizes and checks that the parts' rows, read one part
// after the other, are NewMerger's rows, with every option.
func TestPlanMergeSameRows(t *testing.T) {
	c := seedDetection(t)
	rng := rand.New(rand.NewPCG(7, 8))
	for _, o := range []Options{{}, {Annotate: true}} {
		for _, groups := range []int{0, 1, 900, 6000} {
			a, worker := c.NewAggregator(o), c.NewAggregator(o)
			r := c.NewRecord()
			var runs []Run
			spill := func(b *Aggregator) {
				var buf bytes.Buffer
				x, err := b.WriteRun(&buf)
				if err != nil {
					t.Fatal(err)
				}
				if x.Size() != int64(buf.Len()) {
					t.Fatalf("index gives %d bytes, run has %d", x.Size(), buf.Len())
				}
				runs = append(runs, Run{R: bytes.NewReader(buf.Bytes()), Index: x})
			}
			// Each group in two of five sources; the keys share long prefixes, as sorted command lines do.
			for part := range 5 {
				for g := range groups {
					if g%5 != part && (g+1)%5 != part {
						continue
					}
					x := randomRecord(rng, c.Fields(), 0)
					x.fields["parent_process"] = []string{"C:\\Windows\\Microsoft.NET\\RegAsm.exe /U " + string(rune('a'+g%7)) + " " + strconv.Itoa(g)}
					x.fields["parent_process_name"] = []string{"RegAsm.exe"}
					feed(c, r, x)
					if part%2 == 0 {
						a.Add(r)
					} else {
						worker.Add(r)
					}
				}
				switch part {
				case 0, 1, 2:
					spill(a)
				case 3:
					spill(worker)
				}
			}
			want := planRows(t, a, runs, worker, -1)
			if groups > 0 && len(want) == 0 {
				t.Fatalf("%d groups: no rows", groups)
			}
			for _, per := range []int{0, 1, 7, 100, 1000, 5000, 1 << 30} {
				if got := planRows(t, a, runs, worker, per); !reflect.DeepEqual(got, want) {
					t.Fatalf("%+v, %d groups, %d per part: %d rows, want %d", o, groups, per, len(got), len(want))
				}
			}
		}
	}
}

// Groups returns an upper bound of the rows of the whole merge: the groups of every source.
func (p *MergePlan) Groups() int {
	n := 0
	for _, o := range p.orders {
		n += len(o)
	}
	for _, r := range p.runs {
		n += r.Index.n
	}
	return n
}

// planRows returns the rows of a's groups, worker's and the runs, merged by NewMerger (per < 0) or by the
// parts of PlanMerge with per groups per part (partRows); it checks that a plan of many groups has several
// parts.
func planRows(t *testing.T, a *Aggregator, runs []Run, worker *Aggregator, per int) []Row {
	t.Helper()
	if per < 0 {
		rs := make([]io.Reader, len(runs))
		for i, r := range runs {
			rs[i] = io.NewSectionReader(r.R, 0, r.Index.Size())
		}
		m, err := a.NewMerger(rs, worker)
		if err != nil {
			t.Fatal(err)
		}
		return readRows(t, m, nil)
	}
	p, err := a.PlanMerge(runs, PartSize{Groups: per}, worker)
	if err != nil {
		t.Fatal(err)
	}
	if per > 0 && per <= 100 && p.Groups() > 4*restartEvery && p.Parts() < 4 {
		t.Fatalf("%d groups in %d parts of %d", p.Groups(), p.Parts(), per)
	}
	return partRows(t, p)
}

// partRows returns the rows of p's parts, read in order, each part's merger closed before the next is made (so
// that it reuses the buffers), after a merger closed before its end.
func partRows(t *testing.T, p *MergePlan) []Row {
	t.Helper()
	if p.Parts() > 1 { // a merger closed before its end leaves its buffers to the next
		m, err := p.Merger(1)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := m.Next(); err != nil {
			t.Fatal(err)
		}
		m.Close()
	}
	var rows []Row
	for i := range p.Parts() {
		m, err := p.Merger(i)
		if err != nil {
			t.Fatal(err)
		}
		rows = readRows(t, m, rows)
	}
	return rows
}

// readRows appends copies of m's rows to rows and closes m.
func readRows(t *testing.T, m *Merger, rows []Row) []Row {
	t.Helper()
	defer m.Close()
	for {
		row, err := m.Next()
		if err == io.EOF {
			return rows
		}
		if err != nil {
			t.Fatal(err)
		}
		cp := *row
		cp.Key = append([]string(nil), row.Key...)
		rows = append(rows, cp)
	}
}

// FuzzPlanMerge merges a run of up to 3,000 groups and groups in memory in parts of a fuzzed size, the run
// intact or with one byte changed: intact, the parts' rows are NewMerger's; changed, every part ends in rows or a
// corrupt-run error, never a panic or a hang.
func FuzzPlanMerge(f *testing.F) {
	c := seedDetection(f)
	f.Add(uint16(1000), uint64(1), uint16(50), uint32(0), byte(0))
	f.Add(uint16(3000), uint64(2), uint16(7), uint32(5000), byte(0x40))
	f.Add(uint16(300), uint64(3), uint16(1), uint32(17), byte(0xFF))
	f.Fuzz(func(t *testing.T, n uint16, seed uint64, per uint16, at uint32, flip byte) {
		n %= 3001
		rng := rand.New(rand.NewPCG(seed, 9))
		a, other := c.NewAggregator(Options{}), c.NewAggregator(Options{})
		r := c.NewRecord()
		for g := range int(n) {
			x := randomRecord(rng, c.Fields(), 0)
			x.fields["parent_process"] = []string{"C:\\Windows\\RegAsm.exe /U " + strconv.Itoa(g%97) + " " + strconv.Itoa(g)}
			x.fields["parent_process_name"] = []string{"RegAsm.exe"}
			feed(c, r, x)
			if g%3 == 0 {
				other.Add(r)
			} else {
				a.Add(r)
			}
		}
		var buf bytes.Buffer
		x, err := a.WriteRun(&buf)
		if err != nil {
			t.Fatal(err)
		}
		run := buf.Bytes()
		if flip != 0 && len(run) > 0 {
			run[int(at)%len(run)] ^= flip
		}
		runs := []Run{{R: bytes.NewReader(run), Index: x}}
		p, err := a.PlanMerge(runs, PartSize{Groups: int(per), Bytes: int64(per) * 200, RowBytes: 40}, other)
		if err != nil {
			t.Fatal(err)
		}
		var got []Row
		var failed error
		for i := range p.Parts() {
			m, err := p.Merger(i)
			for err == nil {
				var row *Row
				if row, err = m.Next(); err == nil {
					cp := *row
					cp.Key = append([]string(nil), row.Key...)
					got = append(got, cp)
				}
			}
			if m != nil {
				m.Close()
			}
			if err != io.EOF {
				if !errors.Is(err, errCorruptRun) {
					t.Fatalf("part %d: error %v does not say the run is corrupt", i, err)
				}
				failed = err
			}
		}
		if flip != 0 {
			return
		}
		if failed != nil {
			t.Fatalf("intact run: %v", failed)
		}
		if want := planRows(t, a, runs, other, -1); !reflect.DeepEqual(got, want) {
			t.Fatalf("%d groups in %d parts: %d rows, want %d", n, p.Parts(), len(got), len(want))
		}
	})
}

// TestPlanMergeLongKeys: groups whose keys are 20 KB long (an encoded PowerShell command line) are split into
// parts by their bytes, not only by their number, as finely as the restart points allow; the parts' rows are
// NewMerger's.
func TestPlanMergeLongKeys(t *testing.T) {
	c := seedDetection(t)
	a, worker := c.NewAggregator(Options{}), c.NewAggregator(Options{})
	r := c.NewRecord()
	long := bytes.Repeat([]byte("JABzAD0ATgBlAHcALQBPAGIAagBlAGMAdAAg"), 20_000/36)
	var runs []Run
	for g := range 2400 {
		r.Reset()
		for slot := range c.Fields() {
			r.Add(slot, []byte("WKS-1"))
		}
		r.Add(c.Slot("parent_process_name"), []byte("RegAsm.exe"))
		r.Add(c.Slot("process"), append([]byte("powershell -enc "+strconv.Itoa(g)+" "), long...))
		if g%2 == 0 {
			a.Add(r)
		} else {
			worker.Add(r)
		}
		if g%600 == 599 {
			var buf bytes.Buffer
			x, err := a.WriteRun(&buf)
			if err != nil {
				t.Fatal(err)
			}
			runs = append(runs, Run{R: bytes.NewReader(buf.Bytes()), Index: x})
		}
	}
	// 2,400 keys of 20 KB are 48 MB: by number, one part; by bytes, many. The runs' restart points, every 128
	// keys here (the keys differ in a few bytes, so a run holds little), keep parts from being finer.
	p, err := a.PlanMerge(runs, PartSize{Groups: 16384, Bytes: 1 << 20, RowBytes: 48}, worker)
	if err != nil {
		t.Fatal(err)
	}
	if p.Parts() < 15 {
		t.Fatalf("48 MB of keys in %d parts of 1 MiB", p.Parts())
	}
	got := partRows(t, p)
	if want := planRows(t, a, runs, worker, -1); len(got) < 2400 || !reflect.DeepEqual(got, want) {
		t.Fatalf("%d rows, want %d", len(got), len(want))
	}
}
