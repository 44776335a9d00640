package engine

import (
	"bufio"
	"container/heap"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
)

// The reduce phase's memory is bounded by writing the groups out as sorted runs when they grow past a budget,
// and merging the runs at the end: the same rows come out, in the same order, at any budget. As Splunk's
// stats does when a batch outgrows limits.conf's max_mem_usage_mb (docs/semantics.md, "Memory").

// groupCost estimates the bytes a new group holds: its encoded key (the values and their lengths, stored once),
// the group struct, the key's string headers and the map entry.
func groupCost(keyLen, fields int) int64 {
	const groupStruct, mapEntry, stringHeader = 120, 48, 16
	return int64(keyLen) + groupStruct + mapEntry + int64(fields)*stringHeader
}

// Mem returns the estimated bytes held by the aggregator's groups: keys, annotations and bookkeeping, about
// what the Go heap holds for them (the values of values/dc/earliest/latest aggregates are not counted).
func (a *Aggregator) Mem() int64 { return a.mem }

// Groups returns the number of groups held in memory.
func (a *Aggregator) Groups() int { return len(a.groups) }

func (a *Aggregator) dropGroups() {
	clear(a.index)
	clear(a.groups) // release the keys
	a.groups = a.groups[:0]
	a.mem = 0
}

// WriteRun writes the groups to w as one run, sorted by key, and drops them; the counters stay. Runs are read
// back by MergeRuns of an aggregator of the same detection and options.
func (a *Aggregator) WriteRun(w io.Writer) error {
	slices.SortFunc(a.groups, func(x, y group) int { return slices.Compare(x.key, y.key) })
	bw := bufio.NewWriterSize(w, 256<<10)
	var buf []byte
	for i := range a.groups {
		buf = appendGroup(buf[:0], &a.groups[i])
		if _, err := bw.Write(buf); err != nil {
			return fmt.Errorf("engine: write run: %w", err)
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("engine: write run: %w", err)
	}
	a.dropGroups()
	return nil
}

// Run format, per group: count (uvarint), flags (bit 0: has time), first and last (float64 bits, little
// endian) when timed, the key values, the annotation lists and the aggregate states, each value as uvarint
// length and bytes.
func appendGroup(b []byte, g *group) []byte {
	b = binary.AppendUvarint(b, g.count)
	if g.hasTime {
		b = append(b, 1)
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(g.first))
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(g.last))
	} else {
		b = append(b, 0)
	}
	b = appendStrings(b, g.key)
	b = binary.AppendUvarint(b, uint64(len(g.ann)))
	for _, vs := range g.ann {
		b = appendStrings(b, vs)
	}
	b = binary.AppendUvarint(b, uint64(len(g.ext)))
	for _, e := range g.ext {
		b = appendStrings(b, e.Values)
		if e.HasTime {
			b = append(b, 1)
			b = binary.LittleEndian.AppendUint64(b, math.Float64bits(e.Time))
		} else {
			b = append(b, 0)
		}
	}
	return b
}

func appendStrings(b []byte, vs []string) []byte {
	b = binary.AppendUvarint(b, uint64(len(vs)))
	for _, v := range vs {
		b = binary.AppendUvarint(b, uint64(len(v)))
		b = append(b, v...)
	}
	return b
}

// runReader reads the groups of one run.
type runReader struct {
	r   *bufio.Reader
	cur group
	err error
}

var errCorruptRun = errors.New("engine: corrupt run")

func (rr *runReader) next() bool {
	g := group{}
	var err error
	defer func() {
		if err != nil {
			if err == io.EOF && g.count == 0 {
				rr.err = io.EOF
			} else {
				rr.err = fmt.Errorf("%w: %v", errCorruptRun, err)
			}
		}
	}()
	if g.count, err = binary.ReadUvarint(rr.r); err != nil {
		return false
	}
	var flag byte
	if flag, err = rr.r.ReadByte(); err != nil {
		return false
	}
	if flag&1 != 0 {
		g.hasTime = true
		if g.first, err = readFloat(rr.r); err != nil {
			return false
		}
		if g.last, err = readFloat(rr.r); err != nil {
			return false
		}
	}
	if g.key, err = readStrings(rr.r); err != nil {
		return false
	}
	var n uint64
	if n, err = readListLen(rr.r); err != nil {
		return false
	}
	for i := uint64(0); i < n; i++ {
		var vs []string
		if vs, err = readStrings(rr.r); err != nil {
			return false
		}
		g.ann = append(g.ann, vs)
	}
	if n, err = readListLen(rr.r); err != nil {
		return false
	}
	for i := uint64(0); i < n; i++ {
		var e AggState
		if e.Values, err = readStrings(rr.r); err != nil {
			return false
		}
		if flag, err = rr.r.ReadByte(); err != nil {
			return false
		}
		if flag&1 != 0 {
			e.HasTime = true
			if e.Time, err = readFloat(rr.r); err != nil {
				return false
			}
		}
		g.ext = append(g.ext, e)
	}
	rr.cur = g
	return true
}

func readFloat(r *bufio.Reader) (float64, error) {
	var b [8]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return 0, unexpectedEOF(err)
	}
	return math.Float64frombits(binary.LittleEndian.Uint64(b[:])), nil
}

// readListLen reads the length of a run's list of annotation lists or aggregate states: errCorruptRun past
// 2^20 entries.
func readListLen(r *bufio.Reader) (uint64, error) {
	n, err := binary.ReadUvarint(r)
	if err == nil && n > 1<<20 {
		err = errCorruptRun
	}
	return n, err
}

