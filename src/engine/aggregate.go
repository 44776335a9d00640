package engine

import (
	"fmt"
	"math"
	"math/bits"
	"slices"
	"strings"
)

// Record is one input record: the values of each slot and _time. It is reusable (Reset) and holds views:
// the bytes passed to Add and SetTime belong to the caller and must stay unchanged until Aggregator.Add
// returns; the record keeps no copy.
type Record struct {
	vals   [][][]byte
	time   []byte
	tnum   float64 // _time as a number, when hasNum (SetTimeValue)
	hasNum bool
}

// NewRecord returns an empty record with one slot per field of the detection.
func (c *Detection) NewRecord() *Record {
	return &Record{vals: make([][][]byte, len(c.fields))}
}

// Reset empties the record, keeping its storage.
func (r *Record) Reset() {
	for i := range r.vals {
		r.vals[i] = r.vals[i][:0]
	}
	r.time = nil
	r.hasNum = false
}

// Add appends one value to a slot; call it once per value of a multivalue field. An empty v is a null and is
// not stored. A slot out of range is ignored.
func (r *Record) Add(slot int, v []byte) {
	if slot < 0 || slot >= len(r.vals) || len(v) == 0 {
		return
	}
	r.vals[slot] = append(r.vals[slot], v)
}

// SetTime sets the raw _time value (parsed only if the record matches).
func (r *Record) SetTime(t []byte) { r.time, r.hasNum = t, false }

// SetTimeValue sets _time in epoch seconds, for readers that hold it as a number: no text round trip. A NaN or
// an infinity is no time, as parseTime reads them.
func (r *Record) SetTimeValue(t float64) {
	r.time = nil
	r.tnum, r.hasNum = t, !math.IsNaN(t) && !math.IsInf(t, 0)
}

// timeValue returns _time as a number and whether the record has one.
func (r *Record) timeValue() (float64, bool) {
	if r.hasNum {
		return r.tnum, true
	}
	return parseTime(r.time)
}

func (r *Record) values(slot int) [][]byte {
	if slot < 0 || slot >= len(r.vals) {
		return nil
	}
	return r.vals[slot]
}

// Stats counts records seen by an aggregator (and by the map phases whose partials it merged).
type Stats struct {
	Records     uint64 // records passed to Add
	Matched     uint64 // records that satisfied the filter
	NullDropped uint64 // matched records left out because a by-field was null (without FillNull)
	Truncated   uint64 // matched records whose multivalue cross product exceeded MaxCombinations
}

// Partial is a partial aggregate emitted by a map phase. Key holds one value per by-field (already expanded,
// filled or not null); Annotations holds, per AnnotateFields entry, the distinct matched values of that field
// in the group (nil when the map phase did not annotate).
type Partial struct {
	Key         [][]byte
	Count       uint64
	First, Last float64
	HasTime     bool
	Annotations [][][]byte
	Ext         []AggState // per values/dc/earliest/latest aggregate of a CompileSearch detection, in order
}

// Row is one output row.
type Row struct {
	Key         []string // by-field values, by-clause order
	Count       uint64
	First, Last float64 // min and max _time; meaningful when HasTime
	HasTime     bool
	Annotations [][]string // per AnnotateFields entry, distinct values in byte order (at most MaxAnnotations)
	Ext         []AggState // per values/dc/earliest/latest aggregate (CompileSearch detections), in order
}

// Aggregator filters, groups and counts records of one detection. It is not safe for concurrent use.
type Aggregator struct {
	c      *Detection
	opts   Options
	t      groupTable
	extras bool // the groups keep a groupExtra (annotations, values/dc/earliest/latest states)
	stats  Stats
	seq    uint64
	keybuf []byte
	idx    []int      // odometer over the by-fields' values
	byVals [][][]byte // the by-fields' values of the current record (filled when null)
	fill   [][]byte
	mem    int64      // the estimated bytes held by the groups (see Mem)
	tvals  [][]byte   // the one value of the _time by-field (a bucket), reused
	ks     keyScratch // for Rows
}

// NewAggregator returns an empty aggregator.
func (c *Detection) NewAggregator(o Options) *Aggregator {
	return &Aggregator{
		c:      c,
		opts:   o,
		t:      newGroupTable(),
		extras: o.Annotate || c.nExt > 0,
		idx:    make([]int, len(c.by)),
		byVals: make([][][]byte, len(c.by)),
		fill:   [][]byte{[]byte(o.FillNullValue)},
		tvals:  [][]byte{make([]byte, 0, 24)},
	}
}

