package spl

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// --- regex --------------------------------------------------------------------------------------------

// regexCmd is "regex field=\"re\"" or "regex field!=\"re\"": Search Reference, regex: "Removes results that
// match or do not match the specified regular expression"; "<field>=<regex> keeps results that match,
// <field>!=<regex> removes them". The expression is PCRE in Splunk; it is compiled as Go RE2 and refused when
// RE2 does not accept it. A multivalue field matches when any value does; a result without the field does not
// match (so "!=" keeps it). Without a field the command reads _raw, which results after tstats lack: refused.
type regexCmd struct {
	field  string
	negate bool
	re     *regexp.Regexp
}

func (*regexCmd) Name() string { return "regex" }

func (p *cmdParser) regex() (Command, error) {
	f := p.next()
	if f.kind != tkWord || f.quoted {
		return nil, p.errAt(f, "want field=\"regex\" (results after tstats have no _raw)")
	}
	op := p.next()
	if op.kind != tkEq && op.kind != tkNe {
		return nil, p.errAt(op, "want = or != after %q", f.text)
	}
	v := p.next()
	if v.kind != tkWord || v.text == "" {
		return nil, p.errAt(v, "missing regular expression")
	}
	if t := p.peek(); t.kind != tkEOF {
		return nil, p.errAt(t, "unexpected %q after the regular expression", t.text)
	}
	re, err := compileRegex(v.text)
	if err != nil {
		return nil, p.errAt(v, "%v", err)
	}
	return &regexCmd{field: f.text, negate: op.kind == tkNe, re: re}, nil
}

func (c *regexCmd) run(t *Table, _ *RunOptions) (*Table, error) {
	var rows []Row
	for _, r := range t.Rows {
		m := false
		for _, v := range r[c.field] {
			if c.re.MatchString(v) {
				m = true
				break
			}
		}
		if m != c.negate {
			rows = append(rows, r)
		}
	}
	t.Rows = rows
	return t, nil
}

// --- rex ----------------------------------------------------------------------------------------------

// rexCmd is "rex field=f [max_match=N] \"re with (?<name>...) groups\"": Search Reference, rex: "Use this
// command to ... extract fields using regular expression named groups"; "max_match ... Controls the number of
// times the regex is matched. If greater than 1, the resulting fields are multivalued fields. Default: 1, use 0
// to mean unlimited." A named group that does not take part in a match sets nothing; a result where the
// expression does not match keeps its fields. Over a multivalue field the values are searched in order.
// mode=sed, offset_field and the default field _raw are refused.
type rexCmd struct {
	field    string
	maxMatch int
	re       *regexp.Regexp
	names    []string
}

func (*rexCmd) Name() string { return "rex" }

func (p *cmdParser) rex() (Command, error) {
	c := &rexCmd{maxMatch: 1}
	var pattern *token
	for {
		t := p.next()
		if t.kind == tkEOF {
			break
		}
		if t.kind == tkWord && !t.quoted && p.peek().kind == tkEq {
			p.next()
			v := p.next()
			if v.kind != tkWord {
				return nil, p.errAt(v, "missing value of %s", t.text)
			}
			switch strings.ToLower(t.text) {
			case "field":
				c.field = v.text
			case "max_match":
				n, err := strconv.Atoi(v.text)
				if err != nil || n < 0 {
					return nil, p.errAt(v, "max_match %q is not a count", v.text)
				}
				c.maxMatch = n
			default:
				return nil, p.errAt(t, "unsupported rex option %q (field, max_match)", t.text)
			}
			continue
		}
		if t.kind == tkWord && t.quoted && pattern == nil {
			tt := t
			pattern = &tt
			continue
		}
		return nil, p.errAt(t, "unexpected %q in rex", t.text)
	}
	if pattern == nil {
		return nil, p.errAt(p.peek(), "rex without a quoted regular expression")
	}
	if c.field == "" {
		return nil, p.errAt(*pattern, "rex without field= reads _raw, which results after tstats lack")
	}
	re, err := compileRegex(pattern.text)
	if err != nil {
		return nil, p.errAt(*pattern, "%v", err)
	}
	for _, n := range re.SubexpNames() {
		if n != "" {
			c.names = append(c.names, n)
		}
	}
	if len(c.names) == 0 {
		return nil, p.errAt(*pattern, "rex expression without a named group (?<name>...)")
	}
	c.re = re
	return c, nil
}

