package apptest

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"regasmdetect/src/escu"
	"regasmdetect/src/internal/shared"
	"regasmdetect/src/splunkconf"
)

// root is the project root, which is the app's folder.
func root(t *testing.T) string {
	t.Helper()
	r, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func conf(t *testing.T, rel string) *splunkconf.File {
	t.Helper()
	f, err := splunkconf.ParseFile(filepath.Join(root(t), filepath.FromSlash(rel)))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func goTool(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("go tool not found: %v", err)
	}
	return p
}

// appConfs are the app's .conf files with the 9.2 spec that governs each ("" = checked against a list).
var appConfs = []struct{ file, spec string }{
	{"default/app.conf", "app.conf.spec"},
	{"default/commands.conf", "commands.conf.spec"},
	{"default/macros.conf", "macros.conf.spec"},
	{"default/savedsearches.conf", "savedsearches.conf.spec"},
	{"default/searchbnf.conf", ""},
	{"metadata/default.meta", "default.meta.spec"},
}

func TestEveryConfFileParses(t *testing.T) {
	var found []string
	for _, dir := range []string{"default", "metadata"} {
		entries, err := os.ReadDir(filepath.Join(root(t), dir))
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			found = append(found, dir+"/"+e.Name())
			f := conf(t, dir+"/"+e.Name())
			if len(f.Stanzas) == 0 {
				t.Errorf("%s/%s has no stanza", dir, e.Name())
			}
		}
	}
	var want []string
	for _, c := range appConfs {
		want = append(want, c.file)
	}
	if strings.Join(found, ",") != strings.Join(sortedCopy(want), ",") {
		t.Errorf("app files = %q, want %q (add new files to appConfs)", found, sortedCopy(want))
	}
}

func sortedCopy(s []string) []string {
	c := append([]string(nil), s...)
	for i := range c {
		for j := i + 1; j < len(c); j++ {
			if c[j] < c[i] {
				c[i], c[j] = c[j], c[i]
			}
		}
	}
	return c
}

// searchbnfKeys are the keys of a command stanza in Splunk 9.2's searchbnf.conf.spec ("COMMAND STANZA
// STRUCTURE"); the spec file is not among the shared copies.
var searchbnfKeys = regexp.MustCompile(`^(syntax|simplesyntax|alias|description|shortdesc|example\d+|comment\d+|usage|tags|related)$`)

// esActionKeys are the keys of ES and ESCU actions written by ESCU's builds (escu.md §4.2, §5, §6).
var esActionKeys = regexp.MustCompile(`^action\.(` +
	`escu(\.(enabled|mappings|data_models|eli5|how_to_implement|known_false_positives|creation_date|modification_date|confidence|full_search_name|search_type|product|providing_technologies|analytic_story))?` +
	`|risk(\.param\.(_risk_message|_risk|_risk_score|verbose))?` +
	`|correlationsearch\.(enabled|label|annotations|detection_type|metadata)` +
	`|notable(\.param\.(nes_fields|rule_description|rule_title|security_domain|severity|drilldown_name|drilldown_search|drilldown_searches|_entities|next_steps|recommended_actions))?` +
	`)$`)

// specTemplates returns, per stanza template of a spec file, the compiled key templates.
type specStanza struct {
	name *regexp.Regexp
	keys []*regexp.Regexp
}

func loadSpec(t *testing.T, file string) []specStanza {
	t.Helper()
	data, err := os.ReadFile(shared.Path(t, "data/escu/spec/"+file))
	if err != nil {
		t.Fatal(err)
	}
	f, err := splunkconf.ParseSpec(data)
	if err != nil {
		t.Fatal(err)
	}
	var out []specStanza
	for _, st := range f.Stanzas {
		name, err := splunkconf.KeyPattern(st.Name)
		if err != nil {
			t.Fatal(err)
		}
		s := specStanza{name: name}
		for _, k := range st.Keys() {
			re, err := splunkconf.KeyPattern(k)
			if err != nil {
				t.Fatal(err)
			}
			s.keys = append(s.keys, re)
		}
		out = append(out, s)
	}
	return out
}

