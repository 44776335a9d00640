// Package engine compiles a detection's tstats search once and aggregates Endpoint.Processes records the way
// tstats does: filter, group by the by-fields, count, min/max of _time. It merges the partial aggregates of a
// map phase and produces rows sorted by the by-field values.
//
// Semantics (docs/semantics.md has the reasoning and the Splunk references):
//   - A field is a list of values; an empty value is a null and is not stored, so a field whose values are all
//     empty is missing. Which column supplies a field (Processes.f or f) is the caller's choice.
//   - field=value and IN compare each value case-insensitively (simple Unicode case folding, as
//     strings.EqualFold) and whole-value, '*' matching any run of characters; a multivalue field matches when
//     any value matches; a missing field never matches.
//   - field!=value holds when the field has at least one value that does not match (so a missing field does
//     not satisfy it); NOT x holds exactly when x does not (so NOT field=value also holds for a missing field).
//   - Groups are the distinct combinations of by-field values compared byte for byte; a multivalue by-field
//     gives one group per value (the cross product for several), the record counted once in each group.
//   - A record with a null by-field is left out and counted in Stats.NullDropped, unless Options.FillNull is
//     set: the null is then Options.FillNullValue.
//   - firstTime/lastTime are the min/max of _time read as a decimal number of seconds; other _time values are
//     left out of min/max and the record still counts.
package engine

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"regasmdetect/src/escu"
	"regasmdetect/src/spl"
	"regasmdetect/src/tstats"
)

// MaxAnnotations is the number of distinct values kept per group for each annotate field: the smallest in
// byte order, so the kept set does not depend on how records were split between map phases.
const MaxAnnotations = 100

// MaxCombinations bounds the groups one record can fall into through multivalue by-fields. A record whose
// cross product is larger is counted in the first MaxCombinations groups only and in Stats.Truncated.
const MaxCombinations = 1 << 16

// Options are the command's options that change aggregation.
type Options struct {
	FillNull      bool   // replace a null by-field by FillNullValue instead of dropping the record
	FillNullValue string // the replacement (Splunk's fillnull_value)
	Annotate      bool   // collect the annotate fields' matched values per group
}

// Detection is a compiled detection. It is immutable and safe to share between goroutines.
type Detection struct {
	src       *escu.Detection
	search    *tstats.Search
	fields    []string // slot -> field name without prefix
	by        []int    // by-field slots, by-clause order
	ann       []int    // annotate field slots
	annPats   [][]pattern
	filter    *node
	countName string
	firstName string
	lastName  string

	generic bool          // compiled by CompileSearch
	aggs    []aggSpec     // the aggregates in search order
	nExt    int           // number of values/dc/earliest/latest aggregates
	post    *spl.Pipeline // the SPL after tstats (CompileSearch), nil when none
}

type nodeKind uint8

const (
	nodeTrue nodeKind = iota
	nodeEq            // any value matches any pattern
	nodeNe            // any value does not match the pattern
	nodeNot
	nodeAnd
	nodeOr
)

type node struct {
	kind nodeKind
	slot int
	pats []pattern
	kids []*node
}

// Compile parses d.Search with the tstats parser and compiles it. Besides the parser's checks it requires
// exactly one count, one min(_time) and one max(_time) with distinct names that are not by-fields, at least
// one by-field, the `drop_dm_object_name(Processes)` step (the output fields are always unprefixed), and a
// filter macro, when present, named after the detection.
func Compile(d *escu.Detection) (*Detection, error) {
	if d == nil {
		return nil, fmt.Errorf("engine: nil detection")
	}
	s, err := tstats.Parse(d.Search)
	if err != nil {
		return nil, fmt.Errorf("engine: detection %q: %w", d.Name, err)
	}
	c := &Detection{src: d, search: s}
	if err := c.checkShape(); err != nil {
		return nil, fmt.Errorf("engine: detection %q: %w", d.Name, err)
	}
	if err := c.compileAggs(); err != nil {
		return nil, fmt.Errorf("engine: detection %q: %w", d.Name, err)
	}
	slots, slot := c.newSlots()
	for _, f := range s.ByFields() {
		c.by = append(c.by, slot(f))
	}
	isBy := map[string]bool{}
	for _, f := range s.ByFields() {
		isBy[f] = true
	}
	for _, f := range messageTokens(d.RiskMessage()) {
		if isBy[f] || f == c.countName || f == c.firstName || f == c.lastName {
			continue
		}
		c.ann = append(c.ann, slot(f))
	}
	c.filter = &node{kind: nodeTrue}
	if s.Where != nil {
		c.filter = c.compileExpr(s.Where, slots)
	}
	c.annPats = make([][]pattern, len(c.ann))
	for i, sl := range c.ann {
		tstats.Walk(s.Where, func(cmp *tstats.Compare, negated bool) {
			if negated || cmp.Op == tstats.OpNe || tstats.StripPrefix(cmp.Field) != c.fields[sl] {
				return
			}
			for _, v := range cmp.Values {
				c.annPats[i] = append(c.annPats[i], compilePattern(v.Text))
			}
		})
	}
	return c, nil
}

