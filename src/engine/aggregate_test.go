package engine

import (
	"math"
	"strings"
	"testing"

	"regasmdetect/src/escu"
)

// TestMergeOverflow: counts that would wrap at 2^64 are refused, by Merge and by AddPartial.
func TestMergeOverflow(t *testing.T) {
	d, err := escu.Lookup(escu.Default)
	if err != nil {
		t.Fatal(err)
	}
	c, err := Compile(d)
	if err != nil {
		t.Fatal(err)
	}
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