func TestKeysAreInSpec(t *testing.T) {
	for _, c := range appConfs {
		t.Run(c.file, func(t *testing.T) {
			f := conf(t, c.file)
			var spec []specStanza
			if c.spec != "" {
				spec = loadSpec(t, c.spec)
			}
			for _, st := range f.Stanzas {
				for _, kv := range st.Settings {
					switch {
					case c.spec == "":
						if !strings.HasSuffix(st.Name, "-command") || !searchbnfKeys.MatchString(kv.Key) {
							t.Errorf("[%s] %s: not a searchbnf.conf command-stanza key", st.Name, kv.Key)
						}
					case c.spec == "default.meta.spec":
						// The spec shows access, export and owner; every stanza may carry them.
						if kv.Key != "access" && kv.Key != "export" && kv.Key != "owner" {
							t.Errorf("[%s] %s: not a .meta key", st.Name, kv.Key)
						}
					default:
						if !inSpec(spec, st.Name, kv.Key) {
							t.Errorf("[%s] %s (line %d): not in %s", st.Name, kv.Key, kv.Line, c.spec)
						}
						if strings.HasPrefix(kv.Key, "action.") && c.file == "default/savedsearches.conf" && !esActionKeys.MatchString(kv.Key) {
							t.Errorf("[%s] %s: an action key ESCU does not write", st.Name, kv.Key)
						}
					}
				}
			}
		})
	}
}

func inSpec(spec []specStanza, stanza, key string) bool {
	for _, s := range spec {
		if !s.name.MatchString(stanza) {
			continue
		}
		for _, k := range s.keys {
			if k.MatchString(key) {
				return true
			}
		}
	}
	// Settings of the [default] stanza, when the spec lists global settings outside any stanza.
	for _, s := range spec {
		if s.name.MatchString("default") {
			for _, k := range s.keys {
				if k.MatchString(key) {
					return true
				}
			}
		}
	}
	return false
}

func TestCommandsConfOnlyChunkedKeys(t *testing.T) {
	f := conf(t, "default/commands.conf")
	st := f.Stanza("regasmdetect")
	if st == nil || len(f.Stanzas) != 1 {
		t.Fatalf("stanzas = %q, want [regasmdetect] only", f.Names())
	}
	if v, _ := st.Get("chunked"); v != "true" {
		t.Errorf("chunked = %q", v)
	}
	// AppInspect check_ignored_parameters_v2_command.
	allowed := regexp.MustCompile(`^((filename)|(chunked)|(is_risky)|(maxchunksize)|(maxwait)|(python\.version)|(command\.arg\.\d+))$`)
	for _, k := range st.Keys() {
		if !allowed.MatchString(k) {
			t.Errorf("key %q is not valid with chunked = true", k)
		}
	}
	// filename = regasmdetect: the spec documents the <PLATFORM>/bin-then-bin search for filename
	// (docs/app.md, "Where splunkd finds the command").
	if v, _ := st.Get("filename"); v != "regasmdetect" {
		t.Errorf("filename = %q, want regasmdetect", v)
	}
}

func TestMacrosUsedAreDefined(t *testing.T) {
	macros := conf(t, "default/macros.conf")
	searches := conf(t, "default/savedsearches.conf")
	for _, st := range searches.Stanzas {
		s, ok := st.Get("search")
		if !ok {
			t.Errorf("[%s] has no search", st.Name)
			continue
		}
		calls, err := splunkconf.FindMacros(s)
		if err != nil {
			t.Fatalf("[%s]: %v", st.Name, err)
		}
		if len(calls) == 0 {
			t.Errorf("[%s] calls no macro", st.Name)
		}
		for _, c := range calls {
			m := macros.Stanza(c.StanzaName())
			if m == nil {
				t.Errorf("[%s] calls `%s`, not defined in macros.conf", st.Name, c.StanzaName())
				continue
			}
			names, err := m.MacroArgs()
			if err != nil || len(names) != len(c.Args) {
				t.Errorf("[%s] `%s`: argument names %q, %v", st.Name, c.StanzaName(), names, err)
			}
		}
		if _, err := macros.Expand(s); err != nil {
			t.Errorf("[%s]: %v", st.Name, err)
		}
	}
	for _, name := range []string{"security_content_ctime(1)", "security_content_summariesonly", "drop_dm_object_name(1)", "detect_regasm_spawning_a_process_filter", "detect_regsvcs_spawning_a_process_filter"} {
		if macros.Stanza(name) == nil {
			t.Errorf("macros.conf lacks [%s]", name)
		}
	}
}

