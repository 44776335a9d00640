package engine

import (
	"encoding/binary"
	"strings"
	"unicode"
	"unicode/utf8"
)

// pattern is one filter value: whole-value, case-insensitive, '*' matching any run of characters.
// segs is the value split at '*'; a pattern without '*' has one segment.
type pattern struct {
	segs  []string
	runes []int // rune count of each segment
	ascii bool  // every segment is ASCII
}

func compilePattern(v string) pattern {
	p := pattern{segs: strings.Split(v, "*"), ascii: true}
	p.runes = make([]int, len(p.segs))
	for i, s := range p.segs {
		p.runes[i] = utf8.RuneCountInString(s)
		for j := 0; j < len(s); j++ {
			if s[j] >= utf8.RuneSelf {
				p.ascii = false
			}
		}
	}
	return p
}

func isASCII(b []byte) bool {
	// Eight bytes at a time: a byte >= 0x80 has its high bit set.
	for len(b) >= 8 {
		if binary.LittleEndian.Uint64(b)&0x8080808080808080 != 0 {
			return false
		}
		b = b[8:]
	}
	for _, c := range b {
		if c >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

func lowerASCII(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// match reports whether v matches the pattern. An empty v never matches: empty values are nulls.
func (p *pattern) match(v []byte) bool {
	if len(v) == 0 {
		return false
	}
	n := len(p.segs)
	if n == 1 {
		end, ok := prefixFold(v, p.segs[0], p.ascii)
		return ok && end == len(v)
	}
	i, ok := prefixFold(v, p.segs[0], p.ascii)
	if !ok {
		return false
	}
	for _, seg := range p.segs[1 : n-1] {
		if seg == "" {
			continue
		}
		j, k, ok := indexFold(v[i:], seg, p.ascii)
		if !ok {
			return false
		}
		i += j + k
	}
	last, lastRunes := p.segs[n-1], p.runes[n-1]
	if last == "" {
		return true
	}
	// Walk back as many runes as the segment has (simple case folding maps rune to rune), then compare.
	start := len(v)
	for r := 0; r < lastRunes; r++ {
		if start <= i {
			return false
		}
		_, size := utf8.DecodeLastRune(v[i:start])
		start -= size
	}
	end, ok := prefixFold(v[start:], last, p.ascii)
	return ok && start+end == len(v)
}

// prefixFold reports whether v starts with seg under simple case folding, and how many bytes of v matched.
func prefixFold(v []byte, seg string, segASCII bool) (int, bool) {
	if segASCII && len(v) >= len(seg) && isASCII(v[:len(seg)]) {
		for i := 0; i < len(seg); i++ {
			if lowerASCII(v[i]) != lowerASCII(seg[i]) {
				return 0, false
			}
		}
		return len(seg), true
	}
	i := 0
	for j := 0; j < len(seg); {
		if i >= len(v) {
			return 0, false
		}
		r1, s1 := utf8.DecodeRune(v[i:])
		r2, s2 := utf8.DecodeRuneInString(seg[j:])
		bad1 := r1 == utf8.RuneError && s1 == 1
		bad2 := r2 == utf8.RuneError && s2 == 1
		switch {
		case bad1 || bad2:
			// Invalid bytes match only the same byte.
			if !(bad1 && bad2 && v[i] == seg[j]) {
				return 0, false
			}
		case !equalFoldRune(r1, r2):
			return 0, false
		}
		i += s1
		j += s2
	}
	return i, true
}

// indexFold finds the first position of seg in v under simple case folding: start offset and match length.
func indexFold(v []byte, seg string, segASCII bool) (int, int, bool) {
	for i := 0; i < len(v); {
		if n, ok := prefixFold(v[i:], seg, segASCII); ok {
			return i, n, true
		}
		_, size := utf8.DecodeRune(v[i:])
		i += size
	}
	return 0, 0, false
}

// equalFoldRune is the rune comparison of strings.EqualFold.
func equalFoldRune(a, b rune) bool {
	if a == b {
		return true
	}
	if a > b {
		a, b = b, a
	}
	if b < utf8.RuneSelf {
		return 'A' <= a && a <= 'Z' && b == a+'a'-'A'
	}
	r := unicode.SimpleFold(a)
	for r != a && r < b {
		r = unicode.SimpleFold(r)
	}
	return r == b
}
