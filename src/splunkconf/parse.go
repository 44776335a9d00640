// Package splunkconf reads and writes Splunk .conf files the way splunkd reads them, and expands search macros
// from a macros.conf.
//
// The rules, as Splunk applies them to the files of an app's default/ directory:
//
//   - A line whose first non-blank character is '#' is a comment. There are no trailing comments: a '#' after a
//     value is part of the value.
//   - "[name]" starts a stanza. The name is everything between the first '[' and the last ']' of the trimmed
//     line, kept byte for byte (names such as "ESCU - Detect Regasm Spawning a Process - Rule" carry spaces;
//     default.meta uses the empty name "[]"). Text after the closing ']' is an error.
//   - "key = value": the key is the text before the first '=', the value the text after it, both trimmed of
//     surrounding white space. A key may not be empty.
//   - A setting line that ends with a backslash continues on the next physical line: the backslash is removed
//     and a newline is kept in the value, as Splunk does for multi-line searches. Continuation applies to
//     setting lines only; a comment or stanza line ending in a backslash is not continued.
//   - Settings before the first stanza belong to the "default" stanza, as do settings under "[default]".
//   - A stanza that appears twice is one stanza (its settings are merged); a key that appears twice in a
//     stanza keeps its first position and takes the last value ("last wins").
//   - A UTF-8 byte order mark at the start of the file is ignored; CRLF line ends are accepted.
//
// Anything else (a line that is neither blank, a comment, a stanza header nor a setting) is an error that names
// the line. Splunk itself warns and skips such lines; an app must not ship them.
package splunkconf

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strings"
)

// DefaultStanza is the name of the stanza that holds settings written before any stanza header.
const DefaultStanza = "default"

// File is a parsed .conf file: its stanzas in order of first appearance.
type File struct {
	Stanzas []*Stanza
}

// Stanza is one "[name]" section and its settings in order of first appearance.
type Stanza struct {
	// Name is the text between the brackets, byte for byte.
	Name string
	// Line is the 1-based line of the first header of this stanza; 0 for the implicit default stanza and for
	// stanzas built in code.
	Line int
	// Settings holds one entry per distinct key.
	Settings []Setting
}

// Setting is one "key = value" pair.
type Setting struct {
	Key   string
	Value string
	// Line is the 1-based line where the winning (last) definition of the key starts; 0 when built in code.
	Line int
}

// ParseError is a syntax error at a line of a .conf file.
type ParseError struct {
	// Name is the file name, when known (set by ParseFile).
	Name string
	// Line is the 1-based line number.
	Line int
	// Msg says what is wrong.
	Msg string
}

// Error implements error: "splunkconf: <name>:<line>: <msg>" or "splunkconf: line <n>: <msg>".
func (e *ParseError) Error() string {
	if e.Name != "" {
		return fmt.Sprintf("splunkconf: %s:%d: %s", e.Name, e.Line, e.Msg)
	}
	return fmt.Sprintf("splunkconf: line %d: %s", e.Line, e.Msg)
}

// ParseFile reads and parses the .conf file at path. Errors name the path.
func ParseFile(path string) (*File, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("splunkconf: %w", err)
	}
	f, err := Parse(data)
	if err != nil {
		var pe *ParseError
		if errors.As(err, &pe) {
			pe.Name = path
		}
		return nil, err
	}
	return f, nil
}

// Parse parses the contents of a .conf file. The error, if any, is a *ParseError.
func Parse(data []byte) (*File, error) {
	return parse(data, false)
}

// ParseSpec parses a Splunk .spec file (such as savedsearches.conf.spec): the setting templates it declares, by
// stanza template. Spec files interleave settings with documentation lines, so in this mode a line counts only
// when it starts in the first column: a "[stanza]" header or a "key = <type>" line. Lines that start with
// white space or '*', and first-column lines without '=', are documentation and skipped. Keys and stanza names
// keep their placeholders ("action.<action_name>", "[<STANZA_NAME>]"); see [KeyPattern].
func ParseSpec(data []byte) (*File, error) {
	return parse(data, true)
}

type parser struct {
	file  *File
	index map[string]*Stanza
	cur   *Stanza
	keys  map[*Stanza]map[string]int
}

