package escuyaml

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"regasmdetect/src/escu"
	"regasmdetect/src/internal/shared"
)

// writeCheckout makes a checkout in a temporary directory from path -> content.
func writeCheckout(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for _, sub := range []string{"detections", "macros", "lookups"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for p, c := range files {
		full := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

const detYAML = `name: Detect X
search: '| tstats ` + "`summ`" + ` count from datamodel=Endpoint.Processes where ` + "`pn(x.exe)`" + ` by Processes.dest | ` + "`drop_dm_object_name(\"Processes\")`" + ` | ` + "`detect_x_filter`" + `'
status: production
`

func TestCheckout(t *testing.T) {
	dir := writeCheckout(t, map[string]string{
		"detections/endpoint/detect_x.yml": detYAML,
		"detections/cloud/other.yml":       "name: Other\nsearch: '`cloudtrail` | stats count'\n",
		"detections/endpoint/broken.yml":   "name: [unclosed\n",
		"macros/summ.yml":                  "name: summ\ndefinition: summariesonly=\"false\"\n",
		"macros/pn.yml":                    "name: pn\narguments: [name]\ndefinition: (Processes.process_name=$name$ OR Processes.original_file_name=\"$name$\")\n",
		"lookups/tools.yml":                "name: tools\nfilename: tools.csv\nmatch_type: WILDCARD(tool)\ncase_sensitive_match: 'false'\nmin_matches: 1\ndefault_match: 'false'\n",
		"lookups/tools.csv":                "\xef\xbb\xbftool,desc\npsexec*,PsExec\n",
		"lookups/kv.yml":                   "name: kv\ncollection: kv\n",
	})
	c, err := LoadCheckout(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Detections) != 2 || len(c.Broken) != 1 || c.Broken[0].Path != "detections/endpoint/broken.yml" {
		t.Fatalf("detections %d, broken %v", len(c.Detections), c.Broken)
	}
	eps := c.EndpointProcesses()
	if len(eps) != 1 || eps[0].FileStem() != "detect_x" {
		t.Fatalf("Endpoint.Processes detections: %v", eps)
	}
	got, err := c.Expand(eps[0].Search, "detect_x")
	if err != nil {
		t.Fatal(err)
	}
	want := `| tstats summariesonly="false" count from datamodel=Endpoint.Processes where (Processes.process_name=x.exe OR Processes.original_file_name="x.exe") by Processes.dest | rename ""Processes".*" as * | search *`
	if got != want {
		t.Errorf("expanded\n got %s\nwant %s", got, want)
	}
	if _, err := c.Expand(eps[0].Search, "other"); err == nil || !strings.Contains(err.Error(), "detect_x_filter") {
		t.Errorf("another detection's filter macro expanded: %v", err)
	}
	if d, err := c.Detection("Detect X"); err != nil || d != eps[0] {
		t.Errorf("Detection by display name: %v", err)
	}
	if _, err := c.Detection("nope"); !errors.Is(err, escu.ErrUnknown) {
		t.Errorf("unknown detection: %v", err)
	}
	l, err := c.CSVLookup("tools")
	if err != nil {
		t.Fatal(err)
	}
	if l.Header[0] != "tool" || l.CaseSensitive() || l.WildcardFields()[0] != "tool" || len(l.OtherMatchTypes()) != 0 {
		t.Errorf("lookup %+v", l)
	}
	if _, err := c.CSVLookup("kv"); err == nil || !strings.Contains(err.Error(), "no CSV file") {
		t.Errorf("kv lookup: %v", err)
	}
	if _, err := c.CSVLookup("none"); err == nil {
		t.Error("an undefined lookup")
	}
}

func TestCheckoutErrors(t *testing.T) {
	tests := []struct {
		files map[string]string
		msg   string
	}{
		{map[string]string{"macros/a.yml": "name: [x\n"}, "macros/a.yml"},
		{map[string]string{"macros/a.yml": "definition: x\n"}, "macro without a name"},
		{map[string]string{"macros/a.yml": "name: a\narguments: [\"b c\"]\ndefinition: x\n"}, "invalid argument name"},
		{map[string]string{"macros/a.yml": "name: a\ndefinition: x\n", "macros/b.yml": "name: a\ndefinition: y\n"}, "already defined in macros/a.yml"},
		{map[string]string{"macros/a.yml": "name: a\ndefinition: x\n---\nname: b\n"}, "more than one YAML document"},
		{map[string]string{"lookups/l.yml": "name: l\nfilename: l.csv\n"}, "l.csv"},
		{map[string]string{"lookups/l.yml": "name: l\nfilename: l.csv\n", "lookups/l.csv": "a,b\n1\n"}, "wrong number of fields"},
		{map[string]string{"lookups/l.yml": "name: l\nfilename: ../x.csv\n"}, "not a plain file name"},
		{map[string]string{"lookups/l.yml": "filename: l.csv\n"}, "lookup without a name"},
	}
	for _, tt := range tests {
		dir := writeCheckout(t, tt.files)
		if _, err := LoadCheckout(dir); err == nil || !strings.Contains(err.Error(), tt.msg) {
			t.Errorf("%v: %v, want %q", tt.files, err, tt.msg)
		}
	}
	if _, err := LoadCheckout(t.TempDir()); err == nil || !strings.Contains(err.Error(), "no detections/ directory") {
		t.Errorf("an empty directory: %v", err)
	}
}

// TestSharedCheckoutMacros expands every Endpoint.Processes tstats detection of the snapshot: the checkout's
// macros, the CIM ones and the default filter macros define every call.
func TestSharedCheckoutMacros(t *testing.T) {
	c, err := LoadCheckout(shared.Path(t, "data/escu/security_content"))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Detections) != 1711 || len(c.Broken) != 0 {
		t.Errorf("%d detections, %d broken; want 1711 and 0", len(c.Detections), len(c.Broken))
	}
	for _, d := range c.EndpointProcesses() {
		if _, err := c.Expand(d.Search, d.FileStem()); err != nil {
			t.Errorf("%s: %v", d.FileStem(), err)
		}
	}
}

// TestCheckoutDuplicateStem: a second file with the same stem in another folder is listed as broken, naming the
// first, and the first stays the detection of that stem.
func TestCheckoutDuplicateStem(t *testing.T) {
	dir := writeCheckout(t, map[string]string{
		"detections/endpoint/detect_x.yml": detYAML,
		"detections/web/detect_x.yml":      "name: Detect X Again\nsearch: '| tstats count from datamodel=Web'\n",
	})
	c, err := LoadCheckout(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Detections) != 1 || len(c.Broken) != 1 || c.Broken[0].Path != "detections/web/detect_x.yml" ||
		!strings.Contains(c.Broken[0].Err.Error(), `file stem "detect_x" also used by detections/endpoint/detect_x.yml`) {
		t.Fatalf("detections %d, broken %v", len(c.Detections), c.Broken)
	}
	if d, err := c.Detection("detect_x"); err != nil || d.Name != "Detect X" || d.FileStem() != "detect_x" {
		t.Errorf("Detection(detect_x) = %v, %v", d, err)
	}
}
