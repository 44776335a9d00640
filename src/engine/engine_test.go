package engine

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"

	"regasmdetect/src/escu"
	"regasmdetect/src/escu/escuyaml"
	"regasmdetect/src/internal/shared"
)

const testPrefix = "| tstats `security_content_summariesonly` count min(_time) as firstTime max(_time) as lastTime from datamodel=Endpoint.Processes"

// compileWhere compiles a test detection "t" with the given where clause and by-fields.
func compileWhere(t testing.TB, where, by, message string) *Detection {
	t.Helper()
	s := testPrefix
	if where != "" {
		s += " where " + where
	}
	s += " by " + by + " | `drop_dm_object_name(Processes)` | `security_content_ctime(firstTime)` | `t_filter`"
	c, err := Compile(&escu.Detection{Name: "t", Search: s, Tags: escu.Tags{Message: message, RiskScore: 64}})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// fields is a test record: field -> values (an empty string is a null value).
type fields map[string][]string

func fill(c *Detection, r *Record, f fields, time string) {
	r.Reset()
	for name, vs := range f {
		for _, v := range vs {
			r.Add(c.Slot(name), []byte(v))
		}
	}
	if time != "-" {
		r.SetTime([]byte(time))
	}
}

func TestMatch(t *testing.T) {
	tests := []struct {
		where string
		rec   fields
		want  bool
	}{
		// case-insensitive, whole value
		{"Processes.parent_process_name=regasm.exe", fields{"parent_process_name": {"regasm.exe"}}, true},
		{"Processes.parent_process_name=regasm.exe", fields{"parent_process_name": {"RegAsm.exe"}}, true},
		{"Processes.parent_process_name=regasm.exe", fields{"parent_process_name": {"REGASM.EXE"}}, true},
		{"Processes.parent_process_name=regasm.exe", fields{"parent_process_name": {"regasm.exe.bak"}}, false},
		{"Processes.parent_process_name=regasm.exe", fields{"parent_process_name": {"xregasm.exe"}}, false},
		{"Processes.parent_process_name=regasm.exe", fields{"parent_process_name": {"RegAsm.ex"}}, false},
		{"Processes.parent_process_name=regasm.exe", fields{"parent_process_name": {"regasm"}}, false},
		{"Processes.parent_process_name=regasm.exe", fields{"parent_process_name": {" regasm.exe"}}, false},
		{"Processes.parent_process_name=regasm.exe", fields{}, false},
		{"Processes.parent_process_name=regasm.exe", fields{"parent_process_name": {""}}, false},
		// multivalue: any value
		{"Processes.parent_process_name=regasm.exe", fields{"parent_process_name": {"cmd.exe", "RegAsm.exe"}}, true},
		{"Processes.parent_process_name=regasm.exe", fields{"parent_process_name": {"cmd.exe", "x.exe"}}, false},
		// wildcards
		{"Processes.parent_process_name=reg*.exe", fields{"parent_process_name": {"RegSvcs.EXE"}}, true},
		{"Processes.parent_process_name=reg*.exe", fields{"parent_process_name": {"reg.exe"}}, true},
		{"Processes.parent_process_name=reg*.exe", fields{"parent_process_name": {"re.exe"}}, false},
		{"Processes.parent_process_name=*asm*", fields{"parent_process_name": {"REGASM.exe"}}, true},
		{"Processes.parent_process_name=*asm*", fields{"parent_process_name": {"regsvcs.exe"}}, false},
		{"Processes.parent_process_name=*", fields{"parent_process_name": {"x"}}, true},
		{"Processes.parent_process_name=*", fields{}, false},
		{"Processes.parent_process_name=a*a", fields{"parent_process_name": {"a"}}, false},
		{"Processes.parent_process_name=a*a", fields{"parent_process_name": {"aa"}}, true},
		{"Processes.parent_process_name=a**b*c", fields{"parent_process_name": {"AxBxC"}}, true},
		{`Processes.parent_process_name="reg asm*"`, fields{"parent_process_name": {"Reg Asm.exe"}}, true},
		// Unicode simple folding, as strings.EqualFold
		{"Processes.parent_process_name=ünïcode.exe", fields{"parent_process_name": {"ÜNÏCODE.EXE"}}, true},
		{"Processes.parent_process_name=kelvin", fields{"parent_process_name": {"\u212Aelvin"}}, true},
		{"Processes.parent_process_name=*s", fields{"parent_process_name": {"clas\u017F"}}, true},
		{"Processes.parent_process_name=straße", fields{"parent_process_name": {"STRASSE"}}, false},
		// IN
		{`Processes.process_name IN ("conhost.exe", cmd.exe)`, fields{"process_name": {"CMD.exe"}}, true},
		{`Processes.process_name IN ("conhost.exe", cmd.exe)`, fields{"process_name": {"notepad.exe"}}, false},
		{`Processes.process_name IN (power*)`, fields{"process_name": {"PowerShell.exe"}}, true},
		// NOT and != on missing and multivalue fields
		{`NOT Processes.process_name=conhost.exe`, fields{}, true},
		{`NOT Processes.process_name=conhost.exe`, fields{"process_name": {"Conhost.exe"}}, false},
		{`NOT Processes.process_name=conhost.exe`, fields{"process_name": {"cmd.exe", "conhost.exe"}}, false},
		{`Processes.process_name!=conhost.exe`, fields{}, false},
		{`Processes.process_name!=conhost.exe`, fields{"process_name": {""}}, false},
		{`Processes.process_name!=conhost.exe`, fields{"process_name": {"cmd.exe"}}, true},
		{`Processes.process_name!=conhost.exe`, fields{"process_name": {"CONHOST.EXE"}}, false},
		{`Processes.process_name!=conhost.exe`, fields{"process_name": {"cmd.exe", "conhost.exe"}}, true},
		{`NOT (Processes.process_name IN ("conhost.exe"))`, fields{"process_name": {"conhost.exe"}}, false},
		{`NOT NOT Processes.process_name=a`, fields{"process_name": {"A"}}, true},
		// precedence: OR binds tighter than AND (explicit or implicit)
		{`Processes.a=1 OR Processes.b=1 Processes.c=1`, fields{"a": {"1"}}, false},
		{`Processes.a=1 OR Processes.b=1 Processes.c=1`, fields{"a": {"1"}, "c": {"1"}}, true},
		{`Processes.c=1 AND Processes.a=1 OR Processes.b=1`, fields{"b": {"1"}, "c": {"1"}}, true},
		{`Processes.c=1 AND Processes.a=1 OR Processes.b=1`, fields{"b": {"1"}}, false},
		{`NOT Processes.a=1 OR Processes.b=1`, fields{"a": {"1"}, "b": {"1"}}, true},
		{`NOT (Processes.a=1 OR Processes.b=1)`, fields{"a": {"1"}}, false},
		// the v6 filter
		{`Processes.parent_process_name=regasm.exe NOT (Processes.process_name IN ("conhost.exe"))`,
			fields{"parent_process_name": {"RegAsm.exe"}, "process_name": {"cmd.exe"}}, true},
		{`Processes.parent_process_name=regasm.exe NOT (Processes.process_name IN ("conhost.exe"))`,
			fields{"parent_process_name": {"RegAsm.exe"}, "process_name": {"conhost.exe"}}, false},
		{`Processes.parent_process_name=regasm.exe NOT (Processes.process_name IN ("conhost.exe"))`,
			fields{"parent_process_name": {"RegAsm.exe"}}, true},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s/%v", tt.where, tt.rec), func(t *testing.T) {
			c := compileWhere(t, tt.where, "Processes.dest", "")
			r := c.NewRecord()
			fill(c, r, tt.rec, "1")
			if got := c.Match(r); got != tt.want {
				t.Errorf("Match = %v, want %v", got, tt.want)
			}
		})
	}
}