func (c *Detection) eval(n *node, r *Record) bool {
	switch n.kind {
	case nodeEq:
		for _, v := range r.values(n.slot) {
			for i := range n.pats {
				if n.pats[i].match(v) {
					return true
				}
			}
		}
		return false
	case nodeNe:
		for _, v := range r.values(n.slot) {
			if !n.pats[0].match(v) {
				return true
			}
		}
		return false
	case nodeNot:
		return !c.eval(n.kids[0], r)
	case nodeAnd:
		for _, k := range n.kids {
			if !c.eval(k, r) {
				return false
			}
		}
		return true
	case nodeOr:
		for _, k := range n.kids {
			if c.eval(k, r) {
				return true
			}
		}
		return false
	}
	return true
}

// Match reports whether the record satisfies the detection's filter.
func (c *Detection) Match(r *Record) bool { return c.eval(c.filter, r) }

// Add filters the record and counts it in each group it falls into; it reports whether the filter matched.
// It allocates only when the record opens a new group (or adds a new annotation value).
func (a *Aggregator) Add(r *Record) (matched bool) {
	a.stats.Records++
	if !a.c.eval(a.c.filter, r) {
		return false
	}
	a.addMatched(r)
	return true
}

// AddMatched adds a record the caller has already proved to match the detection's filter (for example with an
// exact translation of it), without evaluating the filter again. Its counters are those of Add.
func (a *Aggregator) AddMatched(r *Record) {
	a.stats.Records++
	a.addMatched(r)
}

func (a *Aggregator) addMatched(r *Record) {
	a.stats.Matched++
	t, hasTime := r.timeValue()
	combos := 1
	for i, sl := range a.c.by {
		vs := r.values(sl)
		if sl == timeSlot {
			vs = nil
			if hasTime {
				a.tvals[0] = a.c.timeBucket(a.tvals[0], t)
				vs = a.tvals
			}
		}
		if len(vs) == 0 {
			if !a.opts.FillNull {
				a.stats.NullDropped++
				return
			}
			vs = a.fill
		}
		a.byVals[i] = vs
		a.idx[i] = 0
		combos = satMul(combos, len(vs))
	}
	if combos > MaxCombinations {
		a.stats.Truncated++
		combos = MaxCombinations
	}
	a.seq++
	for n := 0; n < combos; n++ {
		gi := a.lookup(a.byVals, a.idx)
		g := &a.t.recs[gi]
		if g.seen != a.seq {
			g.seen = a.seq
			g.count++
			if hasTime {
				g.addTime(t, t)
			}
			if a.c.nExt > 0 {
				a.addExt(a.t.extra[gi].ext, r, t, hasTime)
			}
		}
		if a.opts.Annotate {
			a.annotate(&a.t.extra[gi], r)
		}
		a.advance()
	}
}

func satMul(a, b int) int {
	if a > 0 && b > MaxCombinations*2/a {
		return MaxCombinations * 2
	}
	return a * b
}

// advance moves the odometer to the next combination of by-field values.
func (a *Aggregator) advance() {
	for i := len(a.idx) - 1; i >= 0; i-- {
		a.idx[i]++
		if a.idx[i] < len(a.byVals[i]) {
			return
		}
		a.idx[i] = 0
	}
}

// addCount adds n records, spanning first..last when hasTime, to g. what names where they come from
// ("partial", "merged") in the error returned when g's count would exceed 2^64-1; g is then unchanged.
func (g *groupRec) addCount(what string, n uint64, hasTime bool, first, last float64) error {
	sum, carry := bits.Add64(g.count, n, 0)
	if carry != 0 {
		return fmt.Errorf("engine: %s count %d overflows the group's count %d (more than 2^64-1 records)", what, n, g.count)
	}
	g.count = sum
	if hasTime {
		g.addTime(first, last)
	}
	return nil
}

func (g *groupRec) addTime(first, last float64) {
	if !g.hasTime {
		g.first, g.last, g.hasTime = first, last, true
		return
	}
	g.first = min(g.first, first)
	g.last = max(g.last, last)
}

// lookup finds or creates the group of the key vals[i][idx[i]] and returns its index.
func (a *Aggregator) lookup(vals [][][]byte, idx []int) int {
	buf := a.keybuf[:0]
	for i := range vals {
		buf = appendKeyValue(buf, vals[i][idx[i]])
	}
	a.keybuf = buf
	return a.findOrAdd(buf)
}

