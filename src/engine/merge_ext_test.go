package engine

import (
	"reflect"
	"testing"

	"regasmdetect/src/escu"
)

// TestMergeKeepsExtendedAggregates: Merge (the command's parallel workers) carries values(), dc() and
// earliest()/latest() of a field, so merged aggregators give the rows of one aggregator fed every record.
func TestMergeKeepsExtendedAggregates(t *testing.T) {
	d := &escu.Detection{Name: "Merge Ext"}
	search := "| tstats count values(Processes.process) as process dc(Processes.user) as users " +
		"earliest(Processes.process_id) as first_pid latest(Processes.process_id) as last_pid " +
		"from datamodel=Endpoint.Processes where Processes.process_name=netsh.exe by Processes.dest"
	c, err := CompileSearch(d, search, Env{})
	if err != nil {
		t.Fatal(err)
	}
	recs := [][4]string{
		{"1", "netsh a", "u1", "10"}, {"2", "netsh b", "u2", "11"}, {"3", "netsh a", "u1", "12"}, {"4", "netsh c", "u3", "13"},
	}
	feed := func(a *Aggregator, rs [][4]string) {
		r := c.NewRecord()
		for _, x := range rs {
			r.Reset()
			r.Add(c.Slot("process_name"), []byte("netsh.exe"))
			r.Add(c.Slot("dest"), []byte("host"))
			r.Add(c.Slot("process"), []byte(x[1]))
			r.Add(c.Slot("user"), []byte(x[2]))
			r.Add(c.Slot("process_id"), []byte(x[3]))
			r.SetTime([]byte(x[0]))
			a.Add(r)
		}
	}
	whole := c.NewAggregator(Options{})
	feed(whole, recs)
	left, right := c.NewAggregator(Options{}), c.NewAggregator(Options{})
	feed(left, recs[2:])
	feed(right, recs[:2])
	if err := left.Merge(right); err != nil {
		t.Fatal(err)
	}
	if w, g := whole.Rows(), left.Rows(); !reflect.DeepEqual(w, g) {
		t.Fatalf("merged rows\n%+v\nwant\n%+v", g, w)
	}
	if len(whole.Rows()[0].Ext) == 0 || len(whole.Rows()[0].Ext[0].Values) != 3 {
		t.Fatalf("values(process) not computed: %+v", whole.Rows())
	}
}
