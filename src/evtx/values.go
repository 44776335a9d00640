package evtx

import (
	"encoding/binary"
	"fmt"
	"math"
	"strconv"
	"time"
	"unicode/utf16"
	"unicode/utf8"
)

const hexUpper = "0123456789ABCDEF"
const hexLower = "0123456789abcdef"

// appendUTF16 appends UTF-16LE text b as UTF-8. Unpaired surrogates become U+FFFD. An end-of-string character
// ends the text (string values may carry one).
func appendUTF16(dst, b []byte) []byte {
	for i := 0; i+1 < len(b); i += 2 {
		u := rune(b[i]) | rune(b[i+1])<<8
		switch {
		case u == 0:
			return dst
		case u < utf8.RuneSelf:
			dst = append(dst, byte(u))
		case utf16.IsSurrogate(u):
			r := utf8.RuneError
			if u < 0xdc00 && i+3 < len(b) {
				if u2 := rune(b[i+2]) | rune(b[i+3])<<8; u2 >= 0xdc00 && u2 < 0xe000 {
					r = utf16.DecodeRune(u, u2)
					i += 2
				}
			}
			dst = utf8.AppendRune(dst, r)
		default:
			dst = utf8.AppendRune(dst, u)
		}
	}
	return dst
}

// appendRune appends a character reference's character; a surrogate half is U+FFFD.
func appendRune(dst []byte, r rune) []byte {
	if utf16.IsSurrogate(r) {
		r = utf8.RuneError
	}
	return utf8.AppendRune(dst, r)
}

// appendValue renders a template value of type typ with data b [EVTX §Value types] as Windows renders it in
// event XML: decimal integers, 0x-prefixed zero-padded lower-case hexadecimal for the hexadecimal types, GUIDs
// in braces and upper case, FILETIMEs as 2006-01-02T15:04:05.123456700Z, SIDs as S-1-5-18, binary as upper-case
// hexadecimal. The elements of an array type are joined with ", " (Windows repeats the enclosing element for
// each one; nothing the readers keep is an array).
func appendValue(dst []byte, typ byte, b []byte) ([]byte, error) {
	if typ&0x80 != 0 {
		return appendArray(dst, typ&0x7f, b)
	}
	switch typ {
	case 0x00: // NULL
		return dst, nil
	case 0x01: // UTF-16LE string
		return appendUTF16(dst, b), nil
	case 0x02: // ANSI string in an unknown code page: bytes up to a NUL, read as Latin-1
		for _, c := range b {
			if c == 0 {
				break
			}
			dst = utf8.AppendRune(dst, rune(c))
		}
		return dst, nil
	case 0x0e: // binary
		for _, c := range b {
			dst = append(dst, hexUpper[c>>4], hexUpper[c&15])
		}
		return dst, nil
	case 0x13: // SID: revision, sub-authority count, 6-byte big-endian authority, 32-bit sub-authorities
		if len(b) < 8 || len(b) != 8+4*int(b[1]) {
			return dst, fmt.Errorf("SID of %d bytes", len(b))
		}
		var auth uint64
		for _, c := range b[2:8] {
			auth = auth<<8 | uint64(c)
		}
		dst = append(dst, 'S', '-')
		dst = strconv.AppendUint(dst, uint64(b[0]), 10)
		dst = append(dst, '-')
		dst = strconv.AppendUint(dst, auth, 10)
		for i := 8; i < len(b); i += 4 {
			dst = append(dst, '-')
			dst = strconv.AppendUint(dst, uint64(binary.LittleEndian.Uint32(b[i:])), 10)
		}
		return dst, nil
	case 0x21: // binary XML where text was expected: left out
		return dst, nil
	}
	size := fixedSize(typ, len(b))
	if size == 0 {
		return dst, fmt.Errorf("value type 0x%02x not supported", typ)
	}
	if len(b) != size {
		return dst, fmt.Errorf("value of type 0x%02x with %d bytes, want %d", typ, len(b), size)
	}
	return appendFixed(dst, typ, b), nil
}

