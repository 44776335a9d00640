package spl

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// statsCmd is "stats" or "eventstats" with the functions count, count(f), sum(f), min(f), max(f), values(f),
// dc(f)/distinct_count(f), each with an optional AS name, and an optional BY list (Search Reference, stats and
// eventstats; "Statistical and charting functions"). stats outputs one result per group: the by-fields, then
// the functions in order; a result whose by-field is null belongs to no group; a multivalue by-field puts the
// result in the group of each value; groups come out sorted by their by-field values (byte order, field by
// field: our decision). Without BY there is one group, even over no results. eventstats keeps every result
// and adds the functions' values of its group (nothing to results without a group).
//
// sum adds the values that are numbers and is null when there are none; min and max compare numerically when
// every value is a number, otherwise as strings (byte order); values are the distinct values in byte order
// ("lexicographical"); count(f) counts the values of f.
type statsCmd struct {
	event bool
	funcs []statsFunc
	by    []string
}

type statsFunc struct {
	fn, field, as string
}

func (c *statsCmd) Name() string {
	if c.event {
		return "eventstats"
	}
	return "stats"
}

var statsFuncs = map[string]bool{"count": true, "sum": true, "min": true, "max": true, "values": true, "dc": true, "distinct_count": true}

func (p *cmdParser) stats(event bool) (Command, error) {
	c := &statsCmd{event: event}
	for {
		t := p.peek()
		if t.kind == tkEOF || p.isWord(t, "by") {
			break
		}
		p.next()
		if t.kind == tkComma {
			continue
		}
		if t.kind == tkWord && !t.quoted && p.peek().kind == tkEq {
			return nil, p.errAt(t, "unsupported %s option %q", c.Name(), t.text)
		}
		fn := strings.ToLower(t.text)
		if t.kind != tkWord || !statsFuncs[fn] {
			return nil, p.errAt(t, "unsupported %s function %q (count, sum, min, max, values, dc, distinct_count)", c.Name(), t.text)
		}
		f := statsFunc{fn: fn}
		if fn == "distinct_count" {
			f.fn = "dc"
		}
		if p.peek().kind == tkLParen {
			p.next()
			fld := p.next()
			if fld.kind != tkWord || fld.text == "" || strings.Contains(fld.text, "*") {
				return nil, p.errAt(fld, "want one field name in %s()", t.text)
			}
			if r := p.next(); r.kind != tkRParen {
				return nil, p.errAt(r, "missing \")\" after %s(%s", t.text, fld.text)
			}
			f.field = fld.text
		} else if fn != "count" {
			return nil, p.errAt(t, "%s needs a field: %s(field)", t.text, t.text)
		}
		f.as = t.text
		if f.field != "" {
			f.as = t.text + "(" + f.field + ")"
		}
		if p.isWord(p.peek(), "as") {
			p.next()
			a := p.next()
			if a.kind != tkWord || a.text == "" {
				return nil, p.errAt(a, "want a name after AS")
			}
			f.as = a.text
		}
		c.funcs = append(c.funcs, f)
	}
	if len(c.funcs) == 0 {
		return nil, p.errAt(p.peek(), "%s without a function", c.Name())
	}
	if p.isWord(p.peek(), "by") {
		p.next()
		by, err := p.fieldList(false)
		if err != nil {
			return nil, err
		}
		c.by = by
	}
	return c, nil
}

type statsGroup struct {
	key  []string
	rows []int // indices of the results in the group
}

func (c *statsCmd) groups(t *Table) (map[string]*statsGroup, [][]string, error) {
	groups := map[string]*statsGroup{}
	rowKeys := make([][]string, len(t.Rows))
	for ri, r := range t.Rows {
		keys := [][]string{nil}
		for _, f := range c.by {
			vs := r[f]
			if len(vs) == 0 {
				keys = nil
				break
			}
			var next [][]string
			dv := dedupStrings(vs)
			if len(keys)*len(dv) > maxValues {
				return nil, nil, fmt.Errorf("a result falls into more than %d groups (multivalue by-fields)", maxValues)
			}
			for _, k := range keys {
				for _, v := range dv {
					next = append(next, append(slices.Clone(k), v))
				}
			}
			keys = next
		}
		for _, k := range keys {
			id := joinKey(k)
			g, ok := groups[id]
			if !ok {
				g = &statsGroup{key: k}
				groups[id] = g
			}
			g.rows = append(g.rows, ri)
			rowKeys[ri] = append(rowKeys[ri], id)
		}
	}
	if len(c.by) == 0 && len(groups) == 0 {
		groups[""] = &statsGroup{}
	}
	return groups, rowKeys, nil
}

