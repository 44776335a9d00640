// Package detectset evaluates many compiled detections over one stream of Endpoint.Processes records in a
// single pass: each record is decoded once, tested only against the detections that can match it, and counted
// by the engine's own aggregators, so the rows are exactly those of running each detection on its own.
//
// Two structures avoid testing every detection on every record:
//
//   - An index on literal-pinned fields. When a top-level AND term of a detection's filter (or the whole
//     filter) is field=value or field IN (...) with wildcard-free ASCII values, or an OR of such comparisons
//     (the shape of ESCU's process_* macros), a record can match only if one of its values of that field
//     equals one of those literals, case-insensitively. Such detections are indexed by (field, lower-cased
//     literal); a record's candidates are the detections its values hit plus the unindexed ones.
//   - One literal table per field for the candidates' filters: the wildcard-free values of the field become
//     a hash lookup, and the literal segments of every wildcard value ("*\\rundll32.exe", "*-enc*") go into
//     one Aho-Corasick automaton run once over the value. A "*literal*" value is then a table read; any other
//     wildcard value is tested with the engine's own matcher only when all its segments occur.
//
// The tables work on ASCII values, where ASCII case folding is the filter's case folding. A value with a
// non-ASCII byte (where simple Unicode folding, such as the Kelvin sign for k, can matter) is matched by the
// engine's pattern matcher for every comparison, and makes every detection indexed on its field a candidate.
// A detection whose filter has a shape this package does not know is a candidate for every record, and its
// records go through engine.Aggregator.Add, which evaluates the filter: the pre-test can only skip records, and
// it skips only records that do not match. A detection whose whole filter the set translated is evaluated by
// the runner exactly as the engine evaluates it, so a matching record goes to engine.Aggregator.AddMatched
// without a second evaluation. Skipped records are counted in Stats.Records when the runner is flushed.
package detectset

import (
	"fmt"
	"sort"
	"strings"

	"regasmdetect/src/engine"
	"regasmdetect/src/tstats"
)

// Set is a compiled set of detections. It is immutable and safe to share between goroutines.
type Set struct {
	dets     []*engine.Detection
	fields   []string // global slot -> field name without prefix
	slotOf   map[string]int
	detSlots [][]int   // per detection: engine slot -> global slot
	progs    []*xnode  // per detection: the filter over global slots; nil = evaluate with the engine alone
	lits     []*litTab // per global slot: the literal table (nil when no filter compares the field)
	pinSlots []int     // global slots with an index
	always   []int32   // detections that are candidates for every record
}

// litTab holds, for one field, the literals of every comparison on it and the pin index.
type litTab struct {
	n      int              // ids in use
	exact  map[string]int32 // lower-cased wildcard-free value -> id
	subs   []string         // wildcard segments, lower-cased; id = subIDs[i]
	subIDs []int32
	subOf  map[string]int32
	ac     *automaton
	pins   map[int32][]int32 // literal id -> detections indexed on it (while building)
	idDets [][]int32         // literal id -> detections indexed on it
	pinAll []int32           // every detection indexed on this field
}

// intern gives s, lowered, its id in m: a new one, numbered on from every literal of t, the first time
// (fresh). It returns the lowered string.
func (t *litTab) intern(m map[string]int32, s string) (low string, id int32, fresh bool) {
	low = lowerString(s)
	if id, ok := m[low]; ok {
		return low, id, false
	}
	id = int32(t.n)
	t.n++
	m[low] = id
	return low, id, true
}

func (t *litTab) exactID(lit string) int32 {
	_, id, _ := t.intern(t.exact, lit)
	return id
}

func (t *litTab) subID(seg string) int32 {
	seg, id, fresh := t.intern(t.subOf, seg)
	if fresh {
		t.subs = append(t.subs, seg)
		t.subIDs = append(t.subIDs, id)
	}
	return id
}

type xkind uint8

const (
	xTrue xkind = iota
	xEq
	xNe
	xNot
	xAnd
	xOr
)

type xnode struct {
	kind xkind
	slot int
	pats []xpat
	kids []*xnode
}

type pkind uint8

const (
	pEngine pkind = iota // test with the engine's matcher only
	pExact               // wildcard-free ASCII: id is its exact literal
	pSub                 // "*literal*" (stars around one ASCII segment): id is the segment
	pSegs                // other wildcard value with ASCII segments: all segs must occur, then the engine decides
)

type xpat struct {
	kind pkind
	id   int32   // pExact, pSub: the literal; pSegs: the longest segment (the index key)
	segs []int32 // pSegs: every segment
	cost float64 // how often the index key is expected to hit: lower is more selective
	pat  engine.Pattern
}

