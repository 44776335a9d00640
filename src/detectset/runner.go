package detectset

import (
	"fmt"

	"regasmdetect/src/engine"
)

// Runner feeds records to one aggregator per detection of a set. It is not safe for concurrent use; run one
// per goroutine and merge their partials, as the engine's map and reduce phases do.
type Runner struct {
	set    *Set
	aggs   []*engine.Aggregator
	recs   []*engine.Record
	passed []uint64 // records passed to each aggregator's Add
	total  uint64   // records passed to Runner.Add

	seq      uint32
	hits     [][]uint32 // per slot, per literal id: seq when the literal hit the current record
	prepared []uint32   // per slot: seq when hits and ascii were computed
	ascii    []bool     // per slot: every value of the current record is ASCII
	hitList  [][]int32  // per slot: the literal ids the current record hit
	candSeen []uint32   // per detection: seq when it became a candidate
	cands    []int32
	buf      []byte
	tseq     uint32  // seq when tnum/tok were parsed from the current record's raw _time
	tnum     float64 // the current record's _time as a number, when tok
	tok      bool
}

// NewRunner returns a runner with one aggregator per detection; opts holds each detection's options (one
// entry for all, or one per detection).
func (s *Set) NewRunner(opts []engine.Options) (*Runner, error) {
	if len(opts) != 1 && len(opts) != len(s.dets) {
		return nil, fmt.Errorf("detectset: %d options for %d detections", len(opts), len(s.dets))
	}
	r := &Runner{
		set:      s,
		passed:   make([]uint64, len(s.dets)),
		hits:     make([][]uint32, len(s.fields)),
		prepared: make([]uint32, len(s.fields)),
		ascii:    make([]bool, len(s.fields)),
		hitList:  make([][]int32, len(s.fields)),
		candSeen: make([]uint32, len(s.dets)),
	}
	for i, d := range s.dets {
		o := opts[0]
		if len(opts) > 1 {
			o = opts[i]
		}
		r.aggs = append(r.aggs, d.NewAggregator(o))
		r.recs = append(r.recs, d.NewRecord())
	}
	for sl, t := range s.lits {
		if t != nil {
			r.hits[sl] = make([]uint32, t.n)
		}
	}
	return r, nil
}

// Aggregator returns detection i's aggregator. Call Flush first for its Stats to count every record.
func (r *Runner) Aggregator(i int) *engine.Aggregator { return r.aggs[i] }

// Flush counts the records each aggregator was spared (known not to match) in its Stats.Records, so that its
// counters equal those of an aggregator fed every record. Call it before reading Stats; it may be called again.
func (r *Runner) Flush() {
	for i, a := range r.aggs {
		if n := r.total - r.passed[i]; n > 0 {
			_ = a.AddStats(engine.Stats{Records: n}) // cannot overflow: n records were seen
			r.passed[i] = r.total
		}
	}
}

// Add feeds one record to every detection that can match it and returns how many of them matched. It
// allocates only when an aggregator opens a new group.
func (r *Runner) Add(rec *Record) (matched int) {
	s := r.set
	r.total++
	r.next()
	r.cands = r.cands[:0]
	for _, d := range s.always {
		r.candSeen[d] = r.seq
		r.cands = append(r.cands, d)
	}
	for _, sl := range s.pinSlots {
		t := s.lits[sl]
		if !r.prepare(sl, rec) {
			r.addCands(t.pinAll)
			continue
		}
		for _, id := range r.hitList[sl] {
			r.addCands(t.idDets[id])
		}
	}
	for _, d := range r.cands {
		if p := s.progs[d]; p != nil && !r.eval(p, rec) {
			continue
		}
		if r.feed(int(d), rec) {
			matched++
		}
	}
	return matched
}

func (r *Runner) addCands(ds []int32) {
	for _, d := range ds {
		if r.candSeen[d] != r.seq {
			r.candSeen[d] = r.seq
			r.cands = append(r.cands, d)
		}
	}
}

// next advances the record sequence number; at wrap-around every stamp is cleared.
func (r *Runner) next() {
	r.seq++
	if r.seq != 0 {
		return
	}
	for _, h := range r.hits {
		clear(h)
	}
	clear(r.prepared)
	clear(r.candSeen)
	r.tseq = 0
	r.seq = 1
}

