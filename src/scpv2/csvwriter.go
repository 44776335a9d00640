package scpv2

import "strings"

// CSVWriter builds a CSV body in memory, as the SDK writes one: `,` separators, CRLF line ends, minimal
// quoting. A value is quoted when it holds `,`, `"`, CR or LF, with `"` doubled inside; every other value is
// written bare, the empty value included, except when it is the only field of its row: a bare empty row would
// be a blank line, which readers skip, so it is written as `""` (Python's csv module does the same). splunkd
// accepts quoted and bare values alike.
//
// The zero value is ready to use.
type CSVWriter struct {
	buf []byte
}

// WriteRow appends one row.
func (w *CSVWriter) WriteRow(fields []string) {
	if len(fields) == 1 && fields[0] == "" {
		w.buf = append(w.buf, `""`+"\r\n"...)
		return
	}
	for i, f := range fields {
		if i > 0 {
			w.buf = append(w.buf, ',')
		}
		w.buf = appendField(w.buf, f)
	}
	w.buf = append(w.buf, '\r', '\n')
}

func appendField[T string | []byte](dst []byte, f T) []byte {
	if !needsQuote(string(f)) {
		return append(dst, f...)
	}
	dst = append(dst, '"')
	for {
		k := strings.IndexByte(string(f), '"')
		if k < 0 {
			break
		}
		dst = append(dst, f[:k+1]...)
		dst = append(dst, '"')
		f = f[k+1:]
	}
	dst = append(dst, f...)
	return append(dst, '"')
}

func needsQuote(s string) bool {
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case ',', '"', '\r', '\n':
			return true
		}
	}
	return false
}

// Bytes returns the body written so far. It aliases the writer's buffer until the next Reset.
func (w *CSVWriter) Bytes() []byte { return w.buf }

// Len returns the number of bytes written so far.
func (w *CSVWriter) Len() int { return len(w.buf) }

// Reset empties the body, keeping the buffer.
func (w *CSVWriter) Reset() { w.buf = w.buf[:0] }