// newSlots starts c.fields with the filter's fields and returns the name-to-slot map with a function that
// gives a field its slot, appending it to c.fields the first time it is seen.
func (c *Detection) newSlots() (map[string]int, func(string) int) {
	slots := map[string]int{}
	slot := func(f string) int {
		if i, ok := slots[f]; ok {
			return i
		}
		slots[f] = len(c.fields)
		c.fields = append(c.fields, f)
		return len(c.fields) - 1
	}
	for _, f := range tstats.FilterFields(c.search.Where) {
		slot(f)
	}
	return slots, slot
}

func (c *Detection) checkShape() error {
	s := c.search
	if s.Post != "" {
		return fmt.Errorf("unsupported commands after tstats (%.40q): compile the expanded search with CompileSearch", s.Post)
	}
	if s.Span != "" {
		return fmt.Errorf("unsupported by _time span=%s: compile the expanded search with CompileSearch", s.Span)
	}
	for _, a := range s.Aggregates {
		if !(a.Func == "count" || (a.Func == "min" || a.Func == "max") && a.Field == "_time") {
			return fmt.Errorf("unsupported aggregate %s(%s): only count, min(_time) and max(_time)", a.Func, a.Field)
		}
		var dst *string
		switch a.Func {
		case "count":
			dst = &c.countName
		case "min":
			dst = &c.firstName
		case "max":
			dst = &c.lastName
		}
		if *dst != "" {
			return fmt.Errorf("more than one %s aggregate", a.Func)
		}
		*dst = a.Name()
	}
	if c.countName == "" || c.firstName == "" || c.lastName == "" {
		return fmt.Errorf("the search must compute count, min(_time) and max(_time)")
	}
	if c.countName == c.firstName || c.countName == c.lastName || c.firstName == c.lastName {
		return fmt.Errorf("aggregate names %q, %q, %q are not distinct", c.countName, c.firstName, c.lastName)
	}
	if len(s.By) == 0 {
		return fmt.Errorf("the search has no by clause")
	}
	for _, f := range s.ByFields() {
		if f == c.countName || f == c.firstName || f == c.lastName {
			return fmt.Errorf("by-field %q has the name of an aggregate", f)
		}
	}
	dropped := false
	for _, p := range s.Pipeline {
		switch {
		case p == "drop_dm_object_name(Processes)":
			dropped = true
		case strings.HasSuffix(p, "_filter") && p != c.src.FilterMacro():
			return fmt.Errorf("filter macro `%s` does not belong to this detection (want `%s`)", p, c.src.FilterMacro())
		}
	}
	if !dropped {
		return fmt.Errorf("the search lacks `drop_dm_object_name(Processes)`")
	}
	return nil
}

func (c *Detection) compileExpr(e tstats.Expr, slots map[string]int) *node {
	switch e := e.(type) {
	case *tstats.Compare:
		n := &node{kind: nodeEq, slot: slots[tstats.StripPrefix(e.Field)]}
		if e.Op == tstats.OpNe {
			n.kind = nodeNe
		}
		for _, v := range e.Values {
			n.pats = append(n.pats, compilePattern(v.Text))
		}
		return n
	case *tstats.Not:
		return &node{kind: nodeNot, kids: []*node{c.compileExpr(e.X, slots)}}
	case *tstats.And:
		n := &node{kind: nodeAnd}
		for _, t := range e.Terms {
			n.kids = append(n.kids, c.compileExpr(t, slots))
		}
		return n
	case *tstats.Or:
		n := &node{kind: nodeOr}
		for _, t := range e.Terms {
			n.kids = append(n.kids, c.compileExpr(t, slots))
		}
		return n
	}
	return &node{kind: nodeTrue}
}

