package escu_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"regasmdetect/src/escu"
	"regasmdetect/src/escu/escuyaml"
	"regasmdetect/src/internal/shared"
)

// confValue returns the value of key in a one-stanza .conf file (keys are "key = value" lines).
func confValue(t *testing.T, conf []byte, key string) string {
	t.Helper()
	for line := range strings.SplitSeq(string(conf), "\n") {
		if v, ok := strings.CutPrefix(line, key+" = "); ok {
			return strings.TrimRight(v, "\r")
		}
	}
	t.Fatalf("key %q not found", key)
	return ""
}

func TestEmbedded(t *testing.T) {
	ds := escu.Embedded()
	if len(ds) != 2 {
		t.Fatalf("%d embedded detections, want 2", len(ds))
	}
	if ds[0].Stem() != escu.Default || ds[1].Stem() != "detect_regsvcs_spawning_a_process" {
		t.Fatalf("order: %q, %q", ds[0].Stem(), ds[1].Stem())
	}
	stanza := shared.Read(t, "data/escu/savedsearches/escu-2022-06-29.conf")
	sibling, err := escuyaml.Parse(shared.Read(t, "data/escu/siblings/detect_regsvcs_spawning_a_process.yml"), "sibling")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		stem, shared, id, message string
	}{
		{escu.Default, "detections/detect_regasm_spawning_a_process.v1.2021-02-12.yml", "72170ec5-f7d2-42f5-aefb-2b8be6aad15f",
			confValue(t, stanza, "action.risk.param._risk_message")},
		{"detect_regsvcs_spawning_a_process", "detections/detect_regsvcs_spawning_a_process.v1.2021-02-12.yml",
			"bc477b57-5c21-4ab6-9c33-668772e7f114", sibling.Tags.Message},
	}
	for _, tt := range tests {
		t.Run(tt.stem, func(t *testing.T) {
			d, err := escu.Lookup(tt.stem)
			if err != nil {
				t.Fatal(err)
			}
			orig, err := escuyaml.Parse(shared.Read(t, "data/escu/"+tt.shared), tt.shared)
			if err != nil {
				t.Fatal(err)
			}
			// Drift guard: the embedded search is the shared version-1 search, byte for byte.
			if d.Search != orig.Search {
				t.Errorf("embedded search\n%q\ndiffers from %s\n%q", d.Search, tt.shared, orig.Search)
			}
			if d.Stem() == escu.Default && d.Search != confValue(t, stanza, "search") {
				t.Errorf("embedded search differs from the 2022 build's search")
			}
			if d.ID != tt.id || d.Version != 1 || d.Date != "2021-02-12" || d.Type != "TTP" {
				t.Errorf("id %q version %d date %q type %q", d.ID, d.Version, d.Date, d.Type)
			}
			if d.RiskMessage() != tt.message {
				t.Errorf("RiskMessage = %q, want %q", d.RiskMessage(), tt.message)
			}
			if d.Tags.Impact != 80 || d.Tags.Confidence != 80 || d.RiskScore() != 64 || d.Severity() != "high" {
				t.Errorf("impact %d confidence %d score %d severity %s", d.Tags.Impact, d.Tags.Confidence, d.RiskScore(), d.Severity())
			}
			if !slices.Equal(d.MitreIDs(), []string{"T1218", "T1218.009"}) || d.Tags.SecurityDomain != "endpoint" {
				t.Errorf("mitre %q domain %q", d.MitreIDs(), d.Tags.SecurityDomain)
			}
			wantRisk := []escu.RiskObject{risk("user", "user", 64), risk("dest", "system", 64)}
			if !slices.Equal(d.RiskObjects(), wantRisk) {
				t.Errorf("RiskObjects = %v", d.RiskObjects())
			}
			wantThreat := []escu.ThreatObject{threat("parent_process_name", "process"), threat("process_name", "process")}
			if !slices.Equal(d.ThreatObjects(), wantThreat) {
				t.Errorf("ThreatObjects = %v", d.ThreatObjects())
			}
			roles := map[string]string{}
			for _, o := range d.Tags.Observable {
				roles[o.Name] = strings.Join(o.Role, ",")
			}
			wantRoles := map[string]string{"user": "Victim", "dest": "Victim", "parent_process_name": "Parent Process", "process_name": "Child Process"}
			for k, v := range wantRoles {
				if roles[k] != v {
					t.Errorf("observable %s role %q, want %q", k, roles[k], v)
				}
			}
			if !strings.HasPrefix(d.Source, "embedded:detections/") {
				t.Errorf("Source = %q", d.Source)
			}
		})
	}
}

