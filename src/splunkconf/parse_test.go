package splunkconf

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"regasmdetect/src/internal/shared"
)

// flat renders a file as "[stanza]" and "key=value" lines, values with \n shown as ⏎, for compact expectations.
func flat(f *File) string {
	var b strings.Builder
	for _, st := range f.Stanzas {
		b.WriteString("[" + st.Name + "]\n")
		for _, kv := range st.Settings {
			b.WriteString(kv.Key + "=" + strings.ReplaceAll(kv.Value, "\n", "⏎") + "\n")
		}
	}
	return b.String()
}

func TestParse(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"empty", "", ""},
		{"comments and blanks", "# c\n\n   # indented comment\n\t\n", ""},
		{"global settings go to default", "a = 1\n[s]\nb = 2\n", "[default]\na=1\n[s]\nb=2\n"},
		{"explicit default merges with global", "a = 1\n[s]\nb=2\n[default]\nc = 3\n", "[default]\na=1\nc=3\n[s]\nb=2\n"},
		{"whitespace around key and value", "[s]\n  key\t=\t value with  inner  spaces  \n", "[s]\nkey=value with  inner  spaces\n"},
		{"no space around equals", "[s]\nk=v\n", "[s]\nk=v\n"},
		{"value keeps later equals", "[s]\nsearch = a=b c!=d\n", "[s]\nsearch=a=b c!=d\n"},
		{"empty value", "[s]\nk =\n", "[s]\nk=\n"},
		{"hash in value is not a comment", "[s]\nk = a # b\n", "[s]\nk=a # b\n"},
		{"duplicate key last wins, first position", "[s]\na = 1\nb = 2\na = 3\n", "[s]\na=3\nb=2\n"},
		{"duplicate stanza merges", "[s]\na = 1\n[t]\nx = 0\n[s]\nb = 2\na = 9\n", "[s]\na=9\nb=2\n[t]\nx=0\n"},
		{"stanza name kept byte for byte", "[ESCU - Detect Regasm Spawning a Process - Rule]\nk=v\n", "[ESCU - Detect Regasm Spawning a Process - Rule]\nk=v\n"},
		{"empty stanza name", "[]\naccess = read : [ * ], write : [ admin ]\n", "[]\naccess=read : [ * ], write : [ admin ]\n"},
		{"brackets inside stanza name", "[source::a[b]]\nk=v\n", "[source::a[b]]\nk=v\n"},
		{"indented stanza header", "  [s]  \nk=v\n", "[s]\nk=v\n"},
		{"stanza without settings", "[s]\n[t]\n", "[s]\n[t]\n"},
		{"continuation keeps newline", "[s]\nsearch = a \\\n| b\\\n| c\nnext = 1\n", "[s]\nsearch=a ⏎| b⏎| c\nnext=1\n"},
		{"continuation keeps leading spaces of next line", "[s]\nk = a\\\n   b\n", "[s]\nk=a⏎   b\n"},
		{"continuation swallows comment-like and header-like lines", "[s]\nk = a\\\n# b\\\n[c]\n", "[s]\nk=a⏎# b⏎[c]\n"},
		{"continuation at end of file", "[s]\nk = a\\", "[s]\nk=a\n"},
		{"continuation into empty last line", "[s]\nk = a\\\n", "[s]\nk=a\n"},
		{"comment ending in backslash does not continue", "[s]\n# c \\\nk = v\n", "[s]\nk=v\n"},
		{"CRLF", "[s]\r\nk = v\r\nsearch = a\\\r\nb\r\n", "[s]\nk=v\nsearch=a⏎b\n"},
		{"BOM", "\xef\xbb\xbf[s]\nk=v\n", "[s]\nk=v\n"},
		{"no final newline", "[s]\nk=v", "[s]\nk=v\n"},
		{"JSON value", `[s]` + "\n" + `action.risk.param._risk = [{"risk_object_field": "user", "risk_score": 64}]` + "\n", "[s]\naction.risk.param._risk=[{\"risk_object_field\": \"user\", \"risk_score\": 64}]\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := Parse([]byte(tt.in))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if got := flat(f); got != tt.want {
				t.Errorf("got\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

func TestParseLines(t *testing.T) {
	in := "# head\nglobal = 1\n\n[s]\na = 1\nsearch = x\\\ny\nb = 2\n[s]\na = 3\n"
	f, err := Parse([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	def, s := f.Stanza(DefaultStanza), f.Stanza("s")
	if def == nil || s == nil {
		t.Fatalf("stanzas = %q", f.Names())
	}
	if def.Line != 0 || s.Line != 4 {
		t.Errorf("stanza lines = %d, %d; want 0, 4", def.Line, s.Line)
	}
	want := []Setting{{"a", "3", 10}, {"search", "x\ny", 6}, {"b", "2", 8}}
	if !reflect.DeepEqual(s.Settings, want) {
		t.Errorf("settings = %+v, want %+v", s.Settings, want)
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, in string
		line     int
		msg      string
	}{
		{"no equals", "[s]\na = 1\njust text\n", 3, "expected [stanza] or key = value"},
		{"empty key", "[s]\n = 1\n", 2, "empty key"},
		{"unclosed header", "[s]\nk=v\n[t\n", 3, "no closing ']'"},
		{"text after header", "[s] # comment\n", 1, "text after the closing ']'"},
		{"line number after continuation", "[s]\nk = a\\\nb\\\nc\nbad\n", 5, "expected"},
		{"CRLF line counting", "[s]\r\nk=v\r\n\r\noops\r\n", 4, "expected"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.in))
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("err = %v, want *ParseError", err)
			}
			if pe.Line != tt.line || !strings.Contains(pe.Msg, tt.msg) {
				t.Errorf("err = %v; want line %d and %q", err, tt.line, tt.msg)
			}
			if !strings.HasPrefix(err.Error(), "splunkconf: line ") {
				t.Errorf("err = %q, want the splunkconf: line N: prefix", err)
			}
		})
	}
}

