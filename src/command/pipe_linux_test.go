package command

import (
	"os"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// TestGrowPipe: standard input that is a pipe gets a 1 MiB buffer; a regular file or a non-file is left alone.
func TestGrowPipe(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	if !growPipe(r, pipeBufSize) {
		t.Skip("the kernel refused a 1 MiB pipe (pipe-max-size lowered)")
	}
	n, err := unix.FcntlInt(r.Fd(), unix.F_GETPIPE_SZ, 0)
	if err != nil || n < pipeBufSize {
		t.Errorf("pipe buffer %d (%v), want at least %d", n, err, pipeBufSize)
	}
	f, err := os.CreateTemp(t.TempDir(), "stdin")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if growPipe(f, pipeBufSize) || growPipe(strings.NewReader("x"), pipeBufSize) {
		t.Error("growPipe reported a pipe for a regular file or a strings.Reader")
	}
}
