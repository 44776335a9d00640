package escu

import (
	"errors"
	"os"
	"slices"
	"strings"
	"testing"

	"regasmdetect/src/internal/shared"
)

func readShared(t *testing.T, rel string) []byte {
	t.Helper()
	data, err := os.ReadFile(shared.Path(t, rel))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

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

func TestParseSharedDetections(t *testing.T) {
	tests := []struct {
		file        string
		name        string
		version     int
		score       int
		severity    string
		mitre       []string
		risk        []RiskObject
		threats     []ThreatObject
		messageHead string
		drilldowns  int
	}{
		{"detections/detect_regasm_spawning_a_process.v1.2021-02-12.yml", "Detect Regasm Spawning a Process", 1, 0, "informational",
			[]string{"T1218.009"}, nil, nil, "", 0},
		{"detections/detect_regasm_spawning_a_process.v6.2024-09-30.yml", "Detect Regasm Spawning a Process", 6, 64, "high",
			[]string{"T1218", "T1218.009"},
			[]RiskObject{{"user", "user", 64}, {"dest", "system", 64}},
			[]ThreatObject{{"parent_process_name", "process"}, {"process_name", "process"}},
			"An instance of $parent_process_name$ spawning", 2},
		{"detections/detect_regasm_spawning_a_process.v10.2025-02-10.yml", "Detect Regasm Spawning a Process", 10, 64, "high",
			[]string{"T1218.009"},
			[]RiskObject{{"user", "user", 64}, {"dest", "system", 64}},
			[]ThreatObject{{"parent_process_name", "parent_process_name"}, {"process_name", "process_name"}},
			"An instance of $parent_process_name$ spawning", 2},
		{"detections/detect_regsvcs_spawning_a_process.v1.2021-02-12.yml", "Detect Regsvcs Spawning a Process", 1, 0, "informational",
			[]string{"T1218.009"}, nil, nil, "", 0},
		{"siblings/detect_regsvcs_spawning_a_process.yml", "Detect Regsvcs Spawning a Process", 5, 64, "high",
			[]string{"T1218", "T1218.009"},
			[]RiskObject{{"user", "user", 64}, {"dest", "system", 64}},
			[]ThreatObject{{"parent_process_name", "process"}, {"process_name", "process"}},
			"An instance of $parent_process_name$ spawning", 2},
		{"siblings/detect_regasm_with_network_connection.yml", "Detect Regasm with Network Connection", 6, 80, "high",
			[]string{"T1218", "T1218.009"},
			[]RiskObject{{"user", "user", 80}, {"dest", "system", 80}},
			[]ThreatObject{{"process_name", "process"}}, "An instance of $process_name$ contacting", 2},
		{"siblings/detect_regsvcs_with_network_connection.yml", "Detect Regsvcs with Network Connection", 7, 80, "high",
			[]string{"T1218", "T1218.009"},
			[]RiskObject{{"user", "user", 80}, {"dest", "system", 80}},
			[]ThreatObject{{"process_name", "process"}}, "An instance of $process_name$ contacting", 2},
		{"siblings/detect_regasm_with_no_command_line_arguments.yml", "Detect Regasm with no Command Line Arguments", 6, 49, "medium",
			[]string{"T1218", "T1218.009"},
			[]RiskObject{{"user", "user", 49}, {"dest", "system", 49}},
			[]ThreatObject{{"parent_process_name", "process"}, {"process_name", "process"}}, "The process $process_name$", 2},
		{"siblings/detect_regsvcs_with_no_command_line_arguments.yml", "Detect Regsvcs with No Command Line Arguments", 6, 49, "medium",
			[]string{"T1218", "T1218.009"},
			[]RiskObject{{"user", "user", 49}, {"dest", "system", 49}},
			[]ThreatObject{{"parent_process_name", "process"}, {"process_name", "process"}}, "The process $process_name$", 2},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			d, err := Parse(readShared(t, "data/escu/"+tt.file), tt.file)
			if err != nil {
				t.Fatal(err)
			}
			if d.Name != tt.name || d.Version != tt.version || d.Source != tt.file {
				t.Errorf("name %q version %d source %q, want %q %d %q", d.Name, d.Version, d.Source, tt.name, tt.version, tt.file)
			}
			if !strings.HasPrefix(d.Search, "| tstats") && !strings.HasPrefix(d.Search, "`sysmon`") {
				t.Errorf("search starts %.20q", d.Search)
			}
			if got := d.RiskScore(); got != tt.score {
				t.Errorf("RiskScore = %d, want %d", got, tt.score)
			}
			if got := d.Severity(); got != tt.severity {
				t.Errorf("Severity = %q, want %q", got, tt.severity)
			}
			if got := d.MitreIDs(); !slices.Equal(got, tt.mitre) {
				t.Errorf("MitreIDs = %q, want %q", got, tt.mitre)
			}
			if got := d.RiskObjects(); !slices.Equal(got, tt.risk) {
				t.Errorf("RiskObjects = %v, want %v", got, tt.risk)
			}
			if got := d.ThreatObjects(); !slices.Equal(got, tt.threats) {
				t.Errorf("ThreatObjects = %v, want %v", got, tt.threats)
			}
			if got := d.RiskMessage(); !strings.HasPrefix(got, tt.messageHead) {
				t.Errorf("RiskMessage = %q, want prefix %q", got, tt.messageHead)
			}
			if len(d.DrilldownSearches) != tt.drilldowns {
				t.Errorf("%d drilldowns, want %d", len(d.DrilldownSearches), tt.drilldowns)
			}
			if !strings.HasSuffix(d.Search, "`"+d.FilterMacro()+"`") && !strings.HasSuffix(d.Search, "`"+d.FilterMacro()+"`'") {
				t.Errorf("search does not end with the filter macro %q", d.FilterMacro())
			}
		})
	}
}