// messageTokens returns the $field$ tokens of a risk message, in order, without duplicates.
func messageTokens(msg string) []string {
	var out []string
	for rest := msg; ; {
		i := strings.IndexByte(rest, '$')
		if i < 0 {
			return out
		}
		j := strings.IndexByte(rest[i+1:], '$')
		if j < 0 {
			return out
		}
		tok := rest[i+1 : i+1+j]
		if isFieldName(tok) {
			if !slices.Contains(out, tok) {
				out = append(out, tok)
			}
			rest = rest[i+j+2:]
		} else {
			rest = rest[i+1:]
		}
	}
}

func isFieldName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c == '_' || c == '.' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return true
}

// Source returns the detection the search came from.
func (c *Detection) Source() *escu.Detection { return c.src }

// Search returns the parsed search. It is shared: callers must not modify it.
func (c *Detection) Search() *tstats.Search { return c.search }

// Fields returns the CIM field names, without prefix, one per slot: the filter fields, the by-fields, then the
// annotate fields, each once, in that order. _time is not a slot (see Record.SetTime).
func (c *Detection) Fields() []string { return append([]string(nil), c.fields...) }

// ByFields returns the by-fields without prefix, in by-clause order.
func (c *Detection) ByFields() []string {
	out := make([]string, len(c.by))
	for i, sl := range c.by {
		if sl == timeSlot {
			out[i] = "_time"
			continue
		}
		out[i] = c.fields[sl]
	}
	return out
}

// AnnotateFields returns the fields named by $tokens$ of the risk message that are neither by-fields nor
// aggregates (for the seed detection: parent_process_name).
func (c *Detection) AnnotateFields() []string {
	out := make([]string, len(c.ann))
	for i, sl := range c.ann {
		out[i] = c.fields[sl]
	}
	return out
}

// Columns returns the output columns: the by-fields, then the count, min(_time) and max(_time) names
// (count, firstTime, lastTime for ESCU searches); with o.Annotate also the annotate fields, risk_score and
// risk_message. There is never a risk_object column.
func (c *Detection) Columns(o Options) []string {
	if c.generic {
		return c.TstatsColumns()
	}
	cols := c.ByFields()
	cols = append(cols, c.countName, c.firstName, c.lastName)
	if o.Annotate {
		cols = append(cols, c.AnnotateFields()...)
		cols = append(cols, "risk_score", "risk_message")
	}
	return cols
}

// Slot returns the slot of a field name ("dest" or "Processes.dest"), or -1.
func (c *Detection) Slot(field string) int {
	f := tstats.StripPrefix(field)
	for i, name := range c.fields {
		if name == f {
			return i
		}
	}
	return -1
}

// RiskMessage fills the $field$ tokens of the detection's risk message from the row: by-fields from the key,
// count/firstTime/lastTime from the aggregates (times as FormatTime writes them), annotate fields from the
// annotations, several values joined with ", " in byte order. A token naming no output column, or an
// annotation without values, becomes empty, as Splunk renders a token whose field the result lacks.
func (c *Detection) RiskMessage(row *Row) string {
	return FillTokens(c.src.RiskMessage(), func(tok string) string { return c.tokenValue(tok, row) })
}

// FillTokens replaces each $field$ token of a risk message by value(field), as Splunk renders a notable's or
// risk event's message from the result's fields. A '$' that does not open a field-name token (letters,
// digits, '_' and '.') is kept as it is, and so is an unclosed one.
func FillTokens(msg string, value func(field string) string) string {
	var b strings.Builder
	for {
		i := strings.IndexByte(msg, '$')
		if i < 0 {
			break
		}
		j := strings.IndexByte(msg[i+1:], '$')
		if j < 0 {
			break
		}
		tok := msg[i+1 : i+1+j]
		if !isFieldName(tok) {
			b.WriteString(msg[:i+1])
			msg = msg[i+1:]
			continue
		}
		b.WriteString(msg[:i])
		b.WriteString(value(tok))
		msg = msg[i+j+2:]
	}
	b.WriteString(msg)
	return b.String()
}

func (c *Detection) tokenValue(tok string, row *Row) string {
	for i, sl := range c.by {
		if sl != timeSlot && c.fields[sl] == tok && i < len(row.Key) {
			return row.Key[i]
		}
	}
	for i, sl := range c.ann {
		if c.fields[sl] == tok && i < len(row.Annotations) {
			return strings.Join(row.Annotations[i], ", ")
		}
	}
	switch tok {
	case c.countName:
		return strconv.FormatUint(row.Count, 10)
	case c.firstName:
		if row.HasTime {
			return FormatTime(row.First)
		}
	case c.lastName:
		if row.HasTime {
			return FormatTime(row.Last)
		}
	}
	return ""
}

