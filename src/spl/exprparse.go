package spl

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
)

type ekind uint8

const (
	ekEOF ekind = iota
	ekNum
	ekStr
	ekIdent  // field name or keyword
	ekQField // 'quoted field name'
	ekOp     // operator or punctuation
)

type etok struct {
	kind ekind
	text string
	pos  int
}

// lexExpr splits an eval expression. Strings are double-quoted with \" \\ and \t \n \r as escapes (any other
// backslash is kept, so regular expressions keep theirs: the Search Manual's "Types of expressions" shows
// "C:\\windows\temp" read with \t as a tab); field names may be single-quoted.
func lexExpr(src string, start, end int) ([]etok, *Error) {
	var toks []etok
	i := start
	for {
		for i < end && isSpace(src[i]) {
			i++
		}
		if i >= end {
			return append(toks, etok{kind: ekEOF, pos: end}), nil
		}
		s := i
		c := src[i]
		switch {
		case c == '"':
			var b strings.Builder
			j := i + 1
			closed := false
			for j < end {
				if src[j] == '\\' && j+1 < end {
					switch src[j+1] {
					case '"', '\\':
						b.WriteByte(src[j+1])
						j += 2
						continue
					case 't':
						b.WriteByte('\t')
						j += 2
						continue
					case 'n':
						b.WriteByte('\n')
						j += 2
						continue
					case 'r':
						b.WriteByte('\r')
						j += 2
						continue
					}
				}
				if src[j] == '"' {
					closed = true
					break
				}
				b.WriteByte(src[j])
				j++
			}
			if !closed {
				return nil, newError(src, "", s, "unterminated quoted string")
			}
			toks = append(toks, etok{ekStr, b.String(), s})
			i = j + 1
		case c == '\'':
			j := strings.IndexByte(src[i+1:end], '\'')
			if j < 0 {
				return nil, newError(src, "", s, "unterminated quoted field name")
			}
			toks = append(toks, etok{ekQField, src[i+1 : i+1+j], s})
			i += j + 2
		case c >= '0' && c <= '9' || c == '.' && i+1 < end && src[i+1] >= '0' && src[i+1] <= '9' && !prevIsValue(toks):
			j := i
			for j < end && (src[j] >= '0' && src[j] <= '9' || src[j] == '.') {
				j++
			}
			if j < end && (src[j] == 'e' || src[j] == 'E') {
				k := j + 1
				if k < end && (src[k] == '+' || src[k] == '-') {
					k++
				}
				if k < end && src[k] >= '0' && src[k] <= '9' {
					j = k
					for j < end && src[j] >= '0' && src[j] <= '9' {
						j++
					}
				}
			}
			if j < end && isIdentByte(src[j]) {
				// A word starting with digits (a field such as 7z_count) is a name.
				for j < end && isIdentByte(src[j]) {
					j++
				}
				toks = append(toks, etok{ekIdent, src[i:j], s})
			} else {
				toks = append(toks, etok{ekNum, src[i:j], s})
			}
			i = j
		case isIdentByte(c):
			j := i
			for j < end && isIdentByte(src[j]) {
				j++
			}
			toks = append(toks, etok{ekIdent, src[i:j], s})
			i = j
		default:
			two := ""
			if i+1 < end {
				two = src[i : i+2]
			}
			switch two {
			case "==", "!=", "<=", ">=", "<>":
				toks = append(toks, etok{ekOp, two, s})
				i += 2
				continue
			}
			if strings.IndexByte("()+-*/%.,=<>", c) < 0 {
				return nil, newError(src, "", s, "unexpected character %q in the expression", c)
			}
			toks = append(toks, etok{ekOp, string(c), s})
			i++
		}
	}
}

func prevIsValue(toks []etok) bool {
	if len(toks) == 0 {
		return false
	}
	t := toks[len(toks)-1]
	return t.kind == ekNum || t.kind == ekStr || t.kind == ekIdent || t.kind == ekQField || t.kind == ekOp && t.text == ")"
}

