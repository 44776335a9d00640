package escuyaml

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzParse decodes arbitrary detection files: never a panic; an error names the package and the source; a
// detection that parses has a name, a search and scores in range, and is what a second parse gives.
func FuzzParse(f *testing.F) {
	paths, _ := filepath.Glob(filepath.Join("..", "detections", "*.yml"))
	for _, p := range paths {
		if data, err := os.ReadFile(p); err == nil {
			f.Add(data)
		}
	}
	f.Add([]byte("name: x\nsearch: y\nrba:\n  risk_objects:\n  - {field: user, type: user, score: 101}\n"))
	f.Add([]byte("name: x\nsearch: y\n---\nname: z\n"))
	f.Add([]byte("name: &a x\nsearch: *a\ntags: {risk_score: 50, observable: [{name: u, role: [Victim]}]}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := Parse(data, "fuzz.yml")
		if err != nil {
			if !strings.HasPrefix(err.Error(), "escu: fuzz.yml: ") {
				t.Fatalf("error without its source: %v", err)
			}
			return
		}
		if strings.TrimSpace(d.Name) == "" || strings.TrimSpace(d.Search) == "" || d.Source != "fuzz.yml" {
			t.Fatalf("parsed %+v", d)
		}
		if s := d.RiskScore(); s < 0 || s > 100 {
			t.Fatalf("risk score %d", s)
		}
		again, err := Parse(data, "fuzz.yml")
		if err != nil || again.Name != d.Name || again.Search != d.Search {
			t.Fatalf("a second parse differs: %v", err)
		}
	})
}
