package spl

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
)

// The eval expression language of where and eval (Search Reference, "Evaluation functions" and eval,
// "Operators"; Search Manual, "Boolean expressions with logical operators": "The eval and where commands
// evaluate AND before OR operators", after parentheses and NOT, XOR last).
//
// Values are null, booleans, numbers, strings and multivalues. A field of the row is a string (a multivalue
// when it has several values, null when absent); a string that parses as a number compares and computes as a
// number. Decisions where the documentation is silent (docs/escu.md): logic is three-valued (a comparison with
// null is null, NOT null is null, AND/OR as in SQL, where keeps only true); a predicate (comparison, match,
// like) over a multivalue holds when it holds for any value; string functions and '.' map over the values.

type vkind uint8

const (
	vNull vkind = iota
	vBool
	vNum
	vStr
	vMV
)

type value struct {
	k  vkind
	b  bool
	n  float64
	s  string
	mv []string
}

var null = value{}

// maxValues bounds the values an expression may produce (a product of multivalues), so that no search can
// exhaust memory.
const maxValues = 1 << 16

func boolV(b bool) value   { return value{k: vBool, b: b} }
func numV(n float64) value { return value{k: vNum, n: n} }
func strV(s string) value  { return value{k: vStr, s: s} }
func fieldV(vs []string) value {
	switch len(vs) {
	case 0:
		return null
	case 1:
		return strV(vs[0])
	}
	return value{k: vMV, mv: vs}
}

// strings returns the value as strings: none for null, the values of a multivalue.
func (v value) strs() []string {
	switch v.k {
	case vNull:
		return nil
	case vMV:
		return v.mv
	}
	return []string{v.str()}
}

func (v value) str() string {
	switch v.k {
	case vBool:
		if v.b {
			return "true"
		}
		return "false"
	case vNum:
		return formatNum(v.n)
	case vStr:
		return v.s
	case vMV:
		if len(v.mv) > 0 {
			return v.mv[0]
		}
	}
	return ""
}

func formatNum(n float64) string {
	if n == math.Trunc(n) && math.Abs(n) < 1e15 {
		return strconv.FormatInt(int64(n), 10)
	}
	return strconv.FormatFloat(n, 'f', -1, 64)
}

// num returns the value as a number when it is one or a string that parses as one.
func (v value) num() (float64, bool) {
	switch v.k {
	case vNum:
		return v.n, true
	case vStr:
		return parseNum(v.s)
	}
	return 0, false
}

func parseNum(s string) (float64, bool) {
	t := strings.TrimSpace(s)
	if t == "" {
		return 0, false
	}
	for i := 0; i < len(t); i++ {
		c := t[i]
		if !(c >= '0' && c <= '9' || c == '.' || c == '-' || c == '+' || c == 'e' || c == 'E') {
			return 0, false
		}
	}
	f, err := strconv.ParseFloat(t, 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return 0, false
	}
	return f, true
}

// truth is the three-valued truth of a condition: 1 true, 0 false, -1 null. Only booleans are conditions;
// other values are an error, as Splunk's "Type checking error" for a non-boolean condition.
func truth(v value) (int, error) {
	switch v.k {
	case vNull:
		return -1, nil
	case vBool:
		if v.b {
			return 1, nil
		}
		return 0, nil
	}
	return 0, fmt.Errorf("a condition must be a boolean, got %q", v.str())
}

// expr is a compiled expression.
type expr interface {
	eval(r Row) (value, error)
}

type litExpr struct{ v value }
type fieldExpr struct{ name string }
type notExpr struct{ x expr }
type logicExpr struct {
	op   string // "AND", "OR", "XOR"
	l, r expr
}
type cmpExpr struct {
	op   string // "=", "!=", "<", "<=", ">", ">="
	l, r expr
}
type arithExpr struct {
	op   byte // + - * / % .
	l, r expr
}
type negExpr struct{ x expr }
type likeExpr struct{ l, r expr }
type inExpr struct {
	x    expr
	list []expr
}
type callExpr struct {
	name string
	args []expr
	fn   func(args []value) (value, error)
	re   *regexp.Regexp // a literal regular expression argument, compiled once
}

func (e litExpr) eval(Row) (value, error)     { return e.v, nil }
func (e fieldExpr) eval(r Row) (value, error) { return fieldV(r[e.name]), nil }

