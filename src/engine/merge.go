package engine

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"slices"
)

// Merger merges sorted runs with aggregators' groups in memory, one row at a time, in key order. Next and
// NextView merge ahead on another goroutine, a batch of rows at a time, so that merging and what the caller
// does with the rows (rendering them) take two cores.
type Merger struct {
	a    *Aggregator
	heap []*mergeSource

	have   bool // acc holds a group
	accKey []byte
	acc    groupRec
	accEx  groupExtra

	// read-ahead
	out     chan *mergeBatch
	free    chan *mergeBatch
	stop    chan struct{}
	done    chan struct{}
	cur     *mergeBatch
	pos     int
	started bool
	mode    mergeMode // what the batches hold, set by the first call

	row  Row
	view RowView

	// a part of a plan's merge (PlanMerge), whose buffers its next merger reuses once this one is closed
	plan  *MergePlan
	srcs  []*mergeSource // every run source, ended or not
	spare []*mergeBatch
}

// RowView is a Row whose key values are views into a merger's buffers, for callers that render them without
// making strings.
type RowView struct {
	Key         [][]byte
	KeyCSV      []byte // NextCSV's: the key values written as CSV fields separated by commas; Key is nil
	KeyCSVLen   int    // NextCSVLen's: the length of KeyCSV; Key is nil
	Count       uint64
	First, Last float64
	HasTime     bool
	Annotations [][]string
	Ext         []AggState
}

// NewMerger returns a merger of the runs written by WriteRun (of a or of other aggregators of the same
// detection and options), a's groups and those of others (aggregators of the same detection and options, for
// example a parallel reader's workers). No aggregator may change or be used while the merger is in use; their
// groups stay. Close the merger when it is not read to the end.
func (a *Aggregator) NewMerger(runs []io.Reader, others ...*Aggregator) (*Merger, error) {
	m := &Merger{a: a}
	for _, b := range append([]*Aggregator{a}, others...) {
		if b.c != a.c || b.opts != a.opts {
			return nil, fmt.Errorf("engine: merge of aggregators of different detections or options")
		}
		if err := m.add(&mergeSource{t: &b.t, order: b.t.sorted()}); err != nil {
			return nil, err
		}
	}
	for _, r := range runs {
		if err := m.add(&mergeSource{r: bufio.NewReaderSize(r, 64<<10)}); err != nil {
			return nil, err
		}
	}
	for i := len(m.heap)/2 - 1; i >= 0; i-- {
		m.down(i)
	}
	return m, nil
}

func (m *Merger) add(s *mergeSource) error {
	ok, err := s.advance()
	if ok {
		m.heap = append(m.heap, s)
	}
	return err
}

// down restores the heap order below i.
func (m *Merger) down(i int) {
	h := m.heap
	for {
		l := 2*i + 1
		if l >= len(h) {
			return
		}
		j := l
		if r := l + 1; r < len(h) && bytes.Compare(h[r].key, h[l].key) < 0 {
			j = r
		}
		if bytes.Compare(h[j].key, h[i].key) >= 0 {
			return
		}
		h[i], h[j] = h[j], h[i]
		i = j
	}
}

// next moves the next merged group into m.acc (its key in m.accKey); false after the last.
func (m *Merger) next() (bool, error) {
	m.have = false
	for len(m.heap) > 0 {
		s := m.heap[0]
		if m.have && !bytes.Equal(m.accKey, s.key) {
			return true, nil
		}
		if !m.have {
			m.start(s)
		} else if err := m.combine(s); err != nil {
			return false, err
		}
		ok, err := s.advance()
		if err != nil {
			return false, err
		}
		if !ok {
			last := len(m.heap) - 1
			m.heap[0] = m.heap[last]
			m.heap = m.heap[:last]
		}
		m.down(0)
	}
	return m.have, nil
}