func parse(data []byte, spec bool) (*File, error) {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	p := &parser{
		file:  &File{},
		index: map[string]*Stanza{},
		keys:  map[*Stanza]map[string]int{},
	}
	lineNo := 0
	for len(data) > 0 {
		line := nextLine(&data)
		lineNo++
		start := lineNo
		if spec && (line == "" || line[0] == ' ' || line[0] == '\t' || line[0] == '*') {
			continue
		}
		trimmed := strings.TrimSpace(line)
		switch {
		case trimmed == "" || trimmed[0] == '#':
			continue
		case trimmed[0] == '[':
			end := strings.LastIndexByte(trimmed, ']')
			if end < 0 {
				if spec {
					continue
				}
				return nil, &ParseError{Line: start, Msg: fmt.Sprintf("stanza header %q has no closing ']'", clip(trimmed))}
			}
			if end != len(trimmed)-1 {
				if spec {
					continue
				}
				return nil, &ParseError{Line: start, Msg: fmt.Sprintf("text after the closing ']' of stanza header %q", clip(trimmed))}
			}
			p.stanza(trimmed[1:end], start)
			continue
		}
		eq := strings.IndexByte(line, '=')
		if eq < 0 {
			if spec {
				continue
			}
			return nil, &ParseError{Line: start, Msg: fmt.Sprintf("expected [stanza] or key = value, found %q", clip(trimmed))}
		}
		key := strings.TrimSpace(line[:eq])
		if key == "" {
			if spec {
				continue
			}
			return nil, &ParseError{Line: start, Msg: "setting with an empty key"}
		}
		value := line[eq+1:]
		if !spec && strings.HasSuffix(value, `\`) {
			var b strings.Builder
			for strings.HasSuffix(value, `\`) {
				b.WriteString(value[:len(value)-1])
				if len(data) == 0 {
					value = ""
					break
				}
				b.WriteByte('\n')
				value = nextLine(&data)
				lineNo++
			}
			b.WriteString(value)
			value = b.String()
		}
		p.set(key, strings.TrimSpace(value), start)
	}
	return p.file, nil
}

// nextLine cuts the next physical line off *data, without its "\n" or "\r\n".
func nextLine(data *[]byte) string {
	var line []byte
	if i := bytes.IndexByte(*data, '\n'); i >= 0 {
		line, *data = (*data)[:i], (*data)[i+1:]
	} else {
		line, *data = *data, nil
	}
	line = bytes.TrimSuffix(line, []byte("\r"))
	return string(line)
}

func (p *parser) stanza(name string, line int) {
	if st, ok := p.index[name]; ok {
		p.cur = st
		if st.Line == 0 {
			st.Line = line
		}
		return
	}
	st := &Stanza{Name: name, Line: line}
	p.index[name] = st
	p.file.Stanzas = append(p.file.Stanzas, st)
	p.cur = st
}

func (p *parser) set(key, value string, line int) {
	if p.cur == nil {
		p.stanza(DefaultStanza, 0)
	}
	st := p.cur
	keys := p.keys[st]
	if keys == nil {
		keys = map[string]int{}
		p.keys[st] = keys
	}
	if i, ok := keys[key]; ok {
		st.Settings[i].Value = value
		st.Settings[i].Line = line
		return
	}
	keys[key] = len(st.Settings)
	st.Settings = append(st.Settings, Setting{Key: key, Value: value, Line: line})
}

func clip(s string) string {
	const max = 60
	if len(s) <= max {
		return s
	}
	return s[:max] + "..."
}

// Stanza returns the stanza with the given name, or nil.
func (f *File) Stanza(name string) *Stanza {
	for _, st := range f.Stanzas {
		if st.Name == name {
			return st
		}
	}
	return nil
}

// Names returns the stanza names in file order.
func (f *File) Names() []string {
	names := make([]string, len(f.Stanzas))
	for i, st := range f.Stanzas {
		names[i] = st.Name
	}
	return names
}

// Lookup returns the value of key in stanza, falling back to the default stanza as Splunk does.
func (f *File) Lookup(stanza, key string) (string, bool) {
	if st := f.Stanza(stanza); st != nil {
		if v, ok := st.Get(key); ok {
			return v, true
		}
	}
	if st := f.Stanza(DefaultStanza); st != nil {
		return st.Get(key)
	}
	return "", false
}

// Get returns the value of key in the stanza.
func (s *Stanza) Get(key string) (string, bool) {
	for _, kv := range s.Settings {
		if kv.Key == key {
			return kv.Value, true
		}
	}
	return "", false
}

// Set sets key to value, replacing an existing value in place or appending a new setting.
func (s *Stanza) Set(key, value string) {
	for i := range s.Settings {
		if s.Settings[i].Key == key {
			s.Settings[i].Value = value
			return
		}
	}
	s.Settings = append(s.Settings, Setting{Key: key, Value: value})
}

// Keys returns the keys of the stanza in order.
func (s *Stanza) Keys() []string {
	keys := make([]string, len(s.Settings))
	for i, kv := range s.Settings {
		keys[i] = kv.Key
	}
	return keys
}