// nullStage ends every shipped search: the risk object fields' fillnull placeholder back to null.
const nullStage = ` | eval dest=if(dest=="null", null(), dest), user=if(user=="null", null(), user)`

const seedSearch = "| tstats `security_content_summariesonly` count min(_time) as firstTime max(_time) as lastTime from datamodel=Endpoint.Processes where Processes.parent_process_name=regasm.exe by Processes.dest Processes.user Processes.parent_process Processes.process_name Processes.process Processes.process_id Processes.parent_process_id | `drop_dm_object_name(Processes)` | `security_content_ctime(firstTime)` | `security_content_ctime(lastTime)` | `detect_regasm_spawning_a_process_filter`"

func TestSearchesExpandAsSplunkWould(t *testing.T) {
	macros := conf(t, "default/macros.conf")
	searches := conf(t, "default/savedsearches.conf")
	ctime := func(f string) string { return `convert timeformat="%Y-%m-%dT%H:%M:%S" ctime(` + f + `)` }
	tests := []struct{ stanza, search, expanded string }{
		{
			"ESCU - Detect Regasm Spawning a Process - Rule",
			seedSearch + nullStage,
			"| tstats summariesonly=false allow_old_summaries=true fillnull_value=null count min(_time) as firstTime max(_time) as lastTime from datamodel=Endpoint.Processes where Processes.parent_process_name=regasm.exe by Processes.dest Processes.user Processes.parent_process Processes.process_name Processes.process Processes.process_id Processes.parent_process_id" +
				` | rename "Processes.*" as * | ` + ctime("firstTime") + " | " + ctime("lastTime") + " | search *" + nullStage,
		},
		{
			"regasmdetect - Detect Regasm Spawning a Process - Rule",
			"| datamodel Endpoint Processes search | regasmdetect detection=detect_regasm_spawning_a_process annotate=true `security_content_summariesonly` | `security_content_ctime(firstTime)` | `security_content_ctime(lastTime)` | `detect_regasm_spawning_a_process_filter`" + nullStage,
			"| datamodel Endpoint Processes search | regasmdetect detection=detect_regasm_spawning_a_process annotate=true summariesonly=false allow_old_summaries=true fillnull_value=null | " + ctime("firstTime") + " | " + ctime("lastTime") + " | search *" + nullStage,
		},
		{
			"regasmdetect - Detect Regsvcs Spawning a Process - Rule",
			"| datamodel Endpoint Processes search | regasmdetect detection=detect_regsvcs_spawning_a_process annotate=true `security_content_summariesonly` | `security_content_ctime(firstTime)` | `security_content_ctime(lastTime)` | `detect_regsvcs_spawning_a_process_filter`" + nullStage,
			"| datamodel Endpoint Processes search | regasmdetect detection=detect_regsvcs_spawning_a_process annotate=true summariesonly=false allow_old_summaries=true fillnull_value=null | " + ctime("firstTime") + " | " + ctime("lastTime") + " | search *" + nullStage,
		},
	}
	for _, tt := range tests {
		st := searches.Stanza(tt.stanza)
		if st == nil {
			t.Fatalf("no [%s] in %q", tt.stanza, searches.Names())
		}
		s, _ := st.Get("search")
		if s != tt.search {
			t.Errorf("[%s] search =\n%q\nwant\n%q", tt.stanza, s, tt.search)
		}
		got, err := macros.Expand(s)
		if err != nil {
			t.Fatal(err)
		}
		if got != tt.expanded {
			t.Errorf("[%s] expands to\n%q\nwant\n%q", tt.stanza, got, tt.expanded)
		}
	}
	// Every ESCU stanza carries its embedded detection's search verbatim, then the null stage.
	for _, d := range escu.Embedded() {
		st := searches.Stanza("ESCU - " + d.Name + " - Rule")
		if st == nil {
			t.Errorf("no ESCU stanza for %s", d.Stem())
			continue
		}
		if s, _ := st.Get("search"); s != d.Search+nullStage {
			t.Errorf("%s: search differs from the embedded detection and the null stage", d.Stem())
		}
	}
}

