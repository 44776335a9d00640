package engine

import (
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"

	"regasmdetect/src/escu"
	"regasmdetect/src/spl"
)

func compileSearch(t testing.TB, search string) *Detection {
	t.Helper()
	c, err := CompileSearch(&escu.Detection{Name: "g", Search: search}, search, Env{})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

type grec struct {
	f    fields
	time string
}

func TestGenericAggregates(t *testing.T) {
	c := compileSearch(t, `| tstats count values(Processes.process) as process dc(Processes.process_id) as pids earliest(Processes.user) as first_user latest(Processes.user) latest(_time) as lastTime earliest(_time) from datamodel=Endpoint.Processes where Processes.process_name=cmd.exe by _time span=1h Processes.dest | rename "Processes.*" as * | convert timeformat="%Y-%m-%dT%H:%M:%S" ctime(lastTime)`)
	wantCols := []string{"_time", "Processes.dest", "count", "process", "pids", "first_user", "latest(Processes.user)", "lastTime", "earliest(_time)"}
	if got := c.TstatsColumns(); !slices.Equal(got, wantCols) {
		t.Fatalf("columns %q, want %q", got, wantCols)
	}
	recs := []grec{
		{fields{"process_name": {"cmd.exe"}, "dest": {"h1"}, "process": {"b", "a"}, "process_id": {"1"}, "user": {"u2"}}, "7300"},
		{fields{"process_name": {"CMD.EXE"}, "dest": {"h1"}, "process": {"a"}, "process_id": {"2"}, "user": {"u1"}}, "7200"},
		{fields{"process_name": {"cmd.exe"}, "dest": {"h1"}, "process": {"c"}, "process_id": {"2"}}, "7250"},
		{fields{"process_name": {"cmd.exe"}, "dest": {"h1"}, "process_id": {"3"}, "user": {"u3"}}, "10800"}, // next hour
		{fields{"process_name": {"cmd.exe"}, "dest": {"h1"}}, "not a time"},                                 // no bucket: dropped
		{fields{"process_name": {"other.exe"}, "dest": {"h1"}, "process": {"z"}}, "7200"},                   // filtered
	}
	a := c.NewAggregator(Options{})
	r := c.NewRecord()
	for _, x := range recs {
		fill(c, r, x.f, x.time)
		a.Add(r)
	}
	if st := a.Stats(); st.Matched != 5 || st.NullDropped != 1 {
		t.Errorf("stats %+v, want 5 matched, 1 dropped for want of a time bucket", st)
	}
	tbl := c.Table(a.Rows())
	want := []spl.Row{
		{"_time": {"10800"}, "Processes.dest": {"h1"}, "count": {"1"}, "pids": {"1"}, "first_user": {"u3"}, "latest(Processes.user)": {"u3"}, "lastTime": {"10800"}, "earliest(_time)": {"10800"}},
		{"_time": {"7200"}, "Processes.dest": {"h1"}, "count": {"3"}, "process": {"a", "b", "c"}, "pids": {"2"}, "first_user": {"u1"}, "latest(Processes.user)": {"u2"}, "lastTime": {"7300"}, "earliest(_time)": {"7200"}},
	}
	if !reflect.DeepEqual(tbl.Rows, want) {
		t.Errorf("rows\n got %v\nwant %v", tbl.Rows, want)
	}
	res, err := c.Results(a.Rows(), spl.RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Columns[1] != "dest" || res.Rows[1]["lastTime"][0] != "1970-01-01T02:01:40" {
		t.Errorf("results %q %v", res.Columns, res.Rows)
	}
}

// TestGenericPartials splits random records between map aggregators and merges their partials: the rows must
// equal those of one aggregator over all records.
func TestGenericPartials(t *testing.T) {
	c := compileSearch(t, `| tstats count min(_time) as firstTime values(Processes.process) as process dc(Processes.process_id) as n earliest(Processes.user) as eu latest(Processes.user) as lu from datamodel=Endpoint.Processes where Processes.process_name IN (a*, b*) by _time span=10s Processes.dest`)
	rng := rand.New(rand.NewPCG(1, 2))
	pick := func(vs ...string) []string { return []string{vs[rng.IntN(len(vs))]} }
	var recs []grec
	for i := 0; i < 2000; i++ {
		recs = append(recs, grec{fields{"process_name": pick("a1", "b2", "c3"), "dest": pick("h1", "h2", "h3"),
			"process": pick("p1", "p2", "p3", "p4"), "process_id": pick("1", "2", "3"), "user": pick("u1", "u2", "u3", "")},
			pick("0", "5", "11", "12", "25", "25", "30")[0]})
	}
	all := c.NewAggregator(Options{})
	r := c.NewRecord()
	for _, x := range recs {
		fill(c, r, x.f, x.time)
		all.Add(r)
	}
	reduce := c.NewAggregator(Options{})
	for part := 0; part < 3; part++ {
		m := c.NewAggregator(Options{})
		for i := part; i < len(recs); i += 3 {
			fill(c, r, recs[i].f, recs[i].time)
			m.Add(r)
		}
		for _, row := range m.Rows() {
			p := Partial{Count: row.Count, First: row.First, Last: row.Last, HasTime: row.HasTime, Ext: row.Ext}
			for _, k := range row.Key {
				p.Key = append(p.Key, []byte(k))
			}
			if err := reduce.AddPartial(&p); err != nil {
				t.Fatal(err)
			}
		}
	}
	if got, want := reduce.Rows(), all.Rows(); !reflect.DeepEqual(got, want) {
		t.Errorf("merged partials differ:\n got %v\nwant %v", got[:min(3, len(got))], want[:min(3, len(want))])
	}
	if err := reduce.AddPartial(&Partial{Key: [][]byte{[]byte("0"), []byte("h")}, Count: 1, Ext: make([]AggState, 1)}); err == nil {
		t.Error("a partial with the wrong number of aggregate states was merged")
	}
}

func TestCompileSearchErrors(t *testing.T) {
	const from = " from datamodel=Endpoint.Processes"
	tests := []struct{ search, msg string }{
		{"| tstats min(Processes.user)" + from, "min and max only of _time"},
		{"| tstats values(_time)" + from, "unsupported aggregate values(_time)"},
		{"| tstats count as x dc(Processes.a) as x" + from, `two output columns named "x"`},
		{"| tstats count as Processes.x" + from + " by Processes.x", `two output columns named "Processes.x"`},
		{"| tstats `m` count" + from, "macro `m` is not expanded"},
		{"| tstats count" + from + " | `drop_dm_object_name(Processes)`", "is not expanded"},
		{"| tstats count" + from + " | transaction x", `unsupported command "transaction"`},
		{"| tstats count" + from + " | where", "where without an expression"},
		{"| tstats count" + from + " by _time Processes.dest", "without span="},
	}
	for _, tt := range tests {
		_, err := CompileSearch(&escu.Detection{Name: "g"}, tt.search, Env{})
		if err == nil || !strings.Contains(err.Error(), tt.msg) {
			t.Errorf("%s: %v, want %q", tt.search, err, tt.msg)
		}
	}
	if _, err := CompileSearch(nil, "", Env{}); err == nil {
		t.Error("nil detection")
	}
	// The strict Compile refuses what needs CompileSearch.
	for _, s := range []string{
		"| tstats count min(_time) max(_time)" + from + " by _time span=1h",
		"| tstats count values(Processes.x) min(_time) max(_time)" + from + " by Processes.dest | `drop_dm_object_name(Processes)`",
		"| tstats count min(_time) max(_time)" + from + " by Processes.dest | `drop_dm_object_name(Processes)` | where count > 1",
	} {
		if _, err := Compile(&escu.Detection{Name: "g", Search: s}); err == nil || !strings.Contains(err.Error(), "CompileSearch") && !strings.Contains(err.Error(), "only count") {
			t.Errorf("Compile(%s) = %v", s, err)
		}
	}
}

// TestGenericSeedSameRows compiles the seed detection both ways: the tstats rows are the same.
func TestGenericSeedSameRows(t *testing.T) {
	seed, err := escu.Lookup(escu.Default)
	if err != nil {
		t.Fatal(err)
	}
	strict, err := Compile(seed)
	if err != nil {
		t.Fatal(err)
	}
	exp, err := escu.ExpandBuiltin(seed.Search, seed.Stem())
	if err != nil {
		t.Fatal(err)
	}
	gen, err := CompileSearch(seed, exp, Env{})
	if err != nil {
		t.Fatal(err)
	}
	recs := []fields{
		{"parent_process_name": {"RegAsm.exe"}, "process_name": {"cmd.exe"}},
		{"parent_process_name": {"regasm.exe"}, "process_name": {"conhost.exe"}},
		{"parent_process_name": {"x.exe"}},
	}
	var rows [2][]Row
	for i, c := range []*Detection{strict, gen} {
		a := c.NewAggregator(Options{})
		r := c.NewRecord()
		for _, f := range recs {
			for _, by := range c.ByFields() {
				if _, ok := f[by]; !ok {
					f[by] = []string{"v_" + by}
				}
			}
			fill(c, r, f, "1599171244")
			a.Add(r)
		}
		rows[i] = a.Rows()
	}
	if !reflect.DeepEqual(rows[0], rows[1]) || len(rows[0]) != 2 {
		t.Errorf("strict %v\ngeneric %v", rows[0], rows[1])
	}
	if v, ok := gen.FillNullValue(); !ok || v != "null" {
		t.Errorf("FillNullValue() = %q, %v; want null from the built-in summariesonly macro", v, ok)
	}
	if _, ok := strict.FillNullValue(); ok {
		t.Error("the unexpanded seed has no fillnull_value option")
	}
	res, err := gen.Results(rows[1], spl.RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Columns[0] != "dest" || res.Rows[0]["firstTime"][0] != "2020-09-03T22:14:04" {
		t.Errorf("results %q %v", res.Columns, res.Rows)
	}
}

func TestGenericAllocs(t *testing.T) {
	c := compileSearch(t, `| tstats count min(_time) as firstTime max(_time) as lastTime values(Processes.process) as process dc(Processes.process_id) as n from datamodel=Endpoint.Processes where Processes.process_name=cmd.exe by _time span=1h Processes.dest`)
	a := c.NewAggregator(Options{})
	r := c.NewRecord()
	fill(c, r, fields{"process_name": {"cmd.exe"}, "dest": {"h1"}, "process": {"p"}, "process_id": {"1"}}, "7200.5")
	a.Add(r)
	if n := testing.AllocsPerRun(100, func() { a.Add(r) }); n != 0 {
		t.Errorf("Add on a record of an existing group with known values: %v allocs", n)
	}
}
