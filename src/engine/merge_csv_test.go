package engine

import (
	"bytes"
	"io"
	"math/rand"
	"testing"
)

// TestMergerCSVBatches merges groups over many batches (spilled runs and groups in memory, equal keys in
// several) and checks that NextCSV writes and NextCSVLen measures every key as CSV exactly as Next's values
// written by scpv2.CSVWriter, with the same counts, in every batch whichever goroutine writes its keys.
func TestMergerCSVBatches(t *testing.T) {
	c := seedDetection(t)
	pool := []string{"", "h", "a,b", `q"uote`, "cr\rlf\n", "nul\x00", "\xff\xfe", "x y", "long value " +
		string(bytes.Repeat([]byte("z"), 300))}
	for _, groups := range []int{1, batchGroups - 1, batchGroups, batchGroups + 1, 7*batchGroups + 3, 5000} {
		rng := rand.New(rand.NewSource(int64(groups)))
		keys := make([][]string, groups)
		for g := range keys {
			keys[g] = make([]string, len(c.Fields()))
			for slot := range keys[g] {
				keys[g][slot] = pool[rng.Intn(len(pool))] + string(rune('a'+g%26)) + string(rune('a'+g/26%26)) +
					string(rune('a'+g/676%26))
			}
		}
		a := c.NewAggregator(Options{})
		r := c.NewRecord()
		var runs []io.Reader
		for part := range 4 { // three runs and the groups in memory; every group in two of them
			for g := range keys {
				if g%4 == part || (g+1)%4 == part {
					r.Reset()
					for slot, v := range keys[g] {
						r.Add(slot, []byte(v))
					}
					r.Add(c.Slot("parent_process_name"), []byte("RegAsm.exe"))
					a.Add(r)
				}
			}
			if part < 3 {
				var run bytes.Buffer
				if _, err := a.WriteRun(&run); err != nil {
					t.Fatal(err)
				}
				runs = append(runs, bytes.NewReader(run.Bytes()))
			}
		}
		var want [][]byte
		var counts []uint64
		m, err := a.NewMerger(runs)
		if err != nil {
			t.Fatal(err)
		}
		for {
			row, err := m.Next()
			if err == io.EOF {
				break
			} else if err != nil {
				t.Fatal(err)
			}
			vals := make([][]byte, len(row.Key))
			for i, v := range row.Key {
				vals[i] = []byte(v)
			}
			want, counts = append(want, csvFields(vals)), append(counts, row.Count)
		}
		if len(want) == 0 || len(want) > groups {
			t.Fatalf("%d groups: Next gave %d rows", groups, len(want))
		}
		for _, measure := range []bool{false, true} {
			for _, rd := range runs {
				rd.(*bytes.Reader).Seek(0, io.SeekStart)
			}
			m, err := a.NewMerger(runs)
			if err != nil {
				t.Fatal(err)
			}
			i := 0
			for ; ; i++ {
				var v *RowView
				if measure {
					v, err = m.NextCSVLen()
				} else {
					v, err = m.NextCSV()
				}
				if err == io.EOF {
					break
				} else if err != nil {
					t.Fatalf("%d groups, measure %v, row %d: %v", groups, measure, i, err)
				}
				if i >= len(want) {
					t.Fatalf("%d groups, measure %v: more than Next's %d rows", groups, measure, len(want))
				}
				if measure && v.KeyCSVLen != len(want[i]) || !measure && !bytes.Equal(v.KeyCSV, want[i]) {
					t.Fatalf("%d groups, measure %v, row %d: %q (%d), want %q", groups, measure, i, v.KeyCSV,
						v.KeyCSVLen, want[i])
				}
				if v.Count != counts[i] {
					t.Fatalf("%d groups, row %d: count %d, want %d", groups, i, v.Count, counts[i])
				}
			}
			if i != len(want) {
				t.Fatalf("%d groups, measure %v: %d rows, Next's %d", groups, measure, i, len(want))
			}
		}
	}
}
