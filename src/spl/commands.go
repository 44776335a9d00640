package spl

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// cmdParser reads one command's argument tokens.
type cmdParser struct {
	src  string
	name string
	toks []token
	i    int
	lk   LookupSource
}

func (p *cmdParser) peek() token { return p.toks[p.i] }
func (p *cmdParser) next() token {
	t := p.toks[p.i]
	if t.kind != tkEOF {
		p.i++
	}
	return t
}
func (p *cmdParser) errAt(t token, format string, args ...any) *Error {
	return newError(p.src, p.name, t.pos, format, args...)
}
func (p *cmdParser) isWord(t token, w string) bool {
	return t.kind == tkWord && !t.quoted && strings.EqualFold(t.text, w)
}

// supported lists the commands in the order docs/escu.md describes them.
var supported = "rename, convert, search, where, regex, rex, eval, table, fields, dedup, lookup, stats, eventstats"

func parseCommand(src string, sg segment, lk LookupSource) (Command, error) {
	i := sg.start
	for i < sg.end && isSpace(src[i]) {
		i++
	}
	j := i
	for j < sg.end && !isSpace(src[j]) {
		j++
	}
	name := strings.ToLower(src[i:j])
	p := &cmdParser{src: src, name: name, lk: lk}
	switch name {
	case "where", "eval":
		// Expressions have their own lexer.
		if name == "where" {
			return parseWhere(src, name, j, sg.end)
		}
		return parseEval(src, name, j, sg.end)
	case "regex":
		// The regular expression is taken verbatim, so it gets the argument lexer only up to it.
	}
	toks, err := lexArgs(src, j, sg.end)
	if err != nil {
		err.Command = name
		return nil, err
	}
	p.toks = toks
	switch name {
	case "rename":
		return p.rename()
	case "convert":
		return p.convert()
	case "table":
		return p.table()
	case "fields":
		return p.fields()
	case "dedup":
		return p.dedup()
	case "search":
		return p.search()
	case "regex":
		return p.regex()
	case "rex":
		return p.rex()
	case "lookup":
		return p.lookup()
	case "stats":
		return p.stats(false)
	case "eventstats":
		return p.stats(true)
	}
	return nil, newError(src, "", i, "unsupported command %q after tstats (supported: %s)", src[i:j], supported)
}

// fieldList reads field names separated by spaces or commas up to the end.
func (p *cmdParser) fieldList(allowWildcard bool) ([]string, error) {
	var out []string
	for {
		t := p.next()
		switch t.kind {
		case tkEOF:
			if len(out) == 0 {
				return nil, p.errAt(t, "missing field name")
			}
			return out, nil
		case tkComma:
			continue
		case tkWord:
			if t.text == "" {
				return nil, p.errAt(t, "empty field name")
			}
			if !allowWildcard && strings.Contains(t.text, "*") {
				return nil, p.errAt(t, "wildcard in field name %q is not supported here", t.text)
			}
			out = append(out, t.text)
		default:
			return nil, p.errAt(t, "unexpected %q in the field list", t.text)
		}
	}
}

// --- rename -------------------------------------------------------------------------------------------

// renameCmd is "rename a AS b, c* AS d*, ...". Search Reference, rename: "Use wildcards to rename multiple
// fields with similar names ... rename EU* AS EMEA*", the text matched by '*' carried over; "Both the original
// and renamed fields must include the same number of wildcards, otherwise a wildcard mismatch error is
// returned"; "You can't rename one field with multiple names". Renaming onto an existing field replaces it
// (our reading; docs/escu.md).
type renameCmd struct{ pairs [][2]string }

func (*renameCmd) Name() string { return "rename" }

func (p *cmdParser) rename() (Command, error) {
	c := &renameCmd{}
	for {
		t := p.next()
		if t.kind == tkEOF {
			break
		}
		if t.kind == tkComma {
			continue
		}
		if t.kind != tkWord || t.text == "" {
			return nil, p.errAt(t, "want a field name")
		}
		if as := p.next(); !p.isWord(as, "as") {
			return nil, p.errAt(as, "want \"AS\" after %q", t.text)
		}
		to := p.next()
		if to.kind != tkWord || to.text == "" {
			return nil, p.errAt(to, "want the new name after AS")
		}
		if strings.Count(t.text, "*") != strings.Count(to.text, "*") {
			return nil, p.errAt(to, "wildcards of %q and %q do not pair up", t.text, to.text)
		}
		for _, pr := range c.pairs {
			if pr[0] == t.text {
				return nil, p.errAt(t, "field %q renamed twice (one field cannot take several names)", t.text)
			}
		}
		c.pairs = append(c.pairs, [2]string{t.text, to.text})
	}
	if len(c.pairs) == 0 {
		return nil, p.errAt(p.peek(), "rename without a field")
	}
	return c, nil
}