func (c *rexCmd) run(t *Table, _ *RunOptions) (*Table, error) {
	for _, n := range c.names {
		t.addColumn(n)
	}
	for _, r := range t.Rows {
		got := map[string][]string{}
		matches := 0
		for _, v := range r[c.field] {
			limit := -1
			if c.maxMatch > 0 {
				limit = c.maxMatch - matches
				if limit <= 0 {
					break
				}
			}
			for _, m := range c.re.FindAllStringSubmatchIndex(v, limit) {
				matches++
				for gi, n := range c.re.SubexpNames() {
					if n == "" || m[2*gi] < 0 {
						continue
					}
					if s := v[m[2*gi]:m[2*gi+1]]; s != "" {
						got[n] = append(got[n], s)
					}
				}
			}
		}
		for n, vs := range got {
			r[n] = vs
		}
	}
	return t, nil
}

// --- lookup -------------------------------------------------------------------------------------------

// lookupCmd is "lookup NAME f [AS g] ... [OUTPUT|OUTPUTNEW h [AS k], ...]" on a CSV lookup: Search Reference,
// lookup: "If an OUTPUT or OUTPUTNEW clause is not specified, all of the fields in the lookup table that are
// not the match fields are used as output fields. If the OUTPUT clause is specified, the output lookup fields
// overwrite existing fields. If the OUTPUTNEW clause is specified, the lookup is not performed for events in
// which the output fields already exist." A lookup row matches when every input field of the result (any of
// its values) equals the row's cell, case-sensitively unless case_sensitive_match is false, the cell being a
// '*' pattern for WILDCARD(field) match types; at most max_matches rows count, in file order, their output
// cells becoming the values of the output fields. With fewer than min_matches matches, default_match is used.
// A result with no match gets no output values: OUTPUT leaves the output fields null.
type lookupCmd struct {
	t       *LookupTable
	inputs  []fieldPair // lookup column, result field
	outputs []fieldPair // lookup column, result field
	outNew  bool
	inCol   []int
	outCol  []int
	pats    [][]*globPattern // per lookup row, per input: a wildcard, nil when exact
}

type fieldPair struct{ col, field string }

func (*lookupCmd) Name() string { return "lookup" }

