package scpv2

import (
	"bytes"
	"slices"
	"strings"
)

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

// WriteRowBytes is WriteRow for values held as bytes: the same row, written the same way.
func (w *CSVWriter) WriteRowBytes(fields [][]byte) {
	if len(fields) == 1 && len(fields[0]) == 0 {
		w.buf = append(w.buf, `""`+"\r\n"...)
		return
	}
	for i, f := range fields {
		if i > 0 {
			w.buf = append(w.buf, ',')
		}
		w.buf = appendFieldBytes(w.buf, f)
	}
	w.buf = append(w.buf, '\r', '\n')
}

// RowLenBytes returns the number of bytes WriteRowBytes would write for fields.
func RowLenBytes(fields [][]byte) int {
	if len(fields) == 1 && len(fields[0]) == 0 {
		return 4
	}
	n := max(len(fields)-1, 0) + 2 // separators and CRLF
	for _, f := range fields {
		n += fieldLen(f)
	}
	return n
}

// fieldLen returns the length of f written as a field.
func fieldLen(f []byte) int {
	if NeedsQuote(f) {
		return len(f) + 2 + bytes.Count(f, []byte{'"'})
	}
	return len(f)
}

// WriteRowAfter writes a row whose first n fields are already written as CSV, separated by commas, in pre (as
// WriteRowBytes writes them), and whose other fields are fields: the row WriteRowBytes writes for all of them.
func (w *CSVWriter) WriteRowAfter(pre []byte, n int, fields [][]byte) {
	if n == 0 {
		w.WriteRowBytes(fields)
		return
	}
	if n == 1 && len(pre) == 0 && len(fields) == 0 {
		w.buf = append(w.buf, `""`+"\r\n"...)
		return
	}
	w.buf = append(w.buf, pre...)
	for _, f := range fields {
		w.buf = append(w.buf, ',')
		w.buf = appendFieldBytes(w.buf, f)
	}
	w.buf = append(w.buf, '\r', '\n')
}

// RowLenAfter returns the number of bytes WriteRowAfter would write for a pre of preLen bytes.
func RowLenAfter(preLen, n int, fields [][]byte) int {
	if n == 0 {
		return RowLenBytes(fields)
	}
	if n == 1 && preLen == 0 && len(fields) == 0 {
		return 4
	}
	l := preLen + len(fields) + 2 // the separators after pre and CRLF
	for _, f := range fields {
		l += fieldLen(f)
	}
	return l
}

func appendField(dst []byte, f string) []byte {
	if !NeedsQuote(f) {
		return append(dst, f...)
	}
	dst = append(dst, '"')
	for {
		k := strings.IndexByte(f, '"')
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

// appendFieldBytes is appendField for bytes (a string conversion would copy them).
func appendFieldBytes(dst, f []byte) []byte {
	if !NeedsQuote(f) {
		return append(dst, f...)
	}
	return AppendQuoted(dst, f)
}

// AppendQuoted appends f as a quoted CSV field: between quotes, each quote inside doubled.
func AppendQuoted(dst, f []byte) []byte {
	dst = append(dst, '"')
	for {
		k := bytes.IndexByte(f, '"')
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

// NeedsQuote reports whether a CSV field holding s must be quoted: whether s holds `,`, `"`, CR or LF. It
// looks at eight bytes at a time.
func NeedsQuote[T string | []byte](s T) bool {
	i := 0
	for ; i+8 <= len(s); i += 8 {
		x := uint64(s[i]) | uint64(s[i+1])<<8 | uint64(s[i+2])<<16 | uint64(s[i+3])<<24 |
			uint64(s[i+4])<<32 | uint64(s[i+5])<<40 | uint64(s[i+6])<<48 | uint64(s[i+7])<<56
		if hasByte(x, ',') || hasByte(x, '"') || hasByte(x, '\r') || hasByte(x, '\n') {
			return true
		}
	}
	for ; i < len(s); i++ {
		switch s[i] {
		case ',', '"', '\r', '\n':
			return true
		}
	}
	return false
}

// hasByte reports whether any byte of x is c: a byte of x^c is zero exactly when its high bit is set in
// (v - 0x01…) &^ v (a borrow only ever runs on from a zero byte).
func hasByte(x uint64, c byte) bool {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	v := x ^ (ones * uint64(c))
	return (v-ones)&^v&highs != 0
}

// Bytes returns the body written so far. It aliases the writer's buffer until the next Reset.
func (w *CSVWriter) Bytes() []byte { return w.buf }

// Len returns the number of bytes written so far.
func (w *CSVWriter) Len() int { return len(w.buf) }

// Reset empties the body, keeping the buffer.
func (w *CSVWriter) Reset() { w.buf = w.buf[:0] }

// Grow makes room for n more bytes without another allocation.
func (w *CSVWriter) Grow(n int) { w.buf = slices.Grow(w.buf, n) }