func (c *renameCmd) run(t *Table, _ *RunOptions) (*Table, error) {
	for _, pr := range c.pairs {
		from, to := pr[0], pr[1]
		var renames [][2]string
		for _, col := range t.Columns {
			if caps, ok := wildMatch(from, col); ok {
				renames = append(renames, [2]string{col, fillWild(to, caps)})
			}
		}
		for _, rn := range renames {
			if rn[0] == rn[1] {
				continue
			}
			for _, r := range t.Rows {
				v, ok := r[rn[0]]
				delete(r, rn[0])
				delete(r, rn[1])
				if ok {
					r[rn[1]] = v
				}
			}
			cols := t.Columns[:0:0]
			for _, col := range t.Columns {
				switch col {
				case rn[1]:
				case rn[0]:
					cols = append(cols, rn[1])
				default:
					cols = append(cols, col)
				}
			}
			t.Columns = cols
		}
	}
	return t, nil
}

// wildMatch matches name against a field pattern with '*' (case-sensitive, as field names are), returning the
// text each '*' matched.
func wildMatch(pat, name string) ([]string, bool) {
	parts := strings.Split(pat, "*")
	if len(parts) == 1 {
		return nil, pat == name
	}
	if !strings.HasPrefix(name, parts[0]) {
		return nil, false
	}
	rest := name[len(parts[0]):]
	var caps []string
	for i := 1; i < len(parts); i++ {
		seg := parts[i]
		if i == len(parts)-1 {
			if !strings.HasSuffix(rest, seg) {
				return nil, false
			}
			caps = append(caps, rest[:len(rest)-len(seg)])
			return caps, true
		}
		k := strings.Index(rest, seg)
		if k < 0 {
			return nil, false
		}
		caps = append(caps, rest[:k])
		rest = rest[k+len(seg):]
	}
	return caps, true
}

func fillWild(pat string, caps []string) string {
	var b strings.Builder
	k := 0
	for i := 0; i < len(pat); i++ {
		if pat[i] == '*' && k < len(caps) {
			b.WriteString(caps[k])
			k++
			continue
		}
		b.WriteByte(pat[i])
	}
	return b.String()
}

// --- convert ------------------------------------------------------------------------------------------

// convertCmd is "convert [timeformat=F] ctime(f) [AS g] ...". Search Reference, convert: "ctime(<field>)
// Converts an epoch time to an ascii human readable time. Use the timeformat option to specify exact format
// to convert to"; timeformat default "%m/%d/%Y %H:%M:%S". A value that is not a number is left unchanged.
type convertCmd struct {
	format string
	convs  []conversion
}

type conversion struct{ field, as string }

func (*convertCmd) Name() string { return "convert" }

func (p *cmdParser) convert() (Command, error) {
	c := &convertCmd{format: "%m/%d/%Y %H:%M:%S"}
	for {
		t := p.next()
		switch {
		case t.kind == tkEOF:
			if len(c.convs) == 0 {
				return nil, p.errAt(t, "convert without a conversion")
			}
			return c, nil
		case t.kind == tkComma:
		case t.kind == tkWord && p.peek().kind == tkEq:
			if !strings.EqualFold(t.text, "timeformat") {
				return nil, p.errAt(t, "unsupported convert option %q (only timeformat)", t.text)
			}
			p.next()
			v := p.next()
			if v.kind != tkWord {
				return nil, p.errAt(v, "missing value of timeformat")
			}
			if err := checkStrftime(v.text); err != nil {
				return nil, p.errAt(v, "%v", err)
			}
			c.format = v.text
		case t.kind == tkWord && p.peek().kind == tkLParen:
			if !strings.EqualFold(t.text, "ctime") {
				return nil, p.errAt(t, "unsupported convert function %q (only ctime)", t.text)
			}
			p.next()
			f := p.next()
			if f.kind != tkWord || f.text == "" || strings.Contains(f.text, "*") {
				return nil, p.errAt(f, "want one field name in ctime()")
			}
			if r := p.next(); r.kind != tkRParen {
				return nil, p.errAt(r, "missing \")\" after ctime(%s", f.text)
			}
			cv := conversion{field: f.text, as: f.text}
			if p.isWord(p.peek(), "as") {
				p.next()
				a := p.next()
				if a.kind != tkWord || a.text == "" {
					return nil, p.errAt(a, "want a name after AS")
				}
				cv.as = a.text
			}
			c.convs = append(c.convs, cv)
		default:
			return nil, p.errAt(t, "unsupported convert argument %q", t.text)
		}
	}
}

func (c *convertCmd) run(t *Table, o *RunOptions) (*Table, error) {
	for _, cv := range c.convs {
		t.addColumn(cv.as)
		for _, r := range t.Rows {
			vs, ok := r[cv.field]
			if !ok {
				continue
			}
			out := make([]string, len(vs))
			for i, v := range vs {
				out[i] = v
				if f, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil {
					out[i] = strftime(c.format, epoch(f).In(o.Location))
				}
			}
			r[cv.as] = out
		}
	}
	return t, nil
}

func epoch(f float64) time.Time {
	sec := int64(f)
	if float64(sec) > f {
		sec--
	}
	return time.Unix(sec, int64((f-float64(sec))*1e9))
}

// --- table, fields ------------------------------------------------------------------------------------

