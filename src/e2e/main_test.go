// Package e2e runs the real regasmdetect executable over real pipes: the search command under the splunkd
// emulator, the recordings of real splunkd sessions, every error of the contract, and the scanner against the
// search command on the same events.
package e2e

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"regasmdetect/src/internal/splunkdtest"
)

// bin is the executable built once for the whole test binary.
var bin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "regasmdetect-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	bin = filepath.Join(dir, "regasmdetect")
	build := exec.Command("go", "build", "-o", bin, "regasmdetect/src/cmd/regasmdetect")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build regasmdetect:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// clean checks what every exchange must respect: nothing on stderr, no session key anywhere.
func clean(t *testing.T, tr *splunkdtest.Transcript) {
	t.Helper()
	for _, out := range [][]byte{tr.Stdout, tr.Stderr} {
		if bytes.Contains(out, []byte(splunkdtest.SessionKey)) || bytes.Contains(out, []byte("SESSIONKEY")) {
			t.Errorf("the session key was written out")
		}
	}
	if len(tr.Stderr) > 0 {
		t.Errorf("stderr is not quiet: %q", tr.Stderr)
	}
}
