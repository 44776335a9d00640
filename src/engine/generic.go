package engine

import (
	"fmt"
	"math"
	"slices"
	"strconv"

	"regasmdetect/src/escu"
	"regasmdetect/src/spl"
	"regasmdetect/src/tstats"
)

// timeSlot marks the by-field _time (a time bucket of Options-independent width, tstats' span) in Detection.by.
const timeSlot = -2

// aggKind is how one tstats aggregate is computed.
type aggKind uint8

const (
	aggCount    aggKind = iota // count: the group's record count
	aggMinTime                 // min(_time), earliest(_time): the group's first time
	aggMaxTime                 // max(_time), latest(_time): the group's last time
	aggValues                  // values(f): distinct values, byte order
	aggDC                      // dc(f), distinct_count(f): number of distinct values
	aggEarliest                // earliest(f): the values of f in the record with the smallest _time
	aggLatest                  // latest(f): the values of f in the record with the largest _time
)

// aggSpec is one compiled aggregate.
type aggSpec struct {
	kind aggKind
	name string // output column
	slot int    // field slot for values/dc/earliest/latest
	ext  int    // index into the group's extended state, -1 for count/min/max
}

// AggState is the state of one values/dc/earliest/latest aggregate of a group: the distinct values in byte
// order (values, dc), or the values of the record with the earliest/latest time and that time.
type AggState struct {
	Values  []string
	Time    float64
	HasTime bool
}

// Env is what a search compiled from a checkout may need besides its text.
type Env struct {
	// Lookups resolves the lookup tables of "| lookup"; nil when the search has none.
	Lookups spl.LookupSource
}

// CompileSearch compiles search, the search text of detection d with its macros already expanded
// (escu.Checkout.Expand or escu.ExpandBuiltin). Unlike Compile it accepts any list of the aggregates count,
// min(_time), max(_time), earliest(_time), latest(_time), values(f), dc(f), distinct_count(f), earliest(f),
// latest(f) (any names), "by _time span=...", no by clause, and a pipeline of SPL commands after tstats, which
// spl.Parse compiles. The tstats output columns are named as Splunk names them: by-fields as written
// ("Processes.dest"), aggregates by their "as" name or "func(field)". Anything outside this is an error naming
// what is unsupported.
func CompileSearch(d *escu.Detection, search string, env Env) (*Detection, error) {
	if d == nil {
		return nil, fmt.Errorf("engine: nil detection")
	}
	s, err := tstats.Parse(search)
	if err != nil {
		return nil, fmt.Errorf("engine: detection %q: %w", d.Name, err)
	}
	for _, p := range s.Pipeline {
		return nil, fmt.Errorf("engine: detection %q: macro `%s` is not expanded", d.Name, p)
	}
	for _, o := range s.Options {
		if o.Macro {
			return nil, fmt.Errorf("engine: detection %q: macro `%s` is not expanded", d.Name, o.Name)
		}
	}
	if slices.Contains(s.By, "_time") && s.Span == "" {
		// Without span= tstats chooses the bucket size itself; that choice is not reproduced.
		return nil, fmt.Errorf("engine: detection %q: unsupported \"by _time\" without span= (tstats picks the bucket size itself)", d.Name)
	}
	c := &Detection{src: d, search: s, generic: true}
	if err := c.compileAggs(); err != nil {
		return nil, fmt.Errorf("engine: detection %q: %w", d.Name, err)
	}
	c.compileSlots()
	if s.Post != "" {
		p, err := spl.Parse(s.Post, env.Lookups)
		if err != nil {
			return nil, fmt.Errorf("engine: detection %q: %w", d.Name, err)
		}
		c.post = p
	}
	return c, nil
}