// evalTruth evaluates x and gives its truth value as truth does.
func evalTruth(x expr, r Row) (int, error) {
	v, err := x.eval(r)
	if err != nil {
		return 0, err
	}
	return truth(v)
}

func (e notExpr) eval(r Row) (value, error) {
	t, err := evalTruth(e.x, r)
	if err != nil {
		return null, err
	}
	if t < 0 {
		return null, nil
	}
	return boolV(t == 0), nil
}

func (e logicExpr) eval(r Row) (value, error) {
	a, err := evalTruth(e.l, r)
	if err != nil {
		return null, err
	}
	b, err := evalTruth(e.r, r)
	if err != nil {
		return null, err
	}
	switch e.op {
	case "AND":
		if a == 0 || b == 0 {
			return boolV(false), nil
		}
		if a < 0 || b < 0 {
			return null, nil
		}
		return boolV(true), nil
	case "OR":
		if a == 1 || b == 1 {
			return boolV(true), nil
		}
		if a < 0 || b < 0 {
			return null, nil
		}
		return boolV(false), nil
	}
	if a < 0 || b < 0 {
		return null, nil
	}
	return boolV((a == 1) != (b == 1)), nil
}

// compare compares two single values: numerically when both are numbers, else as strings (byte order).
func compare(a, b value) int {
	if x, ok := a.num(); ok {
		if y, ok := b.num(); ok {
			return compareFloat(x, y)
		}
	}
	return strings.Compare(a.str(), b.str())
}

// compareFloat orders two numbers; a NaN compares equal to anything.
func compareFloat(x, y float64) int {
	switch {
	case x < y:
		return -1
	case x > y:
		return 1
	}
	return 0
}

func cmpHolds(op string, c int) bool {
	switch op {
	case "=":
		return c == 0
	case "!=":
		return c != 0
	case "<":
		return c < 0
	case "<=":
		return c <= 0
	case ">":
		return c > 0
	}
	return c >= 0
}

// anyPair reports whether pred holds for any pair of values of a and b (a multivalue is its values).
func anyPair(a, b value, pred func(x, y value) bool) bool {
	as, bs := []value{a}, []value{b}
	if a.k == vMV {
		as = as[:0]
		for _, s := range a.mv {
			as = append(as, strV(s))
		}
	}
	if b.k == vMV {
		bs = bs[:0]
		for _, s := range b.mv {
			bs = append(bs, strV(s))
		}
	}
	for _, x := range as {
		for _, y := range bs {
			if pred(x, y) {
				return true
			}
		}
	}
	return false
}

// evalOperands evaluates a binary operator's operands, left first. ok is false on an error or when either is
// null, which makes the operator's result null.
func evalOperands(l, r expr, row Row) (a, b value, ok bool, err error) {
	if a, err = l.eval(row); err != nil {
		return null, null, false, err
	}
	if b, err = r.eval(row); err != nil {
		return null, null, false, err
	}
	return a, b, a.k != vNull && b.k != vNull, nil
}

func (e cmpExpr) eval(r Row) (value, error) {
	a, b, ok, err := evalOperands(e.l, e.r, r)
	if !ok {
		return null, err
	}
	if a.k == vBool || b.k == vBool {
		if a.k != b.k || (e.op != "=" && e.op != "!=") {
			return null, fmt.Errorf("cannot compare a boolean with %q using %s", e.op, e.op)
		}
		return boolV((a.b == b.b) == (e.op == "=")), nil
	}
	return boolV(anyPair(a, b, func(x, y value) bool { return cmpHolds(e.op, compare(x, y)) })), nil
}

func (e arithExpr) eval(r Row) (value, error) {
	a, b, ok, err := evalOperands(e.l, e.r, r)
	if !ok {
		return null, err
	}
	if e.op == '.' {
		if a.k != vMV && b.k != vMV {
			return strV(a.str() + b.str()), nil
		}
		as, bs := a.strs(), b.strs()
		if len(as)*len(bs) > maxValues {
			return null, fmt.Errorf("concatenating multivalues of %d and %d values: more than %d values", len(as), len(bs), maxValues)
		}
		var out []string
		for _, x := range as {
			for _, y := range bs {
				out = append(out, x+y)
			}
		}
		return fieldV(out), nil
	}
	if a.k == vMV || b.k == vMV {
		return null, nil // arithmetic on a multivalue: null (our decision, docs/escu.md)
	}
	x, okx := a.num()
	y, oky := b.num()
	if !okx || !oky {
		if e.op == '+' && a.k != vBool && b.k != vBool {
			return strV(a.str() + b.str()), nil
		}
		return null, nil
	}
	switch e.op {
	case '+':
		return numV(x + y), nil
	case '-':
		return numV(x - y), nil
	case '*':
		return numV(x * y), nil
	case '/':
		if y == 0 {
			return null, nil
		}
		return numV(x / y), nil
	}
	if y == 0 {
		return null, nil
	}
	return numV(math.Mod(x, y)), nil
}

