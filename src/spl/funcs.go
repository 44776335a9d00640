package spl

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// functions are the eval functions besides if, case and match (Search Reference, "Evaluation functions").
var functions = map[string]funcSpec{
	// isnull(X): "Returns TRUE if X is NULL"; isnotnull(X) the opposite.
	"isnull":    {1, 1, tBool, func(a []value) (value, error) { return boolV(a[0].k == vNull), nil }},
	"isnotnull": {1, 1, tBool, func(a []value) (value, error) { return boolV(a[0].k != vNull), nil }},
	// like(TEXT, PATTERN): SQL LIKE with % and _.
	"like": {2, 2, tBool, func(a []value) (value, error) { return likeValues(a[0], a[1]) }},
	// in(FIELD, VALUE...): TRUE when a value equals FIELD.
	"in": {2, -1, tBool, func(a []value) (value, error) {
		if a[0].k == vNull {
			return null, nil
		}
		for _, b := range a[1:] {
			if b.k != vNull && anyPair(a[0], b, func(x, y value) bool { return compare(x, y) == 0 }) {
				return boolV(true), nil
			}
		}
		return boolV(false), nil
	}},
	// lower(X), upper(X): case conversion; over a multivalue, each value.
	"lower": {1, 1, tStr, func(a []value) (value, error) { return mapStr(a[0], strings.ToLower), nil }},
	"upper": {1, 1, tStr, func(a []value) (value, error) { return mapStr(a[0], strings.ToUpper), nil }},
	// len(X): the number of characters (of each value of a multivalue).
	"len": {1, 1, tAny, func(a []value) (value, error) {
		if a[0].k == vMV {
			out := make([]string, len(a[0].mv))
			for i, v := range a[0].mv {
				out[i] = strconv.Itoa(utf8.RuneCountInString(v))
			}
			return value{k: vMV, mv: out}, nil
		}
		if a[0].k == vNull {
			return null, nil
		}
		return numV(float64(utf8.RuneCountInString(a[0].str()))), nil
	}},
	// trim(X[,Y]), ltrim, rtrim: remove the characters of Y (default space and tab) from the ends.
	"trim":  {1, 2, tStr, trimFn(strings.Trim)},
	"ltrim": {1, 2, tStr, trimFn(strings.TrimLeft)},
	"rtrim": {1, 2, tStr, trimFn(strings.TrimRight)},
	// substr(X, START[, LENGTH]): 1-based START, negative counting from the end.
	"substr": {2, 3, tStr, substrFn},
	// replace(X, REGEX, REPLACEMENT): every match replaced, \1..\9 referring to groups.
	"replace": {3, 3, tStr, replaceFn},
	// split(X, DELIM): a multivalue of the parts (of each value in turn, for a multivalue).
	"split": {2, 2, tAny, func(a []value) (value, error) {
		if a[0].k == vNull || a[1].k == vNull {
			return null, nil
		}
		d := a[1].str()
		if d == "" {
			return null, fmt.Errorf("split() with an empty delimiter is not supported")
		}
		var parts []string
		for _, v := range a[0].strs() {
			parts = append(parts, strings.Split(v, d)...)
			if len(parts) > maxValues {
				return null, fmt.Errorf("more than %d values", maxValues)
			}
		}
		return fieldV(parts), nil
	}},
	// mvcount(X): the number of values, NULL for NULL.
	"mvcount": {1, 1, tNum, func(a []value) (value, error) {
		switch a[0].k {
		case vNull:
			return null, nil
		case vMV:
			return numV(float64(len(a[0].mv))), nil
		}
		return numV(1), nil
	}},
	// mvindex(X, START[, END]): 0-based, negative from the end, END inclusive.
	"mvindex": {2, 3, tAny, mvindexFn},
	// mvjoin(X, DELIM): the values joined.
	"mvjoin": {2, 2, tStr, func(a []value) (value, error) {
		if a[0].k == vNull || a[1].k == vNull {
			return null, nil
		}
		return strV(strings.Join(a[0].strs(), a[1].str())), nil
	}},
	// coalesce(X, ...): the first argument that is not NULL.
	"coalesce": {1, -1, tAny, func(a []value) (value, error) {
		for _, v := range a {
			if v.k != vNull {
				return v, nil
			}
		}
		return null, nil
	}},
	// null(): NULL.
	"null": {0, 0, tAny, func([]value) (value, error) { return null, nil }},
	// tostring(X): X as a string (one argument only).
	"tostring": {1, 1, tStr, func(a []value) (value, error) {
		if a[0].k == vNull {
			return null, nil
		}
		return mapStr(a[0], func(s string) string { return s }), nil
	}},
	// tonumber(X): X as a number in base 10, NULL when it is not one.
	"tonumber": {1, 1, tNum, func(a []value) (value, error) {
		if n, ok := a[0].num(); ok {
			return numV(n), nil
		}
		return null, nil
	}},
	// isnum(X), isstr(X).
	"isnum": {1, 1, tBool, func(a []value) (value, error) { _, ok := a[0].num(); return boolV(ok), nil }},
	"isstr": {1, 1, tBool, func(a []value) (value, error) {
		_, isNum := a[0].num()
		return boolV((a[0].k == vStr || a[0].k == vMV) && !isNum), nil
	}},
	// abs(X), round(X[,Y]).
	"abs": {1, 1, tNum, func(a []value) (value, error) {
		if n, ok := a[0].num(); ok {
			return numV(math.Abs(n)), nil
		}
		return null, nil
	}},
}

