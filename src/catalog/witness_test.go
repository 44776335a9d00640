package catalog

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode"

	"regasmdetect/src/engine"
	"regasmdetect/src/spl"
)

// This file is an independent reference for the tstats filter of every runnable detection: its own scanner
// and parser of the expanded search text (not the tstats package), its own evaluator over a record, and a
// witness generator that builds records the filter accepts and rejects. The engine must agree with it on
// every generated record.

// refNode is the reference AST: op is "cmp" (field, neg for !=, vals for = and IN), "not", "and", "or".
type refNode struct {
	op    string
	field string
	ne    bool
	vals  []string
	kids  []*refNode
}

type refTok struct {
	s      string
	quoted bool
}

// refLex scans the where clause: quoted strings (\" and \\ escapes), parentheses, commas, = and != as
// separate tokens, everything else as words.
func refLex(s string) ([]refTok, error) {
	var out []refTok
	rs := []rune(s)
	for i := 0; i < len(rs); {
		r := rs[i]
		switch {
		case unicode.IsSpace(r):
			i++
		case r == '(' || r == ')' || r == ',' || r == '=':
			out = append(out, refTok{s: string(r)})
			i++
		case r == '!' && i+1 < len(rs) && rs[i+1] == '=':
			out = append(out, refTok{s: "!="})
			i += 2
		case r == '"':
			var b strings.Builder
			j := i + 1
			for ; j < len(rs) && rs[j] != '"'; j++ {
				if rs[j] == '\\' && j+1 < len(rs) && (rs[j+1] == '"' || rs[j+1] == '\\') {
					j++
				}
				b.WriteRune(rs[j])
			}
			if j >= len(rs) {
				return nil, fmt.Errorf("unterminated quote")
			}
			out = append(out, refTok{s: b.String(), quoted: true})
			i = j + 1
		default:
			// Unquoted words: a backslash escapes a backslash or a quote (Search Manual, "Search command
			// primer": a file path D:\Digital\RTFM is written D:\\Digital\\RTFM).
			var b strings.Builder
			j := i
			for j < len(rs) && !unicode.IsSpace(rs[j]) && !strings.ContainsRune("()=,\"", rs[j]) && !(rs[j] == '!' && j+1 < len(rs) && rs[j+1] == '=') {
				if rs[j] == '\\' && j+1 < len(rs) && (rs[j+1] == '\\' || rs[j+1] == '"') {
					j++
				}
				b.WriteRune(rs[j])
				j++
			}
			out = append(out, refTok{s: b.String()})
			i = j
		}
	}
	return out, nil
}

// whereClause cuts the where clause out of an expanded "| tstats ... where ... by ... | ..." search.
func whereClause(search string) string {
	low := strings.ToLower(search)
	from := strings.Index(low, "datamodel=")
	depth, inq := 0, false
	start := -1
	for i := from; i < len(search); i++ {
		c := search[i]
		switch {
		case inq && c == '\\':
			i++
		case c == '"':
			inq = !inq
		case inq:
		case c == '(':
			depth++
		case c == ')':
			depth--
		case depth == 0 && c == '|':
			if start < 0 {
				return ""
			}
			return search[start:i]
		case depth == 0 && (c == ' ' || c == '\n'):
			rest := low[i+1:]
			if start < 0 && strings.HasPrefix(rest, "where ") {
				start = i + 7
			} else if start >= 0 && strings.HasPrefix(rest, "by ") {
				return search[start:i]
			}
		}
	}
	if start < 0 {
		return ""
	}
	return search[start:]
}