// start makes s's head group the accumulated one. Its extras are fresh: they may be kept.
func (m *Merger) start(s *mergeSource) {
	m.have = true
	m.accKey = append(m.accKey[:0], s.key...)
	m.acc = s.rec
	if !m.a.extras {
		return
	}
	m.accEx = groupExtra{ann: make([][]string, len(m.a.c.ann)), ext: newExt(m.a.c.nExt)}
	if s.ex != nil {
		for j, vs := range s.ex.ann {
			if j < len(m.accEx.ann) {
				m.accEx.ann[j] = slices.Clone(vs)
			}
		}
		m.a.mergeExt(m.accEx.ext, s.ex.ext)
	}
}

// combine adds s's head group, of the accumulated group's key, to it.
func (m *Merger) combine(s *mergeSource) error {
	if err := m.acc.addCount("merged", s.rec.count, s.rec.hasTime, s.rec.first, s.rec.last); err != nil {
		return err
	}
	if m.a.extras && s.ex != nil {
		m.a.mergeExtra(&m.accEx, s.ex)
	}
	return nil
}

// mergeBatch is a batch of merged groups, their keys decoded, handed from the read-ahead goroutine.
type mergeBatch struct {
	vals []byte // the keys, decoded in place (splitKey): each value followed by two bytes of terminator
	ends []int  // the end of each value in vals, len(by) per group
	recs []groupRec
	exs  []groupExtra // with extras
	err  error        // after the groups: io.EOF at the end, or the merge's error
}

// key returns where group i's key starts in b.vals and where each of its values ends; n is the number of
// by-fields. Each value starts two bytes after the previous one ends.
func (b *mergeBatch) key(i, n int) (start int, ends []int) {
	if i*n > 0 {
		start = b.ends[i*n-1] + 2
	}
	return start, b.ends[i*n : (i+1)*n]
}

// splitKey appends the encoded key k of n values to dst, undoing escapes but keeping each terminator after its
// value (one copy of the key, not one per value), and appends the end of each value to ends. It reports
// whether k is a well-formed key of exactly n values.
func splitKey(dst []byte, ends []int, k []byte, n int) ([]byte, []int, bool) {
	want := len(ends) + n
	if !terminated(k) {
		return dst, ends, false
	}
	i := len(dst)
	dst = append(dst, k...)
	for i < len(dst) {
		j := bytes.IndexByte(dst[i:], 0)
		if j < 0 || i+j+1 == len(dst) {
			return dst, ends, false
		}
		i += j
		switch dst[i+1] {
		case 0:
			ends = append(ends, i)
			i += 2
		case 0xFF: // an escaped 0x00: drop the 0xFF
			dst = append(dst[:i+1], dst[i+2:]...)
			i++
		default:
			return dst, ends, false
		}
	}
	return dst, ends, len(ends) == want
}

// batchGroups is the number of groups in a batch.
const batchGroups = 256

// readAhead merges batches until the end, an error or stop.
func (m *Merger) readAhead() {
	defer close(m.done)
	n := len(m.a.c.by)
	var keys csvKeys
	for {
		var b *mergeBatch
		select {
		case b = <-m.free:
		case <-m.stop:
			return
		}
		b.vals, b.ends, b.recs, b.exs, b.err = b.vals[:0], b.ends[:0], b.recs[:0], b.exs[:0], nil
		for len(b.recs) < batchGroups {
			ok, err := m.next()
			if err == nil && !ok {
				err = io.EOF
			}
			if err != nil {
				b.err = err
				break
			}
			valid := true
			switch m.mode {
			case modeValues:
				b.vals, b.ends, valid = splitKey(b.vals, b.ends, m.accKey, n)
			case modeCSVLen:
				valid = keys.write(m.accKey, n)
				b.ends = append(b.ends, len(keys.csv))
			case modeCSV:
				valid = keys.write(m.accKey, n)
				b.vals = append(b.vals, keys.csv...)
				b.ends = append(b.ends, len(b.vals))
			}
			if !valid {
				b.err = fmt.Errorf("%w: a key that does not hold %d values", errCorruptRun, n)
				break
			}
			b.recs = append(b.recs, m.acc)
			if m.a.extras {
				b.exs = append(b.exs, m.accEx)
			}
		}
		select {
		case m.out <- b:
		case <-m.stop:
			return
		}
		if b.err != nil {
			return
		}
	}
}

