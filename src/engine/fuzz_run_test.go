package engine

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"regasmdetect/src/escu"
)

// FuzzMergeRun reads arbitrary bytes as a spilled run: the merge gives rows of as many key values as there are
// by-fields, or a corrupt-run error; never a panic, a hang or an allocation larger than the run.
func FuzzMergeRun(f *testing.F) {
	d, err := escu.Lookup(escu.Default)
	if err != nil {
		f.Fatal(err)
	}
	c, err := Compile(d)
	if err != nil {
		f.Fatal(err)
	}
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
		if err := a.WriteRun(&run); err != nil {
			f.Fatal(err)
		}
		f.Add(run.Bytes(), o.Annotate)
	}
	f.Fuzz(func(t *testing.T, run []byte, annotate bool) {
		a := c.NewAggregator(Options{Annotate: annotate})
		err := a.MergeRuns([]io.Reader{bytes.NewReader(run)}, func(row *Row) error {
			if len(row.Key) != len(c.ByFields()) {
				t.Fatalf("a row of %d key values", len(row.Key))
			}
			return nil
		})
		if err != nil && !errors.Is(err, errCorruptRun) {
			t.Fatalf("error %v does not say the run is corrupt", err)
		}
	})
}