// refParse builds the AST in two passes: first the flat sequence of terms and connectives, each
// parenthesised group parsed recursively; then the sequence is cut at AND (written or implied) and each part
// at OR, since the search language binds OR tighter than AND.
func refParse(toks []refTok) (*refNode, []refTok, error) {
	type item struct {
		n  *refNode
		or bool // an OR connective
	}
	var seq []item
	for len(toks) > 0 {
		t := toks[0]
		if !t.quoted && t.s == ")" {
			break
		}
		if !t.quoted && (t.s == "AND") {
			toks = toks[1:]
			continue
		}
		if !t.quoted && t.s == "OR" {
			seq = append(seq, item{or: true})
			toks = toks[1:]
			continue
		}
		n, rest, err := refTerm(toks)
		if err != nil {
			return nil, nil, err
		}
		seq = append(seq, item{n: n})
		toks = rest
	}
	var ands []*refNode
	var ors []*refNode
	pendingOr := false
	for _, it := range seq {
		if it.or {
			pendingOr = true
			continue
		}
		if !pendingOr && len(ors) > 0 {
			ands = append(ands, group("or", ors))
			ors = nil
		}
		ors = append(ors, it.n)
		pendingOr = false
	}
	if len(ors) > 0 {
		ands = append(ands, group("or", ors))
	}
	if len(ands) == 0 {
		return nil, nil, fmt.Errorf("empty expression")
	}
	return group("and", ands), toks, nil
}

func group(op string, kids []*refNode) *refNode {
	if len(kids) == 1 {
		return kids[0]
	}
	return &refNode{op: op, kids: kids}
}

func refTerm(toks []refTok) (*refNode, []refTok, error) {
	t := toks[0]
	if !t.quoted && t.s == "NOT" {
		n, rest, err := refTerm(toks[1:])
		if err != nil {
			return nil, nil, err
		}
		return &refNode{op: "not", kids: []*refNode{n}}, rest, nil
	}
	if !t.quoted && t.s == "(" {
		n, rest, err := refParse(toks[1:])
		if err != nil {
			return nil, nil, err
		}
		if len(rest) == 0 || rest[0].s != ")" {
			return nil, nil, fmt.Errorf("unbalanced")
		}
		return n, rest[1:], nil
	}
	if len(toks) >= 3 && (toks[1].s == "=" || toks[1].s == "!=") && !toks[1].quoted {
		return &refNode{op: "cmp", field: strings.TrimPrefix(t.s, "Processes."), ne: toks[1].s == "!=", vals: []string{toks[2].s}}, toks[3:], nil
	}
	if len(toks) >= 3 && toks[1].s == "IN" && toks[2].s == "(" {
		n := &refNode{op: "cmp", field: strings.TrimPrefix(t.s, "Processes.")}
		rest := toks[3:]
		for len(rest) > 0 && rest[0].s != ")" {
			if rest[0].s != "," || rest[0].quoted {
				n.vals = append(n.vals, rest[0].s)
			}
			rest = rest[1:]
		}
		if len(rest) == 0 {
			return nil, nil, fmt.Errorf("unterminated IN")
		}
		return n, rest[1:], nil
	}
	return nil, nil, fmt.Errorf("unexpected %q", t.s)
}

var refCache = map[string]*regexp.Regexp{}

func refMatch(pat, v string) bool {
	re, ok := refCache[pat]
	if !ok {
		parts := strings.Split(pat, "*")
		for i := range parts {
			parts[i] = regexp.QuoteMeta(parts[i])
		}
		re = regexp.MustCompile("(?is)^" + strings.Join(parts, ".*") + "$")
		refCache[pat] = re
	}
	return re.MatchString(v)
}

type record map[string][]string

// refEval evaluates the filter: = and IN hold when some value matches some pattern; != when some value does
// not match; NOT negates; empty values are nulls.
func refEval(n *refNode, r record) bool {
	switch n.op {
	case "not":
		return !refEval(n.kids[0], r)
	case "and":
		for _, k := range n.kids {
			if !refEval(k, r) {
				return false
			}
		}
		return true
	case "or":
		for _, k := range n.kids {
			if refEval(k, r) {
				return true
			}
		}
		return false
	}
	for _, v := range r[n.field] {
		if v == "" {
			continue
		}
		for _, p := range n.vals {
			if refMatch(p, v) != n.ne {
				return true
			}
		}
	}
	return false
}