// rowString renders a row as "k1,k2|count|first|last|ann1;ann2".
func rowString(r Row) string {
	first, last := "", ""
	if r.HasTime {
		first, last = FormatTime(r.First), FormatTime(r.Last)
	}
	s := fmt.Sprintf("%s|%d|%s|%s", strings.Join(r.Key, ","), r.Count, first, last)
	for _, a := range r.Annotations {
		s += "|" + strings.Join(a, ";")
	}
	return s
}

type rec struct {
	f    fields
	time string
}

func TestAggregate(t *testing.T) {
	const where = "Processes.parent_process_name=regasm.exe"
	tests := []struct {
		name  string
		by    string
		opts  Options
		recs  []rec
		want  []string
		stats Stats
	}{
		{"byte-exact groups and sorting", "Processes.dest Processes.parent_process", Options{}, []rec{
			{fields{"parent_process_name": {"RegAsm.exe"}, "dest": {"b"}, "parent_process": {"RegAsm.exe"}}, "10"},
			{fields{"parent_process_name": {"regasm.exe"}, "dest": {"b"}, "parent_process": {"regasm.exe"}}, "20"},
			{fields{"parent_process_name": {"regasm.exe"}, "dest": {"b"}, "parent_process": {"regasm.exe"}}, "5.5"},
			{fields{"parent_process_name": {"REGASM.EXE"}, "dest": {"B"}, "parent_process": {"x"}}, "7"},
			{fields{"parent_process_name": {"regasm.exe.bak"}, "dest": {"a"}, "parent_process": {"x"}}, "1"},
			{fields{"parent_process_name": {"xregasm.exe"}, "dest": {"a"}, "parent_process": {"x"}}, "1"},
			{fields{"parent_process_name": {"RegAsm.ex"}, "dest": {"a"}, "parent_process": {"x"}}, "1"},
			{fields{"parent_process_name": {"regasm"}, "dest": {"a"}, "parent_process": {"x"}}, "1"},
		}, []string{"B,x|1|7|7", "b,RegAsm.exe|1|10|10", "b,regasm.exe|2|5.5|20"}, Stats{Records: 8, Matched: 4}},
		{"null by-fields dropped and counted", "Processes.dest Processes.user", Options{}, []rec{
			{fields{"parent_process_name": {"regasm.exe"}, "dest": {"h"}, "user": {"u"}}, "1"},
			{fields{"parent_process_name": {"regasm.exe"}, "dest": {"h"}}, "2"},
			{fields{"parent_process_name": {"regasm.exe"}, "dest": {"h"}, "user": {""}}, "3"},
			{fields{"parent_process_name": {"cmd.exe"}, "dest": {"h"}}, "4"},
		}, []string{"h,u|1|1|1"}, Stats{Records: 4, Matched: 3, NullDropped: 2}},
		{"fillnull", "Processes.dest Processes.user", Options{FillNull: true, FillNullValue: "null"}, []rec{
			{fields{"parent_process_name": {"regasm.exe"}, "dest": {"h"}, "user": {"u"}}, "1"},
			{fields{"parent_process_name": {"regasm.exe"}, "dest": {"h"}}, "2"},
			{fields{"parent_process_name": {"regasm.exe"}, "user": {""}}, "3"},
		}, []string{"h,null|1|2|2", "h,u|1|1|1", "null,null|1|3|3"}, Stats{Records: 3, Matched: 3}},
		{"non-numeric and missing _time", "Processes.dest", Options{}, []rec{
			{fields{"parent_process_name": {"regasm.exe"}, "dest": {"a"}}, "2020-09-03T12:00:00.000+00:00"},
			{fields{"parent_process_name": {"regasm.exe"}, "dest": {"a"}}, "-"},
			{fields{"parent_process_name": {"regasm.exe"}, "dest": {"b"}}, "abc"},
			{fields{"parent_process_name": {"regasm.exe"}, "dest": {"b"}}, "1599171244.277"},
			{fields{"parent_process_name": {"regasm.exe"}, "dest": {"b"}}, "0x10"},
			{fields{"parent_process_name": {"regasm.exe"}, "dest": {"b"}}, "NaN"},
			{fields{"parent_process_name": {"regasm.exe"}, "dest": {"b"}}, "1e9"},
			{fields{"parent_process_name": {"regasm.exe"}, "dest": {"b"}}, ""},
		}, []string{"a|2||", "b|6|1000000000|1599171244.277"}, Stats{Records: 8, Matched: 8}},
		{"multivalue by-fields: cross product, counted once per group", "Processes.dest Processes.user", Options{}, []rec{
			{fields{"parent_process_name": {"regasm.exe"}, "dest": {"d1", "d2"}, "user": {"u1", "u2", "u1"}}, "5"},
			{fields{"parent_process_name": {"regasm.exe"}, "dest": {"d2"}, "user": {"u2"}}, "6"},
		}, []string{"d1,u1|1|5|5", "d1,u2|1|5|5", "d2,u1|1|5|5", "d2,u2|2|5|6"}, Stats{Records: 2, Matched: 2}},
		{"annotations: matched values only", "Processes.dest", Options{Annotate: true}, []rec{
			{fields{"parent_process_name": {"RegAsm.exe", "cmd.exe"}, "dest": {"a"}}, "1"},
			{fields{"parent_process_name": {"regasm.exe"}, "dest": {"a"}}, "2"},
			{fields{"parent_process_name": {"regasm.exe"}, "dest": {"b"}}, "3"},
		}, []string{"a|2|1|2|RegAsm.exe;regasm.exe", "b|1|3|3|regasm.exe"}, Stats{Records: 3, Matched: 3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := compileWhere(t, where, tt.by, "An instance of $parent_process_name$ on $dest$")
			a := c.NewAggregator(tt.opts)
			r := c.NewRecord()
			for _, x := range tt.recs {
				fill(c, r, x.f, x.time)
				a.Add(r)
			}
			var got []string
			for _, row := range a.Rows() {
				got = append(got, rowString(row))
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("rows\n%q\nwant\n%q", got, tt.want)
			}
			if a.Stats() != tt.stats {
				t.Errorf("stats %+v, want %+v", a.Stats(), tt.stats)
			}
			a.Reset()
			if len(a.Rows()) != 0 || a.Stats() != (Stats{}) {
				t.Errorf("Reset left %d rows, stats %+v", len(a.Rows()), a.Stats())
			}
		})
	}
}

