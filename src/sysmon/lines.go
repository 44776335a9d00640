package sysmon

import (
	"bufio"
	"fmt"
	"io"
)

// MaxLine is the longest line (and the largest multi-line XML event) the text readers accept. Sysmon caps a
// command line at 32,767 characters, so a real event is far smaller. A longer one is a bad record, skipped.
const MaxLine = 1 << 20

var errLineTooLong = fmt.Errorf("line longer than %d bytes", MaxLine)

// lineReader reads lines with bounded memory. A returned line is valid until the next call.
type lineReader struct {
	r    *bufio.Reader
	buf  []byte
	line int64 // number of the line last returned
	err  error // sticky read error
}

func newLineReader(r io.Reader) *lineReader {
	return &lineReader{r: bufio.NewReaderSize(r, 64<<10)}
}

// next returns the next line without its line ending. At the end it returns io.EOF; for an over-long line it
// returns errLineTooLong (the line is consumed); any other error comes from the underlying reader.
func (l *lineReader) next() ([]byte, error) {
	if l.err != nil {
		return nil, l.err
	}
	l.buf = l.buf[:0]
	tooLong := false
	for {
		frag, err := l.r.ReadSlice('\n')
		if !tooLong {
			if len(l.buf)+len(frag) > MaxLine+2 {
				tooLong = true
				l.buf = l.buf[:0]
			} else {
				l.buf = append(l.buf, frag...)
			}
		}
		if err == bufio.ErrBufferFull {
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
		l.line++
		if tooLong {
			return nil, errLineTooLong
		}
		b := l.buf
		if n := len(b); n > 0 && b[n-1] == '\n' {
			b = b[:n-1]
		}
		if n := len(b); n > 0 && b[n-1] == '\r' {
			b = b[:n-1]
		}
		if l.line == 1 && len(b) >= 3 && b[0] == 0xef && b[1] == 0xbb && b[2] == 0xbf {
			b = b[3:]
		}
		return b, nil
	}
}