// fixedSize returns the size of a fixed-size value type, 0 for other types. SizeT is 4 or 8 bytes.
func fixedSize(typ byte, n int) int {
	switch typ {
	case 0x03, 0x04: // int8, uint8
		return 1
	case 0x05, 0x06: // int16, uint16
		return 2
	case 0x07, 0x08, 0x0b, 0x0d, 0x14: // int32, uint32, float32, bool, hex int32
		return 4
	case 0x09, 0x0a, 0x0c, 0x11, 0x15: // int64, uint64, float64, FILETIME, hex int64
		return 8
	case 0x0f, 0x12: // GUID, SYSTEMTIME
		return 16
	case 0x10: // SizeT: a 32- or 64-bit hexadecimal integer
		if n == 4 {
			return 4
		}
		return 8
	}
	return 0
}

// appendFixed renders a fixed-size value whose size was checked.
func appendFixed(dst []byte, typ byte, b []byte) []byte {
	switch typ {
	case 0x03:
		return strconv.AppendInt(dst, int64(int8(b[0])), 10)
	case 0x04:
		return strconv.AppendUint(dst, uint64(b[0]), 10)
	case 0x05:
		return strconv.AppendInt(dst, int64(int16(binary.LittleEndian.Uint16(b))), 10)
	case 0x06:
		return strconv.AppendUint(dst, uint64(binary.LittleEndian.Uint16(b)), 10)
	case 0x07:
		return strconv.AppendInt(dst, int64(int32(binary.LittleEndian.Uint32(b))), 10)
	case 0x08:
		return strconv.AppendUint(dst, uint64(binary.LittleEndian.Uint32(b)), 10)
	case 0x09:
		return strconv.AppendInt(dst, int64(binary.LittleEndian.Uint64(b)), 10)
	case 0x0a:
		return strconv.AppendUint(dst, binary.LittleEndian.Uint64(b), 10)
	case 0x0b:
		return strconv.AppendFloat(dst, float64(math.Float32frombits(binary.LittleEndian.Uint32(b))), 'g', -1, 32)
	case 0x0c:
		return strconv.AppendFloat(dst, math.Float64frombits(binary.LittleEndian.Uint64(b)), 'g', -1, 64)
	case 0x0d:
		if binary.LittleEndian.Uint32(b) != 0 {
			return append(dst, "true"...)
		}
		return append(dst, "false"...)
	case 0x0f:
		return appendGUID(dst, b)
	case 0x10, 0x14, 0x15:
		if len(b) == 4 {
			return appendHex(dst, uint64(binary.LittleEndian.Uint32(b)), 8)
		}
		return appendHex(dst, binary.LittleEndian.Uint64(b), 16)
	case 0x11:
		return AppendFiletime(dst, binary.LittleEndian.Uint64(b))
	case 0x12:
		return appendSystemtime(dst, b)
	}
	return dst
}

func appendHex(dst []byte, v uint64, digits int) []byte {
	dst = append(dst, '0', 'x')
	for i := digits - 1; i >= 0; i-- {
		dst = append(dst, hexLower[v>>(4*uint(i))&15])
	}
	return dst
}

// appendGUID renders a GUID stored little-endian in its first three fields: {XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX}.
func appendGUID(dst []byte, b []byte) []byte {
	hx := func(c byte) { dst = append(dst, hexUpper[c>>4], hexUpper[c&15]) }
	dst = append(dst, '{')
	for _, i := range [...]int{3, 2, 1, 0} {
		hx(b[i])
	}
	dst = append(dst, '-')
	hx(b[5])
	hx(b[4])
	dst = append(dst, '-')
	hx(b[7])
	hx(b[6])
	dst = append(dst, '-')
	hx(b[8])
	hx(b[9])
	dst = append(dst, '-')
	for _, c := range b[10:16] {
		hx(c)
	}
	return append(dst, '}')
}

// filetimeEpoch is the number of seconds from 1601-01-01 (the FILETIME epoch) to 1970-01-01.
const filetimeEpoch = 11644473600