// findOrAdd finds or creates the group of the encoded key k and returns its index.
func (a *Aggregator) findOrAdd(k []byte) int {
	h := hashKey(k)
	if gi := a.t.find(k, h); gi >= 0 {
		return gi
	}
	gi := a.t.insert(k, h)
	a.mem += int64(len(k)) + recCost
	if a.extras {
		a.t.extra = append(a.t.extra, groupExtra{ann: make([][]string, len(a.c.ann)), ext: newExt(a.c.nExt)})
		a.mem += extraCost
	}
	if cap(a.keybuf) > 1<<20 {
		a.keybuf = nil // do not keep a buffer as large as the largest key ever seen
	}
	return gi
}

func (a *Aggregator) annotate(g *groupExtra, r *Record) {
	for i, sl := range a.c.ann {
		pats := a.c.annPats[i]
		for _, v := range r.values(sl) {
			if len(pats) > 0 && !anyMatch(pats, v) {
				continue
			}
			n := len(g.ann[i])
			g.ann[i] = insertAnnotation(g.ann[i], v)
			if len(g.ann[i]) != n {
				a.mem += int64(len(v)) + 16
			}
		}
	}
}

func anyMatch(pats []pattern, v []byte) bool {
	for i := range pats {
		if pats[i].match(v) {
			return true
		}
	}
	return false
}

// insertAnnotation adds v to the sorted set s, keeping the MaxAnnotations smallest values.
func insertAnnotation(s []string, v []byte) []string {
	i, found := slices.BinarySearchFunc(s, v, compareStringBytes)
	if found || (i >= MaxAnnotations) {
		return s
	}
	s = slices.Insert(s, i, string(v))
	if len(s) > MaxAnnotations {
		s = s[:MaxAnnotations]
	}
	return s
}

// compareStringBytes compares s and b in byte order without converting either.
func compareStringBytes(s string, b []byte) int {
	// Comparisons with string(b) do not copy b; the runtime compares the bytes in bulk.
	switch {
	case s == string(b):
		return 0
	case s < string(b):
		return -1
	}
	return 1
}

// AddPartial merges a partial aggregate of a map phase. A key of the wrong length, a null key value (unless
// FillNull), a zero count, a non-finite or inverted time range, or annotations for a different number of
// fields are errors, and the partial is not merged.
func (a *Aggregator) AddPartial(p *Partial) error {
	if p == nil {
		return fmt.Errorf("engine: nil partial")
	}
	if len(p.Key) != len(a.c.by) {
		return fmt.Errorf("engine: partial key has %d values, want %d (%s)", len(p.Key), len(a.c.by), strings.Join(a.c.ByFields(), ","))
	}
	for i, v := range p.Key {
		if len(v) == 0 && !a.opts.FillNull {
			return fmt.Errorf("engine: partial key value %d (%s) is empty", i, a.c.ByFields()[i])
		}
	}
	if p.Count == 0 {
		return fmt.Errorf("engine: partial count is 0")
	}
	if p.HasTime {
		if math.IsNaN(p.First) || math.IsInf(p.First, 0) || math.IsNaN(p.Last) || math.IsInf(p.Last, 0) || p.First > p.Last {
			return fmt.Errorf("engine: partial time range %v..%v is invalid", p.First, p.Last)
		}
	}
	if len(p.Ext) != 0 && len(p.Ext) != a.c.nExt {
		return fmt.Errorf("engine: partial has %d aggregate states, want %d", len(p.Ext), a.c.nExt)
	}
	if len(p.Annotations) != 0 && len(p.Annotations) != len(a.c.ann) {
		return fmt.Errorf("engine: partial has %d annotation lists, want %d", len(p.Annotations), len(a.c.ann))
	}
	for i := range a.idx {
		a.idx[i] = 0
		a.byVals[i] = p.Key[i : i+1]
	}
	gi := a.lookup(a.byVals, a.idx)
	if err := a.t.recs[gi].addCount("partial", p.Count, p.HasTime, p.First, p.Last); err != nil {
		return err
	}
	if !a.extras {
		return nil
	}
	g := &a.t.extra[gi]
	for i, vs := range p.Annotations {
		for _, v := range vs {
			if len(v) > 0 {
				n := len(g.ann[i])
				g.ann[i] = insertAnnotation(g.ann[i], v)
				if len(g.ann[i]) != n {
					a.mem += int64(len(v)) + 16
				}
			}
		}
	}
	a.mergeExt(g.ext, p.Ext)
	return nil
}

