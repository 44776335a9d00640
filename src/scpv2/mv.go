package scpv2

import (
	"bytes"
	"fmt"
	"strings"
)

// DecodeMV decodes a `__mv_<field>` cell, `$v1$;$v2$;…` with `$$` standing for `$` inside a value, appending
// one view per value to dst. Escapes are undone in place inside mv, so the views share mv's memory and mv is
// modified; nothing is allocated unless dst must grow. An empty mv appends nothing (the field is single-valued
// and its plain column holds the value).
//
// Unlike the SDK's regular expression, which skips what it cannot match, DecodeMV rejects malformed cells
// such as `$a`, `$a$x` or `$a$;`, naming the byte offset.
func DecodeMV(dst [][]byte, mv []byte) ([][]byte, error) {
	i := 0
	for i < len(mv) {
		if mv[i] != '$' {
			return dst, fmt.Errorf("scpv2: multivalue at byte %d: expected '$', found %q", i, mv[i])
		}
		i++
		start, w := i, i
		for {
			k := bytes.IndexByte(mv[i:], '$')
			if k < 0 {
				return dst, fmt.Errorf("scpv2: multivalue at byte %d: value not closed by '$'", start-1)
			}
			k += i
			w += copy(mv[w:], mv[i:k])
			if k+1 < len(mv) && mv[k+1] == '$' { // escaped "$$"
				mv[w] = '$'
				w++
				i = k + 2
				continue
			}
			dst = append(dst, mv[start:w:w])
			i = k + 1
			break
		}
		if i == len(mv) {
			return dst, nil
		}
		if mv[i] != ';' {
			return dst, fmt.Errorf("scpv2: multivalue at byte %d: expected ';' after a value, found %q", i, mv[i])
		}
		i++
		if i == len(mv) {
			return dst, fmt.Errorf("scpv2: multivalue at byte %d: no value after ';'", i)
		}
	}
	return dst, nil
}

// AppendMV appends the `__mv_` encoding of values to dst: each value between `$` signs with its `$` doubled,
// separated by `;`. No values append nothing. Splunk leaves the `__mv_` cell empty for a single value; callers
// follow that rule by not calling AppendMV for fewer than two values.
func AppendMV(dst []byte, values []string) []byte {
	for i, v := range values {
		if i > 0 {
			dst = append(dst, ';')
		}
		dst = append(dst, '$')
		for {
			k := strings.IndexByte(v, '$')
			if k < 0 {
				break
			}
			dst = append(dst, v[:k+1]...)
			dst = append(dst, '$')
			v = v[k+1:]
		}
		dst = append(dst, v...)
		dst = append(dst, '$')
	}
	return dst
}