func (p *cmdParser) lookup() (Command, error) {
	n := p.next()
	// local= and update= change where and when Splunk reads the table, not what a lookup returns (Search
	// Reference, lookup: "local ... If true, forces the lookup to run on the search head"; "update ... If the
	// lookup table is modified on disk while the search is running, real-time searches do not automatically
	// reflect the update"): accepted, checked as booleans, without effect.
	for n.kind == tkWord && !n.quoted && p.peek().kind == tkEq {
		opt := strings.ToLower(n.text)
		if opt != "local" && opt != "update" {
			return nil, p.errAt(n, "unsupported lookup option %q (local and update only)", n.text)
		}
		p.next()
		v := p.next()
		if _, err := strconv.ParseBool(strings.ToLower(v.text)); v.kind != tkWord || err != nil {
			return nil, p.errAt(v, "lookup option %s: %q is not a boolean", n.text, v.text)
		}
		n = p.next()
	}
	if n.kind != tkWord || n.text == "" {
		return nil, p.errAt(n, "want a lookup name")
	}
	if p.lk == nil {
		return nil, p.errAt(n, "lookup %q: no lookup tables available", n.text)
	}
	tbl, err := p.lk.LookupTable(n.text)
	if err != nil {
		return nil, p.errAt(n, "%v", err)
	}
	c := &lookupCmd{t: tbl}
	cols := map[string]int{}
	for i, h := range tbl.Header {
		cols[h] = i
	}
	readPairs := func(out bool) ([]fieldPair, error) {
		var ps []fieldPair
		for {
			t := p.peek()
			if t.kind == tkEOF || !out && (p.isWord(t, "OUTPUT") || p.isWord(t, "OUTPUTNEW")) {
				return ps, nil
			}
			p.next()
			if t.kind == tkComma {
				continue
			}
			if t.kind != tkWord || t.text == "" {
				return nil, p.errAt(t, "want a field name")
			}
			if _, ok := cols[t.text]; !ok {
				return nil, p.errAt(t, "lookup %q has no field %q (fields: %s)", tbl.Name, t.text, strings.Join(tbl.Header, ", "))
			}
			fp := fieldPair{col: t.text, field: t.text}
			if p.isWord(p.peek(), "as") {
				p.next()
				a := p.next()
				if a.kind != tkWord || a.text == "" {
					return nil, p.errAt(a, "want a field name after AS")
				}
				fp.field = a.text
			}
			ps = append(ps, fp)
		}
	}
	if c.inputs, err = readPairs(false); err != nil {
		return nil, err
	}
	if len(c.inputs) == 0 {
		return nil, p.errAt(p.peek(), "lookup without an input field")
	}
	if t := p.peek(); t.kind != tkEOF {
		p.next()
		c.outNew = p.isWord(t, "OUTPUTNEW")
		if c.outputs, err = readPairs(true); err != nil {
			return nil, err
		}
		if len(c.outputs) == 0 {
			return nil, p.errAt(p.peek(), "%s without a field", t.text)
		}
	} else {
		isIn := map[string]bool{}
		for _, in := range c.inputs {
			isIn[in.col] = true
		}
		for _, h := range tbl.Header {
			if !isIn[h] {
				c.outputs = append(c.outputs, fieldPair{col: h, field: h})
			}
		}
	}
	for _, in := range c.inputs {
		c.inCol = append(c.inCol, cols[in.col])
	}
	for _, o := range c.outputs {
		c.outCol = append(c.outCol, cols[o.col])
	}
	c.pats = make([][]*globPattern, len(tbl.Rows))
	for ri, row := range tbl.Rows {
		c.pats[ri] = make([]*globPattern, len(c.inputs))
		for ii, in := range c.inputs {
			if tbl.Wildcard[in.col] && strings.Contains(row[c.inCol[ii]], "*") {
				g := wildcardFold(row[c.inCol[ii]], !tbl.CaseSensitive)
				c.pats[ri][ii] = &g
			}
		}
	}
	return c, nil
}

func (c *lookupCmd) cellMatches(ri, ii int, v string) bool {
	if re := c.pats[ri][ii]; re != nil {
		return re.MatchString(v)
	}
	cell := c.t.Rows[ri][c.inCol[ii]]
	if c.t.CaseSensitive {
		return cell == v
	}
	return strings.EqualFold(cell, v)
}

func (c *lookupCmd) run(t *Table, _ *RunOptions) (*Table, error) {
	for _, o := range c.outputs {
		t.addColumn(o.field)
	}
	for _, r := range t.Rows {
		if c.outNew {
			all := true
			for _, o := range c.outputs {
				if _, ok := r[o.field]; !ok {
					all = false
				}
			}
			if all {
				continue
			}
		}
		var matched []int
	rows:
		for ri := range c.t.Rows {
			if len(matched) >= c.t.MaxMatches {
				break
			}
			for ii, in := range c.inputs {
				ok := false
				for _, v := range r[in.field] {
					if v != "" && c.cellMatches(ri, ii, v) {
						ok = true
						break
					}
				}
				if !ok {
					continue rows
				}
			}
			matched = append(matched, ri)
		}
		for oi, o := range c.outputs {
			if c.outNew {
				if _, ok := r[o.field]; ok {
					continue
				}
			}
			var vs []string
			for _, ri := range matched {
				if cell := c.t.Rows[ri][c.outCol[oi]]; cell != "" {
					vs = append(vs, cell)
				}
			}
			for n := len(matched); n < c.t.MinMatches && c.t.HasDefault; n++ {
				vs = append(vs, c.t.DefaultMatch)
			}
			if len(vs) == 0 {
				delete(r, o.field)
				continue
			}
			r[o.field] = vs
		}
	}
	return t, nil
}

var _ = fmt.Sprintf
