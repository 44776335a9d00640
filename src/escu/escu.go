// Package escu models Splunk ESCU detection files (the YAML of splunk/security_content) and holds the
// detections embedded in the binary.
//
// The model decodes every shape the project meets: version 1 (2021, tag-based fields), versions 2-6
// (2023-2024, tag-based risk-based alerting, drilldowns, inline tests) and version 10 (2025, an rba block).
// Keys the model does not name are tolerated and ignored, since ESCU added and dropped many over the years.
//
// The package decodes no YAML itself: package escuyaml reads detection files and checkouts into this model,
// and the embedded detections are Go values that escuyaml generated from src/escu/detections/*.yml
// (detections_generated.go), so that the search command starts without a YAML decoder.
package escu

import (
	"errors"
	"strings"
)

// Default is the file stem of the default detection.
const Default = "detect_regasm_spawning_a_process"

// Detection is one ESCU detection file.
type Detection struct {
	Name                string      `yaml:"name"`
	ID                  string      `yaml:"id"`
	Version             int         `yaml:"version"`
	Date                string      `yaml:"date"`
	Author              string      `yaml:"author"`
	Type                string      `yaml:"type"`
	Status              string      `yaml:"status"`
	Description         string      `yaml:"description"`
	DataSource          []string    `yaml:"data_source"`
	Datamodel           []string    `yaml:"datamodel"`
	HowToImplement      string      `yaml:"how_to_implement"`
	KnownFalsePositives string      `yaml:"known_false_positives"`
	References          []string    `yaml:"references"`
	Search              string      `yaml:"search"`
	DrilldownSearches   []Drilldown `yaml:"drilldown_searches"`
	RBA                 *RBA        `yaml:"rba"`
	Tags                Tags        `yaml:"tags"`
	Tests               []Test      `yaml:"tests"`

	// Source names where the detection was read from (a file path or "embedded:<file>"); not part of the YAML.
	Source string `yaml:"-"`

	fileStem string // the stem of the checkout file it was read from
}

// Tags is the tags block. Risk fields (impact, confidence, risk_score, message, observable) were tags from
// 2021-07 until the rba block replaced them.
type Tags struct {
	AnalyticStory             []string     `yaml:"analytic_story"`
	AssetType                 string       `yaml:"asset_type"`
	AutomatedDetectionTesting string       `yaml:"automated_detection_testing"`
	CIS20                     []string     `yaml:"cis20"`
	Confidence                int          `yaml:"confidence"`
	Context                   []string     `yaml:"context"`
	Dataset                   []string     `yaml:"dataset"`
	Impact                    int          `yaml:"impact"`
	KillChainPhases           []string     `yaml:"kill_chain_phases"`
	Message                   string       `yaml:"message"`
	MitreAttackID             []string     `yaml:"mitre_attack_id"`
	NIST                      []string     `yaml:"nist"`
	Observable                []Observable `yaml:"observable"`
	Product                   []string     `yaml:"product"`
	RequiredFields            []string     `yaml:"required_fields"`
	RiskScore                 int          `yaml:"risk_score"`
	SecurityDomain            string       `yaml:"security_domain"`
}

// Observable is one tags.observable entry (name is a field of the search output).
type Observable struct {
	Name string   `yaml:"name"`
	Type string   `yaml:"type"`
	Role []string `yaml:"role"`
}

// RBA is the rba block of 2024-11 and later.
type RBA struct {
	Message       string         `yaml:"message"`
	RiskObjects   []RiskObject   `yaml:"risk_objects"`
	ThreatObjects []ThreatObject `yaml:"threat_objects"`
}

// RiskObject is a field whose value receives a risk score (type user, system or other).
type RiskObject struct {
	Field string `yaml:"field"`
	Type  string `yaml:"type"`
	Score int    `yaml:"score"`
}

// ThreatObject is a field whose value is recorded as a threat object.
type ThreatObject struct {
	Field string `yaml:"field"`
	Type  string `yaml:"type"`
}

// Drilldown is one drilldown_searches entry.
type Drilldown struct {
	Name           string `yaml:"name"`
	Search         string `yaml:"search"`
	EarliestOffset string `yaml:"earliest_offset"`
	LatestOffset   string `yaml:"latest_offset"`
}

