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
// keys are chosen among the runs' restart points and keys of the groups in memory as far apart, so that each
// part holds about as many groups, or as many bytes of keys, as asked: a caller that holds a part's rows in
// memory knows about how much that takes, however long the keys.

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
	pool   sync.Pool  // closed mergers, whose buffers the next ones reuse
}

// PartSize bounds the parts of a planned merge: a part ends once it holds about Groups groups or Bytes bytes of
// rows (estimated as the keys' length plus RowBytes a group), whichever comes first. Zero is no bound.
type PartSize struct {
	Groups   int
	Bytes    int64
	RowBytes int64
}

// splitCand is a key where a part may start, and the groups and bytes from it to the next such key of its
// source.
type splitCand struct {
	key    []byte
	groups int
	bytes  int64
}

// PlanMerge plans the merge NewMerger would do of runs, a's groups and those of others, split into parts of the
// given size (at least one part).
func (a *Aggregator) PlanMerge(runs []Run, size PartSize, others ...*Aggregator) (*MergePlan, error) {
	p := &MergePlan{a: a, runs: runs}
	var cands []splitCand
	for _, b := range append([]*Aggregator{a}, others...) {
		if b.c != a.c || b.opts != a.opts {
			return nil, fmt.Errorf("engine: merge of aggregators of different detections or options")
		}
		order := b.t.sorted() // sorted now, once: the parts' mergers share the order
		p.tables, p.orders = append(p.tables, &b.t), append(p.orders, order)
		// Candidates as far apart as a run's restart points.
		for i := 0; i < len(order); {
			c := splitCand{key: b.t.key(int(order[i]))}
			for ; i < len(order) && c.groups < restartEvery && c.bytes < restartBytes; i++ {
				c.groups++
				c.bytes += int64(len(b.t.key(int(order[i])))) + size.RowBytes
			}
			cands = append(cands, c)
		}
	}
	for _, r := range runs {
		x := r.Index
		if x == nil || len(x.offs) != len(x.ends) || len(x.offs) != len(x.groups) {
			return nil, fmt.Errorf("engine: merge: a run without its index")
		}
		for i := range x.offs {
			n := x.stretch(i)
			cands = append(cands, splitCand{key: x.key(i), groups: n, bytes: int64(n) * (int64(len(x.key(i))) + size.RowBytes)})
		}
	}
	slices.SortFunc(cands, func(x, y splitCand) int { return bytes.Compare(x.key, y.key) })
	var groups int
	var size64 int64
	for _, c := range cands {
		full := size.Groups > 0 && groups >= size.Groups || size.Bytes > 0 && size64 >= size.Bytes
		if full && (len(p.splits) == 0 || !bytes.Equal(p.splits[len(p.splits)-1], c.key)) {
			p.splits = append(p.splits, c.key)
			groups, size64 = 0, 0
		}
		groups += c.groups
		size64 += c.bytes
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
