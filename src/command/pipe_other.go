//go:build !linux

package command

import "io"

// growPipe reports false: only Linux lets a reader grow a pipe's buffer.
func growPipe(in io.Reader, size int) bool { return false }