func isIdentByte(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c >= 0x80
}

// static types, for the checks Splunk makes before running (a where condition must be a boolean, eval cannot
// assign one).
type stype uint8

const (
	tAny stype = iota
	tBool
	tNum
	tStr
)

type exprParser struct {
	src   string
	cmd   string
	toks  []etok
	i     int
	depth int
}

const maxExprDepth = 100

func (p *exprParser) peek() etok { return p.toks[p.i] }
func (p *exprParser) next() etok {
	t := p.toks[p.i]
	if t.kind != ekEOF {
		p.i++
	}
	return t
}
func (p *exprParser) errAt(t etok, format string, args ...any) *Error {
	return newError(p.src, p.cmd, t.pos, format, args...)
}
func (p *exprParser) isKw(t etok, kw string) bool {
	return t.kind == ekIdent && strings.EqualFold(t.text, kw)
}
func (p *exprParser) isOp(t etok, op string) bool { return t.kind == ekOp && t.text == op }

func (p *exprParser) enter(t etok) error {
	p.depth++
	if p.depth > maxExprDepth {
		return p.errAt(t, "expression nested deeper than %d levels", maxExprDepth)
	}
	return nil
}

// parse reads a full expression: XOR (loosest), OR, AND, NOT, comparison, additive, multiplicative, unary.
func (p *exprParser) parse() (expr, stype, error) {
	return p.xor()
}

func (p *exprParser) logic(kw string, sub func() (expr, stype, error)) (expr, stype, error) {
	l, lt, err := sub()
	if err != nil {
		return nil, 0, err
	}
	for p.isKw(p.peek(), kw) {
		t := p.next()
		r, rt, err := sub()
		if err != nil {
			return nil, 0, err
		}
		if lt != tBool && lt != tAny || rt != tBool && rt != tAny {
			return nil, 0, p.errAt(t, "%s needs boolean operands", kw)
		}
		l, lt = logicExpr{op: strings.ToUpper(kw), l: l, r: r}, tBool
	}
	return l, lt, nil
}

func (p *exprParser) xor() (expr, stype, error) { return p.logic("XOR", p.or) }
func (p *exprParser) or() (expr, stype, error)  { return p.logic("OR", p.and) }
func (p *exprParser) and() (expr, stype, error) { return p.logic("AND", p.not) }

func (p *exprParser) not() (expr, stype, error) {
	if t := p.peek(); p.isKw(t, "NOT") {
		p.next()
		if err := p.enter(t); err != nil {
			return nil, 0, err
		}
		defer func() { p.depth-- }()
		x, xt, err := p.not()
		if err != nil {
			return nil, 0, err
		}
		if xt != tBool && xt != tAny {
			return nil, 0, p.errAt(t, "NOT needs a boolean operand")
		}
		return notExpr{x}, tBool, nil
	}
	return p.cmp()
}

func (p *exprParser) cmp() (expr, stype, error) {
	l, lt, err := p.additive()
	if err != nil {
		return nil, 0, err
	}
	t := p.peek()
	switch {
	case t.kind == ekOp && (t.text == "=" || t.text == "==" || t.text == "!=" || t.text == "<>" || t.text == "<" || t.text == "<=" || t.text == ">" || t.text == ">="):
		p.next()
		r, _, err := p.additive()
		if err != nil {
			return nil, 0, err
		}
		op := t.text
		switch op {
		case "==":
			op = "="
		case "<>":
			op = "!="
		}
		_ = lt
		return cmpExpr{op: op, l: l, r: r}, tBool, nil
	case p.isKw(t, "LIKE"):
		p.next()
		r, _, err := p.additive()
		if err != nil {
			return nil, 0, err
		}
		return likeExpr{l: l, r: r}, tBool, nil
	case p.isKw(t, "IN"):
		p.next()
		if l := p.next(); !p.isOp(l, "(") {
			return nil, 0, p.errAt(l, "missing \"(\" after IN")
		}
		var list []expr
		for {
			v, _, err := p.additive()
			if err != nil {
				return nil, 0, err
			}
			list = append(list, v)
			sep := p.next()
			if p.isOp(sep, ",") {
				continue
			}
			if p.isOp(sep, ")") {
				break
			}
			return nil, 0, p.errAt(sep, "want \",\" or \")\" in the IN list")
		}
		return inExpr{x: l, list: list}, tBool, nil
	}
	return l, lt, nil
}

