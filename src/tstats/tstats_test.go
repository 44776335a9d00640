package tstats_test

import (
	"errors"
	"os"
	"slices"
	"strings"
	"testing"

	"regasmdetect/src/engine"
	"regasmdetect/src/escu"
	"regasmdetect/src/escu/escuyaml"
	"regasmdetect/src/internal/shared"
	"regasmdetect/src/tstats"
)

func sharedSearch(t *testing.T, rel string) string {
	t.Helper()
	data, err := os.ReadFile(shared.Path(t, "data/escu/"+rel))
	if err != nil {
		t.Fatal(err)
	}
	d, err := escuyaml.Parse(data, rel)
	if err != nil {
		t.Fatal(err)
	}
	return d.Search
}

func TestParseShared(t *testing.T) {
	seedBy := []string{"Processes.dest", "Processes.user", "Processes.parent_process", "Processes.process_name",
		"Processes.process", "Processes.process_id", "Processes.parent_process_id"}
	tests := []struct {
		file   string
		where  string
		by     int
		byHead string
		filter string
	}{
		{"detections/detect_regasm_spawning_a_process.v1.2021-02-12.yml", `Processes.parent_process_name="regasm.exe"`, 7, seedBy[0], "detect_regasm_spawning_a_process_filter"},
		{"detections/detect_regsvcs_spawning_a_process.v1.2021-02-12.yml", `Processes.parent_process_name="regsvcs.exe"`, 7, seedBy[0], "detect_regsvcs_spawning_a_process_filter"},
		{"detections/detect_regasm_spawning_a_process.v6.2024-09-30.yml",
			`(Processes.parent_process_name="regasm.exe" AND NOT Processes.process_name IN ("conhost.exe"))`, 8, seedBy[0], "detect_regasm_spawning_a_process_filter"},
		{"detections/detect_regasm_spawning_a_process.v10.2025-02-10.yml",
			`(Processes.parent_process_name="regasm.exe" AND NOT Processes.process_name IN ("conhost.exe"))`, 20, "Processes.action", "detect_regasm_spawning_a_process_filter"},
		{"siblings/detect_regsvcs_spawning_a_process.yml", `Processes.parent_process_name="regsvcs.exe"`, 8, "Processes.parent_process_name", "detect_regsvcs_spawning_a_process_filter"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			s, err := tstats.Parse(sharedSearch(t, tt.file))
			if err != nil {
				t.Fatal(err)
			}
			if got := s.Where.String(); got != tt.where {
				t.Errorf("Where = %s, want %s", got, tt.where)
			}
			if len(s.By) != tt.by || s.By[0] != tt.byHead {
				t.Errorf("By = %q", s.By)
			}
			if tt.by == 7 && !slices.Equal(s.By, seedBy) {
				t.Errorf("By = %q, want %q", s.By, seedBy)
			}
			for i, f := range s.ByFields() {
				if "Processes."+f != s.By[i] || strings.Contains(f, ".") {
					t.Errorf("ByFields[%d] = %q", i, f)
				}
			}
			wantAgg := []tstats.Aggregate{{Func: "count"}, {Func: "min", Field: "_time", As: "firstTime"}, {Func: "max", Field: "_time", As: "lastTime"}}
			if !slices.Equal(s.Aggregates, wantAgg) {
				t.Errorf("Aggregates = %+v", s.Aggregates)
			}
			if s.Datamodel != "Endpoint" || s.Dataset != "Processes" {
				t.Errorf("from %s.%s", s.Datamodel, s.Dataset)
			}
			if len(s.Options) != 1 || !s.Options[0].Macro || s.Options[0].Name != "security_content_summariesonly" {
				t.Errorf("Options = %+v", s.Options)
			}
			wantPipe := []string{"drop_dm_object_name(Processes)", "security_content_ctime(firstTime)", "security_content_ctime(lastTime)", tt.filter}
			if !slices.Equal(s.Pipeline, wantPipe) {
				t.Errorf("Pipeline = %q", s.Pipeline)
			}
			again, err := tstats.Parse(s.String())
			if err != nil || again.String() != s.String() {
				t.Errorf("canonical form does not round-trip: %v\n%s\n%v", err, s.String(), again)
			}
		})
	}
}