// keyCost estimates how often a literal hits a record: short substrings hit often, whole values rarely.
func keyCost(lit string, exact bool) float64 {
	n := float64(len(lit))
	if exact {
		n += 8
	}
	return 1 / (n * n)
}

// New compiles the set. The detections keep their order: index i of the set is dets[i].
func New(dets []*engine.Detection) (*Set, error) {
	s := &Set{dets: dets, slotOf: map[string]int{}}
	for i, d := range dets {
		if d == nil {
			return nil, fmt.Errorf("detectset: detection %d is nil", i)
		}
		fs := d.Fields()
		m := make([]int, len(fs))
		for j, f := range fs {
			m[j] = s.slot(f)
		}
		s.detSlots = append(s.detSlots, m)
	}
	s.lits = make([]*litTab, len(s.fields))
	for i, d := range dets {
		where := d.Search().Where
		var prog *xnode
		if where == nil {
			prog = &xnode{kind: xTrue}
		} else {
			prog = s.compile(where)
		}
		s.progs = append(s.progs, prog)
		if prog == nil || !s.pin(int32(i), prog) {
			s.always = append(s.always, int32(i))
		}
	}
	for sl, t := range s.lits {
		if t == nil {
			continue
		}
		if len(t.subs) > 0 {
			t.ac = newAutomaton(t.subs, t.subIDs)
		}
		if len(t.pins) > 0 {
			s.pinSlots = append(s.pinSlots, sl)
			t.idDets = make([][]int32, t.n)
			seen := map[int32]bool{}
			for id, ds := range t.pins {
				t.idDets[id] = ds
				for _, d := range ds {
					if !seen[d] {
						seen[d] = true
						t.pinAll = append(t.pinAll, d)
					}
				}
			}
			t.pins = nil
			sort.Slice(t.pinAll, func(a, b int) bool { return t.pinAll[a] < t.pinAll[b] })
		}
	}
	return s, nil
}

func (s *Set) slot(f string) int {
	f = tstats.StripPrefix(f)
	if i, ok := s.slotOf[f]; ok {
		return i
	}
	s.slotOf[f] = len(s.fields)
	s.fields = append(s.fields, f)
	return len(s.fields) - 1
}

func (s *Set) tab(slot int) *litTab {
	if s.lits[slot] == nil {
		s.lits[slot] = &litTab{exact: map[string]int32{}, subOf: map[string]int32{}, pins: map[int32][]int32{}}
	}
	return s.lits[slot]
}

// compile turns a filter into the pre-test's tree; nil for an expression type it does not know.
func (s *Set) compile(e tstats.Expr) *xnode {
	switch e := e.(type) {
	case *tstats.Compare:
		sl, ok := s.slotOf[tstats.StripPrefix(e.Field)]
		if !ok {
			return nil
		}
		n := &xnode{kind: xEq, slot: sl}
		switch e.Op {
		case tstats.OpEq, tstats.OpIn:
		case tstats.OpNe:
			n.kind = xNe
		default:
			return nil
		}
		if len(e.Values) == 0 || (n.kind == xNe && len(e.Values) != 1) {
			return nil
		}
		for _, v := range e.Values {
			n.pats = append(n.pats, s.pattern(sl, v.Text))
		}
		return n
	case *tstats.Not:
		k := s.compile(e.X)
		if k == nil {
			return nil
		}
		return &xnode{kind: xNot, kids: []*xnode{k}}
	case *tstats.And, *tstats.Or:
		var terms []tstats.Expr
		n := &xnode{kind: xAnd}
		if a, ok := e.(*tstats.And); ok {
			terms = a.Terms
		} else {
			terms = e.(*tstats.Or).Terms
			n.kind = xOr
		}
		for _, t := range terms {
			k := s.compile(t)
			if k == nil {
				return nil
			}
			n.kids = append(n.kids, k)
		}
		return n
	}
	return nil
}

func (s *Set) pattern(slot int, v string) xpat {
	p := xpat{pat: engine.CompilePattern(v)}
	if !isASCII(v) {
		return p
	}
	if !strings.Contains(v, "*") {
		if v != "" {
			p.kind, p.id, p.cost = pExact, s.tab(slot).exactID(v), keyCost(v, true)
		}
		return p
	}
	var segs []string
	for _, seg := range strings.Split(v, "*") {
		if seg != "" {
			segs = append(segs, seg)
		}
	}
	if len(segs) == 0 {
		return p // "*": any non-empty value; the engine's matcher is cheap for it
	}
	t := s.tab(slot)
	if len(segs) == 1 && strings.HasPrefix(v, "*") && strings.HasSuffix(v, "*") {
		p.kind, p.id, p.cost = pSub, t.subID(segs[0]), keyCost(segs[0], false)
		return p
	}
	p.kind = pSegs
	longest := ""
	for _, seg := range segs {
		id := t.subID(seg)
		p.segs = append(p.segs, id)
		if len(seg) > len(longest) {
			longest, p.id = seg, id
		}
	}
	p.cost = keyCost(longest, false)
	return p
}