func TestCrossProductCap(t *testing.T) {
	c := compileWhere(t, "", "Processes.a Processes.b Processes.c", "")
	r := c.NewRecord()
	for i := 0; i < 40; i++ {
		for _, f := range []string{"a", "b", "c"} {
			r.Add(c.Slot(f), fmt.Appendf(nil, "%s%02d", f, i))
		}
	}
	a := c.NewAggregator(Options{})
	a.Add(r)
	if n := len(a.Rows()); n != 40*40*40 || a.Stats().Truncated != 0 {
		t.Fatalf("%d groups, stats %+v, want %d", n, a.Stats(), 40*40*40)
	}
	for i := 40; i < 50; i++ {
		r.Add(c.Slot("a"), fmt.Appendf(nil, "a%02d", i))
	}
	r.Add(c.Slot("b"), []byte("b99"))
	a.Reset()
	a.Add(r)
	if n := len(a.Rows()); n != MaxCombinations || a.Stats().Truncated != 1 {
		t.Fatalf("%d groups, stats %+v; want %d and one truncated record", n, a.Stats(), MaxCombinations)
	}
}

func loadShared(t testing.TB, rel string) *escu.Detection {
	t.Helper()
	data, err := os.ReadFile(shared.Path(t, rel))
	if err != nil {
		t.Fatal(err)
	}
	d, err := escuyaml.Parse(data, rel)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestCompileDetections(t *testing.T) {
	seedBy := []string{"dest", "user", "parent_process", "process_name", "process", "process_id", "parent_process_id"}
	v6By := []string{"dest", "user", "parent_process", "parent_process_name", "process_name", "process", "process_id", "parent_process_id"}
	v10By := []string{"action", "dest", "original_file_name", "parent_process", "parent_process_exec", "parent_process_guid",
		"parent_process_id", "parent_process_name", "parent_process_path", "process", "process_exec", "process_guid",
		"process_hash", "process_id", "process_integrity_level", "process_name", "process_path", "user", "user_id", "vendor_product"}
	seed, err := escu.Lookup(escu.Default)
	if err != nil {
		t.Fatal(err)
	}
	regsvcs, err := escu.Lookup("detect_regsvcs_spawning_a_process")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		d      *escu.Detection
		fields []string
		by     []string
		ann    []string
	}{
		{seed, append([]string{"parent_process_name"}, seedBy...), seedBy, []string{"parent_process_name"}},
		{regsvcs, append([]string{"parent_process_name"}, seedBy...), seedBy, []string{"parent_process_name"}},
		{loadShared(t, "data/escu/detections/detect_regasm_spawning_a_process.v6.2024-09-30.yml"),
			[]string{"parent_process_name", "process_name", "dest", "user", "parent_process", "process", "process_id", "parent_process_id"}, v6By, nil},
		{loadShared(t, "data/escu/detections/detect_regasm_spawning_a_process.v10.2025-02-10.yml"),
			append([]string{"parent_process_name", "process_name"}, slices.DeleteFunc(slices.Clone(v10By), func(s string) bool {
				return s == "parent_process_name" || s == "process_name"
			})...), v10By, nil},
		{loadShared(t, "data/escu/siblings/detect_regsvcs_spawning_a_process.yml"),
			append([]string{"parent_process_name"}, seedBy...), append([]string{"parent_process_name"}, seedBy...), nil},
	}
	for _, tt := range tests {
		t.Run(tt.d.Source, func(t *testing.T) {
			c, err := Compile(tt.d)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(c.Fields(), tt.fields) {
				t.Errorf("Fields = %q\nwant %q", c.Fields(), tt.fields)
			}
			if !slices.Equal(c.ByFields(), tt.by) {
				t.Errorf("ByFields = %q", c.ByFields())
			}
			if !slices.Equal(c.AnnotateFields(), tt.ann) {
				t.Errorf("AnnotateFields = %q, want %q", c.AnnotateFields(), tt.ann)
			}
			cols := c.Columns(Options{})
			if !slices.Equal(cols, append(slices.Clone(tt.by), "count", "firstTime", "lastTime")) {
				t.Errorf("Columns = %q", cols)
			}
			acols := c.Columns(Options{Annotate: true})
			want := append(append(slices.Clone(cols), tt.ann...), "risk_score", "risk_message")
			if !slices.Equal(acols, want) || slices.Contains(acols, "risk_object") {
				t.Errorf("Columns(annotate) = %q, want %q", acols, want)
			}
			for i, f := range c.Fields() {
				if c.Slot(f) != i || c.Slot("Processes."+f) != i {
					t.Errorf("Slot(%q) = %d, want %d", f, c.Slot(f), i)
				}
			}
			if c.Slot("_time") != -1 || c.Slot("nope") != -1 {
				t.Errorf("Slot of unknown fields is not -1")
			}
			if c.Source() != tt.d {
				t.Errorf("Source() is not the compiled detection")
			}
		})
	}
	if strings.Join(seedBy, ",")+",count,firstTime,lastTime" !=
		"dest,user,parent_process,process_name,process,process_id,parent_process_id,count,firstTime,lastTime" {
		t.Fatal("seed columns differ from the contract")
	}
}