// AppendFiletime renders a FILETIME (100 ns intervals since 1601-01-01 UTC) as 2006-01-02T15:04:05.123456700Z, as
// Windows renders SystemTime in event XML.
func AppendFiletime(dst []byte, ft uint64) []byte {
	secs := int64(ft/10_000_000) - filetimeEpoch
	t := time.Unix(secs, 0).UTC()
	y, mo, d := t.Date()
	h, mi, s := t.Clock()
	dst = appendInt(dst, y, 4)
	dst = append(dst, '-')
	dst = appendInt(dst, int(mo), 2)
	dst = append(dst, '-')
	dst = appendInt(dst, d, 2)
	dst = append(dst, 'T')
	dst = appendInt(dst, h, 2)
	dst = append(dst, ':')
	dst = appendInt(dst, mi, 2)
	dst = append(dst, ':')
	dst = appendInt(dst, s, 2)
	dst = append(dst, '.')
	dst = appendInt(dst, int(ft%10_000_000), 7)
	return append(dst, "00Z"...) // nanosecond digits, as Windows writes SystemTime
}

// appendSystemtime renders a SYSTEMTIME (year, month, weekday, day, hour, minute, second, milliseconds as
// 16-bit integers) as 2006-01-02T15:04:05.123Z.
func appendSystemtime(dst []byte, b []byte) []byte {
	f := func(i int) int { return int(binary.LittleEndian.Uint16(b[2*i:])) }
	dst = appendInt(dst, f(0), 4)
	dst = append(dst, '-')
	dst = appendInt(dst, f(1), 2)
	dst = append(dst, '-')
	dst = appendInt(dst, f(3), 2)
	dst = append(dst, 'T')
	dst = appendInt(dst, f(4), 2)
	dst = append(dst, ':')
	dst = appendInt(dst, f(5), 2)
	dst = append(dst, ':')
	dst = appendInt(dst, f(6), 2)
	dst = append(dst, '.')
	dst = appendInt(dst, f(7), 3)
	return append(dst, 'Z')
}

// appendInt appends v in decimal with at least width digits (v ≥ 0).
func appendInt(dst []byte, v, width int) []byte {
	var tmp [20]byte
	i := len(tmp)
	for v >= 10 || width > 1 {
		i--
		tmp[i] = byte('0' + v%10)
		v /= 10
		width--
	}
	i--
	tmp[i] = byte('0' + v)
	return append(dst, tmp[i:]...)
}

// appendArray renders an array value [EVTX §Value types]: strings separated by their end-of-string
// characters, fixed-size elements one after the other; elements joined with ", ".
func appendArray(dst []byte, typ byte, b []byte) ([]byte, error) {
	switch typ {
	case 0x01:
		first := true
		start := 0
		for i := 0; i+1 < len(b); i += 2 {
			if b[i] == 0 && b[i+1] == 0 {
				if !first {
					dst = append(dst, ", "...)
				}
				dst = appendUTF16(dst, b[start:i])
				first = false
				start = i + 2
			}
		}
		if start+1 < len(b) {
			if !first {
				dst = append(dst, ", "...)
			}
			dst = appendUTF16(dst, b[start:])
		}
		return dst, nil
	case 0x02:
		first := true
		start := 0
		for i := 0; i <= len(b); i++ {
			if i == len(b) || b[i] == 0 {
				if i > start || i < len(b) {
					if !first {
						dst = append(dst, ", "...)
					}
					dst, _ = appendValue(dst, 0x02, b[start:i])
					first = false
				}
				start = i + 1
			}
		}
		return dst, nil
	}
	size := fixedSize(typ, 8)
	if typ == 0x10 || size == 0 {
		return dst, fmt.Errorf("array of value type 0x%02x not supported", typ)
	}
	if len(b)%size != 0 {
		return dst, fmt.Errorf("array of type 0x%02x with %d bytes, not a multiple of %d", typ, len(b), size)
	}
	for i := 0; i < len(b); i += size {
		if i > 0 {
			dst = append(dst, ", "...)
		}
		dst = appendFixed(dst, typ, b[i:i+size])
	}
	return dst, nil
}
