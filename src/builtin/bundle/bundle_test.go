package bundle

import (
	"path/filepath"
	"testing"

	"regasmdetect/src/builtin"
	"regasmdetect/src/internal/golden"
)

// TestCommittedEmpty: the committed src/builtin/zz_bundle_generated.go is GoSource's file for the empty bundle,
// so that a build without the overlay has no built-in detections and the committed file is the generator's.
func TestCommittedEmpty(t *testing.T) {
	src, err := GoSource(&builtin.Bundle{})
	if err != nil {
		t.Fatal(err)
	}
	if golden.Check(t, filepath.Join("..", GoFile), src, "GoSource's empty bundle: go test ./src/builtin/bundle -run TestCommittedEmpty -update") {
		return
	}
	if n := len(builtin.Names()); n != 0 {
		t.Errorf("the build without an overlay has %d built-in detections", n)
	}
}
