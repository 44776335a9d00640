package tstats

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

type tokKind int

const (
	tkEOF    tokKind = iota
	tkWord           // unquoted run of characters
	tkString         // "quoted", text unescaped
	tkMacro          // `macro`, text without the backticks
	tkPipe           // |
	tkLParen         // (
	tkRParen         // )
	tkComma          // ,
	tkEq             // =
	tkNe             // !=
	tkCmp            // < > <= >= == (recognised only to be rejected)
)

type token struct {
	kind tokKind
	text string
	pos  int // byte offset in the search
}

// Error is a parse error: what is unsupported or malformed, and where.
type Error struct {
	Msg    string // what is wrong
	Offset int    // byte offset of the offending token in the search
	Column int    // 1-based column (in characters) of the offending token
	Near   string // up to 24 characters of the search from the offending token
}

// Error renders "tstats: <msg> at column N (near "...")", or "... at end of search".
func (e *Error) Error() string {
	if e.Near == "" {
		return fmt.Sprintf("tstats: %s at column %d (end of search)", e.Msg, e.Column)
	}
	return fmt.Sprintf("tstats: %s at column %d (near %q)", e.Msg, e.Column, e.Near)
}

func newError(src string, pos int, format string, args ...any) *Error {
	pos = min(max(pos, 0), len(src))
	near := src[pos:]
	if utf8.RuneCountInString(near) > 24 {
		n := 0
		for i := range near {
			if n == 24 {
				near = near[:i] + "..."
				break
			}
			n++
		}
	}
	return &Error{
		Msg:    fmt.Sprintf(format, args...),
		Offset: pos,
		Column: utf8.RuneCountInString(src[:pos]) + 1,
		Near:   near,
	}
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'
}

// isDelim reports whether c ends an unquoted word.
func isDelim(c byte) bool {
	switch c {
	case '|', '(', ')', ',', '=', '"', '`', '<', '>':
		return true
	}
	return isSpace(c)
}

// lex splits the search into tokens. Quoted strings take \" and \\ as escapes; any other backslash is kept.
func lex(src string) ([]token, error) {
	var toks []token
	i := 0
	for {
		for i < len(src) && isSpace(src[i]) {
			i++
		}
		if i >= len(src) {
			return append(toks, token{kind: tkEOF, pos: len(src)}), nil
		}
		start := i
		switch c := src[i]; c {
		case '|':
			toks = append(toks, token{tkPipe, "|", start})
			i++
		case '(':
			toks = append(toks, token{tkLParen, "(", start})
			i++
		case ')':
			toks = append(toks, token{tkRParen, ")", start})
			i++
		case ',':
			toks = append(toks, token{tkComma, ",", start})
			i++
		case '=':
			if i+1 < len(src) && src[i+1] == '=' {
				toks = append(toks, token{tkCmp, "==", start})
				i += 2
				break
			}
			toks = append(toks, token{tkEq, "=", start})
			i++
		case '<', '>':
			j := i + 1
			if j < len(src) && src[j] == '=' {
				j++
			}
			toks = append(toks, token{tkCmp, src[i:j], start})
			i = j
		case '`':
			end := strings.IndexByte(src[i+1:], '`')
			if end < 0 {
				return nil, newError(src, start, "unterminated macro (missing closing backquote)")
			}
			toks = append(toks, token{tkMacro, src[i+1 : i+1+end], start})
			i += end + 2
		case '"':
			j := i + 1
			closed, escaped := false, false
			for j < len(src) && !closed {
				switch {
				case isEscape(src, j):
					escaped = true
					j += 2
				case src[j] == '"':
					closed = true
				default:
					j++
				}
			}
			if !closed {
				return nil, newError(src, start, "unterminated quoted string")
			}
			toks = append(toks, token{tkString, unescape(src[i+1:j], escaped), start})
			i = j + 1
		default:
			if c == '!' && i+1 < len(src) && src[i+1] == '=' {
				toks = append(toks, token{tkNe, "!=", start})
				i += 2
				break
			}
			// Unquoted words take the same escapes as quoted strings: "To search for a file path, such as
			// D:\Digital\RTFM, you must escape the backslash characters in the path, for example
			// D:\\Digital\\RTFM" (Search Manual, "Search command primer", File paths).
			j := i
			escaped := false
			for j < len(src) && !isDelim(src[j]) {
				if src[j] == '!' && j+1 < len(src) && src[j+1] == '=' && j > i {
					break
				}
				if isEscape(src, j) {
					escaped = true
					j += 2
					continue
				}
				j++
			}
			toks = append(toks, token{tkWord, unescape(src[i:j], escaped), start})
			i = j
		}
	}
}

// isEscape reports whether src[j] starts one of the two escapes of quoted strings and words: \\ and \".
func isEscape(src string, j int) bool {
	return src[j] == '\\' && j+1 < len(src) && (src[j+1] == '\\' || src[j+1] == '"')
}

// unescape returns s with each escape (isEscape) replaced by the character it escapes; a backslash before any
// other character stays. Without escapes (escaped false) s is returned as it is, without a copy.
func unescape(s string, escaped bool) string {
	if !escaped {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for j := 0; j < len(s); j++ {
		if isEscape(s, j) {
			j++
		}
		b.WriteByte(s[j])
	}
	return b.String()
}
