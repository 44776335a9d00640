package spl

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// searchCmd is "search <expression>" over the results: Search Reference, search. Terms are field=value,
// field!=value, field IN (v, ...), field<value (also <=, >, >=, ==), and "*" alone (every result); values are
// matched whole, case-insensitively, '*' matching any run of characters, a multivalue field matching when any
// value does. "field!=value" holds when the field exists and a value differs ("!=" only returns results where
// the field exists, NOT also those without it: search command examples, "Searching with the boolean NOT
// comparison operator is not the same as using the != comparison"). Comparisons are numeric when both sides
// are numbers, otherwise lexicographic. Precedence: parentheses, NOT, OR, AND (implicit between terms), the
// operators in capitals (Search Manual, "Boolean expressions"). A bare word that is not "*" (a search of the
// raw text, which results after tstats do not have) is refused.
type searchCmd struct{ expr filter }

func (*searchCmd) Name() string { return "search" }

func (c *searchCmd) run(t *Table, _ *RunOptions) (*Table, error) {
	var rows []Row
	for _, r := range t.Rows {
		if c.expr.eval(r) {
			rows = append(rows, r)
		}
	}
	t.Rows = rows
	return t, nil
}

type filter interface{ eval(Row) bool }

type fTrue struct{}
type fNot struct{ x filter }
type fAnd struct{ xs []filter }
type fOr struct{ xs []filter }
type fCmp struct {
	field string
	op    string // "=", "!=", "in", "<", "<=", ">", ">="
	pats  []globPattern
	value string
}

func (fTrue) eval(Row) bool    { return true }
func (f fNot) eval(r Row) bool { return !f.x.eval(r) }
func (f fAnd) eval(r Row) bool {
	for _, x := range f.xs {
		if !x.eval(r) {
			return false
		}
	}
	return true
}
func (f fOr) eval(r Row) bool {
	for _, x := range f.xs {
		if x.eval(r) {
			return true
		}
	}
	return false
}

func (f *fCmp) eval(r Row) bool {
	vs := r[f.field]
	for _, v := range vs {
		if v == "" {
			continue
		}
		switch f.op {
		case "=", "in":
			for _, p := range f.pats {
				if p.MatchString(v) {
					return true
				}
			}
		case "!=":
			if !f.pats[0].MatchString(v) {
				return true
			}
		default:
			c := compareMixed(v, f.value)
			switch f.op {
			case "<":
				if c < 0 {
					return true
				}
			case "<=":
				if c <= 0 {
					return true
				}
			case ">":
				if c > 0 {
					return true
				}
			case ">=":
				if c >= 0 {
					return true
				}
			}
		}
	}
	return false
}

// compareMixed compares numerically when both parse as numbers, else as strings.
func compareMixed(a, b string) int {
	x, err1 := strconv.ParseFloat(strings.TrimSpace(a), 64)
	y, err2 := strconv.ParseFloat(strings.TrimSpace(b), 64)
	if err1 == nil && err2 == nil {
		return compareFloat(x, y)
	}
	return strings.Compare(a, b)
}

// wildcard compiles a search value: whole value, case-insensitive, '*' any run of characters.
func wildcard(v string) globPattern { return wildcardFold(v, true) }

const maxFilterDepth = 100

type filterParser struct {
	*cmdParser
	depth int
}

func (p *cmdParser) search() (Command, error) {
	if p.peek().kind == tkEOF {
		return nil, p.errAt(p.peek(), "search without an expression")
	}
	fp := &filterParser{cmdParser: p}
	e, err := fp.and()
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind != tkEOF {
		return nil, p.errAt(t, "unexpected %q", t.text)
	}
	return &searchCmd{expr: e}, nil
}

func (p *filterParser) termStart(t token) bool {
	switch t.kind {
	case tkLParen:
		return true
	case tkWord:
		return t.quoted || (t.text != "AND" && t.text != "OR")
	}
	return false
}

// and has the shape of tstats' and (tstats/parse.go) but builds this package's filter tree over Row values;
// the two parsers are kept apart because their trees and value models differ.
func (p *filterParser) and() (filter, error) {
	first, err := p.or()
	if err != nil {
		return nil, err
	}
	xs := []filter{first}
	for {
		t := p.peek()
		if t.kind == tkWord && !t.quoted && t.text == "AND" {
			p.next()
			if !p.termStart(p.peek()) {
				return nil, p.errAt(p.peek(), "missing search term after AND")
			}
		} else if !p.termStart(t) {
			break
		}
		x, err := p.or()
		if err != nil {
			return nil, err
		}
		xs = append(xs, x)
	}
	if len(xs) == 1 {
		return first, nil
	}
	return fAnd{xs}, nil
}

func (p *filterParser) or() (filter, error) {
	first, err := p.unary()
	if err != nil {
		return nil, err
	}
	xs := []filter{first}
	for t := p.peek(); t.kind == tkWord && !t.quoted && t.text == "OR"; t = p.peek() {
		p.next()
		if !p.termStart(p.peek()) {
			return nil, p.errAt(p.peek(), "missing search term after OR")
		}
		x, err := p.unary()
		if err != nil {
			return nil, err
		}
		xs = append(xs, x)
	}
	if len(xs) == 1 {
		return first, nil
	}
	return fOr{xs}, nil
}