// compileAggs fills c.aggs from the search's aggregates. Only _time has min and max (the data model's other
// fields are strings); output names must be distinct from each other and from the by-fields.
func (c *Detection) compileAggs() error {
	names := map[string]bool{}
	for _, f := range c.search.By {
		names[f] = true
	}
	next := 0
	for _, a := range c.search.Aggregates {
		sp := aggSpec{name: a.Name(), slot: -1, ext: -1}
		switch {
		case a.Func == "count":
			sp.kind = aggCount
		case a.Field == "_time" && (a.Func == "min" || a.Func == "earliest"):
			sp.kind = aggMinTime
		case a.Field == "_time" && (a.Func == "max" || a.Func == "latest"):
			sp.kind = aggMaxTime
		case a.Field == "_time":
			return fmt.Errorf("unsupported aggregate %s(_time)", a.Func)
		case a.Func == "values":
			sp.kind = aggValues
		case a.Func == "dc" || a.Func == "distinct_count":
			sp.kind = aggDC
		case a.Func == "earliest":
			sp.kind = aggEarliest
		case a.Func == "latest":
			sp.kind = aggLatest
		default:
			return fmt.Errorf("unsupported aggregate %s(%s): min and max only of _time", a.Func, a.Field)
		}
		if sp.kind >= aggValues {
			sp.ext = next
			next++
		}
		if names[sp.name] {
			return fmt.Errorf("two output columns named %q", sp.name)
		}
		names[sp.name] = true
		c.aggs = append(c.aggs, sp)
	}
	c.nExt = next
	return nil
}

// compileSlots assigns slots: filter fields, by-fields, aggregate fields, annotate fields; compiles the filter.
func (c *Detection) compileSlots() {
	s := c.search
	slots, slot := c.newSlots()
	for _, f := range s.ByFields() {
		if f == "_time" {
			c.by = append(c.by, timeSlot)
			continue
		}
		c.by = append(c.by, slot(f))
	}
	for i, a := range s.Aggregates {
		if c.aggs[i].kind >= aggValues {
			c.aggs[i].slot = slot(tstats.StripPrefix(a.Field))
		}
	}
	c.filter = &node{kind: nodeTrue}
	if s.Where != nil {
		c.filter = c.compileExpr(s.Where, slots)
	}
}

// Generic reports whether the detection was compiled by CompileSearch.
func (c *Detection) Generic() bool { return c.generic }

// Pipeline returns the compiled SPL after tstats, or nil when there is none.
func (c *Detection) Pipeline() *spl.Pipeline { return c.post }

// TstatsColumns returns the columns tstats itself outputs, as Splunk names them: the by-fields as written
// ("Processes.dest", "_time"), then each aggregate's name, in the order of the search.
func (c *Detection) TstatsColumns() []string {
	cols := slices.Clone(c.search.By)
	for _, a := range c.aggs {
		cols = append(cols, a.name)
	}
	return cols
}

// Cells renders a row as tstats outputs it, one cell per TstatsColumns entry, each a list of values (empty
// for a null): by-field values; count; min/max of _time as FormatTime writes them; values in byte order; dc
// as a count; earliest/latest as the values of that record.
func (c *Detection) Cells(row *Row) [][]string {
	out := make([][]string, 0, len(c.by)+len(c.aggs))
	for i := range c.by {
		if i < len(row.Key) {
			out = append(out, []string{row.Key[i]})
		} else {
			out = append(out, nil)
		}
	}
	for _, a := range c.aggs {
		switch a.kind {
		case aggCount:
			out = append(out, []string{strconv.FormatUint(row.Count, 10)})
		case aggMinTime:
			out = append(out, timeCell(row.HasTime, row.First))
		case aggMaxTime:
			out = append(out, timeCell(row.HasTime, row.Last))
		case aggDC:
			n := 0
			if a.ext < len(row.Ext) {
				n = len(row.Ext[a.ext].Values)
			}
			out = append(out, []string{strconv.Itoa(n)})
		default:
			var vs []string
			if a.ext < len(row.Ext) {
				vs = slices.Clone(row.Ext[a.ext].Values)
			}
			out = append(out, vs)
		}
	}
	return out
}

func timeCell(ok bool, t float64) []string {
	if !ok {
		return nil
	}
	return []string{FormatTime(t)}
}

// Table returns the rows as a table of the tstats output columns (TstatsColumns), before the pipeline.
func (c *Detection) Table(rows []Row) *spl.Table {
	t := &spl.Table{Columns: c.TstatsColumns()}
	for i := range rows {
		cells := c.Cells(&rows[i])
		r := make(spl.Row, len(cells))
		for j, col := range t.Columns {
			if len(cells[j]) > 0 {
				r[col] = cells[j]
			}
		}
		t.Rows = append(t.Rows, r)
	}
	return t
}

// Results runs the aggregated rows through the pipeline after tstats and returns the final table: the columns
// and rows the whole search outputs. Without a pipeline it is Table(rows).
func (c *Detection) Results(rows []Row, o spl.RunOptions) (*spl.Table, error) {
	t := c.Table(rows)
	if c.post == nil {
		return t, nil
	}
	out, err := c.post.Run(t, o)
	if err != nil {
		return nil, fmt.Errorf("engine: detection %q: %w", c.src.Name, err)
	}
	return out, nil
}