// Test is one inline tests entry (2023 and later).
type Test struct {
	Name       string       `yaml:"name"`
	AttackData []AttackData `yaml:"attack_data"`
}

// AttackData names one attack data set of a test.
type AttackData struct {
	Data       string `yaml:"data"`
	Source     string `yaml:"source"`
	Sourcetype string `yaml:"sourcetype"`
}

// Stem returns the file stem ESCU derives from the name: lower-cased, with spaces, '-', '.' and '/' replaced
// by '_' ("Detect Regasm Spawning a Process" -> "detect_regasm_spawning_a_process").
func (d *Detection) Stem() string {
	return stem(d.Name)
}

func stem(name string) string {
	return strings.Map(func(r rune) rune {
		switch r {
		case ' ', '-', '.', '/':
			return '_'
		}
		return r
	}, strings.ToLower(name))
}

// FilterMacro returns the name of the detection's filter macro, Stem()+"_filter".
func (d *Detection) FilterMacro() string { return d.Stem() + "_filter" }

// RiskMessage returns rba.message when present, else tags.message.
func (d *Detection) RiskMessage() string {
	if d.RBA != nil && d.RBA.Message != "" {
		return d.RBA.Message
	}
	return d.Tags.Message
}

// RiskScore returns the highest rba risk object score when the rba block has risk objects, else
// tags.risk_score.
func (d *Detection) RiskScore() int {
	if d.RBA != nil && len(d.RBA.RiskObjects) > 0 {
		m := 0
		for _, ro := range d.RBA.RiskObjects {
			m = max(m, ro.Score)
		}
		return m
	}
	return d.Tags.RiskScore
}

// RiskObjects returns the rba risk objects, or, for tag-based detections, one per observable with the role
// Victim, typed as ESCU's 2021-2024 builds did (User -> user, Hostname/IP Address/Endpoint -> system, else
// other) and scored tags.risk_score. The slice is a fresh copy.
func (d *Detection) RiskObjects() []RiskObject {
	if d.RBA != nil {
		return append([]RiskObject(nil), d.RBA.RiskObjects...)
	}
	var out []RiskObject
	for _, o := range d.Tags.Observable {
		if !hasRole(o, "Victim") {
			continue
		}
		out = append(out, RiskObject{Field: o.Name, Type: riskType(o.Type), Score: d.Tags.RiskScore})
	}
	return out
}

// ThreatObjects returns the rba threat objects, or, for tag-based detections, one per observable without the
// role Victim (Attacker, Parent Process, Child Process, ...), typed by the observable type lower-cased with
// spaces as '_' (Process -> process, as in ESCU's 2022 build). The slice is a fresh copy.
func (d *Detection) ThreatObjects() []ThreatObject {
	if d.RBA != nil {
		return append([]ThreatObject(nil), d.RBA.ThreatObjects...)
	}
	var out []ThreatObject
	for _, o := range d.Tags.Observable {
		if hasRole(o, "Victim") {
			continue
		}
		out = append(out, ThreatObject{Field: o.Name, Type: strings.ReplaceAll(strings.ToLower(o.Type), " ", "_")})
	}
	return out
}

func hasRole(o Observable, role string) bool {
	for _, r := range o.Role {
		if strings.EqualFold(r, role) {
			return true
		}
	}
	return false
}

func riskType(observableType string) string {
	switch strings.ToLower(observableType) {
	case "user", "user name":
		return "user"
	case "hostname", "ip address", "endpoint", "system":
		return "system"
	}
	return "other"
}

// MitreIDs returns a copy of tags.mitre_attack_id.
func (d *Detection) MitreIDs() []string {
	return append([]string(nil), d.Tags.MitreAttackID...)
}

// Severity maps RiskScore as contentctl does: 0-20 informational, 21-40 low, 41-60 medium, 61-80 high,
// 81-100 critical.
func (d *Detection) Severity() string {
	switch s := d.RiskScore(); {
	case s <= 20:
		return "informational"
	case s <= 40:
		return "low"
	case s <= 60:
		return "medium"
	case s <= 80:
		return "high"
	default:
		return "critical"
	}
}

// ErrUnknown is wrapped by Lookup when no embedded detection has the name.
var ErrUnknown = errors.New("unknown detection")