func TestParseFileNamesPath(t *testing.T) {
	p := filepath.Join(t.TempDir(), "bad.conf")
	if err := os.WriteFile(p, []byte("[s]\nnope\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := ParseFile(p)
	if err == nil || !strings.Contains(err.Error(), p+":2: ") {
		t.Fatalf("err = %v, want path:2", err)
	}
	if _, err := ParseFile(filepath.Join(t.TempDir(), "missing.conf")); err == nil {
		t.Fatal("missing file: no error")
	}
}

func TestLookupFallsBackToDefault(t *testing.T) {
	f, err := Parse([]byte("disabled = 1\n[s]\nsearch = x\n[t]\ndisabled = 0\n"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		stanza, key, want string
		ok                bool
	}{
		{"s", "disabled", "1", true},
		{"t", "disabled", "0", true},
		{"s", "search", "x", true},
		{"missing", "disabled", "1", true},
		{"s", "nothing", "", false},
	} {
		got, ok := f.Lookup(tt.stanza, tt.key)
		if got != tt.want || ok != tt.ok {
			t.Errorf("Lookup(%q, %q) = %q, %v; want %q, %v", tt.stanza, tt.key, got, ok, tt.want, tt.ok)
		}
	}
}

// sharedConf lists the real .conf files of the shared material with a stanza and a key each must hold.
var sharedConf = []struct{ path, stanza, key, want string }{
	{"data/escu/savedsearches/escu-2022-06-29.conf", "ESCU - Detect Regasm Spawning a Process - Rule", "action.notable.param.severity", "high"},
	{"data/escu/savedsearches/escu-2021-03-29.conf", "ESCU - Detect Regasm Spawning a Process - Rule", "cron_schedule", "0 * * * *"},
	{"data/escu/savedsearches/escu-v10-rendered-from-template.conf", "ESCU - Detect Regasm Spawning a Process - Rule", "dispatch.latest_time", "-10m@m"},
	{"data/escu/macros/macros.conf.excerpt.2021.conf", "security_content_summariesonly", "definition", "summariesonly=false allow_old_summaries=true"},
	{"data/escu/macros/macros.conf.excerpt.2023.conf", "security_content_ctime(1)", "args", "field"},
	{"data/escu/macros/splunk_sa_cim.macros.conf.excerpt", "drop_dm_object_name(1)", "definition", `rename "$object$.*" as *`},
	{"data/escu/app-example/default/app.conf", "ui", "label", "ES Content Updates"},
	{"data/escu/app-example/default/content-version.conf", "content-version", "version", "4.14.0"},
	{"data/escu/app-example/default/distsearch.conf", "replicationBlacklist", "excludeESCU", `apps[/\\]DA-ESS-ContentUpdate[/\\]lookups[/\\]...`},
	{"data/escu/app-example/metadata/default.meta", "", "export", "system"},
	{"data/escu/app-example/default/commands.conf", "", "", ""},
	{"data/escu/app-example/default/analytic_stories.conf", "", "", ""},
}

func TestParseSharedConf(t *testing.T) {
	for _, tt := range sharedConf {
		t.Run(filepath.Base(tt.path), func(t *testing.T) {
			p := shared.Path(t, tt.path)
			data, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(tt.path, "excerpt") {
				// The excerpts are grep output: "--" lines separate the matches. Splunk would reject them,
				// and so must the parser, at the right line; without them the rest is a valid file.
				data = dropExcerptSeparators(t, data)
			}
			f, err := Parse(data)
			if err != nil {
				t.Fatal(err)
			}
			if tt.key == "" {
				if len(f.Stanzas) != 0 {
					t.Errorf("comment-only file gave stanzas %q", f.Names())
				}
				return
			}
			if got, _ := f.Lookup(tt.stanza, tt.key); got != tt.want {
				t.Errorf("[%s] %s = %q, want %q", tt.stanza, tt.key, got, tt.want)
			}
			// Every file must survive a write and a re-read unchanged.
			out, err := Format(f)
			if err != nil {
				t.Fatal(err)
			}
			g, err := Parse(out)
			if err != nil {
				t.Fatalf("re-parse: %v\n%s", err, out)
			}
			if flat(g) != flat(f) {
				t.Errorf("round trip differs:\n%s\nvs\n%s", flat(g), flat(f))
			}
		})
	}
}

func dropExcerptSeparators(t *testing.T, data []byte) []byte {
	t.Helper()
	lines := strings.Split(string(data), "\n")
	first := 0
	var kept []string
	for i, l := range lines {
		if l == "--" {
			if first == 0 {
				first = i + 1
			}
			continue
		}
		kept = append(kept, l)
	}
	if first > 0 {
		var pe *ParseError
		if _, err := Parse(data); !errors.As(err, &pe) || pe.Line != first {
			t.Errorf("with separators: err = %v, want a ParseError at line %d", err, first)
		}
	}
	return []byte(strings.Join(kept, "\n"))
}

func TestParseSharedConfExactSearch(t *testing.T) {
	f, err := ParseFile(shared.Path(t, "data/escu/savedsearches/escu-2022-06-29.conf"))
	if err != nil {
		t.Fatal(err)
	}
	st := f.Stanza("ESCU - Detect Regasm Spawning a Process - Rule")
	if st == nil {
		t.Fatalf("stanzas = %q", f.Names())
	}
	const seed = "| tstats `security_content_summariesonly` count min(_time) as firstTime max(_time) as lastTime from datamodel=Endpoint.Processes where Processes.parent_process_name=regasm.exe by Processes.dest Processes.user Processes.parent_process Processes.process_name Processes.process Processes.process_id Processes.parent_process_id | `drop_dm_object_name(Processes)` | `security_content_ctime(firstTime)` | `security_content_ctime(lastTime)` | `detect_regasm_spawning_a_process_filter`"
	if got, _ := st.Get("search"); got != seed {
		t.Errorf("search = %q", got)
	}
	if len(st.Settings) != 44 {
		t.Errorf("%d settings, want 44", len(st.Settings))
	}
	if st.Settings[0].Key != "action.escu" || st.Settings[len(st.Settings)-1].Key != "search" {
		t.Errorf("order lost: first %q, last %q", st.Settings[0].Key, st.Settings[len(st.Settings)-1].Key)
	}
}

func TestParseSpecShared(t *testing.T) {
	tests := []struct {
		file   string
		stanza string
		keys   []string
	}{
		{"commands.conf.spec", "<STANZA_NAME>", []string{"chunked", "filename", "is_risky", "maxwait", "maxchunksize", "command.arg.<N>", "run_in_preview", "python.version"}},
		{"app.conf.spec", "launcher", []string{"author", "version", "description"}},
		{"app.conf.spec", "install", []string{"is_configured", "build", "state"}},
		{"app.conf.spec", "ui", []string{"is_visible", "label"}},
		{"app.conf.spec", "package", []string{"id", "check_for_updates"}},
		{"app.conf.spec", "id", []string{"name", "version"}},
		{"macros.conf.spec", "<STANZA_NAME>", []string{"args", "definition", "iseval", "description"}},
		{"savedsearches.conf.spec", "<stanza name>", []string{"search", "cron_schedule", "dispatch.earliest_time", "action.<action_name>", "alert.digest_mode", "schedule_window", "is_visible"}},
		{"default.meta.spec", "", []string{"access"}},
		{"alert_actions.conf.spec", "email", []string{"to", "subject"}},
	}
	for _, tt := range tests {
		t.Run(tt.file+"/"+tt.stanza, func(t *testing.T) {
			data, err := os.ReadFile(shared.Path(t, "data/escu/spec/"+tt.file))
			if err != nil {
				t.Fatal(err)
			}
			f, err := ParseSpec(data)
			if err != nil {
				t.Fatal(err)
			}
			st := f.Stanza(tt.stanza)
			if st == nil {
				t.Fatalf("no stanza [%s] in %q", tt.stanza, f.Names())
			}
			for _, k := range tt.keys {
				if _, ok := st.Get(k); !ok {
					t.Errorf("[%s] lacks %q; has %q", tt.stanza, k, st.Keys())
				}
			}
			for _, k := range st.Keys() {
				if strings.ContainsAny(k, " \t*#") && !strings.Contains(k, "<") {
					t.Errorf("documentation line taken for a key: %q", k)
				}
			}
		})
	}
}

func TestKeyPattern(t *testing.T) {
	tests := []struct {
		template string
		match    []string
		nomatch  []string
	}{
		{"command.arg.<N>", []string{"command.arg.1", "command.arg.12"}, []string{"command.arg.", "command.args.1", "xcommand.arg.1"}},
		{"action.<action_name>.<parameter>", []string{"action.notable.param.rule_title", "action.risk.param._risk"}, []string{"action.notable", "actionXnotable.x"}},
		{"dispatch.earliest_time", []string{"dispatch.earliest_time"}, []string{"dispatchXearliest_time", "dispatch.earliest_time2"}},
		{"reload.<conf_file_name>", []string{"reload.macros"}, []string{"reload."}},
		{"<STANZA_NAME>", []string{"regasmdetect", "a b"}, []string{""}},
		{"example*", []string{"example", "example12"}, []string{"exampl"}},
		{"odd<", []string{"odd<"}, []string{"odd"}},
	}
	for _, tt := range tests {
		re, err := KeyPattern(tt.template)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range tt.match {
			if !re.MatchString(s) {
				t.Errorf("%q does not match %q", tt.template, s)
			}
		}
		for _, s := range tt.nomatch {
			if re.MatchString(s) {
				t.Errorf("%q matches %q", tt.template, s)
			}
		}
	}
	if _, err := KeyPattern("bad\xff"); err == nil {
		t.Error("invalid UTF-8 template: no error")
	}
}
