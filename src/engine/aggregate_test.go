package engine

import (
	"bytes"
	"io"
	"math"
	"math/rand/v2"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"testing"
)

// TestMergeOverflow: counts that would wrap at 2^64 are refused, by Merge and by AddPartial.
func TestMergeOverflow(t *testing.T) {
	c := seedDetection(t)
	key := make([][]byte, len(c.ByFields()))
	for i := range key {
		key[i] = []byte("k")
	}
	a, b := c.NewAggregator(Options{}), c.NewAggregator(Options{})
	if err := a.AddPartial(&Partial{Key: key, Count: math.MaxUint64}); err != nil {
		t.Fatal(err)
	}
	if err := b.AddPartial(&Partial{Key: key, Count: 1}); err != nil {
		t.Fatal(err)
	}
	if err := a.Merge(b); err == nil || !strings.Contains(err.Error(), "overflows") {
		t.Errorf("Merge: %v, want an overflow error", err)
	}
	if err := a.AddPartial(&Partial{Key: key, Count: 1}); err == nil || !strings.Contains(err.Error(), "overflows") {
		t.Errorf("AddPartial: %v, want an overflow error", err)
	}
	if err := a.AddStats(Stats{Records: math.MaxUint64}); err != nil {
		t.Fatal(err)
	}
	if err := a.AddStats(Stats{Records: 1}); err == nil {
		t.Error("AddStats wrapped Records")
	}
	if rows := a.Rows(); len(rows) != 1 || rows[0].Count != math.MaxUint64 {
		t.Errorf("rows %+v", rows)
	}
}

// TestSpillSameRows writes the groups out as runs at random points, with every option set, and checks that
// merging the runs gives the rows Rows gives when everything stays in memory, partials and worker merges
// included: with MergeRuns (a worker merged in with Merge), with a merger given the worker's groups (NextView
// and Next), and after compacting the runs into one.
func TestSpillSameRows(t *testing.T) {
	c := seedDetection(t)
	rng := rand.New(rand.NewPCG(5, 6))
	compared := 0
	for _, o := range []Options{{}, {FillNull: true, FillNullValue: "null"}, {Annotate: true}} {
		for round := range 8 {
			whole, spilled, worker := c.NewAggregator(o), c.NewAggregator(o), c.NewAggregator(o)
			kept, keeper := c.NewAggregator(o), c.NewAggregator(o) // the worker keeps its groups, both spill
			r := c.NewRecord()
			var runs, keptRuns []*bytes.Buffer
			spill := func(a *Aggregator, to *[]*bytes.Buffer) {
				var b bytes.Buffer
				if _, err := a.WriteRun(&b); err != nil {
					t.Fatal(err)
				}
				if a.Mem() != 0 || a.Groups() != 0 {
					t.Fatalf("after WriteRun: %d bytes in %d groups", a.Mem(), a.Groups())
				}
				*to = append(*to, &b)
			}
			for range 200 + rng.IntN(800) {
				x := randomRecord(rng, c.Fields(), 0.05)
				feed(c, r, x)
				whole.Add(r)
				if rng.IntN(3) == 0 {
					worker.Add(r)
					keeper.Add(r)
				} else {
					spilled.Add(r)
					kept.Add(r)
				}
				if rng.IntN(40) == 0 {
					if err := spilled.Merge(worker); err != nil {
						t.Fatal(err)
					}
					worker.Reset()
				}
				if rng.IntN(60) == 0 {
					spill(spilled, &runs)
				}
				if rng.IntN(50) == 0 {
					spill(kept, &keptRuns)
				}
				if rng.IntN(70) == 0 {
					spill(keeper, &keptRuns)
				}
			}
			if err := spilled.Merge(worker); err != nil {
				t.Fatal(err)
			}
			if err := kept.AddStats(keeper.Stats()); err != nil {
				t.Fatal(err)
			}
			want := whole.Rows()
			if len(runs) == 0 || len(keptRuns) < 2 || len(want) == 0 {
				continue
			}
			compared++
			got := mergeAll(t, spilled, runs, nil, false)
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("%+v round %d (%d runs): %d rows, want %d\nfirst got  %+v\nfirst want %+v", o, round, len(runs), len(got), len(want), got[0], want[0])
			}
			if spilled.Stats() != whole.Stats() || kept.Stats() != whole.Stats() {
				t.Fatalf("stats %+v and %+v, want %+v", spilled.Stats(), kept.Stats(), whole.Stats())
			}
			for _, views := range []bool{false, true} {
				if got := mergeAll(t, kept, keptRuns, keeper, views); !reflect.DeepEqual(got, want) {
					t.Fatalf("%+v round %d, worker kept (views %v, %d runs): %d rows, want %d", o, round, views, len(keptRuns), len(got), len(want))
				}
			}
			var compact bytes.Buffer
			if _, err := kept.CompactRuns(readers(keptRuns), &compact); err != nil {
				t.Fatal(err)
			}
			if got := mergeAll(t, kept, []*bytes.Buffer{&compact}, keeper, true); !reflect.DeepEqual(got, want) {
				t.Fatalf("%+v round %d, after compacting %d runs: %d rows, want %d", o, round, len(keptRuns), len(got), len(want))
			}
		}
	}
	if compared < 20 {
		t.Fatalf("only %d of 24 rounds spilled and had rows", compared)
	}
}

