package splunkconf

import (
	"os"
	"reflect"
	"strings"
	"testing"

	"regasmdetect/src/internal/shared"
)

const testMacros = `
[security_content_ctime(1)]
args = field
definition = convert timeformat="%Y-%m-%dT%H:%M:%S" ctime($field$)

[security_content_summariesonly]
definition = summariesonly=` + "`summariesonly_config`" + ` allow_old_summaries=` + "`oldsummaries_config`" + ` fillnull_value=` + "`fillnull_config`" + `

[summariesonly_config]
definition = false

[oldsummaries_config]
definition = true

[fillnull_config]
definition = null

[drop_dm_object_name(1)]
args = object
definition = rename "$object$.*" as *

[pair(2)]
args = a, b
definition = $a$-$b$ "$a$" $$ $c$ $a

[loop]
definition = ` + "`loop`" + `

[evaled(1)]
args = x
iseval = 1
definition = "$x$"

[nodef]
args =

[badargs(1)]
args = a b
definition = x

[wrongcount(2)]
args = a
definition = x
`

func TestExpand(t *testing.T) {
	m, err := Parse([]byte(testMacros))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct{ in, want string }{
		{"| tstats `security_content_summariesonly` count", "| tstats summariesonly=false allow_old_summaries=true fillnull_value=null count"},
		{"| `security_content_ctime(firstTime)`", `| convert timeformat="%Y-%m-%dT%H:%M:%S" ctime(firstTime)`},
		{"| `drop_dm_object_name(Processes)`", `| rename "Processes.*" as *`},
		{"`pair( x , \"y,z\" )`", `x-"y,z" "x" $$ $c$ $a`},
		{"`pair(f(a,b), c)`", `f(a,b)-c "f(a,b)" $$ $c$ $a`},
		{"search x=\"`not a macro`\" | `fillnull_config`", "search x=\"`not a macro`\" | null"},
		{"search x=\"q\\\"`still quoted`\"", "search x=\"q\\\"`still quoted`\""},
		{"no macros", "no macros"},
	}
	for _, tt := range tests {
		got, err := m.Expand(tt.in)
		if err != nil {
			t.Errorf("Expand(%q): %v", tt.in, err)
			continue
		}
		if got != tt.want {
			t.Errorf("Expand(%q)\n got %q\nwant %q", tt.in, got, tt.want)
		}
	}
}

func TestExpandErrors(t *testing.T) {
	m, err := Parse([]byte(testMacros))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct{ in, msg string }{
		{"`undefined`", "macro `undefined` is not defined"},
		{"`security_content_ctime`", "macro `security_content_ctime` is not defined"},
		{"`security_content_ctime(a,b)`", "no stanza [security_content_ctime(2)]"},
		{"x `unterminated", "at byte 2: no closing backquote"},
		{"`loop`", "nested more than"},
		{"`evaled(1)`", "iseval"},
		{"`nodef`", "has no definition"},
		{"`badargs(1)`", `invalid argument name "a b"`},
		{"`wrongcount(a,b)`", "1 argument names for 2 arguments"},
		{"`bad name`", "invalid macro name"},
		{"`f(a`", "does not end with ')'"},
		{"`f()`", "empty argument list"},
		{"`f(a))`", "unbalanced ')'"},
		{"`f((a)`", "unbalanced '('"},
		{"`f(\"a)`", "unterminated quoted argument"},
	}
	for _, tt := range tests {
		_, err := m.Expand(tt.in)
		if err == nil || !strings.Contains(err.Error(), tt.msg) || !strings.HasPrefix(err.Error(), "splunkconf: ") {
			t.Errorf("Expand(%q) err = %v, want %q", tt.in, err, tt.msg)
		}
	}
}