// FormatTime writes epoch seconds as Splunk does: an integer when whole, else the shortest decimal that
// round-trips (1599171244.277).
func FormatTime(t float64) string {
	return string(AppendTime(nil, t))
}

// AppendTime appends t as FormatTime writes it.
//
// Times of fewer than 2^31 seconds with at most six decimals (every _time Splunk writes) take a short cut to
// the same text. Below 2^31 a float64 is at most 2^-22 from its neighbours, so at most one decimal with six
// or fewer decimal places converts to t: when n / 10^6 == t for n = t·10^6 rounded (the division of two exact
// float64s rounds correctly, as parsing the decimal does), n / 10^6 without its trailing zeros is the shortest
// text that reads back as t, which is what strconv writes.
func AppendTime(b []byte, t float64) []byte {
	a := math.Abs(t)
	if a < 1<<31 && !(t == 0 && math.Signbit(t)) {
		if n := math.Round(a * 1e6); n/1e6 == a {
			if t < 0 {
				b = append(b, '-')
			}
			i := uint64(n)
			b = strconv.AppendUint(b, i/1e6, 10)
			if frac := i % 1e6; frac != 0 {
				digits := 6
				for frac%10 == 0 {
					frac /= 10
					digits--
				}
				b = append(b, '.')
				for unit := pow10Int[digits-1]; unit > 0; unit /= 10 {
					b = append(b, byte('0'+frac/unit%10))
				}
			}
			return b
		}
	}
	return strconv.AppendFloat(b, t, 'f', -1, 64)
}

var pow10Int = [...]uint64{1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6}

// TimeLen returns len(AppendTime(nil, t)) without writing the text: the same short cut, counting digits.
func TimeLen(t float64) int {
	a := math.Abs(t)
	if a < 1<<31 && !(t == 0 && math.Signbit(t)) {
		if n := math.Round(a * 1e6); n/1e6 == a {
			l := 0
			if t < 0 {
				l++
			}
			i := uint64(n)
			l += UintLen(i / 1e6)
			if frac := i % 1e6; frac != 0 {
				digits := 6
				for frac%10 == 0 {
					frac /= 10
					digits--
				}
				l += 1 + digits
			}
			return l
		}
	}
	var buf [64]byte
	return len(strconv.AppendFloat(buf[:0], t, 'f', -1, 64))
}

// UintLen returns the number of decimal digits of u, len(strconv.AppendUint(nil, u, 10)).
func UintLen(u uint64) int {
	l := 1
	for u >= 10 {
		u /= 10
		l++
	}
	return l
}

// ParseTime reads a raw _time value as the aggregators do (see parseTime), so that a caller feeding one record
// to many aggregators can parse it once and pass the number with Record.SetTimeValue.
func ParseTime(b []byte) (float64, bool) { return parseTime(b) }

// parseTime reads _time as a decimal number: digits, an optional sign, point and exponent. Hexadecimal,
// infinities, NaN and anything else are not numbers.
func parseTime(b []byte) (float64, bool) {
	if f, ok := parsePlainTime(b); ok {
		return f, true
	}
	if len(b) == 0 {
		return 0, false
	}
	for _, ch := range b {
		if !(ch >= '0' && ch <= '9' || ch == '.' || ch == '-' || ch == '+' || ch == 'e' || ch == 'E') {
			return 0, false
		}
	}
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return 0, false
	}
	return f, true
}

// pow10 holds the powers of ten that a float64 holds exactly.
var pow10 = [...]float64{1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
	1e17, 1e18, 1e19, 1e20, 1e21, 1e22}

// parsePlainTime reads the common form of _time, an optional '-', digits and an optional point and digits, with
// at most 15 digits in all; false for anything else. The digits make an integer below 2^53 and the point a
// division by an exact power of ten: one correctly rounded operation, so the result is strconv.ParseFloat's
// (Clinger's fast path, which strconv takes for these inputs too, after more work to get there).
func parsePlainTime(b []byte) (float64, bool) {
	neg := len(b) > 0 && b[0] == '-'
	if neg {
		b = b[1:]
	}
	var m uint64
	digits, frac, point := 0, 0, false
	for _, ch := range b {
		switch {
		case ch >= '0' && ch <= '9':
			m = m*10 + uint64(ch-'0')
			digits++
			if point {
				frac++
			}
		case ch == '.' && !point:
			point = true
		default:
			return 0, false
		}
	}
	if digits == 0 || digits > 15 {
		return 0, false
	}
	f := float64(m) / pow10[frac]
	if neg {
		f = -f
	}
	return f, true
}