func TestParseV10Details(t *testing.T) {
	d, err := Parse(readShared(t, "data/escu/detections/detect_regasm_spawning_a_process.v10.2025-02-10.yml"), "v10")
	if err != nil {
		t.Fatal(err)
	}
	if d.RBA == nil || len(d.RBA.RiskObjects) != 2 || d.Tags.Message != "" {
		t.Fatalf("rba %+v, tags.message %q", d.RBA, d.Tags.Message)
	}
	if len(d.Tests) != 1 || len(d.Tests[0].AttackData) != 1 || d.Tests[0].AttackData[0].Sourcetype != "XmlWinEventLog" {
		t.Errorf("tests = %+v", d.Tests)
	}
	if len(d.Tags.AnalyticStory) != 6 || len(d.DataSource) != 3 {
		t.Errorf("stories %d, data sources %d", len(d.Tags.AnalyticStory), len(d.DataSource))
	}
}

func TestParseRejects(t *testing.T) {
	story := readShared(t, "data/escu/siblings/story_suspicious_regsvcs_regasm_activity.yml")
	tests := []struct {
		name string
		data string
		want string
	}{
		{"story", string(story), "story.yml: not a detection"},
		{"no name", "search: '| tstats count'\n", "not a detection: no name"},
		{"bad yaml", "name: x\nsearch: [\n", "bad yaml.yml: yaml: line"},
		{"wrong type", "name: x\nsearch: y\nversion: abc\n", "cannot unmarshal"},
		{"two docs", "name: x\nsearch: y\n---\nname: z\n", "line 3: more than one YAML document"},
		{"score", "name: x\nsearch: y\nrba:\n  risk_objects:\n  - {field: user, type: user, score: 101}\n", "score 101"},
		{"tag score", "name: x\nsearch: y\ntags:\n  risk_score: -1\n", "out of range"},
		{"empty", "", "EOF"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := strings.ReplaceAll(tt.name, " ", "_") + ".yml"
			if tt.name == "bad yaml" {
				src = "bad yaml.yml"
			}
			_, err := Parse([]byte(tt.data), src)
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "escu: ") {
				t.Fatalf("err = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestEmbedded(t *testing.T) {
	ds := Embedded()
	if len(ds) != 2 {
		t.Fatalf("%d embedded detections, want 2", len(ds))
	}
	if ds[0].Stem() != Default || ds[1].Stem() != "detect_regsvcs_spawning_a_process" {
		t.Fatalf("order: %q, %q", ds[0].Stem(), ds[1].Stem())
	}
	stanza := readShared(t, "data/escu/savedsearches/escu-2022-06-29.conf")
	sibling, err := Parse(readShared(t, "data/escu/siblings/detect_regsvcs_spawning_a_process.yml"), "sibling")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		stem, shared, id, message string
	}{
		{Default, "detections/detect_regasm_spawning_a_process.v1.2021-02-12.yml", "72170ec5-f7d2-42f5-aefb-2b8be6aad15f",
			confValue(t, stanza, "action.risk.param._risk_message")},
		{"detect_regsvcs_spawning_a_process", "detections/detect_regsvcs_spawning_a_process.v1.2021-02-12.yml",
			"bc477b57-5c21-4ab6-9c33-668772e7f114", sibling.Tags.Message},
	}
	for _, tt := range tests {
		t.Run(tt.stem, func(t *testing.T) {
			d, err := Lookup(tt.stem)
			if err != nil {
				t.Fatal(err)
			}
			orig, err := Parse(readShared(t, "data/escu/"+tt.shared), tt.shared)
			if err != nil {
				t.Fatal(err)
			}
			// Drift guard: the embedded search is the shared version-1 search, byte for byte.
			if d.Search != orig.Search {
				t.Errorf("embedded search\n%q\ndiffers from %s\n%q", d.Search, tt.shared, orig.Search)
			}
			if d.Stem() == Default && d.Search != confValue(t, stanza, "search") {
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
			wantRisk := []RiskObject{{"user", "user", 64}, {"dest", "system", 64}}
			if !slices.Equal(d.RiskObjects(), wantRisk) {
				t.Errorf("RiskObjects = %v", d.RiskObjects())
			}
			wantThreat := []ThreatObject{{"parent_process_name", "process"}, {"process_name", "process"}}
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
		{"detect_regasm_spawning_a_process", Default, ""},
		{"Detect Regasm Spawning a Process", Default, ""},
		{" DETECT_REGSVCS_SPAWNING_A_PROCESS ", "detect_regsvcs_spawning_a_process", ""},
		{"detect_regasm_with_network_connection", "", `unknown detection "detect_regasm_with_network_connection"; available: detect_regasm_spawning_a_process, detect_regsvcs_spawning_a_process`},
		{"", "", "unknown detection"},
	}
	for _, tt := range tests {
		d, err := Lookup(tt.in)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) || !errors.Is(err, ErrUnknown) {
				t.Errorf("Lookup(%q) err = %v, want %q", tt.in, err, tt.err)
			}
			continue
		}
		if err != nil || d.Stem() != tt.want {
			t.Errorf("Lookup(%q) = %v, %v", tt.in, d, err)
		}
	}
}

func TestStemAndSeverity(t *testing.T) {
	stems := map[string]string{
		"Detect Regasm Spawning a Process":    "detect_regasm_spawning_a_process",
		"Windows Hidden-Schtasks.Exe/Created": "windows_hidden_schtasks_exe_created",
	}
	for name, want := range stems {
		d := &Detection{Name: name}
		if d.Stem() != want || d.FilterMacro() != want+"_filter" {
			t.Errorf("Stem(%q) = %q, FilterMacro %q", name, d.Stem(), d.FilterMacro())
		}
	}
	sev := []struct {
		score int
		want  string
	}{{0, "informational"}, {20, "informational"}, {21, "low"}, {40, "low"}, {41, "medium"}, {60, "medium"}, {61, "high"}, {80, "high"}, {81, "critical"}, {100, "critical"}}
	for _, s := range sev {
		d := &Detection{RBA: &RBA{RiskObjects: []RiskObject{{"a", "user", 1}, {"b", "system", s.score}}}}
		if d.Severity() != s.want {
			t.Errorf("score %d: %q, want %q", s.score, d.Severity(), s.want)
		}
	}
}
