// Package tstats parses the search text of an ESCU detection of the shape
//
//	| tstats [macros and options] <aggregates> from datamodel=Endpoint.Processes [where <filter>] [by <fields>]
//	  [| `drop_dm_object_name(Processes)`] [| `security_content_ctime(f)`]... [| `<detection>_filter`]
//
// into an AST. Anything outside that shape is an *Error naming what is unsupported and where.
//
// The filter follows the Splunk search language, as tstats' where clause does: field=value, field!=value,
// field IN (v1, "v2", ...), NOT, AND, OR (operators in capitals), parentheses, implicit AND between adjacent
// terms, quoted values with \" and \\ escapes, '*' as a wildcard (quoted or not). Precedence is the one Splunk
// documents for the search command: parentheses, then NOT, then OR, then AND, so "a OR b c" is "(a OR b) AND c"
// and "a AND b OR c" is "a AND (b OR c)" (Search Manual, "Boolean expressions with logical operators").
package tstats

import (
	"fmt"
	"strconv"
	"strings"
)

// Prefix is the dataset prefix of Endpoint.Processes field names.
const Prefix = "Processes."

// StripPrefix returns field without a leading "Processes." ("Processes.dest" -> "dest"); other names are
// returned unchanged.
func StripPrefix(field string) string {
	return strings.TrimPrefix(field, Prefix)
}

// Search is a parsed tstats search.
type Search struct {
	Options    []Option    // macros and options between "tstats" and the aggregates, in order
	Aggregates []Aggregate // in order
	Datamodel  string      // "Endpoint"
	Dataset    string      // "Processes"
	Where      Expr        // nil when the search has no where clause
	By         []string    // by-fields as written ("Processes.dest", or "_time" for time buckets)
	Span       string      // the span= of the by clause as written ("1h"), "" when none
	// SpanSeconds is Span in seconds; 0 when there is no span.
	SpanSeconds int64
	Pipeline    []string // the macros after tstats, without backquotes ("drop_dm_object_name(Processes)")
	// Post is the text from the first pipe followed by a command (not a macro) to the end, such as
	// "| rename \"Processes.*\" as * | where ..."; "" when the search has none. PostOffset is its byte offset.
	Post       string
	PostOffset int
}

// ByFields returns the by-fields without the "Processes." prefix.
func (s *Search) ByFields() []string {
	out := make([]string, len(s.By))
	for i, f := range s.By {
		out[i] = StripPrefix(f)
	}
	return out
}

// Option is a tstats option (summariesonly=false) or a macro standing for options
// (`security_content_summariesonly`, Macro set and Name holding the macro text).
type Option struct {
	Name  string
	Value string
	Macro bool
}

// Aggregate is one statistic: count, or min/max/values/dc/distinct_count/earliest/latest of a field.
type Aggregate struct {
	Func  string // "count", "min", "max", "values", "dc", "distinct_count", "earliest" or "latest", lower case
	Field string // "" for count, else "_time" or the field as written ("Processes.process")
	As    string // the "as" name, "" when none
}

// Name returns the output column of the aggregate: its "as" name, else "count" or "min(_time)".
func (a Aggregate) Name() string {
	switch {
	case a.As != "":
		return a.As
	case a.Field == "":
		return a.Func
	}
	return a.Func + "(" + a.Field + ")"
}

// Expr is a filter expression: *Compare, *Not, *And or *Or.
type Expr interface {
	// String renders the expression in canonical SPL: every value quoted, every AND and OR parenthesised.
	String() string
	isExpr()
}

// Op is a comparison operator.
type Op int

// Comparison operators.
const (
	OpEq Op = iota // field=value
	OpNe           // field!=value
	OpIn           // field IN (values)
)

// Value is a literal of the filter; Text is unescaped; '*' in Text is a wildcard.
type Value struct {
	Text   string
	Quoted bool
}

// Compare is field=value, field!=value or field IN (values...).
type Compare struct {
	Field  string // as written ("Processes.parent_process_name")
	Op     Op
	Values []Value // one for OpEq and OpNe
}

// Not negates X.
type Not struct{ X Expr }

// And holds when every term holds.
type And struct{ Terms []Expr }

// Or holds when any term holds.
type Or struct{ Terms []Expr }

func (*Compare) isExpr() {}
func (*Not) isExpr()     {}
func (*And) isExpr()     {}
func (*Or) isExpr()      {}

func quote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		if s[i] == '"' || s[i] == '\\' {
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	b.WriteByte('"')
	return b.String()
}