func TestRiskMessage(t *testing.T) {
	c := seedDetection(t)
	row := &Row{Key: []string{"WIN-01", "CORP\\alice", "RegAsm.exe /U x.dll", "cmd.exe", "cmd.exe /c whoami", "42", "41"},
		Count: 2, First: 1, Last: 2, HasTime: true, Annotations: [][]string{{"RegAsm.exe", "regasm.exe"}}}
	want := "An instance of RegAsm.exe, regasm.exe spawning cmd.exe was identified on endpoint WIN-01 by user CORP\\alice " +
		"spawning a child process, typically not normal behavior for RegAsm.exe, regasm.exe."
	if got := c.RiskMessage(row); got != want {
		t.Errorf("RiskMessage =\n%q\nwant\n%q", got, want)
	}
	row.Annotations = nil
	if got := c.RiskMessage(row); !strings.HasPrefix(got, "An instance of  spawning cmd.exe") {
		t.Errorf("RiskMessage without annotations = %q", got)
	}
	odd := compileWhere(t, "", "Processes.dest", "$ cost $5 on $dest$ n=$count$ $firstTime$-$lastTime$ $unknown$ $trailing")
	got := odd.RiskMessage(&Row{Key: []string{"h"}, Count: 3, First: 1.5, Last: 2, HasTime: true})
	if want := "$ cost $5 on h n=3 1.5-2  $trailing"; got != want {
		t.Errorf("RiskMessage = %q, want %q", got, want)
	}
}

