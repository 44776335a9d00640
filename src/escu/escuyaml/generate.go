package escuyaml

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"regasmdetect/src/escu"
	"regasmdetect/src/internal/golit"
)

// EmbeddedFile is the file, in package escu's directory, that holds the embedded detections as Go values.
const EmbeddedFile = "detections_generated.go"

// EmbeddedSource reads the detection files dir/*.yml (src/escu/detections) and returns the Go source of
// EmbeddedFile: the variable embedded, the detections sorted by file stem, each parsed with the source
// "embedded:detections/<file>". A file whose detection's name does not give its file stem is an error.
func EmbeddedSource(dir string) ([]byte, error) {
	paths, err := filepath.Glob(filepath.Join(dir, "*.yml"))
	if err != nil {
		return nil, fmt.Errorf("escu: embedded detections: %w", err)
	}
	var ds []*escu.Detection
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("escu: embedded detections: %w", err)
		}
		name := "detections/" + filepath.Base(p)
		d, err := Parse(data, "embedded:"+name)
		if err != nil {
			return nil, err
		}
		if want := strings.TrimSuffix(filepath.Base(p), ".yml"); d.Stem() != want {
			return nil, fmt.Errorf("escu: embedded %s: name %q has stem %q, want the file stem %q", name, d.Name, d.Stem(), want)
		}
		ds = append(ds, d)
	}
	if len(ds) == 0 {
		return nil, fmt.Errorf("escu: embedded detections: no %s", filepath.Join(dir, "*.yml"))
	}
	slices.SortFunc(ds, func(a, b *escu.Detection) int { return strings.Compare(a.Stem(), b.Stem()) })
	f := golit.NewFile("regasmdetect/src/escu", "escu",
		"The detections of detections/*.yml as Go values, written by escuyaml.EmbeddedSource.\nRegenerate with: go generate ./src/escu")
	if err := f.Var("embedded are the embedded detections, sorted by file stem.", "embedded", ds); err != nil {
		return nil, err
	}
	return f.Bytes()
}
