package spl

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
)

// rows builds rows from "field=value;field=v1|v2" strings ('|' separates the values of a multivalue field).
func rows(specs ...string) []Row {
	var out []Row
	for _, s := range specs {
		r := Row{}
		if s != "" {
			for _, kv := range strings.Split(s, ";") {
				k, v, _ := strings.Cut(kv, "=")
				r[k] = strings.Split(v, "|")
			}
		}
		out = append(out, r)
	}
	return out
}

type testLookups map[string]*LookupTable

func (l testLookups) LookupTable(name string) (*LookupTable, error) {
	t, ok := l[name]
	if !ok {
		return nil, errors.New("no lookup " + name)
	}
	return t, nil
}

var lookups = testLookups{
	"tools": {Name: "tools", Header: []string{"tool", "desc", "flag"}, Rows: [][]string{
		{"psexec.exe", "PsExec", "TRUE"},
		{"*rclone*", "RClone", "TRUE"},
		{"AnyDesk.exe", "AnyDesk", ""},
		{"psexec.exe", "PsExec again", "TRUE"},
	}, CaseSensitive: false, Wildcard: map[string]bool{"tool": true}, MaxMatches: 100},
	"exact": {Name: "exact", Header: []string{"name", "path", "v"}, Rows: [][]string{
		{"cmd.exe", `c:\windows\system32\cmd.exe`, "1"},
		{"cmd.exe", `c:\other\cmd.exe`, "2"},
	}, CaseSensitive: true, Wildcard: map[string]bool{}, MaxMatches: 1, MinMatches: 1, DefaultMatch: "false", HasDefault: true},
}

