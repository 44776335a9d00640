package tstats

import (
	"strings"
)

// maxDepth bounds the nesting of parentheses and NOTs, so that no input can exhaust the stack.
const maxDepth = 100

type parser struct {
	src   string
	toks  []token
	i     int
	depth int
}

// Parse parses the search text of a detection. Errors are *Error values naming what is unsupported or
// malformed and the column where it starts.
func Parse(search string) (*Search, error) {
	toks, err := lex(search)
	if err != nil {
		return nil, err
	}
	p := &parser{src: search, toks: toks}
	return p.search()
}

func (p *parser) peek() token { return p.toks[p.i] }
func (p *parser) peekAt(n int) token {
	if p.i+n < len(p.toks) {
		return p.toks[p.i+n]
	}
	return p.toks[len(p.toks)-1]
}
func (p *parser) next() token {
	t := p.toks[p.i]
	if t.kind != tkEOF {
		p.i++
	}
	return t
}

func (p *parser) errAt(t token, format string, args ...any) error {
	return newError(p.src, t.pos, format, args...)
}

func (p *parser) isWord(t token, w string) bool {
	return t.kind == tkWord && strings.EqualFold(t.text, w)
}

func (p *parser) search() (*Search, error) {
	s := &Search{}
	t := p.next()
	if t.kind != tkPipe {
		return nil, p.errAt(t, "unsupported search: only a search starting with \"| tstats\" is supported")
	}
	t = p.next()
	if !p.isWord(t, "tstats") {
		return nil, p.errAt(t, "unsupported command: only \"| tstats\" is supported")
	}
	if err := p.options(s); err != nil {
		return nil, err
	}
	if err := p.aggregates(s); err != nil {
		return nil, err
	}
	if err := p.from(s); err != nil {
		return nil, err
	}
	if p.isWord(p.peek(), "where") {
		p.next()
		e, err := p.and()
		if err != nil {
			return nil, err
		}
		s.Where = e
	}
	if p.isWord(p.peek(), "by") {
		p.next()
		if err := p.byFields(s); err != nil {
			return nil, err
		}
	}
	return s, p.pipeline(s)
}

var knownOptions = map[string]bool{"summariesonly": true, "allow_old_summaries": true, "fillnull_value": true}

func (p *parser) options(s *Search) error {
	for {
		t := p.peek()
		switch {
		case t.kind == tkMacro:
			p.next()
			s.Options = append(s.Options, Option{Name: t.text, Macro: true})
		case t.kind == tkWord && p.peekAt(1).kind == tkEq:
			name := strings.ToLower(t.text)
			if !knownOptions[name] {
				return p.errAt(t, "unsupported tstats option %q (supported: summariesonly, allow_old_summaries, fillnull_value)", t.text)
			}
			p.next()
			p.next()
			v := p.next()
			if v.kind != tkWord && v.kind != tkString {
				return p.errAt(v, "missing value of tstats option %q", t.text)
			}
			if name != "fillnull_value" {
				if _, err := ParseBool(v.text); err != nil {
					return p.errAt(v, "tstats option %s: %q is not a boolean", name, v.text)
				}
			}
			s.Options = append(s.Options, Option{Name: name, Value: v.text})
		default:
			return nil
		}
	}
}

// aggFuncs are the supported tstats statistical functions (Search Reference, tstats, "Statistical functions";
// Stats functions, "values(<value>)", "dc(<value>)", "earliest(<value>)", "latest(<value>)").
var aggFuncs = map[string]bool{"count": true, "min": true, "max": true, "values": true, "dc": true,
	"distinct_count": true, "earliest": true, "latest": true}

func (p *parser) aggregates(s *Search) error {
	for {
		t := p.peek()
		if p.isWord(t, "from") || t.kind == tkEOF {
			break
		}
		if t.kind == tkComma && len(s.Aggregates) > 0 {
			p.next()
			continue
		}
		if t.kind != tkWord {
			return p.errAt(t, "unsupported tstats argument: want an aggregate (count, min, max, values, dc, distinct_count, earliest, latest)")
		}
		p.next()
		var a Aggregate
		fn := strings.ToLower(t.text)
		if !aggFuncs[fn] {
			return p.errAt(t, "unsupported aggregate %q (supported: count, min, max, values, dc, distinct_count, earliest, latest)", t.text)
		}
		a.Func = fn
		if fn == "count" {
			if p.peek().kind == tkLParen {
				return p.errAt(p.peek(), "unsupported aggregate count(field): only count")
			}
		} else {
			if l := p.next(); l.kind != tkLParen {
				return p.errAt(l, "missing \"(\" after aggregate %q", t.text)
			}
			f := p.next()
			if f.kind != tkWord && f.kind != tkString {
				return p.errAt(f, "missing field in %s(...)", fn)
			}
			if f.text != "_time" {
				if err := p.field(f, fn+"()"); err != nil {
					return err
				}
			}
			if r := p.next(); r.kind != tkRParen {
				return p.errAt(r, "missing \")\" after %s(%s", fn, f.text)
			}
			a.Field = f.text
		}
		if p.isWord(p.peek(), "as") {
			p.next()
			n := p.next()
			if (n.kind != tkWord && n.kind != tkString) || n.text == "" || p.isWord(n, "from") {
				return p.errAt(n, "missing name after \"as\"")
			}
			a.As = n.text
		}
		s.Aggregates = append(s.Aggregates, a)
	}
	if len(s.Aggregates) == 0 {
		return p.errAt(p.peek(), "tstats without an aggregate")
	}
	return nil
}