func (e negExpr) eval(r Row) (value, error) {
	v, err := e.x.eval(r)
	if err != nil {
		return null, err
	}
	if n, ok := v.num(); ok {
		return numV(-n), nil
	}
	return null, nil
}

func (e likeExpr) eval(r Row) (value, error) {
	a, err := e.l.eval(r)
	if err != nil {
		return null, err
	}
	p, err := e.r.eval(r)
	if err != nil {
		return null, err
	}
	return likeValues(a, p)
}

func likeValues(a, p value) (value, error) {
	if a.k == vNull || p.k == vNull {
		return null, nil
	}
	re, err := likeRegexp(p.str())
	if err != nil {
		return null, err
	}
	for _, s := range a.strs() {
		if re.MatchString(s) {
			return boolV(true), nil
		}
	}
	return boolV(false), nil
}

// likeRegexp translates a LIKE pattern: "%" any run of characters, "_" one character, everything else
// literal and case-sensitive (eval "LIKE ... Accepts the percent ( % ) as a wildcard ... the underscore ( _ )
// character for a single character match"; no escape character is documented, so a backslash is literal).
func likeRegexp(p string) (*regexp.Regexp, error) {
	var b strings.Builder
	b.WriteString("(?s)^")
	for _, c := range p {
		switch c {
		case '%':
			b.WriteString(".*")
		case '_':
			b.WriteString(".")
		default:
			b.WriteString(regexp.QuoteMeta(string(c)))
		}
	}
	b.WriteString("$")
	return regexp.Compile(b.String())
}

func (e inExpr) eval(r Row) (value, error) {
	a, err := e.x.eval(r)
	if err != nil {
		return null, err
	}
	if a.k == vNull {
		return null, nil
	}
	for _, l := range e.list {
		b, err := l.eval(r)
		if err != nil {
			return null, err
		}
		if b.k == vNull {
			continue
		}
		if anyPair(a, b, func(x, y value) bool { return compare(x, y) == 0 }) {
			return boolV(true), nil
		}
	}
	return boolV(false), nil
}

func (e *callExpr) eval(r Row) (value, error) {
	// if and case evaluate lazily.
	switch e.name {
	case "if":
		c, err := e.args[0].eval(r)
		if err != nil {
			return null, err
		}
		t, err := truth(c)
		if err != nil {
			return null, fmt.Errorf("if: %w", err)
		}
		if t == 1 {
			return e.args[1].eval(r)
		}
		return e.args[2].eval(r)
	case "case":
		for i := 0; i+1 < len(e.args); i += 2 {
			c, err := e.args[i].eval(r)
			if err != nil {
				return null, err
			}
			t, err := truth(c)
			if err != nil {
				return null, fmt.Errorf("case: %w", err)
			}
			if t == 1 {
				return e.args[i+1].eval(r)
			}
		}
		return null, nil
	}
	args := make([]value, len(e.args))
	for i, a := range e.args {
		v, err := a.eval(r)
		if err != nil {
			return null, err
		}
		args[i] = v
	}
	if e.re != nil {
		return matchValues(args[0], e.re), nil
	}
	v, err := e.fn(args)
	if err != nil {
		return null, fmt.Errorf("%s: %w", e.name, err)
	}
	return v, nil
}

func matchValues(a value, re *regexp.Regexp) value {
	if a.k == vNull {
		return null
	}
	for _, s := range a.strs() {
		if re.MatchString(s) {
			return boolV(true)
		}
	}
	return boolV(false)
}

// mapStr applies f to each value of a string or multivalue (null stays null).
func mapStr(v value, f func(string) string) value {
	switch v.k {
	case vNull:
		return null
	case vMV:
		out := make([]string, len(v.mv))
		for i, s := range v.mv {
			out[i] = f(s)
		}
		return value{k: vMV, mv: out}
	}
	return strV(f(v.str()))
}