func TestRun(t *testing.T) {
	cols := []string{"Processes.dest", "Processes.process", "count", "firstTime"}
	in := &Table{Columns: cols, Rows: rows(
		"Processes.dest=h1;Processes.process=CMD.exe /c whoami;count=10;firstTime=1599171244",
		"Processes.dest=h2;Processes.process=a|b;count=9;firstTime=1599171244.5",
		"Processes.dest=h3;count=100;firstTime=x",
	)}
	tests := []struct {
		name, pipe string
		cols       []string
		rows       []Row
	}{
		{"drop_dm quoted", `| rename ""Processes".*" as *`,
			[]string{"dest", "process", "count", "firstTime"}, rows(
				"dest=h1;process=CMD.exe /c whoami;count=10;firstTime=1599171244",
				"dest=h2;process=a|b;count=9;firstTime=1599171244.5",
				"dest=h3;count=100;firstTime=x")},
		{"rename over an existing field", `| rename Processes.dest as count`,
			[]string{"count", "Processes.process", "firstTime"}, rows(
				"count=h1;Processes.process=CMD.exe /c whoami;firstTime=1599171244",
				"count=h2;Processes.process=a|b;firstTime=1599171244.5",
				"count=h3;firstTime=x")},
		{"ctime", `| convert timeformat="%Y-%m-%dT%H:%M:%S" ctime(firstTime) | table firstTime`,
			[]string{"firstTime"}, rows("firstTime=2020-09-03T22:14:04", "firstTime=2020-09-03T22:14:04", "firstTime=x")},
		{"search star", `| search *`, cols, in.Rows},
		{"search wildcard case-insensitive", `| search Processes.process="cmd*WHOAMI" | table Processes.dest`,
			[]string{"Processes.dest"}, rows("Processes.dest=h1")},
		{"search multivalue any", `| search Processes.process=b | table Processes.dest`,
			[]string{"Processes.dest"}, rows("Processes.dest=h2")},
		{"search != needs the field", `| search Processes.process!=a | table Processes.dest`,
			[]string{"Processes.dest"}, rows("Processes.dest=h1", "Processes.dest=h2")},
		{"search NOT includes the missing", `| search NOT Processes.process=a | table Processes.dest`,
			[]string{"Processes.dest"}, rows("Processes.dest=h1", "Processes.dest=h3")},
		{"search numeric comparison", `| search count > 9 | table Processes.dest`,
			[]string{"Processes.dest"}, rows("Processes.dest=h1", "Processes.dest=h3")},
		{"search IN and OR before AND", `| search Processes.dest IN (h1, H2) OR count=100 count<=10 | table Processes.dest`,
			[]string{"Processes.dest"}, rows("Processes.dest=h1", "Processes.dest=h2")},
		{"where numeric", `| where count >=10 | table Processes.dest`,
			[]string{"Processes.dest"}, rows("Processes.dest=h1", "Processes.dest=h3")},
		{"where string equality is case-sensitive", `| where 'Processes.dest'="H1" OR 'Processes.dest'="h2" | table Processes.dest`,
			[]string{"Processes.dest"}, rows("Processes.dest=h2")},
		{"where match, null is dropped, lowercase or", `| where match('Processes.process', "(?i)^cmd") or count > 99 | table Processes.dest`,
			[]string{"Processes.dest"}, rows("Processes.dest=h1", "Processes.dest=h3")},
		{"where NOT match on a null field drops the row", `| where NOT match('Processes.process', "zzz") | table Processes.dest`,
			[]string{"Processes.dest"}, rows("Processes.dest=h1", "Processes.dest=h2")},
		{"where isnull", `| where isnull('Processes.process') | table Processes.dest`,
			[]string{"Processes.dest"}, rows("Processes.dest=h3")},
		{"where like", `| where like('Processes.process', "CMD%who_mi") | table Processes.dest`,
			[]string{"Processes.dest"}, rows("Processes.dest=h1")},
		{"where AND before OR", `| where count=9 OR count=10 AND count=100 | table Processes.dest`,
			[]string{"Processes.dest"}, rows("Processes.dest=h2")},
		{"where IN", `| where 'Processes.dest' IN ("h3", "h1") | table Processes.dest`,
			[]string{"Processes.dest"}, rows("Processes.dest=h1", "Processes.dest=h3")},
		{"eval functions", `| rename Processes.* as * | eval n=mvcount(split(process," "))-1, l=len(dest), u=upper(dest).":".substr(process, -6), c=case(count>50, "big", count>9, "mid"), d=if(isnull(process), "none", lower(process)) | table dest n l u c d`,
			[]string{"dest", "n", "l", "u", "c", "d"}, rows(
				"dest=h1;n=2;l=2;u=H1:whoami;c=mid;d=cmd.exe /c whoami",
				"dest=h2;n=1;l=2;u=H2:a|H2:b;d=a|b",
				"dest=h3;l=2;c=big;d=none")},
		{"eval arithmetic", `| eval x=count*3+1, y=count/4, z=count%4, s="a"+"b", m=-count | table x y z s m`,
			[]string{"x", "y", "z", "s", "m"}, rows(
				"x=31;y=2.5;z=2;s=ab;m=-10", "x=28;y=2.25;z=1;s=ab;m=-9", "x=301;y=25;z=0;s=ab;m=-100")},
		{"regex", `| regex Processes.process="(?i)whoami$" | table Processes.dest`,
			[]string{"Processes.dest"}, rows("Processes.dest=h1")},
		{"regex !=, a missing field does not match", `| regex Processes.process!="whoami" | table Processes.dest`,
			[]string{"Processes.dest"}, rows("Processes.dest=h2", "Processes.dest=h3")},
		{"rex", `| rex field=Processes.process "(?<exe>\w+)\.exe\s+/(?<flag>\w)" | table Processes.dest exe flag`,
			[]string{"Processes.dest", "exe", "flag"}, rows("Processes.dest=h1;exe=CMD;flag=c", "Processes.dest=h2", "Processes.dest=h3")},
		{"rex max_match", `| rex max_match=0 field=Processes.process "(?<w>[a-z]+)" | table w`,
			[]string{"w"}, rows("w=exe|c|whoami", "w=a|b", "")},
		{"fields keeps order of the table, minus", `| fields - Processes.process count`,
			[]string{"Processes.dest", "firstTime"}, rows(
				"Processes.dest=h1;firstTime=1599171244", "Processes.dest=h2;firstTime=1599171244.5", "Processes.dest=h3;firstTime=x")},
		{"table wildcard", `| table Processes.*`,
			[]string{"Processes.dest", "Processes.process"}, rows(
				"Processes.dest=h1;Processes.process=CMD.exe /c whoami", "Processes.dest=h2;Processes.process=a|b", "Processes.dest=h3")},
		{"dedup drops rows without the field", `| eval k="same" | dedup k Processes.process | table Processes.dest`,
			[]string{"Processes.dest"}, rows("Processes.dest=h1", "Processes.dest=h2")},
		{"lookup wildcard, case-insensitive, multiple matches", `| eval p=if(count=10, "PSEXEC.EXE", "x-RClone-y") | lookup tools tool AS p OUTPUT desc, flag as f | table p desc f`,
			[]string{"p", "desc", "f"}, rows("p=PSEXEC.EXE;desc=PsExec|PsExec again;f=TRUE|TRUE", "p=x-RClone-y;desc=RClone;f=TRUE", "p=x-RClone-y;desc=RClone;f=TRUE")},
		{"lookup exact, max_matches 1, default_match", `| eval name=if(count=10, "cmd.exe", "CMD.EXE") | lookup exact name | table name path v`,
			[]string{"name", "path", "v"}, rows(`name=cmd.exe;path=c:\windows\system32\cmd.exe;v=1`, "name=CMD.EXE;path=false;v=false", "name=CMD.EXE;path=false;v=false")},
		{"lookup OUTPUTNEW keeps existing fields", `| eval desc="mine", p="psexec.exe" | lookup tools tool as p OUTPUTNEW desc flag | table desc flag`,
			[]string{"desc", "flag"}, rows("desc=mine;flag=TRUE|TRUE", "desc=mine;flag=TRUE|TRUE", "desc=mine;flag=TRUE|TRUE")},
		{"lookup OUTPUT clears on no match", `| eval desc="mine", p="nothing" | lookup tools tool as p OUTPUT desc | table desc`,
			[]string{"desc"}, rows("", "", "")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Parse(tt.pipe, lookups)
			if err != nil {
				t.Fatal(err)
			}
			got, err := p.Run(in, RunOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got.Columns, tt.cols) {
				t.Errorf("columns %q, want %q", got.Columns, tt.cols)
			}
			if !reflect.DeepEqual(got.Rows, tt.rows) && !(len(got.Rows) == 0 && len(tt.rows) == 0) {
				t.Errorf("rows\n got %v\nwant %v", got.Rows, tt.rows)
			}
		})
	}
	// The input is not modified.
	if in.Columns[0] != "Processes.dest" || in.Rows[0]["Processes.dest"][0] != "h1" {
		t.Error("Run modified its input")
	}
}

