package spl

import "strings"

type tokKind uint8

const (
	tkEOF    tokKind = iota
	tkWord           // a run of non-delimiters, quoted parts included with their quotes removed
	tkEq             // =
	tkNe             // !=
	tkCmp            // < > <= >= ==
	tkComma          // ,
	tkLParen         // (
	tkRParen         // )
)

type token struct {
	kind   tokKind
	text   string
	quoted bool // some part of the word was in double quotes
	pos    int  // byte offset in the pipeline text
}

// lexArgs splits a command's arguments. Double-quoted parts join the word they touch, without their quotes,
// with \" and \\ as escapes (any other backslash is kept), so `""Processes".*"` is the word Processes.* as
// Splunk reads it. Unquoted parts take the same two escapes (Search Manual, "Backslashes": "To pass a literal
// backslash in an argument to a Splunk Search Processing Language (SPL) command, you must escape the
// backslash").
func lexArgs(text string, start, end int) ([]token, *Error) {
	var toks []token
	i := start
	for {
		for i < end && isSpace(text[i]) {
			i++
		}
		if i >= end {
			return append(toks, token{kind: tkEOF, pos: end}), nil
		}
		s := i
		switch c := text[i]; {
		case c == ',':
			toks = append(toks, token{kind: tkComma, text: ",", pos: s})
			i++
		case c == '(':
			toks = append(toks, token{kind: tkLParen, text: "(", pos: s})
			i++
		case c == ')':
			toks = append(toks, token{kind: tkRParen, text: ")", pos: s})
			i++
		case c == '=' && i+1 < end && text[i+1] == '=':
			toks = append(toks, token{kind: tkCmp, text: "==", pos: s})
			i += 2
		case c == '=':
			toks = append(toks, token{kind: tkEq, text: "=", pos: s})
			i++
		case c == '!' && i+1 < end && text[i+1] == '=':
			toks = append(toks, token{kind: tkNe, text: "!=", pos: s})
			i += 2
		case c == '<' || c == '>':
			j := i + 1
			if j < end && text[j] == '=' {
				j++
			}
			toks = append(toks, token{kind: tkCmp, text: text[i:j], pos: s})
			i = j
		default:
			var b strings.Builder
			quoted := false
			for i < end {
				c := text[i]
				if c == '"' {
					quoted = true
					j := i + 1
					closed := false
					for j < end {
						if text[j] == '\\' && j+1 < end && (text[j+1] == '"' || text[j+1] == '\\') {
							b.WriteByte(text[j+1])
							j += 2
							continue
						}
						if text[j] == '"' {
							closed = true
							break
						}
						b.WriteByte(text[j])
						j++
					}
					if !closed {
						return nil, newError(text, "", i, "unterminated quoted string")
					}
					i = j + 1
					continue
				}
				if isSpace(c) || c == ',' || c == '(' || c == ')' || c == '=' || c == '<' || c == '>' ||
					(c == '!' && i+1 < end && text[i+1] == '=') {
					break
				}
				if c == '\\' && i+1 < end && (text[i+1] == '\\' || text[i+1] == '"') {
					b.WriteByte(text[i+1])
					i += 2
					continue
				}
				b.WriteByte(c)
				i++
			}
			toks = append(toks, token{kind: tkWord, text: b.String(), quoted: quoted, pos: s})
		}
	}
}