// v10Keys are the keys current ESCU renders for Enterprise Security that its 2022 build did not have
// (escu-v10-rendered-from-template.conf), with the key each follows there.
var v10Keys = map[string]string{
	"action.correlationsearch.detection_type": "action.correlationsearch.enabled",
	"action.correlationsearch.metadata":       "action.correlationsearch.annotations",
	"action.notable.param._entities":          "action.notable",
	"action.notable.param.drilldown_searches": "search",
}

// TestEscuStanzaMatchesESCUBuild compares the generated ESCU correlation search with the stanza of ESCU's
// own build of 2022-06-29, key by key and in order, once the keys current ESCU added are set aside (they are
// checked against the v10 rendering below) and the search's null stage is taken off.
func TestEscuStanzaMatchesESCUBuild(t *testing.T) {
	ref, err := splunkconf.ParseFile(shared.Path(t, "data/escu/savedsearches/escu-2022-06-29.conf"))
	if err != nil {
		t.Fatal(err)
	}
	const name = "ESCU - Detect Regasm Spawning a Process - Rule"
	want := ref.Stanza(name)
	full := conf(t, "default/savedsearches.conf").Stanza(name)
	if want == nil || full == nil {
		t.Fatalf("stanza missing: ref %v, ours %v", want != nil, full != nil)
	}
	got := &splunkconf.Stanza{Name: full.Name}
	for i, kv := range full.Settings {
		if after, ok := v10Keys[kv.Key]; ok {
			if i == 0 || full.Settings[i-1].Key != after {
				t.Errorf("%s is not right after %s, as current ESCU places it", kv.Key, after)
			}
			continue
		}
		if kv.Key == "search" {
			kv.Value = strings.TrimSuffix(kv.Value, nullStage)
		}
		got.Settings = append(got.Settings, kv)
	}
	v10, err := splunkconf.ParseFile(shared.Path(t, "data/escu/savedsearches/escu-v10-rendered-from-template.conf"))
	if err != nil {
		t.Fatal(err)
	}
	cur := v10.Stanza(name)
	for key := range v10Keys {
		w, _ := cur.Get(key)
		g, _ := full.Get(key)
		switch key {
		case "action.correlationsearch.metadata":
			// Our detection is version 1 of 2021-02-12; v10's is of 2025-02-10.
			w = strings.NewReplacer(`"10"`, `"1"`, "1739145600.0", "1613088000.0").Replace(w)
		case "action.notable.param.drilldown_searches":
			// v10's search is v10's; ours is the seed search with the null stage.
			v10Search, _ := cur.Get("search")
			ourSearch, _ := full.Get("search")
			w = strings.ReplaceAll(w, jsonString(v10Search), jsonString(ourSearch))
		}
		if g != w {
			t.Errorf("%s =\n%s\ncurrent ESCU renders\n%s", key, g, w)
		}
	}
	if len(got.Settings) != len(want.Settings) {
		t.Errorf("%d settings, ESCU has %d", len(got.Settings), len(want.Settings))
	}
	for i := 0; i < len(got.Settings) && i < len(want.Settings); i++ {
		g, w := got.Settings[i], want.Settings[i]
		if g.Key != w.Key || g.Value != w.Value {
			t.Errorf("setting %d: %s = %q\nESCU:      %s = %q", i, g.Key, clip(g.Value), w.Key, clip(w.Value))
		}
	}
}

// jsonString is s as a JSON string body, without quotes (contentctl writes & as \u0026).
func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return strings.ReplaceAll(strings.Trim(string(b), `"`), `\u0026`, "&")
}

func clip(s string) string {
	if len(s) > 120 {
		return s[:120] + "..."
	}
	return s
}