// tableCmd is "table f1, f2*, ...": Search Reference, table: "Returns a table that is formed by only the
// fields that you specify in the arguments. Columns are displayed in the same order that fields are specified";
// wildcards allowed.
type tableCmd struct{ fields []string }

func (*tableCmd) Name() string { return "table" }

func (p *cmdParser) table() (Command, error) {
	fs, err := p.fieldList(true)
	if err != nil {
		return nil, err
	}
	return &tableCmd{fields: fs}, nil
}

func (c *tableCmd) run(t *Table, _ *RunOptions) (*Table, error) {
	cols := selectColumns(t.Columns, c.fields, true)
	return project(t, cols), nil
}

// selectColumns returns the columns named by pats, in pattern order; a plain name not among the columns is
// kept when keepMissing (table shows a column even when empty).
func selectColumns(columns, pats []string, keepMissing bool) []string {
	var out []string
	seen := map[string]bool{}
	for _, p := range pats {
		if !strings.Contains(p, "*") {
			if !seen[p] && (keepMissing || contains(columns, p)) {
				seen[p] = true
				out = append(out, p)
			}
			continue
		}
		for _, col := range columns {
			if _, ok := wildMatch(p, col); ok && !seen[col] {
				seen[col] = true
				out = append(out, col)
			}
		}
	}
	return out
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

func project(t *Table, cols []string) *Table {
	keep := map[string]bool{}
	for _, c := range cols {
		keep[c] = true
	}
	for _, r := range t.Rows {
		for k := range r {
			if !keep[k] {
				delete(r, k)
			}
		}
	}
	t.Columns = cols
	return t
}

// fieldsCmd is "fields [+|-] f1, f2*, ...": Search Reference, fields: keeps ("+", the default) or removes ("-")
// the named fields; "Internal fields ... such as _raw and _time" are kept by "fields +" unless removed
// explicitly, so a _time column survives.
type fieldsCmd struct {
	remove bool
	fields []string
}

func (*fieldsCmd) Name() string { return "fields" }

func (p *cmdParser) fields() (Command, error) {
	c := &fieldsCmd{}
	if t := p.peek(); t.kind == tkWord && !t.quoted && (t.text == "-" || t.text == "+") {
		c.remove = t.text == "-"
		p.next()
	}
	fs, err := p.fieldList(true)
	if err != nil {
		return nil, err
	}
	c.fields = fs
	return c, nil
}

func (c *fieldsCmd) run(t *Table, _ *RunOptions) (*Table, error) {
	sel := selectColumns(t.Columns, c.fields, false)
	if c.remove {
		drop := map[string]bool{}
		for _, s := range sel {
			drop[s] = true
		}
		var cols []string
		for _, col := range t.Columns {
			if !drop[col] {
				cols = append(cols, col)
			}
		}
		return project(t, cols), nil
	}
	var cols []string
	for _, col := range t.Columns {
		if strings.HasPrefix(col, "_") && !contains(sel, col) {
			cols = append(cols, col)
		}
	}
	return project(t, append(cols, sel...)), nil
}

// --- dedup --------------------------------------------------------------------------------------------

// dedupCmd is "dedup f1 f2 ...": Search Reference, dedup: "Removes the events that contain an identical
// combination of values for the fields that you specify"; the first result of each combination is kept;
// "keepempty ... If false (the default), events that do not have one or more of the specified fields are
// removed". Options (keepevents, consecutive, sortby, a count) are not supported.
type dedupCmd struct{ fields []string }

func (*dedupCmd) Name() string { return "dedup" }

func (p *cmdParser) dedup() (Command, error) {
	if t := p.peek(); t.kind == tkWord && len(p.toks) > p.i+1 && p.toks[p.i+1].kind == tkEq {
		return nil, p.errAt(t, "unsupported dedup option %q", t.text)
	}
	if t := p.peek(); t.kind == tkWord && isNumber(t.text) {
		return nil, p.errAt(t, "unsupported dedup count")
	}
	fs, err := p.fieldList(false)
	if err != nil {
		return nil, err
	}
	for _, f := range fs {
		if strings.EqualFold(f, "sortby") {
			return nil, fmt.Errorf("spl: unsupported dedup sortby")
		}
	}
	return &dedupCmd{fields: fs}, nil
}

func isNumber(s string) bool {
	_, err := strconv.ParseFloat(s, 64)
	return err == nil
}

func (c *dedupCmd) run(t *Table, _ *RunOptions) (*Table, error) {
	seen := map[string]bool{}
	var rows []Row
	for _, r := range t.Rows {
		var key strings.Builder
		ok := true
		for _, f := range c.fields {
			vs, has := r[f]
			if !has {
				ok = false
				break
			}
			key.WriteString(strconv.Itoa(len(vs)))
			for _, v := range vs {
				key.WriteString(":" + strconv.Itoa(len(v)) + ":" + v)
			}
		}
		if !ok || seen[key.String()] {
			continue
		}
		seen[key.String()] = true
		rows = append(rows, r)
	}
	t.Rows = rows
	return t, nil
}
