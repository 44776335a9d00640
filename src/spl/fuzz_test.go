package spl

import (
	"strings"
	"testing"
)

// FuzzParse feeds arbitrary pipelines to Parse and runs what parses over a small table: no panic, no hang;
// an error is an *Error or mentions the command.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		`| rename "Processes.*" as * | convert timeformat="%Y-%m-%dT%H:%M:%S" ctime(firstTime) | search *`,
		`| rename ""Processes".*" as *`,
		`| where match(process,"(?i)[\-|\/][Ss]{1}") AND NOT like(x, "%a_b%") OR isnull(y)`,
		`| eval a=if(len(p)>3, lower(p), "x"), b=mvcount(split(p," "))-1, c="(?i)".p`,
		`| search a=1 OR b!=2 c IN (x, "y*") NOT d>5`,
		`| regex process="(?i)(regasm\.exe.{0,4}$)"`,
		`| rex field=process max_match=0 "(?<x>\w+)"`,
		`| lookup tools tool AS process_name OUTPUT desc AS d, flag`,
		`| lookup update=true exact name OUTPUTNEW path`,
		`| table a, b* | fields - c | dedup a b`,
		`| where case(a=1, true, b=2, false)`,
		`| stats count sum(a) as s values(p) dc(p) min(a) max(a) by process, p | eventstats count(p) as c by s`,
	} {
		f.Add(s)
	}
	in := &Table{Columns: []string{"process", "p", "a"}, Rows: rows("process=regasm.exe;p=A b c;a=1", "p=x|y", "")}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := Parse(s, lookups)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "spl: ") && !strings.Contains(err.Error(), "lookup") {
				t.Fatalf("error without the prefix: %v", err)
			}
			return
		}
		if _, err := p.Run(in, RunOptions{}); err != nil && !strings.HasPrefix(err.Error(), "spl: ") {
			t.Fatalf("run error without the prefix: %v", err)
		}
	})
}
