package engine

import (
	"bytes"

	"regasmdetect/src/scpv2"
)

// appendCSVKey appends the values of the encoded key k, written as CSV fields separated by commas, to dst, and
// reports whether k is a well-formed key of exactly n values. The fields are those scpv2.CSVWriter writes for
// the decoded values: a value holding `,`, `"`, CR or LF is quoted, `"` doubled inside; every other value is
// written bare. A result row's key so needs no decoding into values before it is written.
func appendCSVKey(dst, k []byte, n int) ([]byte, bool) {
	vals := 0
	for i := 0; i < len(k); {
		// One value: up to its terminator, past escaped 0x00 bytes.
		vs := i
		quote, esc := false, false
		for {
			j := bytes.IndexByte(k[i:], 0)
			if j < 0 || i+j+1 == len(k) {
				return dst, false
			}
			quote = quote || scpv2.NeedsQuote(k[i:i+j])
			i += j
			if k[i+1] == 0 {
				break
			}
			if k[i+1] != 0xFF {
				return dst, false
			}
			esc = true
			i += 2
		}
		v := k[vs:i]
		i += 2
		vals++
		switch {
		case !quote && !esc:
			dst = append(dst, v...)
		case !esc:
			dst = append(dst, '"')
			for {
				q := bytes.IndexByte(v, '"')
				if q < 0 {
					break
				}
				dst = append(dst, v[:q+1]...)
				dst = append(dst, '"')
				v = v[q+1:]
			}
			dst = append(append(dst, v...), '"')
		default: // a value holding 0x00 bytes, rare: byte by byte
			if quote {
				dst = append(dst, '"')
			}
			for j := 0; j < len(v); j++ {
				c := v[j]
				if c == 0 { // 0x00 0xFF: write the 0x00
					j++
				} else if c == '"' && quote {
					dst = append(dst, '"')
				}
				dst = append(dst, c)
			}
			if quote {
				dst = append(dst, '"')
			}
		}
		if i < len(k) {
			dst = append(dst, ',')
		}
	}
	return dst, vals == n
}

// csvKeyLen returns the length of what appendCSVKey appends for k, and whether k is a well-formed key of
// exactly n values, without writing it.
func csvKeyLen(k []byte, n int) (int, bool) {
	l, vals := 0, 0
	for i := 0; i < len(k); {
		vs := i
		quote, esc := false, 0
		for {
			j := bytes.IndexByte(k[i:], 0)
			if j < 0 || i+j+1 == len(k) {
				return 0, false
			}
			quote = quote || scpv2.NeedsQuote(k[i:i+j])
			i += j
			if k[i+1] == 0 {
				break
			}
			if k[i+1] != 0xFF {
				return 0, false
			}
			esc++
			i += 2
		}
		l += i - vs - esc
		if quote {
			l += 2 + bytes.Count(k[vs:i], []byte{'"'})
		}
		i += 2
		vals++
		if i < len(k) {
			l++
		}
	}
	return l, vals == n
}
