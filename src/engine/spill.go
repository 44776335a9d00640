package engine

import (
	"bufio"
	"bytes"
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

// Mem returns the estimated bytes held by the aggregator's groups: keys, annotations and bookkeeping, about
// what the Go heap holds for them (the values of values/dc/earliest/latest aggregates are not counted).
func (a *Aggregator) Mem() int64 { return a.mem }

// Groups returns the number of groups held in memory.
func (a *Aggregator) Groups() int { return len(a.t.recs) }

func (a *Aggregator) dropGroups() {
	a.t.reset()
	a.mem = 0
}

// WriteRun writes the groups to w as one run, sorted by key, and drops them; the counters stay. It returns the
// run's index, which PlanMerge needs to read the run in parts. Runs are read back by NewMerger or PlanMerge of
// an aggregator of the same detection and options.
func (a *Aggregator) WriteRun(w io.Writer) (*RunIndex, error) {
	rw := newRunWriter(w)
	for _, gi := range a.t.sorted() {
		var ex *groupExtra
		if a.extras {
			ex = &a.t.extra[gi]
		}
		if err := rw.write(a.t.key(int(gi)), &a.t.recs[gi], ex); err != nil {
			return nil, fmt.Errorf("engine: write run: %w", err)
		}
	}
	if err := rw.flush(); err != nil {
		return nil, fmt.Errorf("engine: write run: %w", err)
	}
	a.dropGroups()
	return &rw.index, nil
}

// RunIndex locates a run's restart points: the first group of a run, and after it a group every restartEvery
// groups or restartBytes bytes of run, whichever comes first, is written whole, not against the previous key,
// so reading can start there. It holds each restart point's offset, group number and key, and the run's length
// and groups.
type RunIndex struct {
	offs   []int64
	groups []int  // the number of the restart point's group in the run
	keys   []byte // the restart points' keys, one after another
	ends   []int  // where each key ends in keys
	size   int64
	n      int // the run's groups
}

// Size returns the run's length in bytes.
func (x *RunIndex) Size() int64 { return x.size }

// key returns restart point i's key.
func (x *RunIndex) key(i int) []byte {
	start := 0
	if i > 0 {
		start = x.ends[i-1]
	}
	return x.keys[start:x.ends[i]:x.ends[i]]
}

// stretch returns the number of groups from restart point i to the next one (or the run's end).
func (x *RunIndex) stretch(i int) int {
	if i+1 < len(x.groups) {
		return x.groups[i+1] - x.groups[i]
	}
	return x.n - x.groups[i]
}

// A restart point follows the previous one after restartEvery groups or restartBytes bytes of run: a run read
// from the middle starts at most that far before where it is needed.
const (
	restartEvery = 128
	restartBytes = 64 << 10
)

// Run format, per group, in key order:
//
//	uvarint  bytes the encoded key shares with the start of the previous group's (0 for the first)
//	uvarint  bytes it shares with the end of the rest of the previous group's
//	uvarint  length of what is between, then its bytes
//	uvarint  count
//	byte     flags: 1 has time, 2 last equals first (only last is left out), 4 extras follow
//	8 bytes  first, float64 bits, little endian (has time)
//	8 bytes  last (has time, unless flag 2)
//	extras   (flag 4) the annotation lists, then per aggregate state its values and time, as writeExtra
//
// Sorted keys share long prefixes (the same host, user, parent command line), and often the values after the
// one that differs (process ids), so a group costs little more than what tells it from the previous one. The
// restart points (RunIndex) are written as if they were the first group (sharing nothing), so that a reader can
// start there with no previous key.
const (
	runHasTime   = 1
	runLastFirst = 2
	runExtras    = 4
)

// runWriter writes one run.
type runWriter struct {
	bw    *bufio.Writer
	prev  []byte
	buf   []byte
	index RunIndex
}

func newRunWriter(w io.Writer) *runWriter {
	return &runWriter{bw: bufio.NewWriterSize(w, 256<<10)}
}

// write writes one group; ex is nil when the aggregator keeps no extras.
func (w *runWriter) write(key []byte, g *groupRec, ex *groupExtra) error {
	x := &w.index
	if last := len(x.offs) - 1; last < 0 || x.n-x.groups[last] >= restartEvery || x.size-x.offs[last] >= restartBytes {
		w.prev = w.prev[:0]
		x.offs, x.groups = append(x.offs, x.size), append(x.groups, x.n)
		x.keys = append(x.keys, key...)
		x.ends = append(x.ends, len(x.keys))
	}
	x.n++
	shared := commonPrefix(w.prev, key)
	end := commonSuffix(w.prev[shared:], key[shared:])
	b := binary.AppendUvarint(w.buf[:0], uint64(shared))
	b = binary.AppendUvarint(b, uint64(end))
	b = binary.AppendUvarint(b, uint64(len(key)-shared-end))
	b = append(b, key[shared:len(key)-end]...)
	b = binary.AppendUvarint(b, g.count)
	var flags byte
	if g.hasTime {
		flags |= runHasTime
		if g.last == g.first && math.Signbit(g.last) == math.Signbit(g.first) {
			flags |= runLastFirst
		}
	}
	if ex != nil {
		flags |= runExtras
	}
	b = append(b, flags)
	if g.hasTime {
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(g.first))
		if flags&runLastFirst == 0 {
			b = binary.LittleEndian.AppendUint64(b, math.Float64bits(g.last))
		}
	}
	if ex != nil {
		b = appendExtra(b, ex)
	}
	w.buf = b
	w.prev = append(w.prev[:0], key...)
	w.index.size += int64(len(b))
	_, err := w.bw.Write(b)
	return err
}