func dedupStrings(vs []string) []string {
	var out []string
	for _, v := range vs {
		if v != "" && !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out
}

func joinKey(k []string) string {
	var b strings.Builder
	for _, v := range k {
		b.WriteString(strconv.Itoa(len(v)) + ":" + v)
	}
	return b.String()
}

func (c *statsCmd) run(t *Table, _ *RunOptions) (*Table, error) {
	groups, rowKeys, err := c.groups(t)
	if err != nil {
		return nil, err
	}
	aggs := map[string][][]string{}
	for id, g := range groups {
		out := make([][]string, len(c.funcs))
		for i, f := range c.funcs {
			out[i] = aggregate(f, t.Rows, g.rows)
		}
		aggs[id] = out
	}
	if c.event {
		for _, f := range c.funcs {
			t.addColumn(f.as)
		}
		for ri, r := range t.Rows {
			if len(rowKeys[ri]) == 0 && len(c.by) > 0 {
				continue
			}
			id := ""
			if len(c.by) > 0 {
				id = rowKeys[ri][0]
				if len(rowKeys[ri]) > 1 {
					// A multivalue by-field puts the result in several groups: it gets the functions over
					// the union of their results.
					var union []int
					for _, k := range rowKeys[ri] {
						for _, x := range groups[k].rows {
							if !slices.Contains(union, x) {
								union = append(union, x)
							}
						}
					}
					for _, f := range c.funcs {
						setOrDelete(r, f.as, aggregate(f, t.Rows, union))
					}
					continue
				}
			}
			for i, f := range c.funcs {
				setOrDelete(r, f.as, aggs[id][i])
			}
		}
		return t, nil
	}
	ids := make([]string, 0, len(groups))
	for id := range groups {
		ids = append(ids, id)
	}
	slices.SortFunc(ids, func(a, b string) int { return slices.Compare(groups[a].key, groups[b].key) })
	out := &Table{Columns: append(slices.Clone(c.by), func() []string {
		var n []string
		for _, f := range c.funcs {
			n = append(n, f.as)
		}
		return n
	}()...)}
	for _, id := range ids {
		g := groups[id]
		r := Row{}
		for i, f := range c.by {
			r[f] = []string{g.key[i]}
		}
		for i, f := range c.funcs {
			setOrDelete(r, f.as, aggs[id][i])
		}
		out.Rows = append(out.Rows, r)
	}
	return out, nil
}

func setOrDelete(r Row, k string, vs []string) {
	if len(vs) == 0 {
		delete(r, k)
		return
	}
	r[k] = vs
}

func aggregate(f statsFunc, all []Row, idx []int) []string {
	var vals []string
	for _, i := range idx {
		for _, v := range all[i][f.field] {
			if v != "" {
				vals = append(vals, v)
			}
		}
	}
	switch f.fn {
	case "count":
		if f.field == "" {
			return []string{strconv.Itoa(len(idx))}
		}
		return []string{strconv.Itoa(len(vals))}
	case "dc":
		return []string{strconv.Itoa(len(dedupStrings(vals)))}
	case "values":
		u := dedupStrings(vals)
		slices.Sort(u)
		return u
	case "sum":
		sum, any := 0.0, false
		for _, v := range vals {
			if n, ok := parseNum(v); ok {
				sum += n
				any = true
			}
		}
		if !any {
			return nil
		}
		return []string{formatNum(sum)}
	}
	if len(vals) == 0 {
		return nil
	}
	allNum := true
	for _, v := range vals {
		if _, ok := parseNum(v); !ok {
			allNum = false
			break
		}
	}
	best := vals[0]
	for _, v := range vals[1:] {
		var less bool
		if allNum {
			x, _ := parseNum(v)
			y, _ := parseNum(best)
			less = x < y
		} else {
			less = v < best
		}
		if less == (f.fn == "min") && v != best {
			best = v
		}
	}
	if allNum {
		n, _ := parseNum(best)
		return []string{formatNum(n)}
	}
	return []string{best}
}