// readStrings reads a list of values into one allocation for the bytes and one for the list.
func readStrings(r *bufio.Reader) ([]string, error) {
	n, err := binary.ReadUvarint(r)
	if err != nil {
		return nil, unexpectedEOF(err)
	}
	if n > 1<<24 {
		return nil, errCorruptRun
	}
	lens := make([]int, n)
	var raw []byte
	for i := range lens {
		l, err := binary.ReadUvarint(r)
		if err != nil {
			return nil, unexpectedEOF(err)
		}
		if l > 1<<31 {
			return nil, errCorruptRun
		}
		lens[i] = int(l)
		start := len(raw)
		raw = slices.Grow(raw, int(l))[:start+int(l)]
		if _, err := io.ReadFull(r, raw[start:]); err != nil {
			return nil, unexpectedEOF(err)
		}
	}
	all := string(raw)
	out := make([]string, n)
	for i, l := range lens {
		out[i], all = all[:l], all[l:]
	}
	return out, nil
}

func unexpectedEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// cursor is one sorted source of groups: a run, or the aggregator's own groups.
type cursor struct {
	run  *runReader
	mem  []group
	head *group
}

func (c *cursor) advance() (bool, error) {
	if c.run != nil {
		if c.run.next() {
			c.head = &c.run.cur
			return true, nil
		}
		if c.run.err == io.EOF {
			return false, nil
		}
		return false, c.run.err
	}
	if len(c.mem) == 0 {
		return false, nil
	}
	c.head, c.mem = &c.mem[0], c.mem[1:]
	return true, nil
}

type cursorHeap []*cursor

func (h cursorHeap) Len() int           { return len(h) }
func (h cursorHeap) Less(i, j int) bool { return slices.Compare(h[i].head.key, h[j].head.key) < 0 }
func (h cursorHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *cursorHeap) Push(x any)        { *h = append(*h, x.(*cursor)) }
func (h *cursorHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// MergeRuns merges the runs written by WriteRun (of this aggregator or of others of the same detection and
// options) with the groups still in memory, and calls emit with each row in key order: the rows Rows would
// return had every group stayed in memory. Groups of equal key are combined as Merge does. The row passed to
// emit is valid only during the call. The in-memory groups are dropped.
func (a *Aggregator) MergeRuns(runs []io.Reader, emit func(*Row) error) error {
	slices.SortFunc(a.groups, func(x, y group) int { return slices.Compare(x.key, y.key) })
	h := cursorHeap{}
	add := func(c *cursor) error {
		ok, err := c.advance()
		if ok {
			h = append(h, c)
		}
		return err
	}
	if err := add(&cursor{mem: a.groups}); err != nil {
		return err
	}
	for _, r := range runs {
		if err := add(&cursor{run: &runReader{r: bufio.NewReaderSize(r, 256<<10)}}); err != nil {
			return err
		}
	}
	heap.Init(&h)
	defer a.dropGroups()
	var acc group
	have := false
	flush := func() error {
		if !have {
			return nil
		}
		row := Row{Key: acc.key, Count: acc.count, First: acc.first, Last: acc.last, HasTime: acc.hasTime, Ext: acc.ext}
		if a.opts.Annotate {
			row.Annotations = acc.ann
		}
		return emit(&row)
	}
	for len(h) > 0 {
		c := h[0]
		g := c.head
		if have && slices.Equal(acc.key, g.key) {
			if err := acc.addCount("merged", g.count, g.hasTime, g.first, g.last); err != nil {
				return err
			}
			for j, vs := range g.ann {
				if j < len(acc.ann) {
					for _, v := range vs {
						acc.ann[j] = a.insertAnnotationString(acc.ann[j], v)
					}
				}
			}
			a.mergeExt(&acc, g.ext)
		} else {
			if err := flush(); err != nil {
				return err
			}
			acc = group{key: g.key, count: g.count, first: g.first, last: g.last, hasTime: g.hasTime,
				ann: make([][]string, len(a.c.ann)), ext: newExt(a.c.nExt)}
			for j, vs := range g.ann {
				if j < len(acc.ann) {
					acc.ann[j] = slices.Clone(vs)
				}
			}
			a.mergeExt(&acc, g.ext)
			have = true
		}
		ok, err := c.advance()
		if err != nil {
			return err
		}
		if ok {
			heap.Fix(&h, 0)
		} else {
			heap.Pop(&h)
		}
	}
	return flush()
}

// uvarintString decodes a uvarint at the start of s.
func uvarintString(s string) (uint64, int) {
	var x uint64
	var shift uint
	for i := 0; i < len(s) && i < binary.MaxVarintLen64; i++ {
		b := s[i]
		if b < 0x80 {
			return x | uint64(b)<<shift, i + 1
		}
		x |= uint64(b&0x7f) << shift
		shift += 7
	}
	return 0, 0
}

// CompactRuns merges runs into one run written to w, for when there are too many runs to open at once. It
// uses a fresh aggregator of a's detection and options; a is not changed.
func (a *Aggregator) CompactRuns(runs []io.Reader, w io.Writer) error {
	tmp := a.c.NewAggregator(a.opts)
	bw := bufio.NewWriterSize(w, 256<<10)
	var buf []byte
	err := tmp.MergeRuns(runs, func(row *Row) error {
		g := group{key: row.Key, count: row.Count, first: row.First, last: row.Last, hasTime: row.HasTime,
			ann: row.Annotations, ext: row.Ext}
		if g.ann == nil {
			g.ann = make([][]string, len(a.c.ann))
		}
		buf = appendGroup(buf[:0], &g)
		_, err := bw.Write(buf)
		return err
	})
	if err != nil {
		return fmt.Errorf("engine: compact runs: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("engine: compact runs: %w", err)
	}
	return nil
}