// feed passes the record to detection d's aggregator. Add has already evaluated d's filter when the set
// translated it (progs[d] != nil), so the aggregator does not evaluate it again; otherwise it does.
func (r *Runner) feed(d int, rec *Record) bool {
	er := r.recs[d]
	er.Reset()
	for slot, g := range r.set.detSlots[d] {
		for _, v := range rec.vals[g] {
			er.Add(slot, v)
		}
	}
	switch {
	case rec.hasNum:
		er.SetTimeValue(rec.tnum)
	default:
		if r.tseq != r.seq {
			r.tseq = r.seq
			r.tnum, r.tok = engine.ParseTime(rec.time)
		}
		if r.tok {
			er.SetTimeValue(r.tnum) // parsed once per record, not once per detection
		} else {
			er.SetTime(rec.time)
		}
	}
	r.passed[d]++
	if r.set.progs[d] != nil {
		// progs[d] is the whole filter, evaluated exactly as the engine does and already true for rec.
		r.aggs[d].AddMatched(er)
		return true
	}
	return r.aggs[d].Add(er)
}

// prepare computes, once per record, whether slot sl's values are all ASCII and, if so, which literals of
// the slot's table they hit. It reports the ASCII flag.
func (r *Runner) prepare(sl int, rec *Record) bool {
	if r.prepared[sl] == r.seq {
		return r.ascii[sl]
	}
	r.prepared[sl] = r.seq
	vals := rec.vals[sl]
	for _, v := range vals {
		if !engine.IsASCII(v) {
			r.ascii[sl] = false
			return false
		}
	}
	r.ascii[sl] = true
	t := r.set.lits[sl]
	if t == nil {
		return true
	}
	hits, list := r.hits[sl], r.hitList[sl][:0]
	for _, v := range vals {
		if len(t.exact) > 0 {
			r.buf = appendLower(r.buf[:0], v)
			if id, ok := t.exact[string(r.buf)]; ok && hits[id] != r.seq {
				hits[id] = r.seq
				list = append(list, id)
			}
		}
		if t.ac != nil {
			list = t.ac.run(v, hits, r.seq, list)
		}
	}
	r.hitList[sl] = list
	return true
}

// eval is the filter as the engine evaluates it, with literal tests answered from the slot tables.
func (r *Runner) eval(n *xnode, rec *Record) bool {
	switch n.kind {
	case xEq:
		vals := rec.vals[n.slot]
		if len(vals) == 0 {
			return false
		}
		if !r.prepare(n.slot, rec) {
			for i := range n.pats {
				if anyMatch(&n.pats[i].pat, vals) {
					return true
				}
			}
			return false
		}
		hits := r.hits[n.slot]
		for i := range n.pats {
			p := &n.pats[i]
			switch p.kind {
			case pExact, pSub:
				if hits[p.id] == r.seq {
					return true
				}
			case pSegs:
				all := true
				for _, id := range p.segs {
					if hits[id] != r.seq {
						all = false
						break
					}
				}
				if all && anyMatch(&p.pat, vals) {
					return true
				}
			default:
				if anyMatch(&p.pat, vals) {
					return true
				}
			}
		}
		return false
	case xNe:
		for _, v := range rec.vals[n.slot] {
			if !n.pats[0].pat.Match(v) {
				return true
			}
		}
		return false
	case xNot:
		return !r.eval(n.kids[0], rec)
	case xAnd:
		for _, k := range n.kids {
			if !r.eval(k, rec) {
				return false
			}
		}
		return true
	case xOr:
		for _, k := range n.kids {
			if r.eval(k, rec) {
				return true
			}
		}
		return false
	}
	return true
}

func anyMatch(p *engine.Pattern, vals [][]byte) bool {
	for _, v := range vals {
		if p.Match(v) {
			return true
		}
	}
	return false
}

func appendLower(dst, v []byte) []byte {
	for _, c := range v {
		dst = append(dst, lowerASCII(c))
	}
	return dst
}
