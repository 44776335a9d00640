package engine

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"slices"
	"sort"
	"sync"
)

// A merge of many groups can be split by key into parts that are merged independently, on several cores: the
// parts' rows, read one part after the other, are the rows of the whole merge, in the same order. The split
// keys are chosen among the runs' restart points and every restartEvery-th key of the groups in memory, so
// that each part holds about the same number of groups.

// Run is a spilled run as PlanMerge reads it: at any offset, so that the parts of a merge read it at once.
type Run struct {
	R     io.ReaderAt
	Index *RunIndex // as WriteRun or CompactRuns returned it
}

// MergePlan is a merge split into parts by key (PlanMerge). Its mergers may be used at the same time, from
// different goroutines; no aggregator may change while the plan is in use.
type MergePlan struct {
	a      *Aggregator
	runs   []Run
	tables []*groupTable
	orders [][]uint32 // each table's groups in key order
	splits [][]byte   // part i holds the keys from splits[i-1] (from the first) up to splits[i] (to the last)
	groups int        // the groups of every source, an upper bound of the merged rows
	pool   sync.Pool  // closed mergers, whose buffers the next ones reuse
}

// PlanMerge plans the merge NewMerger would do of runs, a's groups and those of others, split into parts of
// about groupsPerPart groups each (at least one part).
func (a *Aggregator) PlanMerge(runs []Run, groupsPerPart int, others ...*Aggregator) (*MergePlan, error) {
	p := &MergePlan{a: a, runs: runs}
	var cands [][]byte
	for _, b := range append([]*Aggregator{a}, others...) {
		if b.c != a.c || b.opts != a.opts {
			return nil, fmt.Errorf("engine: merge of aggregators of different detections or options")
		}
		order := b.t.sorted() // sorted now, once: the parts' mergers share the order
		p.tables, p.orders = append(p.tables, &b.t), append(p.orders, order)
		p.groups += len(order)
		for i := restartEvery; i < len(order); i += restartEvery {
			cands = append(cands, b.t.key(int(order[i])))
		}
	}
	for _, r := range runs {
		x := r.Index
		if x == nil || len(x.offs) != len(x.ends) {
			return nil, fmt.Errorf("engine: merge: a run without its index")
		}
		p.groups += len(x.offs) * restartEvery // at most
		for i := 1; i < len(x.offs); i++ {
			cands = append(cands, x.key(i))
		}
	}
	parts := 1
	if groupsPerPart > 0 {
		parts = max(1, min(p.groups/groupsPerPart, len(cands)+1))
	}
	if parts > 1 {
		slices.SortFunc(cands, bytes.Compare)
		for i := 1; i < parts; i++ {
			k := cands[i*len(cands)/parts]
			if len(p.splits) == 0 || !bytes.Equal(p.splits[len(p.splits)-1], k) {
				p.splits = append(p.splits, k)
			}
		}
	}
	return p, nil
}

// Parts returns the number of parts.
func (p *MergePlan) Parts() int { return len(p.splits) + 1 }

// Merger returns a merger of part i's rows. Close it when done with it, read to the end or not: its buffers
// then go to the plan's next merger, and it must not be used again.
func (p *MergePlan) Merger(i int) (*Merger, error) {
	if i < 0 || i > len(p.splits) {
		return nil, fmt.Errorf("engine: merge part %d of %d", i, p.Parts())
	}
	var lo, hi []byte
	if i > 0 {
		lo = p.splits[i-1]
	}
	if i < len(p.splits) {
		hi = p.splits[i]
	}
	m, _ := p.pool.Get().(*Merger)
	if m == nil {
		m = &Merger{}
	}
	m.a, m.plan = p.a, p
	for j, t := range p.tables {
		order := p.orders[j]
		from, to := 0, len(order)
		if lo != nil {
			from = sort.Search(len(order), func(k int) bool { return bytes.Compare(t.key(int(order[k])), lo) >= 0 })
		}
		if hi != nil {
			to = sort.Search(len(order), func(k int) bool { return bytes.Compare(t.key(int(order[k])), hi) >= 0 })
		}
		if from < to {
			if err := m.add(&mergeSource{t: t, order: order[from:to:to]}); err != nil {
				return nil, err
			}
		}
	}
	for j, r := range p.runs {
		if j == len(m.srcs) {
			m.srcs = append(m.srcs, &mergeSource{r: bufio.NewReaderSize(nil, 16<<10)})
		}
		ok, err := r.source(m.srcs[j], lo, hi)
		if err != nil {
			m.Close()
			return nil, err
		}
		if ok {
			m.heap = append(m.heap, m.srcs[j])
		}
	}
	for j := len(m.heap)/2 - 1; j >= 0; j-- {
		m.down(j)
	}
	return m, nil
}

// source makes s r's groups from lo up to hi, at its first (false when it has none): read from the last
// restart point at or before lo, past the keys before lo. s's buffers are reused.
func (r Run) source(s *mergeSource, lo, hi []byte) (bool, error) {
	x := r.Index
	start := 0
	if lo != nil {
		// The last restart point whose key is at or before lo.
		start = max(0, sort.Search(len(x.offs), func(k int) bool { return bytes.Compare(x.key(k), lo) > 0 })-1)
	}
	off := int64(0)
	if start < len(x.offs) {
		off = x.offs[start]
	}
	s.r.Reset(io.NewSectionReader(r.R, off, x.size-off))
	s.key, s.hi = nil, hi
	for {
		ok, err := s.advance()
		if err != nil || !ok {
			return false, err
		}
		if lo == nil || bytes.Compare(s.key, lo) >= 0 {
			return true, nil
		}
	}
}
