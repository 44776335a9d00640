// Package golden compares what a test produced with a file committed beside it (a golden file, a generated
// source file), or rewrites the file when the test runs with -update. Only tests import it.
package golden

import (
	"bytes"
	"flag"
	"os"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden and generated files the tests compare with")

// Check compares got with the file at path and reports a difference as an error of t, saying how to rewrite
// the file (hint, a command). Under -update it writes got to path instead and returns true: the caller may
// skip what depends on the committed file.
func Check(t testing.TB, path string, got []byte, hint string) (updated bool) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return true
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (%s)", err, hint)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs (%s):\ngot\n%s\nwant\n%s", path, hint, got, want)
	}
	return false
}
