// Package spl runs the SPL commands that ESCU detections write after "| tstats": rename, convert, search,
// where, regex, rex, eval, table, fields, dedup and lookup, over the rows that tstats outputs. Each command
// follows the semantics the Splunk Search Reference documents for it (cited per command in commands.go and in
// docs/escu.md); a command, option or function this package does not implement is refused at parse time with
// the reason, never approximated.
//
// Rows are small (one per tstats group), so the package favours plain maps over speed.
package spl

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// Row is one result: field name to its values (a multivalue field has several; a null field is absent).
type Row map[string][]string

// Table is a list of results with an ordered list of column names.
type Table struct {
	Columns []string
	Rows    []Row
}

// Clone returns a deep copy of the table.
func (t *Table) Clone() *Table {
	out := &Table{Columns: append([]string(nil), t.Columns...), Rows: make([]Row, len(t.Rows))}
	for i, r := range t.Rows {
		out.Rows[i] = r.clone()
	}
	return out
}

func (r Row) clone() Row {
	out := make(Row, len(r))
	for k, v := range r {
		out[k] = append([]string(nil), v...)
	}
	return out
}

// addColumn appends name to the columns unless present.
func (t *Table) addColumn(name string) {
	for _, c := range t.Columns {
		if c == name {
			return
		}
	}
	t.Columns = append(t.Columns, name)
}

// LookupTable is a CSV lookup: its header, rows and matching rules (transforms.conf).
type LookupTable struct {
	Name          string
	Header        []string
	Rows          [][]string
	CaseSensitive bool            // case_sensitive_match (transforms.conf default: true)
	Wildcard      map[string]bool // fields with match_type WILDCARD(field)
	MinMatches    int             // min_matches (default 0)
	DefaultMatch  string          // default_match, used when fewer than MinMatches rows match
	HasDefault    bool            // default_match is set
	MaxMatches    int             // max_matches (Knowledge Manager Manual, "Add field matching rules": default 100)
}

// LookupSource resolves a lookup name to its table.
type LookupSource interface {
	LookupTable(name string) (*LookupTable, error)
}

// RunOptions are the settings of a run.
type RunOptions struct {
	// Location is the time zone of convert ctime(); nil means UTC.
	Location *time.Location
}

// Pipeline is a compiled list of commands. It is immutable and safe to share between goroutines.
type Pipeline struct {
	Text     string
	Commands []Command
}

// Command is one compiled command.
type Command interface {
	// Name is the command name ("rename").
	Name() string
	run(t *Table, o *RunOptions) (*Table, error)
}

// Error is a parse error: what is unsupported or malformed, in which command and where.
type Error struct {
	Command string // the command name, "" before one is known
	Msg     string
	Offset  int    // byte offset in the pipeline text
	Near    string // up to 32 characters from Offset
}

func (e *Error) Error() string {
	where := ""
	if e.Command != "" {
		where = " in | " + e.Command
	}
	if e.Near == "" {
		return fmt.Sprintf("spl: %s%s at byte %d (end)", e.Msg, where, e.Offset)
	}
	return fmt.Sprintf("spl: %s%s at byte %d (near %q)", e.Msg, where, e.Offset, e.Near)
}

func newError(src string, cmd string, off int, format string, args ...any) *Error {
	off = min(max(off, 0), len(src))
	near := src[off:]
	if utf8.RuneCountInString(near) > 32 {
		n := 0
		for i := range near {
			if n == 32 {
				near = near[:i] + "..."
				break
			}
			n++
		}
	}
	return &Error{Command: cmd, Msg: fmt.Sprintf(format, args...), Offset: off, Near: near}
}

// maxPipelineLen bounds the text a pipeline may have.
const maxPipelineLen = 1 << 20

// Parse compiles text, a pipeline of commands each introduced by '|' ("| rename \"Processes.*\" as * | where
// ..."). lookups resolves "| lookup" tables at parse time (nil: a lookup is an error). Macros must already be
// expanded.
func Parse(text string, lookups LookupSource) (*Pipeline, error) {
	if len(text) > maxPipelineLen {
		return nil, &Error{Msg: fmt.Sprintf("pipeline longer than %d bytes", maxPipelineLen)}
	}
	segs, err := splitCommands(text)
	if err != nil {
		return nil, err
	}
	p := &Pipeline{Text: text}
	for _, sg := range segs {
		cmd, err := parseCommand(text, sg, lookups)
		if err != nil {
			return nil, err
		}
		p.Commands = append(p.Commands, cmd)
	}
	return p, nil
}

// Run applies the commands in order to a copy of t.
func (p *Pipeline) Run(t *Table, o RunOptions) (*Table, error) {
	if o.Location == nil {
		o.Location = time.UTC
	}
	cur := t.Clone()
	for _, c := range p.Commands {
		next, err := c.run(cur, &o)
		if err != nil {
			return nil, fmt.Errorf("spl: | %s: %w", c.Name(), err)
		}
		cur = next
	}
	return cur, nil
}

// segment is one command's text: [start, end) in the pipeline text, after the '|'.
type segment struct{ start, end int }

// splitCommands splits at '|' outside double quotes. The text must start with '|'. A backquote (an unexpanded
// macro or a comment) and a '[' outside quotes (a subsearch) are refused.
func splitCommands(text string) ([]segment, error) {
	i := 0
	for i < len(text) && isSpace(text[i]) {
		i++
	}
	if i >= len(text) || text[i] != '|' {
		return nil, newError(text, "", i, "a pipeline must start with \"|\"")
	}
	var segs []segment
	start := i + 1
	inQuote := false
	for j := i + 1; j < len(text); j++ {
		c := text[j]
		switch {
		case inQuote && c == '\\':
			j++
		case c == '"':
			inQuote = !inQuote
		case inQuote:
		case c == '`':
			return nil, newError(text, "", j, "unexpanded macro or comment (backquote)")
		case c == '[':
			return nil, newError(text, "", j, "subsearches are not supported")
		case c == '|':
			segs = append(segs, segment{start, j})
			start = j + 1
		}
	}
	if inQuote {
		return nil, newError(text, "", len(text), "unterminated quoted string")
	}
	segs = append(segs, segment{start, len(text)})
	for _, sg := range segs {
		if strings.TrimSpace(text[sg.start:sg.end]) == "" {
			return nil, newError(text, "", sg.start, "empty command")
		}
	}
	return segs, nil
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'
}

// Filters reports whether a command of the pipeline can drop results: search (other than "search *"), where,
// regex or dedup.
func (p *Pipeline) Filters() bool {
	for _, c := range p.Commands {
		switch c := c.(type) {
		case *searchCmd:
			if _, all := c.expr.(fTrue); !all {
				return true
			}
		case *whereCmd, *regexCmd, *dedupCmd:
			return true
		}
	}
	return false
}
