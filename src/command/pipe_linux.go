package command

import (
	"io"
	"os"

	"golang.org/x/sys/unix"
)

// growPipe asks Linux for a pipe buffer of size bytes on in when in is a pipe (fcntl F_SETPIPE_SZ, pipe(7)),
// and reports whether in is now a pipe of at least that size. splunkd writes each request whole before it reads
// the reply, and cat-like writers write 128 KiB at a time: with the default 64 KiB buffer, writer and reader
// take turns in 64 KiB steps, each step two context switches and a read system call. With a larger buffer the
// kernel itself reads ahead for us. Unprivileged processes may grow a pipe up to /proc/sys/fs/pipe-max-size
// (1 MiB by default); a failure leaves the pipe as it was.
func growPipe(in io.Reader, size int) bool {
	f, ok := in.(*os.File)
	if !ok {
		return false
	}
	rc, err := f.SyscallConn()
	if err != nil {
		return false
	}
	got := 0
	_ = rc.Control(func(fd uintptr) {
		var st unix.Stat_t
		if unix.Fstat(int(fd), &st) != nil || st.Mode&unix.S_IFMT != unix.S_IFIFO {
			return
		}
		n, err := unix.FcntlInt(fd, unix.F_GETPIPE_SZ, 0)
		if err == nil && n < size {
			n, err = unix.FcntlInt(fd, unix.F_SETPIPE_SZ, size)
		}
		if err == nil {
			got = n
		}
	})
	return got >= size
}