func TestCompileErrors(t *testing.T) {
	tests := []struct {
		name, search, want string
	}{
		{"sibling network", "", "unsupported search"},
		{"no count", testPrefix[:len("| tstats `security_content_summariesonly`")] + " min(_time) as firstTime max(_time) as lastTime from datamodel=Endpoint.Processes by Processes.dest | `drop_dm_object_name(Processes)`", "must compute count"},
		{"two counts", "| tstats count count as c2 min(_time) max(_time) from datamodel=Endpoint.Processes by Processes.dest | `drop_dm_object_name(Processes)`", "more than one count"},
		{"same names", "| tstats count as x min(_time) as x max(_time) from datamodel=Endpoint.Processes by Processes.dest | `drop_dm_object_name(Processes)`", "not distinct"},
		{"no by", testPrefix + " | `drop_dm_object_name(Processes)`", "no by clause"},
		{"by aggregate name", testPrefix + " by Processes.count | `drop_dm_object_name(Processes)`", "name of an aggregate"},
		{"no drop", testPrefix + " by Processes.dest", "lacks `drop_dm_object_name(Processes)`"},
		{"other filter", testPrefix + " by Processes.dest | `drop_dm_object_name(Processes)` | `other_filter`", "does not belong"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := &escu.Detection{Name: "t", Search: tt.search}
			if tt.name == "sibling network" {
				d = loadShared(t, "data/escu/siblings/detect_regasm_with_network_connection.yml")
			}
			_, err := Compile(d)
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "engine: detection ") {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
	if _, err := Compile(nil); err == nil {
		t.Error("Compile(nil) succeeded")
	}
}

func TestAddPartialErrors(t *testing.T) {
	c := compileWhere(t, "", "Processes.dest Processes.user", "$parent_process_name$")
	a := c.NewAggregator(Options{Annotate: true})
	ok := Partial{Key: [][]byte{[]byte("d"), []byte("u")}, Count: 2, First: 1, Last: 3, HasTime: true,
		Annotations: [][][]byte{{[]byte("RegAsm.exe")}}}
	tests := []struct {
		name string
		edit func(p *Partial)
		want string
	}{
		{"short key", func(p *Partial) { p.Key = p.Key[:1] }, "key has 1 values, want 2"},
		{"empty key", func(p *Partial) { p.Key = [][]byte{[]byte("d"), nil} }, "value 1 (user) is empty"},
		{"zero count", func(p *Partial) { p.Count = 0 }, "count is 0"},
		{"inverted", func(p *Partial) { p.First, p.Last = 3, 1 }, "invalid"},
		{"annotations", func(p *Partial) { p.Annotations = [][][]byte{nil, nil} }, "2 annotation lists, want 1"},
	}
	for _, tt := range tests {
		p := ok
		tt.edit(&p)
		if err := a.AddPartial(&p); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: err = %v, want %q", tt.name, err, tt.want)
		}
	}
	if err := a.AddPartial(nil); err == nil {
		t.Error("AddPartial(nil) succeeded")
	}
	if rows := a.Rows(); len(rows) != 0 {
		t.Fatalf("rejected partials left rows: %v", rows)
	}
	for range 2 {
		if err := a.AddPartial(&ok); err != nil {
			t.Fatal(err)
		}
	}
	rows := a.Rows()
	if len(rows) != 1 || rowString(rows[0]) != "d,u|4|1|3|RegAsm.exe" {
		t.Errorf("rows = %v", rows)
	}
}

func TestFormatTime(t *testing.T) {
	tests := map[float64]string{1599171244: "1599171244", 1599171244.277: "1599171244.277", -1.5: "-1.5", 0: "0", 1e21: "1000000000000000000000"}
	for in, want := range tests {
		if got := FormatTime(in); got != want {
			t.Errorf("FormatTime(%v) = %q, want %q", in, got, want)
		}
	}
}

// TestAppendTime: the short cut of AppendTime writes what strconv writes, for times with and without decimals
// on both sides of its bounds, and for any float64.
func TestAppendTime(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	check := func(x float64) {
		t.Helper()
		if got, want := string(AppendTime([]byte("x"), x)), "x"+strconv.FormatFloat(x, 'f', -1, 64); got != want {
			t.Fatalf("AppendTime(%v [%#x]) = %q, want %q", x, math.Float64bits(x), got, want)
		}
	}
	for _, x := range []float64{0, math.Copysign(0, -1), 1, -1, 0.5, 1e-6, 1e-7, 0.1 + 0.2, 1599171244.277, 1<<31 - 1e-6, 1 << 31,
		1<<31 + 0.5, 1 << 53, 1e21, -1599171244.000001, math.MaxFloat64, math.SmallestNonzeroFloat64, math.Inf(1),
		math.Inf(-1), math.NaN(), 999999.9999995, 0.0000005} {
		check(x)
	}
	for range 200000 {
		x := randomDecimal(rng)
		check(x)
		check(-x)
		check(math.Float64frombits(rng.Uint64()))
		check(float64(rng.Uint32()) + rng.Float64())
	}
}

func TestAllocs(t *testing.T) {
	c := seedDetection(t)
	for _, o := range []Options{{}, {Annotate: true, FillNull: true, FillNullValue: "null"}} {
		a := c.NewAggregator(o)
		r := c.NewRecord()
		var vals [][]byte
		var slots []int
		for _, f := range c.ByFields() {
			vals = append(vals, []byte("some value of "+f))
			slots = append(slots, c.Slot(f))
		}
		when := []byte("1599171244.277")
		parents := map[string][]byte{}
		for _, p := range []string{"RegAsm.exe", "svchost.exe", "explorer.exe"} {
			parents[p] = []byte(p)
		}
		set := func(parent string) {
			r.Reset()
			r.Add(c.Slot("parent_process_name"), parents[parent])
			for i, sl := range slots {
				r.Add(sl, vals[i])
			}
			r.SetTime(when)
		}
		set("RegAsm.exe")
		a.Add(r) // opens the group
		if n := testing.AllocsPerRun(100, func() { a.Add(r) }); n != 0 {
			t.Errorf("%+v: Add on a matching record of an existing group: %v allocs", o, n)
		}
		set("svchost.exe")
		if n := testing.AllocsPerRun(100, func() { a.Add(r) }); n != 0 {
			t.Errorf("%+v: Add on a non-matching record: %v allocs", o, n)
		}
		if n := testing.AllocsPerRun(100, func() { set("explorer.exe"); a.Add(r) }); n != 0 {
			t.Errorf("%+v: Reset, Add values, Add: %v allocs", o, n)
		}
	}
}

// TestTimeLen: TimeLen is the length of AppendTime's text and UintLen that of strconv's, for the values of
// TestAppendTime and every power of ten and its neighbours.
func TestTimeLen(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	check := func(x float64) {
		t.Helper()
		if got, want := TimeLen(x), len(AppendTime(nil, x)); got != want {
			t.Fatalf("TimeLen(%v [%#x]) = %d, want %d", x, math.Float64bits(x), got, want)
		}
	}
	checkUint := func(u uint64) {
		t.Helper()
		if got, want := UintLen(u), len(strconv.FormatUint(u, 10)); got != want {
			t.Fatalf("UintLen(%d) = %d, want %d", u, got, want)
		}
	}
	for _, x := range []float64{0, math.Copysign(0, -1), 1, -1, 0.5, 1e-6, 1e-7, 0.1 + 0.2, 1599171244.277, 1<<31 - 1e-6, 1 << 31,
		1<<31 + 0.5, 1 << 53, 1e21, -1599171244.000001, math.MaxFloat64, -math.MaxFloat64, math.SmallestNonzeroFloat64,
		math.Inf(1), math.Inf(-1), math.NaN(), 999999.9999995, 0.0000005, 9.999999, 10, 0.000001, 0.100001} {
		check(x)
	}
	checkUint(math.MaxUint64)
	for p := uint64(1); ; p *= 10 {
		checkUint(p - 1)
		checkUint(p)
		checkUint(p + 1)
		check(float64(p))
		check(float64(p) - 1)
		check(-float64(p))
		check(1 / float64(p))
		if p > math.MaxUint64/10 {
			break
		}
	}
	for range 200000 {
		x := randomDecimal(rng)
		check(x)
		check(-x)
		check(math.Float64frombits(rng.Uint64()))
		check(float64(rng.Uint32()) + rng.Float64())
		checkUint(rng.Uint64() >> rng.IntN(64))
	}
}

// FuzzTimeLen: TimeLen(t) == len(AppendTime(t)) and UintLen(u) == len(strconv's) for any bits.
func FuzzTimeLen(f *testing.F) {
	for _, x := range []float64{0, 1599171244.277, 1 << 31, math.Inf(-1), -0.000001} {
		f.Add(math.Float64bits(x))
	}
	f.Fuzz(func(t *testing.T, bits uint64) {
		x := math.Float64frombits(bits)
		if got, want := TimeLen(x), len(AppendTime(nil, x)); got != want {
			t.Fatalf("TimeLen(%v [%#x]) = %d, want %d", x, bits, got, want)
		}
		if got, want := UintLen(bits), len(strconv.FormatUint(bits, 10)); got != want {
			t.Fatalf("UintLen(%d) = %d, want %d", bits, got, want)
		}
	})
}

// randomDecimal returns a decimal with 0 to 8 places below 2^33, as text read back.
func randomDecimal(rng *rand.Rand) float64 {
	places := rng.IntN(9)
	txt := strconv.FormatUint(rng.Uint64N(1<<33), 10)
	if places > 0 {
		txt += "." + fmt.Sprintf("%0*d", places, rng.Uint64N(uint64(math.Pow10(places))))
	}
	x, _ := strconv.ParseFloat(txt, 64)
	return x
}