// Merge adds every group and counter of b, an aggregator of the same detection and options (for example a
// parallel reader's worker), to a, as if a had seen b's records too; b is left unchanged. A count that would
// exceed 2^64-1 is an error, and a is then partly merged.
func (a *Aggregator) Merge(b *Aggregator) error {
	if a.c != b.c || a.opts != b.opts {
		return fmt.Errorf("engine: merge of aggregators of different detections or options")
	}
	for i := range b.t.recs {
		bg := &b.t.recs[i]
		gi := a.findOrAdd(b.t.key(i)) // a copy, so that b's memory goes when b is reset
		if err := a.t.recs[gi].addCount("merged", bg.count, bg.hasTime, bg.first, bg.last); err != nil {
			return err
		}
		if a.extras {
			a.mem += a.mergeExtra(&a.t.extra[gi], &b.t.extra[i])
		}
	}
	return a.AddStats(b.stats)
}

// mergeExtra merges the annotations and aggregate states of src into g and returns the bytes the new
// annotation values add to the estimate (Mem).
func (a *Aggregator) mergeExtra(g, src *groupExtra) (added int64) {
	for j, vs := range src.ann {
		if j < len(g.ann) {
			for _, v := range vs {
				var ok bool
				if g.ann[j], ok = insertAnnotationString(g.ann[j], v); ok {
					added += int64(len(v)) + 16
				}
			}
		}
	}
	a.mergeExt(g.ext, src.ext)
	return added
}

// insertAnnotationString is insertAnnotation for a value that is already a string: it is shared, not copied.
// added reports whether v was kept.
func insertAnnotationString(s []string, v string) (_ []string, added bool) {
	i, found := slices.BinarySearch(s, v)
	if found || i >= MaxAnnotations {
		return s, false
	}
	s = slices.Insert(s, i, v)
	if len(s) > MaxAnnotations {
		s = s[:MaxAnnotations]
	}
	return s, true
}

// Stats returns the counters.
func (a *Aggregator) Stats() Stats { return a.stats }

// ResetStats zeroes the counters, keeping the groups: after their sum has been moved to another aggregator
// with AddStats.
func (a *Aggregator) ResetStats() { a.stats = Stats{} }

// AddStats adds counters reported by a map phase. A sum that would exceed 2^64-1 is an error and nothing is
// added.
func (a *Aggregator) AddStats(s Stats) error {
	var sum Stats
	var c1, c2, c3, c4 uint64
	sum.Records, c1 = bits.Add64(a.stats.Records, s.Records, 0)
	sum.Matched, c2 = bits.Add64(a.stats.Matched, s.Matched, 0)
	sum.NullDropped, c3 = bits.Add64(a.stats.NullDropped, s.NullDropped, 0)
	sum.Truncated, c4 = bits.Add64(a.stats.Truncated, s.Truncated, 0)
	if c1|c2|c3|c4 != 0 {
		return fmt.Errorf("engine: counters %+v overflow the totals %+v (more than 2^64-1)", s, a.stats)
	}
	a.stats = sum
	return nil
}

// Rows returns the groups sorted by key (by-field values in by-clause order, byte order). The rows are
// fresh copies.
func (a *Aggregator) Rows() []Row {
	order := a.t.sorted()
	rows := make([]Row, len(order))
	for i, gi := range order {
		g := &a.t.recs[gi]
		key, _ := keyStrings(nil, a.t.key(int(gi)), len(a.c.by), &a.ks)
		row := Row{Key: key, Count: g.count, First: g.first, Last: g.last, HasTime: g.hasTime}
		if a.extras {
			ex := &a.t.extra[gi]
			row.Ext = cloneExt(ex.ext)
			if a.opts.Annotate {
				row.Annotations = make([][]string, len(ex.ann))
				for j, vs := range ex.ann {
					row.Annotations[j] = slices.Clone(vs)
				}
			}
		}
		rows[i] = row
	}
	return rows
}

// Reset drops the groups and the counters, keeping the options.
func (a *Aggregator) Reset() {
	a.dropGroups()
	a.stats = Stats{}
}

func newExt(n int) []AggState {
	if n == 0 {
		return nil
	}
	return make([]AggState, n)
}