// mergeMode is what a merger's batches hold for each group's key.
type mergeMode int

const (
	modeValues mergeMode = iota // the decoded values (Next, NextView)
	modeCSVLen                  // the length of the values written as CSV (NextCSVLen)
	modeCSV                     // the values written as CSV (NextCSV)
)

// batch returns the current batch and the index of the next group in it, waiting for the next batch when the
// current one is used up; the error at the end of the groups. mode says what the caller asks for; a merger
// serves only what its first call asked for.
func (m *Merger) batch(mode mergeMode) (*mergeBatch, int, error) {
	if m.started && mode != m.mode {
		return nil, 0, fmt.Errorf("engine: a merger read by Next or NextView, NextCSVLen and NextCSV at once")
	}
	for m.cur == nil || m.pos == len(m.cur.recs) {
		if m.cur != nil {
			if m.cur.err != nil {
				return nil, 0, m.cur.err
			}
			m.free <- m.cur
			m.cur = nil
		}
		if !m.started {
			m.started, m.mode = true, mode
			m.out, m.free = make(chan *mergeBatch, 2), make(chan *mergeBatch, 3)
			m.stop, m.done = make(chan struct{}), make(chan struct{})
			for range cap(m.free) {
				b := &mergeBatch{}
				if k := len(m.spare); k > 0 {
					b, m.spare = m.spare[k-1], m.spare[:k-1]
				}
				m.free <- b
			}
			go m.readAhead()
		}
		m.cur, m.pos = <-m.out, 0
	}
	m.pos++
	return m.cur, m.pos - 1, nil
}

// Next returns the next row in key order, or io.EOF after the last: the rows Rows would return had every group
// stayed in memory, groups of equal key combined as Merge does. The row is valid until the next call.
func (m *Merger) Next() (*Row, error) {
	b, i, err := m.batch(modeValues)
	if err != nil {
		return nil, err
	}
	start, ends := b.key(i, len(m.a.c.by))
	end := start
	if len(ends) > 0 {
		end = ends[len(ends)-1]
	}
	all := string(b.vals[start:end]) // one string for the key's values
	key := m.row.Key[:0]
	from := start
	for _, e := range ends {
		key = append(key, all[from-start:e-start])
		from = e + 2
	}
	g := &b.recs[i]
	m.row = Row{Key: key, Count: g.count, First: g.first, Last: g.last, HasTime: g.hasTime}
	if m.a.extras {
		m.row.Ext = b.exs[i].ext
		if m.a.opts.Annotate {
			m.row.Annotations = b.exs[i].ann
		}
	}
	return &m.row, nil
}

// NextView is Next without strings: the key values are views valid until the next call.
func (m *Merger) NextView() (*RowView, error) {
	b, i, err := m.batch(modeValues)
	if err != nil {
		return nil, err
	}
	v := &m.view
	v.Key, v.KeyCSV, v.KeyCSVLen = v.Key[:0], nil, 0
	start, ends := b.key(i, len(m.a.c.by))
	for _, end := range ends {
		v.Key = append(v.Key, b.vals[start:end:end])
		start = end + 2
	}
	return m.fillView(b, i), nil
}

// NextCSV is NextView for writing the rows as CSV: the key values are written as CSV fields, separated by
// commas (not followed by one), in KeyCSV, as scpv2.CSVWriter writes them as the first fields of a row; Key is
// nil. The merging ahead writes them, straight from the merged key, so the caller only copies them. A merger
// read with NextCSV cannot be read otherwise.
func (m *Merger) NextCSV() (*RowView, error) {
	b, i, err := m.batch(modeCSV)
	if err != nil {
		return nil, err
	}
	start := 0
	if i > 0 {
		start = b.ends[i-1]
	}
	v := &m.view
	v.Key, v.KeyCSV, v.KeyCSVLen = nil, b.vals[start:b.ends[i]:b.ends[i]], 0
	return m.fillView(b, i), nil
}

