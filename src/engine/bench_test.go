package engine

import (
	"fmt"
	"testing"
)

// BenchmarkAdd feeds a realistic mix: 1 record in 200 (0.5 %) has regasm.exe as parent, in one of 20 groups.
func BenchmarkAdd(b *testing.B) {
	c := seedDetection(b)
	type rec struct {
		vals [][]byte
		time []byte
	}
	parents := []string{"explorer.exe", "svchost.exe", "services.exe", "cmd.exe", "powershell.exe", "RegAsm.exe.bak", "xregasm.exe"}
	fields := c.Fields()
	recs := make([]rec, 2000)
	size := 0
	for i := range recs {
		r := rec{vals: make([][]byte, len(fields)), time: fmt.Appendf(nil, "%d.%03d", 1599171244+i, i%1000)}
		for j, f := range fields {
			switch {
			case f == "parent_process_name" && i%200 == 7:
				r.vals[j] = []byte([]string{"RegAsm.exe", "regasm.exe"}[i%2])
			case f == "parent_process_name":
				r.vals[j] = []byte(parents[i%len(parents)])
			default:
				r.vals[j] = fmt.Appendf(nil, "%s-%d", f, i%20)
			}
			size += len(r.vals[j])
		}
		size += len(r.time)
		recs[i] = r
	}
	a := c.NewAggregator(Options{Annotate: true})
	r := c.NewRecord()
	b.SetBytes(int64(size / len(recs)))
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		x := &recs[i%len(recs)]
		i++
		r.Reset()
		for slot, v := range x.vals {
			r.Add(slot, v)
		}
		r.SetTime(x.time)
		a.Add(r)
	}
	if i > 7 && a.Stats().Matched == 0 { // record 7 is the first regasm parent
		b.Fatal("no record matched")
	}
}