// timeBucket writes the _time bucket of t into buf: t rounded down to a multiple of the span, counted from
// the epoch, which is where bin aligns buckets for a search in the UTC time zone (docs/escu.md).
func (c *Detection) timeBucket(buf []byte, t float64) []byte {
	span := c.search.SpanSeconds
	if span <= 0 {
		span = 1
	}
	b := math.Floor(t/float64(span)) * float64(span)
	return strconv.AppendInt(buf[:0], int64(b), 10)
}

// addExt updates a group's extended aggregates, states, with record r (time t when hasTime).
func (a *Aggregator) addExt(states []AggState, r *Record, t float64, hasTime bool) {
	for _, sp := range a.c.aggs {
		if sp.ext < 0 {
			continue
		}
		st := &states[sp.ext]
		vs := r.values(sp.slot)
		if len(vs) == 0 {
			continue
		}
		switch sp.kind {
		case aggValues, aggDC:
			for _, v := range vs {
				st.Values = insertSorted(st.Values, v)
			}
		case aggEarliest, aggLatest:
			if !hasTime {
				continue
			}
			better := !st.HasTime || (sp.kind == aggEarliest && t < st.Time) || (sp.kind == aggLatest && t > st.Time)
			if !better && t == st.Time && compareValues(vs, st.Values) < 0 {
				better = true
			}
			if better {
				st.Values = st.Values[:0]
				for _, v := range vs {
					st.Values = append(st.Values, string(v))
				}
				st.Time, st.HasTime = t, true
			}
		}
	}
}

// mergeExt merges a partial's extended state into a group's, states.
func (a *Aggregator) mergeExt(states []AggState, ext []AggState) {
	for _, sp := range a.c.aggs {
		if sp.ext < 0 || sp.ext >= len(ext) {
			continue
		}
		in := ext[sp.ext]
		st := &states[sp.ext]
		switch sp.kind {
		case aggValues, aggDC:
			for _, v := range in.Values {
				if v != "" {
					st.Values = insertSortedString(st.Values, v)
				}
			}
		case aggEarliest, aggLatest:
			if !in.HasTime || len(in.Values) == 0 {
				continue
			}
			better := !st.HasTime || (sp.kind == aggEarliest && in.Time < st.Time) || (sp.kind == aggLatest && in.Time > st.Time)
			if !better && in.Time == st.Time && slices.Compare(in.Values, st.Values) < 0 {
				better = true
			}
			if better {
				st.Values = slices.Clone(in.Values)
				st.Time, st.HasTime = in.Time, true
			}
		}
	}
}

func compareValues(vs [][]byte, s []string) int {
	for i := 0; i < len(vs) && i < len(s); i++ {
		if c := -compareStringBytes(s[i], vs[i]); c != 0 {
			return c
		}
	}
	return len(vs) - len(s)
}

func insertSorted(s []string, v []byte) []string {
	i, found := slices.BinarySearchFunc(s, v, compareStringBytes)
	if found {
		return s
	}
	return slices.Insert(s, i, string(v))
}

func insertSortedString(s []string, v string) []string {
	i, found := slices.BinarySearch(s, v)
	if found {
		return s
	}
	return slices.Insert(s, i, v)
}

func cloneExt(ext []AggState) []AggState {
	if len(ext) == 0 {
		return nil
	}
	out := make([]AggState, len(ext))
	for i, e := range ext {
		out[i] = AggState{Values: slices.Clone(e.Values), Time: e.Time, HasTime: e.HasTime}
	}
	return out
}

// String describes an aggregate kind in errors.
func (k aggKind) String() string {
	return [...]string{"count", "min(_time)", "max(_time)", "values", "dc", "earliest", "latest"}[k]
}

// FillNullValue returns the fillnull_value option written in the search (after macro expansion: ESCU's
// security_content_summariesonly carries fillnull_value="null" since 2022), and whether there is one.
func (c *Detection) FillNullValue() (string, bool) {
	v, ok := "", false
	for _, o := range c.search.Options {
		if !o.Macro && o.Name == "fillnull_value" {
			v, ok = o.Value, true
		}
	}
	return v, ok
}
