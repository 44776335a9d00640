// Package escuyaml reads ESCU content from its YAML files: one detection file (Parse) and a splunk/security_content
// checkout (LoadCheckout), into the model of package escu. It is the only package that decodes YAML, so that the
// app's build of the search command, whose detections are Go values (EmbeddedSource writes them), links no YAML
// decoder.
package escuyaml

import (
	"bytes"
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"

	"regasmdetect/src/escu"
)

// Parse decodes one detection file. source names the input in errors ("escu: <source>: yaml: line 3: ...").
// A document without a name or without a search (a story, a macro) is not a detection and is an error.
func Parse(data []byte, source string) (*escu.Detection, error) {
	var d escu.Detection
	if err := decodeOne(data, &d); err != nil {
		return nil, fmt.Errorf("escu: %s: %w", source, err)
	}
	if strings.TrimSpace(d.Name) == "" {
		return nil, fmt.Errorf("escu: %s: not a detection: no name", source)
	}
	if strings.TrimSpace(d.Search) == "" {
		return nil, fmt.Errorf("escu: %s: not a detection: %q has no search", source, d.Name)
	}
	if d.RBA != nil {
		for i, ro := range d.RBA.RiskObjects {
			if ro.Field == "" || ro.Score < 0 || ro.Score > 100 {
				return nil, fmt.Errorf("escu: %s: rba.risk_objects[%d]: field %q, score %d: want a field and a score 0-100",
					source, i, ro.Field, ro.Score)
			}
		}
	}
	if d.Tags.RiskScore < 0 || d.Tags.RiskScore > 100 {
		return nil, fmt.Errorf("escu: %s: tags.risk_score %d out of range 0-100", source, d.Tags.RiskScore)
	}
	d.Source = source
	return &d, nil
}

// decodeOne decodes the one YAML document of data into v; a second document is an error.
func decodeOne(data []byte, v any) error {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(v); err != nil {
		return err
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		return fmt.Errorf("line %d: more than one YAML document", extra.Line)
	}
	return nil
}