func readers(bufs []*bytes.Buffer) []io.Reader {
	var rs []io.Reader
	for _, b := range bufs {
		rs = append(rs, bytes.NewReader(b.Bytes()))
	}
	return rs
}

// mergeAll merges a's groups, those of other (when not nil) and the runs, and returns copies of the rows: with
// MergeRuns when other is nil, else with a merger, read with NextView or Next.
func mergeAll(t *testing.T, a *Aggregator, runs []*bytes.Buffer, other *Aggregator, views bool) []Row {
	t.Helper()
	var got []Row
	keep := func(row *Row) {
		cp := *row
		cp.Key = slices.Clone(row.Key)
		if row.Annotations != nil {
			cp.Annotations = make([][]string, len(row.Annotations))
			for i, vs := range row.Annotations {
				cp.Annotations[i] = slices.Clone(vs)
			}
		}
		cp.Ext = cloneExt(row.Ext)
		got = append(got, cp)
	}
	if other == nil {
		err := a.MergeRuns(readers(runs), func(row *Row) error { keep(row); return nil })
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	m, err := a.NewMerger(readers(runs), other)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	for {
		var row *Row
		if views {
			v, err := m.NextView()
			if err == io.EOF {
				return got
			}
			if err != nil {
				t.Fatal(err)
			}
			r := v.Row()
			row = &r
		} else if row, err = m.Next(); err == io.EOF {
			return got
		} else if err != nil {
			t.Fatal(err)
		}
		keep(row)
	}
}

// TestMemCostsTheKey: a group whose key holds a 16 MiB value costs about 16 MiB, not several times that.
func TestMemCostsTheKey(t *testing.T) {
	c := seedDetection(t)
	a := c.NewAggregator(Options{})
	key := make([][]byte, len(c.ByFields()))
	for i := range key {
		key[i] = []byte("k")
	}
	key[0] = bytes.Repeat([]byte("x"), 16<<20)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	if err := a.AddPartial(&Partial{Key: key, Count: 1}); err != nil {
		t.Fatal(err)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	grew := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	if grew > 18<<20 {
		t.Errorf("one 16 MiB key value costs %d MiB of heap", grew>>20)
	}
	if m := a.Mem(); m < 16<<20 || m > 17<<20 {
		t.Errorf("Mem() = %d, want about 16 MiB", m)
	}
	runtime.KeepAlive(a)
}

// TestCommonPrefixSuffix: the word-at-a-time loops find the first and last differing byte at every position.
func TestCommonPrefixSuffix(t *testing.T) {
	for n := 0; n <= 20; n++ {
		for pos := 0; pos <= n; pos++ {
			a := bytes.Repeat([]byte{'k'}, n)
			b := bytes.Clone(a)
			if pos < n {
				b[pos] = 'x'
			}
			wantP, wantS := pos, n-1-pos
			if pos == n {
				wantP, wantS = n, n
			}
			if got := commonPrefix(a, b); got != wantP {
				t.Errorf("commonPrefix, %d bytes differing at %d: %d", n, pos, got)
			}
			if got := commonSuffix(a, b); got != wantS {
				t.Errorf("commonSuffix, %d bytes differing at %d: %d", n, pos, got)
			}
			if got := commonSuffix(append([]byte("longer "), a...), b); got != wantS {
				t.Errorf("commonSuffix of a longer slice, %d bytes differing at %d: %d", n, pos, got)
			}
		}
	}
}
