package cim

import (
	"bytes"
	"io"
	"strings"
	"testing"

	"regasmdetect/src/engine"
	"regasmdetect/src/escu"
	"regasmdetect/src/scpv2"
)

func seed(t *testing.T) *engine.Detection {
	t.Helper()
	d, err := escu.Lookup(escu.Default)
	if err != nil {
		t.Fatal(err)
	}
	det, err := engine.Compile(d)
	if err != nil {
		t.Fatal(err)
	}
	return det
}

// feed reads a CSV body through the binding into a fresh aggregator.
func feed(t *testing.T, det *engine.Detection, opts engine.Options, body string) (*engine.Aggregator, *Feeder, error) {
	t.Helper()
	agg := det.NewAggregator(opts)
	f := NewFeeder(det, agg)
	r := scpv2.NewCSVReader(strings.NewReader(body))
	header, err := r.Header()
	if err != nil {
		t.Fatal(err)
	}
	b, err := BindSearch(det, header, testSID)
	if err != nil {
		return agg, f, err
	}
	for {
		row, err := r.Next()
		if err == io.EOF {
			return agg, f, nil
		}
		if err != nil {
			t.Fatal(err)
		}
		if err := f.Feed(b, row); err != nil {
			return agg, f, err
		}
	}
}

const by = "dest,user,parent_process,process_name,process,process_id,parent_process_id"

// testSID is the search the tests' partial rows belong to.
const testSID = "1700000000.42"

func TestFieldRule(t *testing.T) {
	det := seed(t)
	cases := []struct {
		name string
		body string
		want []string // the first row's key, joined by |
		err  string
	}{
		{"prefixed columns", "Processes.parent_process_name,Processes.dest,Processes.user,Processes.parent_process,Processes.process_name,Processes.process,Processes.process_id,Processes.parent_process_id\nRegAsm.exe,h,u,pp,cmd.exe,c,1,2\n",
			[]string{"h|u|pp|cmd.exe|c|1|2"}, ""},
		{"plain columns", "parent_process_name," + by + "\nregasm.exe,h,u,pp,cmd.exe,c,1,2\n", []string{"h|u|pp|cmd.exe|c|1|2"}, ""},
		{"prefixed wins when non-empty, else plain", "Processes.dest,dest,parent_process_name,user,parent_process,process_name,process,process_id,parent_process_id\nH1,h2,regasm.exe,u,pp,n,c,1,2\n,h3,regasm.exe,u,pp,n,c,1,2\n",
			[]string{"H1|u|pp|n|c|1|2", "h3|u|pp|n|c|1|2"}, ""},
		{"multivalue twin", "parent_process_name,__mv_parent_process_name,process_name,__mv_process_name,dest,user,parent_process,process,process_id,parent_process_id\n\"cmd.exe\nregasm.exe\",$cmd.exe$;$regasm.exe$,\"a\nb\",$a$;$b$,h,u,pp,c,1,2\n",
			[]string{"h|u|pp|a|c|1|2", "h|u|pp|b|c|1|2"}, ""},
		{"bad twin", "parent_process_name,__mv_parent_process_name," + by + "\nx,$x,h,u,pp,n,c,1,2\n", nil, "multivalue"},
		{"duplicate column", "dest,dest\na,b\n", nil, "twice"},
		{"partial row", by + "," + PartialCount + "," + PartialFirstTime + "," + PartialLastTime + "," + PartialSearch + "\nh,u,pp,n,c,1,2,3,10,20," + testSID + "\n",
			[]string{"h|u|pp|n|c|1|2"}, ""},
		{"partial without a count", by + "," + PartialCount + "," + PartialSearch + "\nh,u,pp,n,c,1,2,zero," + testSID + "\n", nil, PartialCount},
		{"partial lacking a by-field", "dest," + PartialCount + "," + PartialSearch + "\nh,3," + testSID + "\n", nil, "lacks by-field"},
		// A record with partial columns but without this search's mark is a raw record: notepad.exe does not
		// match, and a record without the plain by-field columns is no error.
		{"unmarked partial is a record", "parent_process_name," + by + "," + PartialCount + "\nnotepad.exe,h,u,pp,n,c,1,2,999\n", nil, ""},
		{"partial of another search is a record", "parent_process_name," + by + "," + PartialCount + "," + PartialSearch + "\nnotepad.exe,h,u,pp,n,c,1,2,999,1700000000.43\n", nil, ""},
		{"unmarked partial without by-fields", "parent_process_name,dest," + PartialCount + "\nnotepad.exe,h,3\n", nil, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			agg, _, err := feed(t, det, engine.Options{}, c.body)
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("err %v, want %q", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			rows := agg.Rows()
			if len(rows) != len(c.want) {
				t.Fatalf("%d rows, want %d", len(rows), len(c.want))
			}
			for i, r := range rows {
				if got := strings.Join(r.Key, "|"); got != c.want[i] {
					t.Errorf("row %d key %q, want %q", i, got, c.want[i])
				}
			}
		})
	}
}