func (w *runWriter) flush() error { return w.bw.Flush() }

// appendExtra appends a group's annotation lists and aggregate states: the number of lists and each list,
// the number of states and each state's values and time (flag byte 1, then the float64 bits).
func appendExtra(b []byte, ex *groupExtra) []byte {
	b = binary.AppendUvarint(b, uint64(len(ex.ann)))
	for _, vs := range ex.ann {
		b = appendStrings(b, vs)
	}
	b = binary.AppendUvarint(b, uint64(len(ex.ext)))
	for _, e := range ex.ext {
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

// mergeSource is the head of one sorted source of groups: a run, or the aggregator's own groups.
type mergeSource struct {
	key []byte
	rec groupRec
	ex  *groupExtra // nil without extras

	// a run
	r       *bufio.Reader
	hi      []byte // the run ends, for this merge, before the first key from hi on; nil: no bound
	keyBuf  []byte // the key of the head group
	prevBuf []byte // the previous group's key's buffer, reused
	exBuf   groupExtra
	// the aggregator's groups
	t     *groupTable
	order []uint32
}

var errCorruptRun = errors.New("engine: corrupt run")

// advance moves to the next group; false at the end.
func (s *mergeSource) advance() (bool, error) {
	if s.r == nil {
		if len(s.order) == 0 {
			return false, nil
		}
		gi := s.order[0]
		s.order = s.order[1:]
		s.key, s.rec = s.t.key(int(gi)), s.t.recs[gi]
		if s.t.extra != nil {
			s.ex = &s.t.extra[gi]
		}
		return true, nil
	}
	ok, err := s.readGroup()
	if err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return false, fmt.Errorf("%w: %v", errCorruptRun, err)
	}
	if ok && s.hi != nil && bytes.Compare(s.key, s.hi) >= 0 {
		return false, nil
	}
	return ok, nil
}

// readGroup reads one group of a run; false at the run's clean end. The fixed-size parts are parsed from the
// reader's buffer (Peek), not a byte at a time.
func (s *mergeSource) readGroup() (bool, error) {
	b, err := s.r.Peek(2 * binary.MaxVarintLen64)
	if len(b) == 0 {
		if err == io.EOF {
			return false, nil
		}
		return false, err
	}
	shared, n1 := binary.Uvarint(b)
	end, n2 := uvarintAt(b, n1)
	middle, n3 := uvarintAt(b, n2)
	if n3 <= 0 {
		return false, errors.New("key length cut short or out of range")
	}
	prev := s.key
	if shared > uint64(len(prev)) || end > uint64(len(prev))-shared || middle > 1<<31 {
		return false, errors.New("key length out of range")
	}
	s.r.Discard(n3)
	s.keyBuf, s.prevBuf = s.prevBuf, s.keyBuf // prev is in s.prevBuf now
	k := append(s.keyBuf[:0], prev[:shared]...)
	if k, err = readBytes(s.r, k, int(middle)); err != nil {
		return false, err
	}
	k = append(k, prev[len(prev)-int(end):]...)
	s.keyBuf, s.key = k, k
	// count, flags, first and last
	b, _ = s.r.Peek(binary.MaxVarintLen64 + 1 + 16)
	g := groupRec{}
	var n int
	if g.count, n = binary.Uvarint(b); n <= 0 || n == len(b) {
		return false, errors.New("count cut short or out of range")
	}
	flags := b[n]
	n++
	if flags&runHasTime != 0 {
		size := 16
		if flags&runLastFirst != 0 {
			size = 8
		}
		if len(b) < n+size {
			return false, io.ErrUnexpectedEOF
		}
		g.hasTime = true
		g.first = math.Float64frombits(binary.LittleEndian.Uint64(b[n:]))
		g.last = g.first
		if size == 16 {
			g.last = math.Float64frombits(binary.LittleEndian.Uint64(b[n+8:]))
		}
		n += size
	}
	s.r.Discard(n)
	s.rec, s.ex = g, nil
	if flags&runExtras != 0 {
		if err := readExtra(s.r, &s.exBuf); err != nil {
			return false, err
		}
		s.ex = &s.exBuf
	}
	return true, nil
}

// uvarintAt decodes the uvarint that follows the one of n bytes at the start of b, and returns the end of both
// (0 or less when either is cut short or too long).
func uvarintAt(b []byte, n int) (uint64, int) {
	if n <= 0 {
		return 0, n
	}
	x, m := binary.Uvarint(b[n:])
	if m <= 0 {
		return 0, m
	}
	return x, n + m
}

// readExtra reads what appendExtra wrote into ex (fresh lists: they may be kept).
func readExtra(r *bufio.Reader, ex *groupExtra) error {
	n, err := readListLen(r)
	if err != nil {
		return err
	}
	ex.ann = nil
	for i := uint64(0); i < n; i++ {
		vs, err := readStrings(r)
		if err != nil {
			return err
		}
		ex.ann = append(ex.ann, vs)
	}
	if n, err = readListLen(r); err != nil {
		return err
	}
	ex.ext = nil
	for i := uint64(0); i < n; i++ {
		var e AggState
		if e.Values, err = readStrings(r); err != nil {
			return err
		}
		flag, err := r.ReadByte()
		if err != nil {
			return err
		}
		if flag&1 != 0 {
			e.HasTime = true
			if e.Time, err = readFloat(r); err != nil {
				return err
			}
		}
		ex.ext = append(ex.ext, e)
	}
	return nil
}

func readFloat(r *bufio.Reader) (float64, error) {
	b, err := r.Peek(8)
	if err != nil {
		if err == io.EOF || len(b) > 0 {
			err = io.ErrUnexpectedEOF
		}
		return 0, err
	}
	x := binary.LittleEndian.Uint64(b)
	_, err = r.Discard(8)
	return math.Float64frombits(x), err
}

// readListLen reads the length of a run's list of annotation lists or aggregate states: an error past 2^20
// entries.
func readListLen(r *bufio.Reader) (uint64, error) {
	n, err := binary.ReadUvarint(r)
	if err == nil && n > 1<<20 {
		err = errors.New("list length out of range")
	}
	return n, err
}

// readStrings reads a list of values into one allocation for the bytes and one for the list.
func readStrings(r *bufio.Reader) ([]string, error) {
	n, err := binary.ReadUvarint(r)
	if err != nil {
		return nil, err
	}
	if n > 1<<24 {
		return nil, errors.New("value count out of range")
	}
	if n == 0 {
		return nil, nil // as in memory, where an empty list is nil
	}
	var lens []int
	var raw []byte
	for range n {
		l, err := binary.ReadUvarint(r)
		if err != nil {
			return nil, err
		}
		if l > 1<<31 {
			return nil, errors.New("value length out of range")
		}
		lens = append(lens, int(l))
		if raw, err = readBytes(r, raw, int(l)); err != nil {
			return nil, err
		}
	}
	all := string(raw)
	out := make([]string, n)
	for i, l := range lens {
		out[i], all = all[:l], all[l:]
	}
	return out, nil
}

// readBytes appends n bytes read from r to b. It grows b with what it reads, so that a length in a damaged run
// costs no more memory than the run holds.
func readBytes(r *bufio.Reader, b []byte, n int) ([]byte, error) {
	for n > 0 {
		k := min(n, 64<<10)
		start := len(b)
		b = slices.Grow(b, k)[:start+k]
		if _, err := io.ReadFull(r, b[start:]); err != nil {
			return b, err
		}
		n -= k
	}
	return b, nil
}
