package command

import (
	"math"
	"math/rand/v2"
	"testing"

	"regasmdetect/src/engine"
	"regasmdetect/src/scpv2"
)

// TestViewLen: the measuring pass's length of a row (viewLen, computed without formatting count and times)
// is the length view writes for it, for keys of 0 to 3 values, rows with and without times, counts and times
// of every size.
func TestViewLen(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	times := []float64{0, math.Copysign(0, -1), 1, -1, 0.5, 1e-6, 1e-7, 1599171244.277, 1<<31 - 1e-6, 1 << 31,
		1<<31 + 0.5, 1e21, -1599171244.000001, math.MaxFloat64, math.SmallestNonzeroFloat64}
	keys := [][]byte{nil, []byte(""), []byte("a"), []byte(`"x,y"`), []byte(`a,"b""c",`), []byte(`,,`)}
	var w scpv2.CSVWriter
	for i := range 50000 {
		r := &resultRenderer{s: &session{opts: &Options{}}, nKey: i % 4}
		v := &engine.RowView{Count: rng.Uint64() >> rng.IntN(64), HasTime: i%5 != 0}
		v.KeyCSV = keys[rng.IntN(len(keys))]
		v.KeyCSVLen = len(v.KeyCSV)
		pick := func() float64 {
			if rng.IntN(2) == 0 {
				return times[rng.IntN(len(times))]
			}
			x := float64(rng.Uint32()) + float64(rng.IntN(1e6))/1e6
			if rng.IntN(4) == 0 {
				return -x
			}
			return x
		}
		v.First = pick()
		v.Last = v.First
		if rng.IntN(2) == 0 {
			v.Last = pick()
		}
		w.Reset()
		r.view(&w, v)
		if got, want := r.viewLen(&w, v), w.Len(); got != want {
			t.Fatalf("row %d: viewLen = %d, view wrote %d bytes: %q", i, got, want, w.Bytes())
		}
	}
}
