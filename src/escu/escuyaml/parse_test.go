package escuyaml

import (
	"slices"
	"strings"
	"testing"

	"regasmdetect/src/escu"
	"regasmdetect/src/internal/shared"
)

func TestParseSharedDetections(t *testing.T) {
	tests := []struct {
		file        string
		name        string
		version     int
		score       int
		severity    string
		mitre       []string
		risk        []escu.RiskObject
		threats     []escu.ThreatObject
		messageHead string
		drilldowns  int
	}{
		{"detections/detect_regasm_spawning_a_process.v1.2021-02-12.yml", "Detect Regasm Spawning a Process", 1, 0, "informational",
			[]string{"T1218.009"}, nil, nil, "", 0},
		{"detections/detect_regasm_spawning_a_process.v6.2024-09-30.yml", "Detect Regasm Spawning a Process", 6, 64, "high",
			[]string{"T1218", "T1218.009"},
			[]escu.RiskObject{risk("user", "user", 64), risk("dest", "system", 64)},
			[]escu.ThreatObject{threat("parent_process_name", "process"), threat("process_name", "process")},
			"An instance of $parent_process_name$ spawning", 2},
		{"detections/detect_regasm_spawning_a_process.v10.2025-02-10.yml", "Detect Regasm Spawning a Process", 10, 64, "high",
			[]string{"T1218.009"},
			[]escu.RiskObject{risk("user", "user", 64), risk("dest", "system", 64)},
			[]escu.ThreatObject{threat("parent_process_name", "parent_process_name"), threat("process_name", "process_name")},
			"An instance of $parent_process_name$ spawning", 2},
		{"detections/detect_regsvcs_spawning_a_process.v1.2021-02-12.yml", "Detect Regsvcs Spawning a Process", 1, 0, "informational",
			[]string{"T1218.009"}, nil, nil, "", 0},
		{"siblings/detect_regsvcs_spawning_a_process.yml", "Detect Regsvcs Spawning a Process", 5, 64, "high",
			[]string{"T1218", "T1218.009"},
			[]escu.RiskObject{risk("user", "user", 64), risk("dest", "system", 64)},
			[]escu.ThreatObject{threat("parent_process_name", "process"), threat("process_name", "process")},
			"An instance of $parent_process_name$ spawning", 2},
		{"siblings/detect_regasm_with_network_connection.yml", "Detect Regasm with Network Connection", 6, 80, "high",
			[]string{"T1218", "T1218.009"},
			[]escu.RiskObject{risk("user", "user", 80), risk("dest", "system", 80)},
			[]escu.ThreatObject{threat("process_name", "process")}, "An instance of $process_name$ contacting", 2},
		{"siblings/detect_regsvcs_with_network_connection.yml", "Detect Regsvcs with Network Connection", 7, 80, "high",
			[]string{"T1218", "T1218.009"},
			[]escu.RiskObject{risk("user", "user", 80), risk("dest", "system", 80)},
			[]escu.ThreatObject{threat("process_name", "process")}, "An instance of $process_name$ contacting", 2},
		{"siblings/detect_regasm_with_no_command_line_arguments.yml", "Detect Regasm with no Command Line Arguments", 6, 49, "medium",
			[]string{"T1218", "T1218.009"},
			[]escu.RiskObject{risk("user", "user", 49), risk("dest", "system", 49)},
			[]escu.ThreatObject{threat("parent_process_name", "process"), threat("process_name", "process")}, "The process $process_name$", 2},
		{"siblings/detect_regsvcs_with_no_command_line_arguments.yml", "Detect Regsvcs with No Command Line Arguments", 6, 49, "medium",
			[]string{"T1218", "T1218.009"},
			[]escu.RiskObject{risk("user", "user", 49), risk("dest", "system", 49)},
			[]escu.ThreatObject{threat("parent_process_name", "process"), threat("process_name", "process")}, "The process $process_name$", 2},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			d, err := Parse(shared.Read(t, "data/escu/"+tt.file), tt.file)
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
	d, err := Parse(shared.Read(t, "data/escu/detections/detect_regasm_spawning_a_process.v10.2025-02-10.yml"), "v10")
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
	story := shared.Read(t, "data/escu/siblings/story_suspicious_regsvcs_regasm_activity.yml")
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

func risk(field, typ string, score int) escu.RiskObject {
	return escu.RiskObject{Field: field, Type: typ, Score: score}
}

func threat(field, typ string) escu.ThreatObject { return escu.ThreatObject{Field: field, Type: typ} }