func (p *exprParser) additive() (expr, stype, error) {
	l, lt, err := p.multiplicative()
	if err != nil {
		return nil, 0, err
	}
	for {
		t := p.peek()
		if !(p.isOp(t, "+") || p.isOp(t, "-") || p.isOp(t, ".")) {
			return l, lt, nil
		}
		p.next()
		r, rt, err := p.multiplicative()
		if err != nil {
			return nil, 0, err
		}
		if lt == tBool || rt == tBool {
			return nil, 0, p.errAt(t, "%s on a boolean", t.text)
		}
		switch t.text {
		case ".":
			lt = tStr
		case "+":
			lt = tAny
		default:
			lt = tNum
		}
		l = arithExpr{op: t.text[0], l: l, r: r}
	}
}

func (p *exprParser) multiplicative() (expr, stype, error) {
	l, lt, err := p.unary()
	if err != nil {
		return nil, 0, err
	}
	for {
		t := p.peek()
		if !(p.isOp(t, "*") || p.isOp(t, "/") || p.isOp(t, "%")) {
			return l, lt, nil
		}
		p.next()
		r, rt, err := p.unary()
		if err != nil {
			return nil, 0, err
		}
		if lt == tBool || rt == tBool {
			return nil, 0, p.errAt(t, "%s on a boolean", t.text)
		}
		l, lt = arithExpr{op: t.text[0], l: l, r: r}, tNum
	}
}

func (p *exprParser) unary() (expr, stype, error) {
	if t := p.peek(); p.isOp(t, "-") {
		p.next()
		if err := p.enter(t); err != nil {
			return nil, 0, err
		}
		defer func() { p.depth-- }()
		x, _, err := p.unary()
		if err != nil {
			return nil, 0, err
		}
		return negExpr{x}, tNum, nil
	}
	return p.primary()
}

func (p *exprParser) primary() (expr, stype, error) {
	t := p.next()
	switch t.kind {
	case ekNum:
		f, err := strconv.ParseFloat(t.text, 64)
		if err != nil || math.IsInf(f, 0) {
			return nil, 0, p.errAt(t, "bad number %q", t.text)
		}
		return litExpr{numV(f)}, tNum, nil
	case ekStr:
		return litExpr{strV(t.text)}, tStr, nil
	case ekQField:
		return fieldExpr{t.text}, tAny, nil
	case ekIdent:
		if p.isOp(p.peek(), "(") {
			return p.call(t)
		}
		switch strings.ToUpper(t.text) {
		case "AND", "OR", "XOR", "NOT", "LIKE", "IN":
			return nil, 0, p.errAt(t, "missing operand before %s", t.text)
		}
		if t.text == "true" || t.text == "false" {
			return litExpr{boolV(t.text == "true")}, tBool, nil
		}
		return fieldExpr{t.text}, tAny, nil
	case ekOp:
		if t.text == "(" {
			if err := p.enter(t); err != nil {
				return nil, 0, err
			}
			defer func() { p.depth-- }()
			e, et, err := p.parse()
			if err != nil {
				return nil, 0, err
			}
			if r := p.next(); !p.isOp(r, ")") {
				return nil, 0, p.errAt(r, "missing \")\"")
			}
			return e, et, nil
		}
	case ekEOF:
		return nil, 0, p.errAt(t, "missing operand at the end of the expression")
	}
	return nil, 0, p.errAt(t, "unexpected %q", t.text)
}