func TestCtimeZone(t *testing.T) {
	p, err := Parse(`| convert ctime(t) as s`, nil)
	if err != nil {
		t.Fatal(err)
	}
	loc := time.FixedZone("X", -5*3600)
	got, err := p.Run(&Table{Columns: []string{"t"}, Rows: rows("t=0")}, RunOptions{Location: loc})
	if err != nil {
		t.Fatal(err)
	}
	if s := got.Rows[0]["s"]; len(s) != 1 || s[0] != "12/31/1969 19:00:00" {
		t.Errorf("ctime with the default format in UTC-5: %q", s)
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct{ pipe, msg string }{
		{`rename a as b`, `must start with "|"`},
		{`| transaction dest`, `unsupported command "transaction"`},
		{`| join x [search y]`, `subsearches are not supported`},
		{"| `macro`", `unexpanded macro`},
		{`| search "x`, `unterminated quoted string`},
		{`| rename a b`, `want "AS"`},
		{`| rename a* as b`, `do not pair up`},
		{`| rename a as b, a as c`, `renamed twice`},
		{`| convert ctime(a`, `missing ")"`},
		{`| convert timeformat="%Q" ctime(a)`, `unsupported time format variable`},
		{`| convert dur2sec(a)`, `only ctime`},
		{`| search foo`, `no raw text`},
		{`| search a=1 OR`, `missing search term after OR`},
		{`| search (a=1`, `missing ")"`},
		{`| where count`, `not a boolean`},
		{`| where match(x, "(?=a)")`, `not supported (Go RE2`},
		{`| where cidrmatch("10.0.0.0/8", ip)`, `unsupported eval function cidrmatch()`},
		{`| where if(a=1, 2)`, `if() takes 3 arguments`},
		{`| where a=1 AND`, `missing operand`},
		{`| where (a=1`, `missing ")"`},
		{`| where a=1 b`, `unexpected "b"`},
		{`| eval x=a=1`, `cannot assign a boolean`},
		{`| eval x`, `want "="`},
		{`| eval x=1 y=2`, `unexpected "y"`},
		{`| eval x="a`, `unterminated quoted string`},
		{`| regex "x"`, `want field="regex"`},
		{`| regex f="(a)\1"`, `not supported`},
		{`| rex "(?<a>x)"`, `reads _raw`},
		{`| rex field=f "x"`, `without a named group`},
		{`| rex mode=sed field=f "s/a/b/"`, `unsupported rex option`},
		{`| lookup nope a`, `no lookup nope`},
		{`| lookup tools nofield`, `has no field "nofield"`},
		{`| lookup tools tool OUTPUT`, `without a field`},
		{`| lookup local=maybe tools tool`, `not a boolean`},
		{`| lookup tools tool | `, `empty command`},
		{`| dedup 3 a`, `unsupported dedup count`},
		{`| dedup consecutive=true a`, `unsupported dedup option`},
		{`| table`, `missing field name`},
	}
	for _, tt := range tests {
		_, err := Parse(tt.pipe, lookups)
		if err == nil || !strings.Contains(err.Error(), tt.msg) {
			t.Errorf("Parse(%q) = %v, want %q", tt.pipe, err, tt.msg)
		}
	}
}

func TestDepth(t *testing.T) {
	deep := "| where " + strings.Repeat("(", 5000) + "a=1" + strings.Repeat(")", 5000)
	if _, err := Parse(deep, nil); err == nil || !strings.Contains(err.Error(), "nested deeper") {
		t.Errorf("deep where: %v", err)
	}
	deep = "| search " + strings.Repeat("NOT ", 5000) + "a=1"
	if _, err := Parse(deep, nil); err == nil || !strings.Contains(err.Error(), "nested deeper") {
		t.Errorf("deep search: %v", err)
	}
}

func TestValueLimit(t *testing.T) {
	p, err := Parse(`| eval a=split(s, ","), b=a.a.a.a.a`, nil)
	if err != nil {
		t.Fatal(err)
	}
	in := &Table{Columns: []string{"s"}, Rows: rows("s=" + strings.Repeat("x,", 20))}
	if _, err := p.Run(in, RunOptions{}); err == nil || !strings.Contains(err.Error(), "more than 65536 values") {
		t.Errorf("a product of 21^5 values: %v", err)
	}
	p, err = Parse(`| eval a=split(s, ","), b=a, c=a, d=a | stats count by a b c d`, nil)
	if err != nil {
		t.Fatal(err)
	}
	var parts []string
	for i := 0; i < 21; i++ {
		parts = append(parts, fmt.Sprint("v", i))
	}
	in = &Table{Columns: []string{"s"}, Rows: []Row{{"s": {strings.Join(parts, ",")}}}}
	if _, err := p.Run(in, RunOptions{}); err == nil || !strings.Contains(err.Error(), "more than 65536 groups") {
		t.Errorf("a result in 21^4 groups: %v", err)
	}
}

func TestStats(t *testing.T) {
	in := &Table{Columns: []string{"dest", "user", "n", "p"}, Rows: rows(
		"dest=h2;user=u1;n=5;p=b",
		"dest=h1;user=u1;n=10;p=a|b",
		"dest=h1;user=u2;n=9;p=c",
		"user=u3;n=x;p=a",
	)}
	tests := []struct {
		name, pipe string
		cols       []string
		rows       []Row
	}{
		{"by, sorted groups, null by-field left out", `| stats count sum(n) as total min(n) max(n) values(p) as ps dc(p) count(p) by dest`,
			[]string{"dest", "count", "total", "min(n)", "max(n)", "ps", "dc(p)", "count(p)"}, rows(
				"dest=h1;count=2;total=19;min(n)=9;max(n)=10;ps=a|b|c;dc(p)=3;count(p)=3",
				"dest=h2;count=1;total=5;min(n)=5;max(n)=5;ps=b;dc(p)=1;count(p)=1")},
		{"no by: one group; min/max lexicographic when a value is not a number", `| stats count min(n) as lo max(n) as hi sum(n) as s`,
			[]string{"count", "lo", "hi", "s"}, rows("count=4;lo=10;hi=x;s=24")},
		{"multivalue by-field", `| stats count by p`,
			[]string{"p", "count"}, rows("p=a;count=2", "p=b;count=2", "p=c;count=1")},
		{"no by over no results", `| search dest=none | stats count dc(p) sum(n)`,
			[]string{"count", "dc(p)", "sum(n)"}, rows("count=0;dc(p)=0")},
		{"eventstats", `| eventstats dc(user) as users by dest | table dest users`,
			[]string{"dest", "users"}, rows("dest=h2;users=1", "dest=h1;users=2", "dest=h1;users=2", "")},
		{"eventstats without by", `| eventstats count as c | table c`,
			[]string{"c"}, rows("c=4", "c=4", "c=4", "c=4")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Parse(tt.pipe, nil)
			if err != nil {
				t.Fatal(err)
			}
			got, err := p.Run(in, RunOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got.Columns, tt.cols) {
				t.Errorf("columns %q, want %q", got.Columns, tt.cols)
			}
			if !reflect.DeepEqual(got.Rows, tt.rows) {
				t.Errorf("rows\n got %v\nwant %v", got.Rows, tt.rows)
			}
		})
	}
	for _, bad := range []string{`| stats avg(n)`, `| stats`, `| stats sum`, `| stats sum(n`, `| stats count by`, `| stats allnum=t count`, `| stats count(*)`} {
		if _, err := Parse(bad, nil); err == nil {
			t.Errorf("Parse(%q) accepted", bad)
		}
	}
}
