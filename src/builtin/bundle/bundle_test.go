package bundle

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"regasmdetect/src/builtin"
)

var update = flag.Bool("update", false, "rewrite src/builtin/"+GoFile+" (the empty bundle)")

// TestCommittedEmpty: the committed src/builtin/zz_bundle_generated.go is GoSource's file for the empty bundle,
// so that a build without the overlay has no built-in detections and the committed file is the generator's.
func TestCommittedEmpty(t *testing.T) {
	src, err := GoSource(&builtin.Bundle{})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("..", GoFile)
	if *update {
		if err := os.WriteFile(path, src, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	committed, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(src, committed) {
		t.Errorf("src/builtin/%s is not GoSource's empty bundle (go test ./src/builtin/bundle -run TestCommittedEmpty -update):\n%s", GoFile, src)
	}
	if n := len(builtin.Names()); n != 0 {
		t.Errorf("the build without an overlay has %d built-in detections", n)
	}
}
