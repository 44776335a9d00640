package sysmon

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
)

// MaxLine is the longest line (and the largest multi-line XML event) the text readers accept. Sysmon caps a
// command line at 32,767 characters, so a real event is far smaller. A longer one is a bad record, skipped.
const MaxLine = 1 << 20

var errLineTooLong = fmt.Errorf("line longer than %d bytes", MaxLine)

// lineReader reads lines with bounded memory, from a stream (r) or from bytes in memory (mem, a block of the
// parallel reader). A returned line is valid until the next call. A line that fits in the stream's buffer is
// returned in place, without a copy; a longer one is assembled in buf.
type lineReader struct {
	r    *bufio.Reader
	mem  []byte // in-memory input, the unread part (r is nil)
	buf  []byte
	line int64 // number of the line last returned
	err  error // sticky read error
	// inner is set for a block that does not start the input: its first line has no byte-order mark.
	inner bool
}

func newLineReader(r io.Reader) *lineReader {
	return &lineReader{r: bufio.NewReaderSize(r, 64<<10)}
}

// resetBytes makes l read the lines of b in place, numbering them from 1; first says whether b starts the input.
func (l *lineReader) resetBytes(b []byte, first bool) {
	*l = lineReader{mem: b, buf: l.buf[:0], inner: !first}
}

// next returns the next line without its line ending. At the end it returns io.EOF; for an over-long line it
// returns errLineTooLong (the line is consumed); any other error comes from the underlying reader.
func (l *lineReader) next() ([]byte, error) {
	if l.err != nil {
		return nil, l.err
	}
	if l.r == nil {
		return l.nextInMemory()
	}
	frag, err := l.r.ReadSlice('\n')
	if err == nil {
		// The common case: a whole line in the buffer.
		if len(frag) > MaxLine+2 {
			l.line++
			return nil, errLineTooLong
		}
		return l.trim(frag), nil
	}
	l.buf = l.buf[:0]
	tooLong := false
	for {
		if !tooLong {
			if len(l.buf)+len(frag) > MaxLine+2 {
				tooLong = true
				l.buf = l.buf[:0]
			} else {
				l.buf = append(l.buf, frag...)
			}
		}
		if err == bufio.ErrBufferFull {
			frag, err = l.r.ReadSlice('\n')
			continue
		}
		if err != nil && err != io.EOF {
			l.err = err
			return nil, err
		}
		if err == io.EOF {
			if len(frag) == 0 && len(l.buf) == 0 && !tooLong {
				l.err = io.EOF
				return nil, io.EOF
			}
			l.err = io.EOF // return this last line now, EOF next time
		}
		if tooLong {
			l.line++
			return nil, errLineTooLong
		}
		return l.trim(l.buf), nil
	}
}

// nextInMemory is next for an in-memory input; lines are slices of it.
func (l *lineReader) nextInMemory() ([]byte, error) {
	if len(l.mem) == 0 {
		l.err = io.EOF
		return nil, io.EOF
	}
	n := len(l.mem)
	if i := bytes.IndexByte(l.mem, '\n'); i >= 0 {
		n = i + 1
	}
	b := l.mem[:n]
	l.mem = l.mem[n:]
	if len(b) > MaxLine+2 {
		l.line++
		return nil, errLineTooLong
	}
	return l.trim(b), nil
}

// trim counts the line b and drops its line ending (and a byte-order mark on the first line).
func (l *lineReader) trim(b []byte) []byte {
	l.line++
	if n := len(b); n > 0 && b[n-1] == '\n' {
		b = b[:n-1]
	}
	if n := len(b); n > 0 && b[n-1] == '\r' {
		b = b[:n-1]
	}
	if l.line == 1 && !l.inner && len(b) >= 3 && b[0] == 0xef && b[1] == 0xbb && b[2] == 0xbf {
		b = b[3:]
	}
	return b
}
