package engine

import (
	"bytes"
	"errors"
	"io"
	"testing"
)

// FuzzMergeRun reads arbitrary bytes as a spilled run: the merge gives rows of as many key values as there are
// by-fields, or a corrupt-run error; never a panic, a hang or an allocation larger than the run.
func FuzzMergeRun(f *testing.F) {
	c := seedDetection(f)
	for _, o := range []Options{{}, {Annotate: true}} {
		a := c.NewAggregator(o)
		r := c.NewRecord()
		for i, v := range []string{"h1", "h\x00", "\xff", "h1"} {
			r.Reset()
			for slot := range c.Fields() {
				r.Add(slot, []byte(v))
			}
			r.Add(c.Slot("parent_process_name"), []byte("RegAsm.exe"))
			r.SetTime([]byte([]string{"1599171244", "1599171244.5", "", "7"}[i]))
			a.Add(r)
		}
		var run bytes.Buffer
		if _, err := a.WriteRun(&run); err != nil {
			f.Fatal(err)
		}
		f.Add(run.Bytes(), o.Annotate)
	}
	f.Fuzz(func(t *testing.T, run []byte, annotate bool) {
		a := c.NewAggregator(Options{Annotate: annotate})
		var keys [][]byte // each row's key as CSV fields
		err := a.MergeRuns([]io.Reader{bytes.NewReader(run)}, func(row *Row) error {
			if len(row.Key) != len(c.ByFields()) {
				t.Fatalf("a row of %d key values", len(row.Key))
			}
			vals := make([][]byte, len(row.Key))
			for i, v := range row.Key {
				vals[i] = []byte(v)
			}
			keys = append(keys, csvFields(vals))
			return nil
		})
		if err != nil && !errors.Is(err, errCorruptRun) {
			t.Fatalf("error %v does not say the run is corrupt", err)
		}
		// NextCSV and NextCSVLen give the same rows, their keys written as CSV or measured, and the same error.
		for _, measure := range []bool{false, true} {
			m, err2 := c.NewAggregator(Options{Annotate: annotate}).NewMerger([]io.Reader{bytes.NewReader(run)})
			for i := 0; err2 == nil; i++ {
				var v *RowView
				if measure {
					if v, err2 = m.NextCSVLen(); err2 == nil && i < len(keys) && v.KeyCSVLen != len(keys[i]) {
						t.Fatalf("NextCSVLen row %d: %d, Next's row %q", i, v.KeyCSVLen, keys[i])
					}
				} else if v, err2 = m.NextCSV(); err2 == nil && i < len(keys) && !bytes.Equal(v.KeyCSV, keys[i]) {
					t.Fatalf("NextCSV row %d: key %q, Next's %q", i, v.KeyCSV, keys[i])
				}
				if err2 == nil && i >= len(keys) {
					t.Fatalf("row %d after Next's %d rows", i, len(keys))
				}
			}
			if m != nil {
				m.Close()
			}
			if err2 == io.EOF {
				err2 = nil
			}
			if (err == nil) != (err2 == nil) {
				t.Fatalf("MergeRuns: %v, NextCSV (measure %v): %v", err, measure, err2)
			}
		}
	})
}