// funcSpec describes an eval function: its argument counts, result type and implementation.
type funcSpec struct {
	min, max int // argument count range (max -1: any)
	typ      stype
	fn       func(args []value) (value, error)
}

func (p *exprParser) call(name etok) (expr, stype, error) {
	open := p.next()
	if err := p.enter(open); err != nil {
		return nil, 0, err
	}
	defer func() { p.depth-- }()
	var args []expr
	var types []stype
	if !p.isOp(p.peek(), ")") {
		for {
			a, at, err := p.parse()
			if err != nil {
				return nil, 0, err
			}
			args, types = append(args, a), append(types, at)
			sep := p.next()
			if p.isOp(sep, ",") {
				continue
			}
			if p.isOp(sep, ")") {
				break
			}
			return nil, 0, p.errAt(sep, "want \",\" or \")\" in the arguments of %s()", name.text)
		}
	} else {
		p.next()
	}
	fname := strings.ToLower(name.text)
	c := &callExpr{name: fname, args: args}
	switch fname {
	case "if":
		if len(args) != 3 {
			return nil, 0, p.errAt(name, "if() takes 3 arguments, got %d", len(args))
		}
		if types[0] != tBool && types[0] != tAny {
			return nil, 0, p.errAt(name, "the first argument of if() must be a boolean")
		}
		return c, joinType(types[1], types[2]), nil
	case "case":
		if len(args) == 0 || len(args)%2 != 0 {
			return nil, 0, p.errAt(name, "case() takes pairs of condition and value, got %d arguments", len(args))
		}
		rt := types[1]
		for i := 0; i < len(args); i += 2 {
			if types[i] != tBool && types[i] != tAny {
				return nil, 0, p.errAt(name, "argument %d of case() must be a boolean", i+1)
			}
			rt = joinType(rt, types[i+1])
		}
		return c, rt, nil
	case "match":
		if len(args) != 2 {
			return nil, 0, p.errAt(name, "match() takes 2 arguments, got %d", len(args))
		}
		if lit, ok := args[1].(litExpr); ok && lit.v.k == vStr {
			re, err := compileRegex(lit.v.s)
			if err != nil {
				return nil, 0, p.errAt(name, "match(): %v", err)
			}
			c.re = re
		}
		c.fn = func(a []value) (value, error) {
			if a[1].k == vNull {
				return null, nil
			}
			re, err := compileRegex(a[1].str())
			if err != nil {
				return null, err
			}
			return matchValues(a[0], re), nil
		}
		return c, tBool, nil
	}
	spec, ok := functions[fname]
	if !ok {
		return nil, 0, p.errAt(name, "unsupported eval function %s() (supported: %s)", name.text, functionNames())
	}
	if len(args) < spec.min || spec.max >= 0 && len(args) > spec.max {
		return nil, 0, p.errAt(name, "%s() takes %s arguments, got %d", fname, argRange(spec.min, spec.max), len(args))
	}
	if fname == "replace" {
		if lit, ok := args[1].(litExpr); ok && lit.v.k == vStr {
			if _, err := compileRegex(lit.v.s); err != nil {
				return nil, 0, p.errAt(name, "replace(): %v", err)
			}
		}
	}
	c.fn = spec.fn
	return c, spec.typ, nil
}

func joinType(a, b stype) stype {
	if a == b {
		return a
	}
	return tAny
}

func argRange(lo, hi int) string {
	switch {
	case hi < 0:
		return fmt.Sprintf("at least %d", lo)
	case lo == hi:
		return strconv.Itoa(lo)
	}
	return fmt.Sprintf("%d to %d", lo, hi)
}

