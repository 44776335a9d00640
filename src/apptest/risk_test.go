package apptest

import (
	"encoding/json"

	"regexp"
	"strings"
	"testing"

	"regasmdetect/src/internal/splunkdtest"
	"regasmdetect/src/sample"
	"regasmdetect/src/splunkconf"
)

// What Enterprise Security receives from the shipped twin search when a record has no user: the search runs
// through the real command as splunkd runs it (the sample, with the user of one regasm child emptied, across
// three indexers), then through the stages after the command, then through ES's risk action as ES documents
// it: one risk event per result and per risk object entry of action.risk.param._risk, on the value of that
// entry's field ("Risk Object Field — Name of a field that exists in the correlation search so that the risk
// score can be applied to that field", ES 7.2), none when the result has no such field.

// evalIfNull matches one assignment of the null stage: F=if(F=="V", null(), F).
var evalIfNull = regexp.MustCompile(`^(\w+)=if\((\w+)=="([^"]*)", null\(\), (\w+)\)$`)

// applyNullStage applies the search's trailing `| eval ...` stage, which must consist of assignments of the
// one form above only, to a row (field name to value; "" is null).
func applyNullStage(t *testing.T, stage string, row map[string]string) {
	t.Helper()
	body, ok := strings.CutPrefix(stage, "eval ")
	if !ok {
		t.Fatalf("last stage %q is not an eval", stage)
	}
	for _, a := range splitTopLevel(body) {
		m := evalIfNull.FindStringSubmatch(a)
		if m == nil || m[1] != m[2] || m[1] != m[4] {
			t.Fatalf("assignment %q is not F=if(F==\"V\", null(), F)", a)
		}
		if row[m[1]] == m[3] {
			delete(row, m[1])
		}
	}
}

type riskEvent struct{ object, objectType string }

// riskAction returns the risk events ES writes for one result.
func riskAction(t *testing.T, risk string, row map[string]string) []riskEvent {
	t.Helper()
	var entries []map[string]any
	if err := json.Unmarshal([]byte(risk), &entries); err != nil {
		t.Fatalf("_risk: %v", err)
	}
	var out []riskEvent
	for _, e := range entries {
		f, ok := e["risk_object_field"].(string)
		if !ok {
			continue // a threat object
		}
		if v := row[f]; v != "" {
			out = append(out, riskEvent{v, e["risk_object_type"].(string)})
		}
	}
	return out
}

func TestNoRiskEventOnNull(t *testing.T) {
	exe := leanBuild(t)
	ps, err := sample.Processes()
	if err != nil {
		t.Fatal(err)
	}
	records := splunkdtest.FromProcesses(ps)
	userCol, parentCol := -1, -1
	for j, f := range records.Fields {
		switch f {
		case "Processes.user":
			userCol = j
		case "Processes.parent_process_name":
			parentCol = j
		}
	}
	emptied := 0
	for _, r := range records.Rows {
		if emptied == 0 && len(r[parentCol]) == 1 && strings.EqualFold(r[parentCol][0], "regasm.exe") {
			r[userCol] = nil
			emptied++
		}
	}
	if emptied != 1 {
		t.Fatal("the sample has no regasm child to empty the user of")
	}

	searches := conf(t, "default/savedsearches.conf")
	macros := conf(t, "default/macros.conf")
	st := searches.Stanza("regasmdetect - Detect Regasm Spawning a Process - Rule")
	search, _ := st.Get("search")
	risk, _ := st.Get("action.risk.param._risk")
	expanded, err := macros.Expand(search)
	if err != nil {
		t.Fatal(err)
	}
	// The command's options as the expanded search passes them.
	stages := strings.Split(expanded, " | ")
	var args []string
	for _, s := range stages {
		if rest, ok := strings.CutPrefix(s, "regasmdetect "); ok {
			args = strings.Fields(rest)
		}
	}
	if len(args) == 0 {
		t.Fatalf("no regasmdetect stage in %q", expanded)
	}
	res, err := splunkdtest.Search(t.Context(), exe, args, records, splunkdtest.Plan{Indexers: 3, Seed: 5})
	if err != nil {
		t.Fatal(err)
	}
	last := stages[len(stages)-1]
	var before, after []riskEvent
	nullUser := 0
	for _, r := range res.Table.Strings() {
		row := map[string]string{}
		for j, f := range res.Table.Fields {
			row[f] = r[j]
		}
		if row["user"] == "null" {
			nullUser++
		}
		before = append(before, riskAction(t, risk, row)...)
		applyNullStage(t, last, row)
		after = append(after, riskAction(t, risk, row)...)
	}
	if nullUser != 1 {
		t.Fatalf("%d results with user=null, want 1 (the emptied record kept by fillnull_value)", nullUser)
	}
	count := func(evs []riskEvent, obj string) int {
		n := 0
		for _, e := range evs {
			if e.object == obj {
				n++
			}
		}
		return n
	}
	if count(before, "null") != 1 {
		t.Errorf("without the null stage ES would score %d risk events on \"null\", want 1: the test cannot see the fault", count(before, "null"))
	}
	if n := count(after, "null"); n != 0 {
		t.Errorf("ES would score %d risk events on a user or system named \"null\"", n)
	}
	if len(after) != len(before)-1 {
		t.Errorf("%d risk events, want %d: only the null one may go", len(after), len(before)-1)
	}
	// Every shipped search that scores risk ends with the stage, covering every risk object field.
	for _, st := range searches.Stanzas {
		risk, ok := st.Get("action.risk.param._risk")
		if !ok {
			continue
		}
		s, _ := st.Get("search")
		i := strings.LastIndex(s, " | ")
		stage := s[i+3:]
		var entries []map[string]any
		if err := json.Unmarshal([]byte(risk), &entries); err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			if f, ok := e["risk_object_field"].(string); ok && !strings.Contains(stage, f+`=if(`+f+`=="`+fillnull(t, macros)+`", null(), `+f+`)`) {
				t.Errorf("[%s] does not null its risk object %s: last stage %q", st.Name, f, stage)
			}
		}
	}
}

// fillnull is the app's fillnull_config: the value an empty by-field gets.
func fillnull(t *testing.T, macros *splunkconf.File) string {
	t.Helper()
	v, ok := macros.Lookup("fillnull_config", "definition")
	if !ok {
		t.Fatal("no fillnull_config macro")
	}
	return v
}

// splitTopLevel splits eval assignments at the commas outside parentheses and quotes.
func splitTopLevel(s string) []string {
	var out []string
	depth, quoted, start := 0, false, 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"':
			quoted = !quoted
		case quoted:
		case c == '(':
			depth++
		case c == ')':
			depth--
		case c == ',' && depth == 0:
			out = append(out, strings.TrimSpace(s[start:i]))
			start = i + 1
		}
	}
	return append(out, strings.TrimSpace(s[start:]))
}
