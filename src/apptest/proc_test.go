package apptest

import (
	"context"
	"os/exec"
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