// String renders the comparison with its value(s) quoted.
func (c *Compare) String() string {
	switch c.Op {
	case OpEq:
		return c.Field + "=" + quote(c.Values[0].Text)
	case OpNe:
		return c.Field + "!=" + quote(c.Values[0].Text)
	}
	parts := make([]string, len(c.Values))
	for i, v := range c.Values {
		parts[i] = quote(v.Text)
	}
	return c.Field + " IN (" + strings.Join(parts, ", ") + ")"
}

// String renders "NOT x".
func (n *Not) String() string { return "NOT " + n.X.String() }

// String renders "(a AND b ...)".
func (a *And) String() string { return join(a.Terms, " AND ") }

// String renders "(a OR b ...)".
func (o *Or) String() string { return join(o.Terms, " OR ") }

func join(terms []Expr, sep string) string {
	parts := make([]string, len(terms))
	for i, t := range terms {
		parts[i] = t.String()
	}
	return "(" + strings.Join(parts, sep) + ")"
}

// String renders the search in canonical form (the filter as Expr.String renders it).
func (s *Search) String() string {
	var b strings.Builder
	b.WriteString("| tstats")
	for _, o := range s.Options {
		if o.Macro {
			b.WriteString(" `" + o.Name + "`")
		} else {
			b.WriteString(" " + o.Name + "=" + quote(o.Value))
		}
	}
	for _, a := range s.Aggregates {
		b.WriteString(" " + a.Func)
		if a.Field != "" {
			b.WriteString("(" + a.Field + ")")
		}
		if a.As != "" {
			b.WriteString(" as " + quote(a.As))
		}
	}
	b.WriteString(" from datamodel=" + s.Datamodel + "." + s.Dataset)
	if s.Where != nil {
		b.WriteString(" where " + s.Where.String())
	}
	if len(s.By) > 0 {
		b.WriteString(" by " + strings.Join(s.By, " "))
		if s.Span != "" {
			b.WriteString(" span=" + s.Span)
		}
	}
	for _, p := range s.Pipeline {
		b.WriteString(" | `" + p + "`")
	}
	if s.Post != "" {
		b.WriteString(" " + s.Post)
	}
	return b.String()
}

// FilterFields returns the fields the filter reads, without prefix, in order of first appearance.
func FilterFields(e Expr) []string {
	var out []string
	seen := map[string]bool{}
	Walk(e, func(c *Compare, _ bool) {
		f := StripPrefix(c.Field)
		if !seen[f] {
			seen[f] = true
			out = append(out, f)
		}
	})
	return out
}

// Walk calls fn for every comparison of e, in order, with negated true when the comparison sits under an odd
// number of NOTs.
func Walk(e Expr, fn func(c *Compare, negated bool)) {
	walk(e, false, fn)
}

func walk(e Expr, neg bool, fn func(*Compare, bool)) {
	switch e := e.(type) {
	case *Compare:
		fn(e, neg)
	case *Not:
		walk(e.X, !neg, fn)
	case *And:
		for _, t := range e.Terms {
			walk(t, neg, fn)
		}
	case *Or:
		for _, t := range e.Terms {
			walk(t, neg, fn)
		}
	}
}

// ParseBool reads a Splunk boolean option value (true/false, t/f, yes/no, 1/0, any case).
func ParseBool(s string) (bool, error) {
	switch strings.ToLower(s) {
	case "true", "t", "yes", "y", "1":
		return true, nil
	case "false", "f", "no", "n", "0":
		return false, nil
	}
	return false, &strconv.NumError{Func: "ParseBool", Num: s, Err: strconv.ErrSyntax}
}

// ParseSpan reads a bin span of the by clause: an integer followed by a unit, s/sec/secs/second/seconds,
// m/min/mins/minute/minutes, h/hr/hrs/hour/hours, d/day/days (Search Reference, bin, "span"). A span without a
// unit is seconds. Months, weeks, subseconds and log spans are not supported.
func ParseSpan(s string) (int64, error) {
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	if i == 0 || i > 9 {
		return 0, fmt.Errorf("unsupported span %q: want an integer and a unit (s, m, h, d)", s)
	}
	n, _ := strconv.ParseInt(s[:i], 10, 64)
	var unit int64
	switch strings.ToLower(s[i:]) {
	case "", "s", "sec", "secs", "second", "seconds":
		unit = 1
	case "m", "min", "mins", "minute", "minutes":
		unit = 60
	case "h", "hr", "hrs", "hour", "hours":
		unit = 3600
	case "d", "day", "days":
		unit = 86400
	default:
		return 0, fmt.Errorf("unsupported span unit in %q (s, m, h, d)", s)
	}
	if n <= 0 {
		return 0, fmt.Errorf("span %q is not positive", s)
	}
	return n * unit, nil
}
