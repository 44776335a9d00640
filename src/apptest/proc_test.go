package apptest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"
)

// command returns a command bound to the test: it is killed, with every process it started (go run starts the
// compiler and then the program), when the test ends, fails, or comes within a minute of the -timeout
// deadline, so that a slow machine reports a clear failure instead of leaving orphans behind a panicking test
// binary.
func command(t *testing.T, name string, args ...string) *exec.Cmd {
	t.Helper()
	ctx := t.Context()
	if d, ok := t.Deadline(); ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, d.Add(-time.Minute))
		t.Cleanup(cancel)
	}
	cmd := exec.CommandContext(ctx, name, args...)
	ownGroup(cmd)
	cmd.WaitDelay = 10 * time.Second
	t.Cleanup(func() {
		// A command that was started and not waited for (a test that stopped half-way) is killed here.
		if cmd.Process != nil && cmd.ProcessState == nil {
			_ = cmd.Cancel()
			_ = cmd.Wait()
		}
	})
	return cmd
}

// The app's build of the command for this machine, built once for the tests that run it.
var lean struct {
	once      sync.Once
	dir, path string
	err       error
}

// leanBuild returns the path of the app's build of the command for this machine, built as the packaging tool
// builds it (with version 0.0.0-test).
func leanBuild(t *testing.T) string {
	t.Helper()
	lean.once.Do(func() {
		lean.dir, lean.err = os.MkdirTemp("", "regasmdetect-apptest-")
		if lean.err != nil {
			return
		}
		lean.path = filepath.Join(lean.dir, "regasmdetect")
		if runtime.GOOS == "windows" {
			lean.path += ".exe"
		}
		cmd := command(t, goTool(t), "build", "-trimpath", "-buildvcs=false",
			"-ldflags", "-s -w -buildid= -X main.version=0.0.0-test", "-o", lean.path, "./src/cmd/regasmdetect-splunk")
		cmd.Dir = root(t)
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			lean.err = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if lean.err != nil {
		t.Fatal(lean.err)
	}
	return lean.path
}

func TestMain(m *testing.M) {
	code := m.Run()
	if lean.dir != "" {
		os.RemoveAll(lean.dir)
	}
	os.Exit(code)
}
