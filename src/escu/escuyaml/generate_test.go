package escuyaml

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"regasmdetect/src/escu"
	"regasmdetect/src/internal/golden"
)

// TestEmbeddedGenerated: the committed src/escu/detections_generated.go is what EmbeddedSource makes of
// src/escu/detections/*.yml today, and the detections compiled from it equal those the YAML decodes to.
// With -update (go generate ./src/escu) it rewrites the file instead.
func TestEmbeddedGenerated(t *testing.T) {
	src, err := EmbeddedSource(filepath.Join("..", "detections"))
	if err != nil {
		t.Fatal(err)
	}
	if golden.Check(t, filepath.Join("..", EmbeddedFile), src, "it is made from src/escu/detections/*.yml: go generate ./src/escu") || t.Failed() {
		return
	}
	paths, err := filepath.Glob(filepath.Join("..", "detections", "*.yml"))
	if err != nil {
		t.Fatal(err)
	}
	got := escu.Embedded()
	if len(got) != len(paths) || len(got) < 2 {
		t.Fatalf("%d embedded detections, %d files", len(got), len(paths))
	}
	for i, p := range paths { // Glob sorts by name, and the names are the stems
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		want, err := Parse(data, "embedded:detections/"+filepath.Base(p))
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got[i], want) {
			t.Errorf("%s: the compiled detection differs from the YAML's:\ngot  %+v\nwant %+v", p, got[i], want)
		}
	}
}

// TestEmbeddedSourceErrors: a file whose name does not match its detection, or a directory without detections,
// is refused with the file named.
func TestEmbeddedSourceErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := EmbeddedSource(dir); err == nil {
		t.Error("an empty directory was accepted")
	}
	data, err := os.ReadFile(filepath.Join("..", "detections", escu.Default+".yml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "other_name.yml"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = EmbeddedSource(dir)
	if err == nil || !bytes.Contains([]byte(err.Error()), []byte(`embedded detections/other_name.yml: name "Detect Regasm Spawning a Process"`)) {
		t.Errorf("err = %v", err)
	}
}