func (p *parser) from(s *Search) error {
	t := p.next()
	if !p.isWord(t, "from") {
		return p.errAt(t, "unsupported search: want \"from datamodel=Endpoint.Processes\"")
	}
	t = p.next()
	if !p.isWord(t, "datamodel") || p.next().kind != tkEq {
		return p.errAt(t, "unsupported tstats source: want \"from datamodel=Endpoint.Processes\"")
	}
	v := p.next()
	if v.kind != tkWord && v.kind != tkString {
		return p.errAt(v, "missing data model name after \"datamodel=\"")
	}
	if v.text != "Endpoint.Processes" {
		return p.errAt(v, "unsupported data model %q (only Endpoint.Processes)", v.text)
	}
	s.Datamodel, s.Dataset = "Endpoint", "Processes"
	return nil
}

// field checks a field name of the where or by clause: "Processes.<name>", name of letters, digits and '_'.
func (p *parser) field(t token, clause string) error {
	name, ok := strings.CutPrefix(t.text, Prefix)
	if !ok || name == "" {
		return p.errAt(t, "unsupported field %q in the %s clause: only fields of Endpoint.Processes (Processes.<name>)", t.text, clause)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return p.errAt(t, "unsupported field %q in the %s clause: only fields of Endpoint.Processes (Processes.<name>)", t.text, clause)
		}
	}
	return nil
}

func (p *parser) isTermStart(t token) bool {
	switch t.kind {
	case tkLParen, tkString, tkMacro, tkCmp, tkEq, tkNe:
		return true
	case tkWord:
		return !(t.text == "AND" || t.text == "OR" || p.isWord(t, "by"))
	}
	return false
}

func (p *parser) enter(t token) error {
	p.depth++
	if p.depth > maxDepth {
		return p.errAt(t, "expression nested deeper than %d levels", maxDepth)
	}
	return nil
}

// and parses terms joined by AND or by juxtaposition (implicit AND), the loosest binding.
func (p *parser) and() (Expr, error) {
	first, err := p.or()
	if err != nil {
		return nil, err
	}
	terms := []Expr{first}
	for {
		t := p.peek()
		if t.kind == tkWord && t.text == "AND" {
			p.next()
			if !p.isTermStart(p.peek()) {
				return nil, p.errAt(p.peek(), "missing search term after AND")
			}
		} else if !p.isTermStart(t) {
			break
		}
		e, err := p.or()
		if err != nil {
			return nil, err
		}
		terms = append(terms, e)
	}
	if len(terms) == 1 {
		return first, nil
	}
	return &And{Terms: terms}, nil
}

// or parses terms joined by OR, which binds tighter than AND in the search language.
func (p *parser) or() (Expr, error) {
	first, err := p.unary()
	if err != nil {
		return nil, err
	}
	terms := []Expr{first}
	for t := p.peek(); t.kind == tkWord && t.text == "OR"; t = p.peek() {
		p.next()
		if !p.isTermStart(p.peek()) {
			return nil, p.errAt(p.peek(), "missing search term after OR")
		}
		e, err := p.unary()
		if err != nil {
			return nil, err
		}
		terms = append(terms, e)
	}
	if len(terms) == 1 {
		return first, nil
	}
	return &Or{Terms: terms}, nil
}

func (p *parser) unary() (Expr, error) {
	t := p.peek()
	if t.kind == tkWord && t.text == "NOT" {
		p.next()
		if err := p.enter(t); err != nil {
			return nil, err
		}
		defer func() { p.depth-- }()
		if !p.isTermStart(p.peek()) {
			return nil, p.errAt(p.peek(), "missing search term after NOT")
		}
		x, err := p.unary()
		if err != nil {
			return nil, err
		}
		return &Not{X: x}, nil
	}
	return p.primary()
}