// TestTwinsShareTheCorrelationKeys checks that each twin differs from its ESCU search only where it must.
func TestTwinsShareTheCorrelationKeys(t *testing.T) {
	searches := conf(t, "default/savedsearches.conf")
	for _, d := range escu.Embedded() {
		esc := searches.Stanza("ESCU - " + d.Name + " - Rule")
		twin := searches.Stanza("regasmdetect - " + d.Name + " - Rule")
		if esc == nil || twin == nil {
			t.Fatalf("%s: stanzas missing", d.Stem())
		}
		for _, kv := range twin.Settings {
			ev, ok := esc.Get(kv.Key)
			switch kv.Key {
			case "search":
				if strings.Contains(kv.Value, "tstats") || !strings.Contains(kv.Value, "| regasmdetect detection="+d.Stem()+" annotate=true ") {
					t.Errorf("%s twin search = %q", d.Stem(), kv.Value)
				}
			case "action.correlationsearch.label":
				if kv.Value != twin.Name {
					t.Errorf("%s twin label = %q", d.Stem(), kv.Value)
				}
			case "action.correlationsearch.metadata":
				// Its own detection id, so that ES never takes it for a version of ESCU's search.
				if kv.Value == ev || !strings.Contains(kv.Value, `"detection_version": "1"`) {
					t.Errorf("%s twin metadata = %q, ESCU's %q", d.Stem(), kv.Value, ev)
				}
			case "action.notable.param.drilldown_searches":
				twinSearch, _ := twin.Get("search")
				if !strings.Contains(kv.Value, jsonString(twinSearch)+" | search  user") {
					t.Errorf("%s twin drilldown does not run the twin's search: %s", d.Stem(), clip(kv.Value))
				}
			default:
				if !ok || ev != kv.Value {
					t.Errorf("%s twin %s = %q, ESCU stanza %q", d.Stem(), kv.Key, clip(kv.Value), clip(ev))
				}
			}
		}
		for key, want := range map[string]string{
			"disabled": "true", "cron_schedule": "0 * * * *", "dispatch.earliest_time": "-70m@m",
			"dispatch.latest_time": "-10m@m", "action.notable": "1", "action.risk": "1",
			"action.notable.param.severity": "high", "action.notable.param.security_domain": "endpoint",
			"action.correlationsearch.enabled": "1",
		} {
			if v, _ := twin.Get(key); v != want {
				t.Errorf("%s twin %s = %q, want %q", d.Stem(), key, v, want)
			}
		}
		var risk []map[string]any
		v, _ := twin.Get("action.risk.param._risk")
		if err := json.Unmarshal([]byte(v), &risk); err != nil {
			t.Fatalf("%s _risk: %v", d.Stem(), err)
		}
		scored := map[string]string{}
		for _, r := range risk {
			if f, ok := r["risk_object_field"].(string); ok {
				scored[f] = r["risk_object_type"].(string) + "/" + strconv.Itoa(int(r["risk_score"].(float64)))
			}
		}
		if scored["dest"] != "system/64" || scored["user"] != "user/64" || len(scored) != 2 {
			t.Errorf("%s risk objects = %v", d.Stem(), scored)
		}
		var ann struct {
			Mitre []string `json:"mitre_attack"`
		}
		v, _ = twin.Get("action.correlationsearch.annotations")
		if err := json.Unmarshal([]byte(v), &ann); err != nil || strings.Join(ann.Mitre, ",") != "T1218,T1218.009" {
			t.Errorf("%s annotations mitre = %v, %v", d.Stem(), ann.Mitre, err)
		}
	}
}

// TestGeneratedFilesAreCurrent regenerates macros.conf and savedsearches.conf and fails when the committed
// files differ: they must only ever be written by src/cmd/appgen.
func TestGeneratedFilesAreCurrent(t *testing.T) {
	out := t.TempDir()
	cmd := command(t, goTool(t), "run", "./src/cmd/appgen", "-out", out)
	cmd.Dir = root(t)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("appgen: %v\n%s", err, b)
	}
	for _, name := range []string{"macros.conf", "savedsearches.conf"} {
		want, err := os.ReadFile(filepath.Join(out, name))
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(filepath.Join(root(t), "default", name))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("default/%s differs from the generator's output: run go run ./src/cmd/appgen", name)
		}
	}
}