// instantiate turns a pattern into a value it matches: each '*' becomes nothing.
func instantiate(p string) string { return strings.ReplaceAll(p, "*", "") }

// positives returns candidate records satisfying n, extending base; OR branches multiply the candidates
// (bounded).
func positives(n *refNode, base record, limit int) []record {
	switch n.op {
	case "and":
		cands := []record{base}
		for _, k := range n.kids {
			var next []record
			for _, c := range cands {
				next = append(next, positives(k, c, limit)...)
				if len(next) >= limit {
					break
				}
			}
			cands = next
		}
		return cands
	case "or":
		var out []record
		for _, k := range n.kids {
			out = append(out, positives(k, base, limit)...)
			if len(out) >= limit {
				break
			}
		}
		return out
	case "not":
		return negatives(n.kids[0], base, limit)
	}
	var out []record
	for _, p := range n.vals {
		c := clone(base)
		v := instantiate(p)
		if n.ne {
			v = "zz_differs"
		}
		if old := c[n.field]; len(old) > 0 {
			// Merge with an earlier constraint on the field: both orders of concatenation.
			c2 := clone(base)
			c2[n.field] = []string{v + old[0]}
			c[n.field] = []string{old[0] + v}
			out = append(out, c, c2)
		} else {
			c[n.field] = []string{v}
			out = append(out, c)
		}
		if len(out) >= limit {
			break
		}
	}
	return out
}

// negatives returns candidate records on which n is false, extending base.
func negatives(n *refNode, base record, limit int) []record {
	switch n.op {
	case "and":
		var out []record
		for _, k := range n.kids {
			out = append(out, negatives(k, base, limit)...)
			if len(out) >= limit {
				break
			}
		}
		return out
	case "or":
		cands := []record{base}
		for _, k := range n.kids {
			var next []record
			for _, c := range cands {
				next = append(next, negatives(k, c, limit)...)
			}
			cands = next
		}
		return cands
	case "not":
		return positives(n.kids[0], base, limit)
	}
	c := clone(base)
	if _, ok := c[n.field]; !ok {
		return []record{c} // a missing field fails = , != and IN
	}
	if !refEval(n, c) {
		return []record{c} // the value set by an earlier constraint already fails this one
	}
	c[n.field] = []string{"zz_unrelated_value"}
	return []record{c}
}

func clone(r record) record {
	out := record{}
	for k, v := range r {
		out[k] = slices.Clone(v)
	}
	return out
}

// variants are records around a witness: each field removed, replaced, upper-cased, or given a second value.
func variants(r record) []record {
	var out []record
	for f, vs := range r {
		a := clone(r)
		delete(a, f)
		b := clone(r)
		b[f] = []string{"zz_other"}
		c := clone(r)
		c[f] = []string{strings.ToUpper(vs[0])}
		d := clone(r)
		d[f] = append(slices.Clone(vs), "zz_second")
		e := clone(r)
		e[f] = []string{"zz_first", vs[0]}
		out = append(out, a, b, c, d, e)
	}
	return out
}

func engineRecord(det *engine.Detection, r record) *engine.Record {
	rec := det.NewRecord()
	for i, f := range det.Fields() {
		for _, v := range r[f] {
			rec.Add(i, []byte(v))
		}
	}
	rec.SetTime([]byte("1700000000"))
	return rec
}

// fill gives every slot without a value a filler value (so by-fields are present).
func fill(det *engine.Detection, r record) record {
	c := clone(r)
	for _, f := range det.Fields() {
		if _, ok := c[f]; !ok {
			c[f] = []string{"w_" + f}
		}
	}
	return c
}

