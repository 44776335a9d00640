//go:build !unix

package apptest

import "os/exec"

// ownGroup keeps exec's default on systems without POSIX process groups: cancelling kills the process.
func ownGroup(cmd *exec.Cmd) {}