func TestLookup(t *testing.T) {
	tests := []struct {
		in, want, err string
	}{
		{"detect_regasm_spawning_a_process", escu.Default, ""},
		{"Detect Regasm Spawning a Process", escu.Default, ""},
		{" DETECT_REGSVCS_SPAWNING_A_PROCESS ", "detect_regsvcs_spawning_a_process", ""},
		{"detect_regasm_with_network_connection", "", `unknown detection "detect_regasm_with_network_connection"; available: detect_regasm_spawning_a_process, detect_regsvcs_spawning_a_process`},
		{"", "", "unknown detection"},
	}
	for _, tt := range tests {
		d, err := escu.Lookup(tt.in)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) || !errors.Is(err, escu.ErrUnknown) {
				t.Errorf("escu.Lookup(%q) err = %v, want %q", tt.in, err, tt.err)
			}
			continue
		}
		if err != nil || d.Stem() != tt.want {
			t.Errorf("escu.Lookup(%q) = %v, %v", tt.in, d, err)
		}
	}
}

func TestStemAndSeverity(t *testing.T) {
	stems := map[string]string{
		"Detect Regasm Spawning a Process":    "detect_regasm_spawning_a_process",
		"Windows Hidden-Schtasks.Exe/Created": "windows_hidden_schtasks_exe_created",
	}
	for name, want := range stems {
		d := &escu.Detection{Name: name}
		if d.Stem() != want || d.FilterMacro() != want+"_filter" {
			t.Errorf("Stem(%q) = %q, FilterMacro %q", name, d.Stem(), d.FilterMacro())
		}
	}
	sev := []struct {
		score int
		want  string
	}{{0, "informational"}, {20, "informational"}, {21, "low"}, {40, "low"}, {41, "medium"}, {60, "medium"}, {61, "high"}, {80, "high"}, {81, "critical"}, {100, "critical"}}
	for _, s := range sev {
		d := &escu.Detection{RBA: &escu.RBA{RiskObjects: []escu.RiskObject{risk("a", "user", 1), risk("b", "system", s.score)}}}
		if d.Severity() != s.want {
			t.Errorf("score %d: %q, want %q", s.score, d.Severity(), s.want)
		}
	}
}
func TestExpandBuiltin(t *testing.T) {
	d, err := escu.Lookup(escu.Default)
	if err != nil {
		t.Fatal(err)
	}
	got, err := escu.ExpandBuiltin(d.Search, d.Stem())
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`| tstats summariesonly="false" allow_old_summaries="true" fillnull_value="null" count`,
		`| rename "Processes.*" as * | convert timeformat="%Y-%m-%dT%H:%M:%S" ctime(firstTime) | convert timeformat="%Y-%m-%dT%H:%M:%S" ctime(lastTime) | search *`} {
		if !strings.Contains(got, want) {
			t.Errorf("expanded seed lacks %q:\n%s", want, got)
		}
	}
}

func risk(field, typ string, score int) escu.RiskObject {
	return escu.RiskObject{Field: field, Type: typ, Score: score}
}

func threat(field, typ string) escu.ThreatObject { return escu.ThreatObject{Field: field, Type: typ} }