// compileRegex compiles a PCRE pattern as Go's RE2. Patterns RE2 rejects (lookaround, backreferences,
// possessive quantifiers ...) are errors naming the difference, never rewritten.
func compileRegex(s string) (*regexp.Regexp, error) {
	re, err := regexp.Compile(s)
	if err != nil {
		return nil, fmt.Errorf("regular expression %q is not supported (Go RE2 syntax, which lacks PCRE's lookaround and backreferences): %v", s, err)
	}
	return re, nil
}

// parseWhere compiles "where <expression>": Search Reference, where: "The where command uses eval-expressions
// to filter search results ... keeps only the results for which the evaluation was successful (that is, the
// Boolean result was true)".
func parseWhere(src, name string, start, end int) (Command, error) {
	toks, lerr := lexExpr(src, start, end)
	if lerr != nil {
		lerr.Command = name
		return nil, lerr
	}
	p := &exprParser{src: src, cmd: name, toks: toks}
	if p.peek().kind == ekEOF {
		return nil, p.errAt(p.peek(), "where without an expression")
	}
	e, et, err := p.parse()
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind != ekEOF {
		return nil, p.errAt(t, "unexpected %q after the expression", t.text)
	}
	if et != tBool {
		return nil, p.errAt(toks[0], "the where expression is not a boolean (a comparison or a boolean function)")
	}
	return &whereCmd{e: e}, nil
}

type whereCmd struct{ e expr }

func (*whereCmd) Name() string { return "where" }

func (c *whereCmd) run(t *Table, _ *RunOptions) (*Table, error) {
	var rows []Row
	for _, r := range t.Rows {
		v, err := c.e.eval(r)
		if err != nil {
			return nil, err
		}
		if v.k == vBool && v.b {
			rows = append(rows, r)
		}
	}
	t.Rows = rows
	return t, nil
}

// parseEval compiles "eval f=expr [, g=expr]...": Search Reference, eval: each assignment is evaluated in order
// and sees the fields set before it; "Numbers and strings can be assigned to fields, while booleans cannot";
// a null result leaves the field null.
func parseEval(src, name string, start, end int) (Command, error) {
	toks, lerr := lexExpr(src, start, end)
	if lerr != nil {
		lerr.Command = name
		return nil, lerr
	}
	p := &exprParser{src: src, cmd: name, toks: toks}
	c := &evalCmd{}
	for {
		f := p.next()
		if f.kind != ekIdent && f.kind != ekQField {
			return nil, p.errAt(f, "want a field name to assign")
		}
		if eq := p.next(); !p.isOp(eq, "=") {
			return nil, p.errAt(eq, "want \"=\" after %q", f.text)
		}
		e, et, err := p.parse()
		if err != nil {
			return nil, err
		}
		if et == tBool {
			return nil, p.errAt(f, "eval cannot assign a boolean to %q (wrap it in if())", f.text)
		}
		c.assigns = append(c.assigns, assignment{field: f.text, e: e})
		t := p.next()
		if t.kind == ekEOF {
			return c, nil
		}
		if !p.isOp(t, ",") {
			return nil, p.errAt(t, "unexpected %q after the expression of %q", t.text, f.text)
		}
	}
}

type assignment struct {
	field string
	e     expr
}

type evalCmd struct{ assigns []assignment }

func (*evalCmd) Name() string { return "eval" }

func (c *evalCmd) run(t *Table, _ *RunOptions) (*Table, error) {
	for _, a := range c.assigns {
		t.addColumn(a.field)
		for _, r := range t.Rows {
			v, err := a.e.eval(r)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", a.field, err)
			}
			switch v.k {
			case vNull:
				delete(r, a.field)
			case vBool:
				return nil, fmt.Errorf("%s: cannot assign a boolean", a.field)
			case vMV:
				r[a.field] = append([]string(nil), v.mv...)
			default:
				r[a.field] = []string{v.str()}
			}
		}
	}
	return t, nil
}