// pin indexes detection d by the literals one of which a record must hit for the filter to hold, and
// reports whether it found such a set.
func (s *Set) pin(d int32, prog *xnode) bool {
	keys, _, ok := required(prog, nil)
	if !ok {
		return false
	}
	for _, k := range keys {
		t := s.lits[k.slot]
		if ds := t.pins[k.id]; len(ds) == 0 || ds[len(ds)-1] != d {
			t.pins[k.id] = append(ds, d)
		}
	}
	return true
}

type litKey struct {
	slot int
	id   int32
}

// required returns literal keys such that the expression can hold only on a record where one of them hits
// (a wildcard-free value equal to the field's value, or a segment occurring in it), with their summed cost:
// for a comparison, a key per value; for OR, the union; for AND, the cheapest of its terms that has keys.
// NOT, != and values the tables do not hold have none.
func required(n *xnode, acc []litKey) ([]litKey, float64, bool) {
	switch n.kind {
	case xEq:
		cost := 0.0
		for _, p := range n.pats {
			if p.kind == pEngine {
				return nil, 0, false
			}
			acc = append(acc, litKey{n.slot, p.id})
			cost += p.cost
		}
		return acc, cost, true
	case xOr:
		cost := 0.0
		for _, k := range n.kids {
			var c float64
			var ok bool
			if acc, c, ok = required(k, acc); !ok {
				return nil, 0, false
			}
			cost += c
		}
		return acc, cost, true
	case xAnd:
		var best []litKey
		bestCost := 0.0
		for _, k := range n.kids {
			if keys, c, ok := required(k, nil); ok && (best == nil || c < bestCost) {
				best, bestCost = keys, c
			}
		}
		if best == nil {
			return nil, 0, false
		}
		return append(acc, best...), bestCost, true
	}
	return nil, 0, false
}

// Len returns the number of detections.
func (s *Set) Len() int { return len(s.dets) }

// Detection returns detection i.
func (s *Set) Detection(i int) *engine.Detection { return s.dets[i] }

// Fields returns the field names of the record slots (without prefix): every field any detection reads.
func (s *Set) Fields() []string { return append([]string(nil), s.fields...) }

// Slot returns the record slot of a field ("process_name" or "Processes.process_name"), or -1.
func (s *Set) Slot(field string) int {
	if i, ok := s.slotOf[tstats.StripPrefix(field)]; ok {
		return i
	}
	return -1
}

// Indexed returns how many detections are indexed (tested only on records holding one of their literals).
func (s *Set) Indexed() int { return len(s.dets) - len(s.always) }

// Record is one input record for the whole set: the values of each slot and _time. Like engine.Record it
// holds views of the caller's bytes, which must stay unchanged until Runner.Add returns.
type Record struct {
	vals   [][][]byte
	time   []byte
	tnum   float64 // _time as a number, when hasNum (SetTimeValue)
	hasNum bool
}

// NewRecord returns an empty record with one slot per field of the set.
func (s *Set) NewRecord() *Record { return &Record{vals: make([][][]byte, len(s.fields))} }

// Reset empties the record, keeping its storage.
func (r *Record) Reset() {
	for i := range r.vals {
		r.vals[i] = r.vals[i][:0]
	}
	r.time, r.hasNum = nil, false
}

// Add appends one value to a slot (once per value of a multivalue field). An empty v is a null and is not
// stored; a slot out of range is ignored.
func (r *Record) Add(slot int, v []byte) {
	if slot < 0 || slot >= len(r.vals) || len(v) == 0 {
		return
	}
	r.vals[slot] = append(r.vals[slot], v)
}

// SetTime sets the raw _time value.
func (r *Record) SetTime(t []byte) { r.time, r.hasNum = t, false }

// SetTimeValue sets _time in epoch seconds, as engine.Record.SetTimeValue does.
func (r *Record) SetTimeValue(t float64) { r.time, r.tnum, r.hasNum = nil, t, true }

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

func lowerString(s string) string {
	b := []byte(s)
	for i := range b {
		b[i] = lowerASCII(b[i])
	}
	return string(b)
}

// SearchFillNull returns the fillnull_value a detection's search sets among its tstats options (after macro
// expansion: current ESCU's security_content_summariesonly carries fillnull_value=null) and whether it sets
// one. Detections compiled by engine.Compile keep their macros unexpanded and have none.
func SearchFillNull(det *engine.Detection) (string, bool) {
	for _, o := range det.Search().Options {
		if !o.Macro && o.Name == "fillnull_value" {
			return o.Value, true
		}
	}
	return "", false
}