func TestSiblingsRejected(t *testing.T) {
	tests := []struct {
		file string
		want string
	}{
		{"siblings/detect_regasm_with_network_connection.yml", `tstats: unsupported search: only a search starting with "| tstats" is supported at column 1 (near "` + "`sysmon`" + ` EventID=3 dest_...")`},
		{"siblings/detect_regsvcs_with_network_connection.yml", `at column 1 (near "` + "`sysmon`"},
		{"siblings/detect_regasm_with_no_command_line_arguments.yml", "tstats: unsupported macro `process_regasm` in the where clause (macros are not expanded) at column 89"},
		{"siblings/detect_regsvcs_with_no_command_line_arguments.yml", "tstats: unsupported macro `process_regsvcs` in the where clause"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			_, err := tstats.Parse(sharedSearch(t, tt.file))
			var perr *tstats.Error
			if !errors.As(err, &perr) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v\nwant %s", err, tt.want)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	const head = "| tstats count min(_time) as firstTime max(_time) as lastTime from datamodel=Endpoint.Processes"
	// Each input marks the error position with ¶ (removed before parsing).
	tests := []struct {
		in, msg string
	}{
		{"¶search index=main", `unsupported search`},
		{"| ¶stats count by dest", `unsupported command: only "| tstats"`},
		{"| tstats ¶prestats=true count from datamodel=Endpoint.Processes", `unsupported tstats option "prestats"`},
		{"| tstats summariesonly=¶maybe count from datamodel=Endpoint.Processes", `not a boolean`},
		{"| tstats count ¶stdev(Processes.user) from datamodel=Endpoint.Processes", `unsupported aggregate "stdev"`},
		{"| tstats count values(¶user) from datamodel=Endpoint.Processes", `unsupported field "user" in the values() clause`},
		{"| tstats count values ¶from datamodel=Endpoint.Processes", `missing "(" after aggregate "values"`},
		{"| tstats count¶(Processes.user) from datamodel=Endpoint.Processes", `unsupported aggregate count(field)`},
		{"| tstats min(Processes.x ¶from datamodel=Endpoint.Processes", `missing ")" after min(Processes.x`},
		{"| tstats count from datamodel=¶Network_Traffic.All_Traffic", `unsupported data model "Network_Traffic.All_Traffic"`},
		{"| tstats count from ¶nodename=x", `unsupported tstats source`},
		{"| tstats count ¶where x=1", `unsupported aggregate "where"`},
		{"| tstats count ¶\"x\" from datamodel=Endpoint.Processes", `unsupported tstats argument`},
		{"| tstats ¶", `tstats without an aggregate`},
		{head + " where ¶Filesystem.file_name=x", `unsupported field "Filesystem.file_name" in the where clause`},
		{head + " where ¶_time=1", `unsupported field "_time"`},
		{head + " where ¶regasm", `unsupported search term "regasm"`},
		{head + " where Processes.x¶>5", `unsupported operator ">"`},
		{head + " where Processes.x=¶", `missing value after "Processes.x="`},
		{head + " where Processes.x=1 AND ¶", `missing search term after AND`},
		{head + " where Processes.x=1 OR ¶by Processes.dest", `missing search term after OR`},
		{head + " where NOT ¶", `missing search term after NOT`},
		{head + " where (Processes.x=1 ¶", `missing ")" to close the "(" at column 103`},
		{head + " where (¶)", `empty parentheses`},
		{head + " where Processes.x IN ¶a", `missing "(" after IN`},
		{head + " where Processes.x IN (a ¶b)", `want "," or ")" in the IN list`},
		{head + " where Processes.x IN (¶)", `missing value in the IN list`},
		{head + " where ¶\"quoted term\"", `unsupported search term`},
		{head + " where ¶\"Processes.x\"=1", `unsupported quoted field name`},
		{head + " where Processes.x=1 ¶[| inputlookup t]", `subsearches are not supported`},
		{head + " where Processes.x=¶\"open", `unterminated quoted string`},
		{head + " where ¶`open", `unterminated macro`},
		{head + " by _time span=¶1w", `unsupported span unit`},
		{head + " by _time span=¶0h", `not positive`},
		{head + " by _time span=1h ¶span=1h", `span given twice`},
		{head + " by Processes.dest ¶span=1h", `span=1h without _time`},
		{head + " by Processes.dest ¶bins=3", `unsupported by-clause option "bins"`},
		{head + " by ¶dest", `unsupported field "dest" in the by clause`},
		{head + " by Processes.dest ¶Processes.dest", `duplicate by-field`},
		{head + " by ¶| `x_filter`", `missing field after "by"`},
		{head + " by Processes.dest | ¶`security_content_summariesonly`", "unsupported macro `security_content_summariesonly` after tstats"},
		{head + " by Processes.dest | `x_filter` ¶extra", `unexpected "extra" after`},
		{head + " by Processes.dest ¶)", `unexpected ")" after the tstats command`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			pos := strings.Index(tt.in, "¶")
			in := strings.Replace(tt.in, "¶", "", 1)
			_, err := tstats.Parse(in)
			var perr *tstats.Error
			if !errors.As(err, &perr) {
				t.Fatalf("err = %v, want a *tstats.Error", err)
			}
			if !strings.Contains(perr.Msg, tt.msg) || perr.Offset != pos || perr.Column != pos+1 {
				t.Errorf("err = %v (offset %d), want %q at offset %d", err, perr.Offset, tt.msg, pos)
			}
			if !strings.HasPrefix(err.Error(), "tstats: ") || !strings.Contains(err.Error(), "at column ") {
				t.Errorf("message %q lacks the prefix or the column", err)
			}
		})
	}
}

func TestParseAccepts(t *testing.T) {
	const head = "| tstats count min(_time) as firstTime max(_time) as lastTime from datamodel=Endpoint.Processes"
	tests := []struct {
		in, where string
	}{
		{head + ` where Processes.a=1 OR Processes.b=2 Processes.c=3`, `((Processes.a="1" OR Processes.b="2") AND Processes.c="3")`},
		{head + ` where Processes.c=3 AND Processes.a=1 OR Processes.b=2`, `(Processes.c="3" AND (Processes.a="1" OR Processes.b="2"))`},
		{head + ` where NOT Processes.a=1 OR Processes.b=2`, `(NOT Processes.a="1" OR Processes.b="2")`},
		{head + ` where NOT (Processes.a=1 OR Processes.b=2)`, `NOT (Processes.a="1" OR Processes.b="2")`},
		{head + ` where Processes.a!="x\"y\\z" Processes.b="a\nb"`, `(Processes.a!="x\"y\\z" AND Processes.b="a\\nb")`},
		{head + ` where Processes.a = reg*.exe`, `Processes.a="reg*.exe"`},
		{head + ` where Processes.a!=1`, `Processes.a!="1"`},
		{head + ` where Processes.a IN (1,"2" , 3*)`, `Processes.a IN ("1", "2", "3*")`},
		{head + ` WHERE Processes.a=by BY Processes.dest`, `Processes.a="by"`},
		{head + ` where Processes.a=é`, `Processes.a="é"`},
		{head + ` where Processes.a=*HKLM\\Security* Processes.b=a\b`, `(Processes.a="*HKLM\\Security*" AND Processes.b="a\\b")`},
	}
	for _, tt := range tests {
		s, err := tstats.Parse(tt.in)
		if err != nil {
			t.Errorf("%s: %v", tt.in, err)
			continue
		}
		if s.Where.String() != tt.where {
			t.Errorf("%s:\n where %s\n want  %s", tt.in, s.Where.String(), tt.where)
		}
	}
	s, err := tstats.Parse("| tstats summariesonly=t allow_old_summaries=false fillnull_value=\"null\" count as n, min(_time), max(_time) as \"last time\" FROM datamodel=\"Endpoint.Processes\" by Processes.a, Processes.b")
	if err != nil {
		t.Fatal(err)
	}
	wantOpts := []tstats.Option{{Name: "summariesonly", Value: "t"}, {Name: "allow_old_summaries", Value: "false"}, {Name: "fillnull_value", Value: "null"}}
	if !slices.Equal(s.Options, wantOpts) || s.Where != nil || !slices.Equal(s.By, []string{"Processes.a", "Processes.b"}) {
		t.Errorf("parsed %+v", s)
	}
	names := []string{s.Aggregates[0].Name(), s.Aggregates[1].Name(), s.Aggregates[2].Name()}
	if !slices.Equal(names, []string{"n", "min(_time)", "last time"}) {
		t.Errorf("aggregate names %q", names)
	}
	if tstats.StripPrefix("Processes.dest") != "dest" || tstats.StripPrefix("dest") != "dest" {
		t.Error("StripPrefix")
	}
}

func TestDepthLimit(t *testing.T) {
	const head = "| tstats count from datamodel=Endpoint.Processes where "
	if _, err := tstats.Parse(head + strings.Repeat("(", 99) + "Processes.a=1" + strings.Repeat(")", 99)); err != nil {
		t.Errorf("99 levels: %v", err)
	}
	_, err := tstats.Parse(head + strings.Repeat("NOT ", 200000) + "Processes.a=1")
	if err == nil || !strings.Contains(err.Error(), "nested deeper than 100") {
		t.Errorf("deep NOT: %v", err)
	}
}

// FuzzParse: the parser never panics; a parsed search round-trips through its canonical form, and compiles
// or fails with an error.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"| tstats `security_content_summariesonly` count min(_time) as firstTime max(_time) as lastTime from datamodel=Endpoint.Processes where Processes.parent_process_name=regasm.exe by Processes.dest Processes.user Processes.parent_process Processes.process_name Processes.process Processes.process_id Processes.parent_process_id | `drop_dm_object_name(Processes)` | `security_content_ctime(firstTime)` | `security_content_ctime(lastTime)` | `detect_regasm_spawning_a_process_filter`",
		"| tstats count min(_time) as firstTime max(_time) as lastTime from datamodel=Endpoint.Processes where Processes.parent_process_name=regasm.exe NOT (Processes.process_name IN (\"conhost.exe\")) by Processes.dest | `drop_dm_object_name(Processes)` | `f_filter`",
		"| tstats count from datamodel=Endpoint.Processes where (Processes.a=\"x\\\"\" OR Processes.b!=*) AND NOT Processes.c IN (1, 2) by Processes.a",
		"`sysmon` EventID=3 | stats count",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		s, err := tstats.Parse(in)
		if err != nil {
			var perr *tstats.Error
			if !errors.As(err, &perr) || perr.Offset < 0 || perr.Offset > len(in) {
				t.Fatalf("error %v is not a positioned *tstats.Error", err)
			}
			return
		}
		canon := s.String()
		again, err := tstats.Parse(canon)
		if err != nil {
			t.Fatalf("canonical form %q does not parse: %v", canon, err)
		}
		if again.String() != canon {
			t.Fatalf("canonical form not stable:\n%q\n%q", canon, again.String())
		}
		c, err := engine.Compile(&escu.Detection{Name: "f", Search: in})
		if err != nil {
			return
		}
		r := c.NewRecord()
		for i := range c.Fields() {
			r.Add(i, []byte("regasm.exe"))
		}
		a := c.NewAggregator(engine.Options{Annotate: true})
		a.Add(r)
		_ = a.Rows()
	})
}
