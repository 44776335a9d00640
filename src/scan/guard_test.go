package scan

import (
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestGuardHeap runs a child process that allocates without bound under the guard: it must stop with exit
// status 2 and a message naming the file, not be killed by the kernel.
func TestGuardHeap(t *testing.T) {
	if os.Getenv("REGASMDETECT_GUARD_CHILD") == "1" {
		evtxHeapLimit = 64 << 20
		stop := guardHeap("crafted.evtx", os.Stderr)
		defer stop()
		var keep [][]byte
		for i := 0; i < 400; i++ { // 400 MiB at most, well past the limit
			keep = append(keep, make([]byte, 1<<20))
			for j := range keep[i] {
				keep[i][j] = byte(j)
			}
			time.Sleep(time.Millisecond)
		}
		os.Exit(0) // the guard did not fire
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestGuardHeap$")
	cmd.Env = append(os.Environ(), "REGASMDETECT_GUARD_CHILD=1")
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != ExitErrors {
		t.Fatalf("child: %v, output %s", err, out)
	}
	if !strings.Contains(string(out), "crafted.evtx: the EVTX parser used more than 64 MiB") {
		t.Errorf("message: %s", out)
	}
}