// NextCSVLen is NextCSV for measuring the rows: KeyCSV is not written, only its length given in KeyCSVLen.
// A merger read with NextCSVLen cannot be read otherwise.
func (m *Merger) NextCSVLen() (*RowView, error) {
	b, i, err := m.batch(modeCSVLen)
	if err != nil {
		return nil, err
	}
	v := &m.view
	v.Key, v.KeyCSV, v.KeyCSVLen = nil, nil, b.ends[i]
	return m.fillView(b, i), nil
}

// fillView sets the view's counters and extras from group i of b.
func (m *Merger) fillView(b *mergeBatch, i int) *RowView {
	v := &m.view
	g := &b.recs[i]
	v.Count, v.First, v.Last, v.HasTime = g.count, g.first, g.last, g.hasTime
	v.Annotations, v.Ext = nil, nil
	if m.a.extras {
		v.Ext = b.exs[i].ext
		if m.a.opts.Annotate {
			v.Annotations = b.exs[i].ann
		}
	}
	return v
}

// Close stops the merging ahead and waits for it, so that the runs may be closed. Reading the rows to the end
// stops it too.
func (m *Merger) Close() {
	if m.started {
		select {
		case <-m.stop:
		default:
			close(m.stop)
		}
		<-m.done
	}
	if m.plan != nil {
		m.recycle()
	}
}

// recycle gives a closed merger of a plan's part back to the plan, for its next part's merger to reuse the
// buffers. The merging ahead has stopped: its batches are in the channels or current.
func (m *Merger) recycle() {
	p := m.plan
	m.plan = nil
	if m.cur != nil {
		m.spare = append(m.spare, m.cur)
	}
	for _, ch := range []chan *mergeBatch{m.out, m.free} {
		for len(ch) > 0 {
			m.spare = append(m.spare, <-ch)
		}
	}
	*m = Merger{accKey: m.accKey[:0], heap: m.heap[:0], srcs: m.srcs, spare: m.spare, row: Row{Key: m.row.Key[:0]},
		view: RowView{Key: m.view.Key[:0]}}
	p.pool.Put(m)
}

// Row returns the view as a Row, its key values copied into strings.
func (v *RowView) Row() Row {
	key := make([]string, len(v.Key))
	for i, k := range v.Key {
		key[i] = string(k)
	}
	return Row{Key: key, Count: v.Count, First: v.First, Last: v.Last, HasTime: v.HasTime, Annotations: v.Annotations, Ext: v.Ext}
}

// CompactRuns merges runs into one run written to w, for when there are too many runs to open at once, and
// returns its index. It uses a fresh aggregator of a's detection and options; a is not changed.
func (a *Aggregator) CompactRuns(runs []io.Reader, w io.Writer) (*RunIndex, error) {
	m, err := a.c.NewAggregator(a.opts).NewMerger(runs)
	if err != nil {
		return nil, fmt.Errorf("engine: compact runs: %w", err)
	}
	rw := newRunWriter(w)
	for {
		ok, err := m.next()
		if err != nil {
			return nil, fmt.Errorf("engine: compact runs: %w", err)
		}
		if !ok {
			break
		}
		var ex *groupExtra
		if a.extras {
			ex = &m.accEx
		}
		if err := rw.write(m.accKey, &m.acc, ex); err != nil {
			return nil, fmt.Errorf("engine: compact runs: %w", err)
		}
	}
	if err := rw.flush(); err != nil {
		return nil, fmt.Errorf("engine: compact runs: %w", err)
	}
	return &rw.index, nil
}