// TestCountersAndUTF8: a map phase's counters row is added to the stats; invalid UTF-8 is counted only in
// matching records and kept as it is.
func TestCountersAndUTF8(t *testing.T) {
	det := seed(t)
	body := "parent_process_name," + by + "," + PartialRecords + "," + PartialMatched + "," + PartialNullDropped + "," + PartialTruncated + "," + PartialSearch + "\n" +
		",,,,,,,,100,7,2,1," + testSID + "\n" +
		"regasm.exe,h\xff,u,pp,n,c,1,2,,,,,\n" +
		"cmd.exe,h\xff,u,pp,n,c,1,2,,,,,\n"
	agg, f, err := feed(t, det, engine.Options{}, body)
	if err != nil {
		t.Fatal(err)
	}
	st := agg.Stats()
	if st.Records != 102 || st.Matched != 8 || st.NullDropped != 2 || st.Truncated != 1 {
		t.Errorf("stats %+v", st)
	}
	if f.InvalidUTF8 != 1 {
		t.Errorf("InvalidUTF8 = %d, want 1 (only the matching record)", f.InvalidUTF8)
	}
	if rows := agg.Rows(); len(rows) != 1 || !bytes.Equal([]byte(rows[0].Key[0]), []byte("h\xff")) {
		t.Errorf("rows %+v", rows)
	}
}

// TestRequiredFields lists both forms of every field, _time and the partial columns.
func TestRequiredFields(t *testing.T) {
	got := strings.Join(RequiredFields(seed(t)), ",")
	for _, f := range []string{"Processes.parent_process_name", "parent_process_name", "Processes.parent_process_id", "_time", PartialCount, PartialNullDropped} {
		if !strings.Contains(","+got+",", ","+f+",") {
			t.Errorf("required fields %s lack %s", got, f)
		}
	}
}

// TestFeedAllocs: feeding a row allocates nothing.
func TestFeedAllocs(t *testing.T) {
	det := seed(t)
	agg := det.NewAggregator(engine.Options{})
	f := NewFeeder(det, agg)
	header := strings.Split("parent_process_name,"+by+",_time", ",")
	b, err := Bind(det, header)
	if err != nil {
		t.Fatal(err)
	}
	match := bytesRow("regasm.exe", "h", "u", "pp", "n", "c", "1", "2", "1700000000.5")
	miss := bytesRow("cmd.exe", "h", "u", "pp", "n", "c", "1", "2", "1700000000.5")
	f.Feed(b, match) // the group exists from here on
	if n := testing.AllocsPerRun(1000, func() { f.Feed(b, miss); f.Feed(b, match) }); n != 0 {
		t.Errorf("%v allocations per pair of rows", n)
	}
}

func bytesRow(vals ...string) [][]byte {
	out := make([][]byte, len(vals))
	for i, v := range vals {
		out[i] = []byte(v)
	}
	return out
}