func (p *filterParser) unary() (filter, error) {
	t := p.peek()
	if t.kind == tkWord && !t.quoted && t.text == "NOT" {
		p.next()
		p.depth++
		defer func() { p.depth-- }()
		if p.depth > maxFilterDepth {
			return nil, p.errAt(t, "expression nested deeper than %d levels", maxFilterDepth)
		}
		if !p.termStart(p.peek()) {
			return nil, p.errAt(p.peek(), "missing search term after NOT")
		}
		x, err := p.unary()
		if err != nil {
			return nil, err
		}
		return fNot{x}, nil
	}
	return p.primary()
}

func (p *filterParser) primary() (filter, error) {
	t := p.next()
	if t.kind == tkLParen {
		p.depth++
		defer func() { p.depth-- }()
		if p.depth > maxFilterDepth {
			return nil, p.errAt(t, "expression nested deeper than %d levels", maxFilterDepth)
		}
		if p.peek().kind == tkRParen {
			return nil, p.errAt(p.peek(), "empty parentheses")
		}
		e, err := p.and()
		if err != nil {
			return nil, err
		}
		if r := p.next(); r.kind != tkRParen {
			return nil, p.errAt(r, "missing \")\"")
		}
		return e, nil
	}
	if t.kind != tkWord {
		return nil, p.errAt(t, "want a search term")
	}
	op := p.peek()
	switch {
	case op.kind == tkEq || op.kind == tkNe:
		p.next()
		v := p.next()
		if v.kind != tkWord {
			return nil, p.errAt(v, "missing value after %q", t.text+op.text)
		}
		c := &fCmp{field: t.text, op: op.text, pats: []globPattern{wildcard(v.text)}, value: v.text}
		return c, nil
	case op.kind == tkCmp:
		p.next()
		v := p.next()
		if v.kind != tkWord {
			return nil, p.errAt(v, "missing value after %q", t.text+op.text)
		}
		o := op.text
		if o == "==" {
			return &fCmp{field: t.text, op: "=", pats: []globPattern{wildcard(v.text)}, value: v.text}, nil
		}
		return &fCmp{field: t.text, op: o, value: v.text}, nil
	case op.kind == tkWord && !op.quoted && op.text == "IN":
		p.next()
		if l := p.next(); l.kind != tkLParen {
			return nil, p.errAt(l, "missing \"(\" after IN")
		}
		c := &fCmp{field: t.text, op: "in"}
		for {
			v := p.next()
			if v.kind != tkWord {
				return nil, p.errAt(v, "missing value in the IN list of %q", t.text)
			}
			c.pats = append(c.pats, wildcard(v.text))
			switch sep := p.next(); sep.kind {
			case tkComma:
				continue
			case tkRParen:
				return c, nil
			default:
				return nil, p.errAt(sep, "want \",\" or \")\" in the IN list of %q", t.text)
			}
		}
	}
	if !t.quoted && t.text == "*" {
		return fTrue{}, nil
	}
	return nil, p.errAt(t, "unsupported search term %q: results after tstats have no raw text to search; want field=value", t.text)
}

// globPattern is a '*' pattern matched whole-value, case-insensitively (simple Unicode folding) or not. It
// works on bytes and runes without regular expressions, so any input, even invalid UTF-8, is a pattern (an
// invalid byte matches only itself).
type globPattern struct {
	pat  string
	fold bool
}

func (g globPattern) MatchString(v string) bool { return globMatch(g.pat, v, g.fold) }

func wildcardFold(v string, fold bool) globPattern { return globPattern{pat: v, fold: fold} }

// globMatch is the classic backtracking match of '*' (any run of characters) against s.
func globMatch(p, s string, fold bool) bool {
	pi, si := 0, 0
	starP, starS := -1, 0
	for si < len(s) {
		if pi < len(p) && p[pi] == '*' {
			starP, starS = pi, si
			pi++
			continue
		}
		if pi < len(p) {
			pr, pn := utf8.DecodeRuneInString(p[pi:])
			sr, sn := utf8.DecodeRuneInString(s[si:])
			same := false
			switch {
			case pr == utf8.RuneError && pn <= 1 || sr == utf8.RuneError && sn <= 1:
				same = pn == sn && p[pi] == s[si]
			case fold:
				same = pr == sr || unicode.SimpleFold(pr) == sr || foldEq(pr, sr)
			default:
				same = pr == sr
			}
			if same {
				pi += pn
				si += sn
				continue
			}
		}
		if starP < 0 {
			return false
		}
		_, n := utf8.DecodeRuneInString(s[starS:])
		starS += n
		pi, si = starP+1, starS
	}
	for pi < len(p) && p[pi] == '*' {
		pi++
	}
	return pi == len(p)
}

func foldEq(a, b rune) bool {
	for r := unicode.SimpleFold(a); r != a; r = unicode.SimpleFold(r) {
		if r == b {
			return true
		}
	}
	return false
}