// TestWitnesses checks every runnable detection against the reference: a positive and a negative record, and
// the variants around them, must get the reference's verdict from the engine; the positive record must yield
// a row of the whole search unless a command after tstats filters it.
func TestWitnesses(t *testing.T) {
	cat := sharedCatalog(t)
	var covered, pipeline, filtered, noWhere int
	var failures []string
	for _, e := range cat.Runnable() {
		det := e.Compiled
		wc := whereClause(e.Search)
		if strings.TrimSpace(wc) == "" {
			// No filter: every record with all by-fields makes a row; one without a by-field makes none
			// (tstats leaves out records with a null by-field).
			pos := fill(det, record{})
			neg := clone(pos)
			delete(neg, det.ByFields()[0])
			agg := det.NewAggregator(engine.Options{})
			agg.Add(engineRecord(det, neg))
			if len(agg.Rows()) != 0 {
				t.Errorf("%s: a record without the by-field %s made a row", e.Stem, det.ByFields()[0])
			}
			agg.Add(engineRecord(det, pos))
			if len(agg.Rows()) != 1 {
				t.Errorf("%s: a record with every by-field made %d rows", e.Stem, len(agg.Rows()))
			}
			noWhere++
			continue
		}
		toks, err := refLex(wc)
		if err != nil {
			t.Errorf("%s: reference lexer: %v", e.Stem, err)
			continue
		}
		ast, rest, err := refParse(toks)
		if err != nil || len(rest) > 0 {
			t.Errorf("%s: reference parser: %v (rest %v) on %q", e.Stem, err, rest, wc)
			continue
		}
		var pos, neg record
		for _, c := range positives(ast, record{}, 64) {
			c = fill(det, c)
			if refEval(ast, c) {
				pos = c
				break
			}
		}
		for _, c := range append([]record{{}}, negatives(ast, record{}, 64)...) {
			c = fill(det, c)
			if !refEval(ast, c) {
				neg = c
				break
			}
		}
		if neg == nil && pos != nil {
			for _, v := range variants(pos) {
				if !refEval(ast, v) {
					neg = v
					break
				}
			}
		}
		if pos == nil || neg == nil {
			failures = append(failures, fmt.Sprintf("%s: no witness (positive %v, negative %v)", e.Stem, pos != nil, neg != nil))
			continue
		}
		ok := true
		for _, r := range append([]record{pos, neg}, append(variants(pos), variants(neg)...)...) {
			want := refEval(ast, r)
			if got := det.Match(engineRecord(det, r)); got != want {
				t.Errorf("%s: engine %v, reference %v on %v\nwhere %s", e.Stem, got, want, r, wc)
				ok = false
				break
			}
		}
		if !ok {
			continue
		}
		agg := det.NewAggregator(engine.Options{})
		agg.Add(engineRecord(det, pos))
		agg.Add(engineRecord(det, neg))
		rows := agg.Rows()
		if len(rows) != 1 {
			t.Errorf("%s: %d tstats rows from one positive and one negative record, want 1", e.Stem, len(rows))
			continue
		}
		res, err := det.Results(rows, spl.RunOptions{})
		if err != nil {
			t.Errorf("%s: the pipeline fails: %v", e.Stem, err)
			continue
		}
		switch {
		case det.Pipeline() != nil && det.Pipeline().Filters():
			filtered++
		case len(res.Rows) != 1:
			t.Errorf("%s: %d result rows, want 1 (columns %q)", e.Stem, len(res.Rows), res.Columns)
			continue
		default:
			pipeline++
		}
		covered++
	}
	for _, f := range failures {
		t.Log(f)
	}
	t.Logf("runnable %d: %d with reference-checked positive and negative records (%d end to end through the whole search, %d whose pipeline filters further), %d without a where clause (checked on the null by-field rule), %d without a witness",
		len(cat.Runnable()), covered, pipeline, filtered, noWhere, len(failures))
	if covered+noWhere < 421 {
		t.Errorf("only %d detections covered by witnesses", covered)
	}
}