func functionNames() string {
	names := []string{"if", "case", "match"}
	for n := range functions {
		names = append(names, n)
	}
	slices.Sort(names)
	return strings.Join(names, ", ")
}

func trimFn(f func(string, string) string) func([]value) (value, error) {
	return func(a []value) (value, error) {
		cut := " \t"
		if len(a) > 1 {
			if a[1].k == vNull {
				return null, nil
			}
			cut = a[1].str()
		}
		return mapStr(a[0], func(s string) string { return f(s, cut) }), nil
	}
}

func substrFn(a []value) (value, error) {
	if a[0].k == vNull {
		return null, nil
	}
	start, ok := a[1].num()
	if !ok {
		return null, nil
	}
	length := -1.0
	if len(a) > 2 {
		l, ok := a[2].num()
		if !ok {
			return null, nil
		}
		length = l
	}
	return mapStr(a[0], func(s string) string {
		r := []rune(s)
		st := int(start)
		switch {
		case st > 0:
			st--
		case st < 0:
			st = len(r) + st
			if st < 0 {
				st = 0
			}
		}
		if st > len(r) {
			return ""
		}
		end := len(r)
		if length >= 0 && st+int(length) < end {
			end = st + int(length)
		}
		return string(r[st:end])
	}), nil
}

func replaceFn(a []value) (value, error) {
	if a[0].k == vNull || a[1].k == vNull || a[2].k == vNull {
		return null, nil
	}
	re, err := compileRegex(a[1].str())
	if err != nil {
		return null, err
	}
	repl := convertBackrefs(a[2].str())
	return mapStr(a[0], func(s string) string { return re.ReplaceAllString(s, repl) }), nil
}

// convertBackrefs turns \1 .. \9 into ${1} .. ${9} and escapes '$' for regexp.Expand.
func convertBackrefs(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == '\\' && i+1 < len(s) && s[i+1] >= '0' && s[i+1] <= '9':
			b.WriteString("${" + string(s[i+1]) + "}")
			i++
		case s[i] == '$':
			b.WriteString("$$")
		default:
			b.WriteByte(s[i])
		}
	}
	return b.String()
}

func mvindexFn(a []value) (value, error) {
	if a[0].k == vNull {
		return null, nil
	}
	vs := a[0].strs()
	st, ok := a[1].num()
	if !ok {
		return null, nil
	}
	s := int(st)
	if s < 0 {
		s += len(vs)
	}
	e := s
	if len(a) > 2 {
		en, ok := a[2].num()
		if !ok {
			return null, nil
		}
		e = int(en)
		if e < 0 {
			e += len(vs)
		}
	}
	if s < 0 || s >= len(vs) || e < s {
		return null, nil
	}
	if e >= len(vs) {
		e = len(vs) - 1
	}
	return fieldV(append([]string(nil), vs[s:e+1]...)), nil
}