func TestFindMacros(t *testing.T) {
	calls, err := FindMacros("| tstats `a` x | `b(1, \"2\")` | `c-d.e:f`")
	if err != nil {
		t.Fatal(err)
	}
	want := []MacroCall{
		{Name: "a", Start: 9, End: 12},
		{Name: "b", Args: []string{"1", `"2"`}, Start: 17, End: 28},
		{Name: "c-d.e:f", Start: 31, End: 40},
	}
	if !reflect.DeepEqual(calls, want) {
		t.Errorf("calls = %+v\nwant %+v", calls, want)
	}
	if got := calls[1].StanzaName(); got != "b(2)" {
		t.Errorf("StanzaName = %q", got)
	}
	if _, err := FindMacros("`x"); err == nil || !strings.HasPrefix(err.Error(), "splunkconf: ") {
		t.Errorf("err = %v", err)
	}
}

func TestMacroArgs(t *testing.T) {
	m, err := Parse([]byte(testMacros))
	if err != nil {
		t.Fatal(err)
	}
	names, err := m.Stanza("pair(2)").MacroArgs()
	if err != nil || !reflect.DeepEqual(names, []string{"a", "b"}) {
		t.Errorf("pair(2) args = %q, %v", names, err)
	}
	if _, err := m.Stanza("wrongcount(2)").MacroArgs(); err == nil {
		t.Error("wrongcount(2): no error")
	}
	bad := &Stanza{Name: "x(y)"}
	if _, err := bad.MacroArgs(); err == nil || !strings.Contains(err.Error(), "bad argument count") {
		t.Errorf("x(y): err = %v", err)
	}
}

// TestExpandRealMacros expands the seed search with the definitions of ESCU's 2023 macros.conf and of
// Splunk_SA_CIM, as splunkd would.
func TestExpandRealMacros(t *testing.T) {
	var all []byte
	for _, p := range []string{"data/escu/macros/macros.conf.excerpt.2023.conf", "data/escu/macros/splunk_sa_cim.macros.conf.excerpt"} {
		data, err := os.ReadFile(shared.Path(t, p))
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, dropExcerptSeparators(t, data)...)
		all = append(all, '\n')
	}
	m, err := Parse(all)
	if err != nil {
		t.Fatal(err)
	}
	const seed = "| tstats `security_content_summariesonly` count from datamodel=Endpoint.Processes where Processes.parent_process_name=regasm.exe by Processes.dest | `drop_dm_object_name(Processes)` | `security_content_ctime(firstTime)` | `detect_regasm_spawning_a_process_filter`"
	const want = `| tstats summariesonly=false allow_old_summaries=true fillnull_value=null count from datamodel=Endpoint.Processes where Processes.parent_process_name=regasm.exe by Processes.dest | rename "Processes.*" as * | convert timeformat="%Y-%m-%dT%H:%M:%S" ctime(firstTime) | search *`
	got, err := m.Expand(seed)
	if err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
}

type fuzzMacros map[string]Macro

func (m fuzzMacros) Macro(stanza string) (Macro, bool, error) {
	d, ok := m[stanza]
	return d, ok, nil
}

// FuzzExpand expands arbitrary searches with a fixed set of macros (nesting, arguments, recursion): no panic,
// no hang; an error carries the package prefix, and a success leaves no backquoted call outside quotes.
func FuzzExpand(f *testing.F) {
	src := fuzzMacros{
		"a":                         {Definition: "x=`b` y=1"},
		"b":                         {Definition: `"$q$" z`},
		"f(1)":                      {Args: []string{"v"}, Definition: `rename "$v$.*" as * $v$`},
		"g(2)":                      {Args: []string{"p", "q"}, Definition: "`f($p$)` $q$ `a`"},
		"loop":                      {Definition: "`loop`"},
		"security_content_ctime(1)": {Args: []string{"field"}, Definition: `convert timeformat="%Y" ctime($field$)`},
	}
	for _, s := range []string{"| tstats `a` count", "`f(\"Processes\")`", "`g(a, \"b,c\")` `loop`", "\"`a`\" `b`",
		"`security_content_ctime(firstTime)`", "`f(x(y,z))`", "`unknown`", "`f(`", "`"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out, err := ExpandWith(s, src)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "splunkconf: ") {
				t.Fatalf("error without the prefix: %v", err)
			}
			return
		}
		calls, err := FindMacros(out)
		if err != nil || len(calls) != 0 {
			t.Fatalf("expansion %q still has calls %v (%v)", out, calls, err)
		}
	})
}