func (p *parser) primary() (Expr, error) {
	t := p.next()
	switch t.kind {
	case tkLParen:
		if err := p.enter(t); err != nil {
			return nil, err
		}
		defer func() { p.depth-- }()
		if p.peek().kind == tkRParen {
			return nil, p.errAt(p.peek(), "empty parentheses")
		}
		e, err := p.and()
		if err != nil {
			return nil, err
		}
		if r := p.next(); r.kind != tkRParen {
			return nil, p.errAt(r, "missing \")\" to close the \"(\" at column %d", newError(p.src, t.pos, "").Column)
		}
		return e, nil
	case tkMacro:
		return nil, p.errAt(t, "unsupported macro `%s` in the where clause (macros are not expanded)", t.text)
	case tkWord:
		if strings.HasPrefix(t.text, "[") {
			return nil, p.errAt(t, "subsearches are not supported")
		}
	case tkString:
		if p.peek().kind == tkEq || p.peek().kind == tkNe {
			return nil, p.errAt(t, "unsupported quoted field name %q before %s", t.text, p.peek().text)
		}
		return nil, p.errAt(t, "unsupported search term: want field=value, field!=value or field IN (...)")
	default:
		return nil, p.errAt(t, "unsupported search term: want field=value, field!=value or field IN (...)")
	}
	op := p.peek()
	switch {
	case op.kind == tkEq || op.kind == tkNe:
		if err := p.field(t, "where"); err != nil {
			return nil, err
		}
		p.next()
		v := p.next()
		if v.kind != tkWord && v.kind != tkString {
			return nil, p.errAt(v, "missing value after %q", t.text+op.text)
		}
		c := &Compare{Field: t.text, Op: OpEq, Values: []Value{{Text: v.text, Quoted: v.kind == tkString}}}
		if op.kind == tkNe {
			c.Op = OpNe
		}
		return c, nil
	case op.kind == tkWord && op.text == "IN":
		if err := p.field(t, "where"); err != nil {
			return nil, err
		}
		p.next()
		return p.inList(t)
	case op.kind == tkCmp:
		return nil, p.errAt(op, "unsupported operator %q (only =, != and IN)", op.text)
	}
	return nil, p.errAt(t, "unsupported search term %q: want field=value, field!=value or field IN (...)", t.text)
}

func (p *parser) inList(field token) (Expr, error) {
	if l := p.next(); l.kind != tkLParen {
		return nil, p.errAt(l, "missing \"(\" after IN")
	}
	c := &Compare{Field: field.text, Op: OpIn}
	for {
		v := p.next()
		if v.kind != tkWord && v.kind != tkString {
			return nil, p.errAt(v, "missing value in the IN list of %q", field.text)
		}
		c.Values = append(c.Values, Value{Text: v.text, Quoted: v.kind == tkString})
		switch sep := p.next(); sep.kind {
		case tkComma:
			continue
		case tkRParen:
			return c, nil
		default:
			return nil, p.errAt(sep, "want \",\" or \")\" in the IN list of %q", field.text)
		}
	}
}

func (p *parser) byFields(s *Search) error {
	seen := map[string]bool{}
	var spanTok token
	for {
		t := p.peek()
		if t.kind == tkComma && len(s.By) > 0 {
			p.next()
			continue
		}
		if t.kind != tkWord {
			break
		}
		if p.peekAt(1).kind == tkEq {
			if !strings.EqualFold(t.text, "span") {
				return p.errAt(t, "unsupported by-clause option %q (only span)", t.text)
			}
			if s.Span != "" {
				return p.errAt(t, "span given twice")
			}
			spanTok = t
			p.next()
			p.next()
			v := p.next()
			if v.kind != tkWord && v.kind != tkString {
				return p.errAt(v, "missing value after \"span=\"")
			}
			secs, err := ParseSpan(v.text)
			if err != nil {
				return p.errAt(v, "%v", err)
			}
			s.Span, s.SpanSeconds = v.text, secs
			continue
		}
		if t.text != "_time" {
			if err := p.field(t, "by"); err != nil {
				return err
			}
		}
		if seen[t.text] {
			return p.errAt(t, "duplicate by-field %q", t.text)
		}
		seen[t.text] = true
		s.By = append(s.By, t.text)
		p.next()
	}
	if len(s.By) == 0 {
		return p.errAt(p.peek(), "missing field after \"by\"")
	}
	if s.Span != "" && !seen["_time"] {
		return p.errAt(spanTok, "span=%s without _time in the by clause", s.Span)
	}
	return nil
}

// pipeline reads what follows the tstats command: only the ESCU post-processing macros.
func (p *parser) pipeline(s *Search) error {
	for {
		t := p.next()
		switch t.kind {
		case tkEOF:
			return nil
		case tkPipe:
		default:
			return p.errAt(t, "unexpected %q after the tstats command", t.text)
		}
		m := p.next()
		if m.kind != tkMacro {
			// A command: it and everything after it is the post-tstats pipeline, parsed by the caller.
			s.Post = strings.TrimSpace(p.src[t.pos:])
			s.PostOffset = t.pos
			return nil
		}
		name := strings.TrimSpace(m.text)
		switch {
		case name == "drop_dm_object_name(Processes)":
		case strings.HasPrefix(name, "security_content_ctime(") && strings.HasSuffix(name, ")"):
		case strings.HasSuffix(name, "_filter") && !strings.ContainsAny(name, "( "):
		default:
			return p.errAt(m, "unsupported macro `%s` after tstats (only drop_dm_object_name(Processes), security_content_ctime(...) and the filter macro)", m.text)
		}
		s.Pipeline = append(s.Pipeline, name)
		if n := p.peek(); n.kind != tkPipe && n.kind != tkEOF {
			return p.errAt(n, "unexpected %q after `%s`", n.text, m.text)
		}
	}
}
