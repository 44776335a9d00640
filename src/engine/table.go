package engine

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"hash/maphash"
	"math/bits"
	"slices"
)

// The groups of an aggregator live in a groupTable: the encoded keys in blocks of bytes, each group's counters
// in a slice of pointer-free records, and an open-addressing index of hashes. A group costs its key bytes, a
// 48-byte record and about 16 bytes of index; no group is a heap object of its own, so the garbage collector
// has nothing to scan and millions of groups cost it nothing.

// Key encoding. A group's key is its by-field values in by-clause order, each written with every 0x00 byte
// doubled as 0x00 0xFF and followed by the terminator 0x00 0x00. Comparing two encoded keys byte by byte
// orders them as their value lists compare (slices.Compare), since a terminator sorts before any continuation
// of a value; and no encoded key is a prefix of another with as many values. So sorted runs, their merge and
// the rows all order keys by their encoded bytes.

// appendKeyValue appends one encoded value to b.
func appendKeyValue(b, v []byte) []byte {
	for {
		i := bytes.IndexByte(v, 0)
		if i < 0 {
			break
		}
		b = append(b, v[:i+1]...)
		b = append(b, 0xFF)
		v = v[i+1:]
	}
	b = append(b, v...)
	return append(b, 0, 0)
}

// decodeKey appends the decoded values of the encoded key k to dst and their end offsets in dst to ends, and
// reports whether k is a well-formed key of exactly n values.
func decodeKey(dst []byte, ends []int, k []byte, n int) ([]byte, []int, bool) {
	want := len(ends) + n
	if !terminated(k) {
		return dst, ends, false
	}
	for len(k) > 0 {
		i := bytes.IndexByte(k, 0)
		if i < 0 || i+1 == len(k) {
			return dst, ends, false
		}
		dst = append(dst, k[:i]...)
		switch k[i+1] {
		case 0xFF:
			dst = append(dst, 0)
		case 0:
			ends = append(ends, len(dst))
		default:
			return dst, ends, false
		}
		k = k[i+2:]
	}
	return dst, ends, len(ends) == want
}

// terminated reports whether k is empty or ends with a terminator: whether k, if well-formed otherwise, has no
// value without its terminator after the last. (A key that parses ends with its last pair of bytes, so 0x00
// 0x00 there is a terminator.)
func terminated(k []byte) bool {
	return len(k) == 0 || len(k) >= 2 && k[len(k)-2] == 0 && k[len(k)-1] == 0
}

// keyStrings decodes the encoded key k of n values into key (reused), the values sharing one string.
func keyStrings(key []string, k []byte, n int, scratch *keyScratch) ([]string, bool) {
	var ok bool
	scratch.dec, scratch.ends, ok = decodeKey(scratch.dec[:0], scratch.ends[:0], k, n)
	if !ok {
		return key, false
	}
	all := string(scratch.dec)
	key = key[:0]
	start := 0
	for _, end := range scratch.ends {
		key = append(key, all[start:end])
		start = end
	}
	return key, true
}

// keyScratch holds the buffers keyStrings reuses.
type keyScratch struct {
	dec  []byte
	ends []int
}

// arenaBlock is the size of the blocks keys are stored in. A key larger than a quarter of it gets a block of
// its own, freed when the groups are dropped.
const arenaBlock = 1 << 20

// keyRef locates one key in an arena.
type keyRef struct {
	blk, off, n uint32
}

// keyArena stores keys in blocks, so that growing it never copies what it holds.
type keyArena struct {
	blocks [][]byte
	cur    int      // the block being filled, -1 before the first
	spare  [][]byte // emptied blocks of arenaBlock bytes, reused before new ones are made
}

func (a *keyArena) add(k []byte) keyRef {
	if len(k) > arenaBlock/4 {
		a.blocks = append(a.blocks, slices.Clone(k))
		return keyRef{blk: uint32(len(a.blocks) - 1), n: uint32(len(k))}
	}
	if a.cur < 0 || len(a.blocks[a.cur])+len(k) > cap(a.blocks[a.cur]) {
		var b []byte
		if n := len(a.spare); n > 0 {
			b, a.spare = a.spare[n-1], a.spare[:n-1]
		} else {
			b = make([]byte, 0, arenaBlock)
		}
		a.blocks = append(a.blocks, b)
		a.cur = len(a.blocks) - 1
	}
	b := a.blocks[a.cur]
	ref := keyRef{blk: uint32(a.cur), off: uint32(len(b)), n: uint32(len(k))}
	a.blocks[a.cur] = append(b, k...)
	return ref
}

func (a *keyArena) key(r keyRef) []byte {
	return a.blocks[r.blk][r.off : r.off+r.n : r.off+r.n]
}

// reset drops every key, keeping the standard blocks for reuse.
func (a *keyArena) reset() {
	for i, b := range a.blocks {
		if cap(b) == arenaBlock {
			a.spare = append(a.spare, b[:0])
		}
		a.blocks[i] = nil
	}
	a.blocks = a.blocks[:0]
	a.cur = -1
}

// groupRec is one group's counters. It holds no pointer.
type groupRec struct {
	key         keyRef
	hasTime     bool
	count       uint64
	first, last float64
	seen        uint64 // the record sequence number that last counted in this group
}

// groupExtra is what a group holds besides its counters, when the aggregator annotates or has
// values/dc/earliest/latest aggregates.
type groupExtra struct {
	ann [][]string
	ext []AggState
}

// recCost is the estimated bytes of a group besides its key: its record and its share of the index (9 bytes a
// slot, between 3/8 and 3/4 of the slots used).
const recCost = 48 + 18

// extraCost is the estimated bytes of a group's groupExtra besides the values it holds.
const extraCost = 48

// hashSeed seeds the key hash of every table, so that a table's hashes can be used by another.
var hashSeed = maphash.MakeSeed()

// groupTable is a hash table of groups keyed by encoded key.
type groupTable struct {
	arena keyArena
	recs  []groupRec
	extra []groupExtra // parallel to recs when the aggregator keeps extras, else nil
	// slots is the index, a power of two long: the upper 32 bits of the key's hash (which also choose the
	// slot: hash * len / 2^32, then the next free one) above the group's index + 1. tags says which slots are
	// used, one byte a slot: 0 for a free slot, else 0x80 and the hash's low 7 bits. A lookup reads the tags
	// (an eighth of the slots' size, so they stay in cache) and a slot only when its tag matches; a key not in
	// the table usually costs no cache miss.
	slots []uint64
	tags  []byte
	order []uint32 // the groups in key order, when sorted since the last insert
}

func newGroupTable() groupTable {
	return groupTable{arena: keyArena{cur: -1}}
}

func hashKey(k []byte) uint32 { return uint32(maphash.Bytes(hashSeed, k) >> 32) }

func (t *groupTable) home(h uint32) uint64 {
	return (uint64(h) * uint64(len(t.slots))) >> 32
}

func tagOf(h uint32) byte { return byte(h) | 0x80 }

// find returns the index of the group of key k with hash h, or -1.
func (t *groupTable) find(k []byte, h uint32) int {
	if len(t.slots) == 0 {
		return -1
	}
	mask := uint64(len(t.slots) - 1)
	tag := tagOf(h)
	for i := t.home(h); ; i = (i + 1) & mask {
		switch t.tags[i] {
		case 0:
			return -1
		case tag:
			if s := t.slots[i]; uint32(s>>32) == h {
				gi := int(uint32(s)) - 1
				if bytes.Equal(t.arena.key(t.recs[gi].key), k) {
					return gi
				}
			}
		}
	}
}

// insert adds a group of key k (not in the table) with hash h and returns its index.
func (t *groupTable) insert(k []byte, h uint32) int {
	if (len(t.recs)+1)*4 > len(t.slots)*3 {
		t.grow()
	}
	gi := len(t.recs)
	t.recs = append(t.recs, groupRec{key: t.arena.add(k)})
	t.place(h, gi)
	t.order = t.order[:0]
	return gi
}

func (t *groupTable) place(h uint32, gi int) {
	mask := uint64(len(t.slots) - 1)
	i := t.home(h)
	for t.tags[i] != 0 {
		i = (i + 1) & mask
	}
	t.tags[i] = tagOf(h)
	t.slots[i] = uint64(h)<<32 | uint64(gi+1)
}

// grow doubles the index (from 1024 slots) and places every group again.
func (t *groupTable) grow() {
	old := t.slots
	n := max(1024, 2*len(old))
	if len(t.recs)+1 >= 1<<32-1 {
		panic("engine: more than 2^32-2 groups in one table")
	}
	oldTags := t.tags
	t.slots, t.tags = make([]uint64, n), make([]byte, n)
	for i, s := range old {
		if oldTags[i] != 0 {
			t.place(uint32(s>>32), int(uint32(s))-1)
		}
	}
}

func (t *groupTable) key(gi int) []byte { return t.arena.key(t.recs[gi].key) }

// reset drops every group, keeping the storage.
func (t *groupTable) reset() {
	t.arena.reset()
	clear(t.tags) // the slots are read only where a tag is set
	t.recs = t.recs[:0]
	clear(t.extra)
	t.extra = t.extra[:0]
	t.order = t.order[:0]
}

// sorted returns the groups' indexes in key order. The order is kept until the next insert or reset.
func (t *groupTable) sorted() []uint32 {
	n := len(t.recs)
	if len(t.order) == n {
		return t.order
	}
	if n == 0 {
		return nil
	}
	// Keys often share a long prefix (the same host, user and parent command line): order them by the eight
	// bytes that follow the prefix all of them share, and compare whole keys only on a tie.
	first := t.key(0)
	lcp := len(first)
	for i := 1; i < n && lcp > 0; i++ {
		k := t.key(i)
		if len(k) < lcp || !bytes.Equal(k[:lcp], first[:lcp]) {
			lcp = commonPrefix(first[:lcp], k)
		}
	}
	ents := make([]sortEnt, n)
	for i := range ents {
		ents[i] = sortEnt{abbr: abbrev(t.key(i)[lcp:]), idx: uint32(i)}
	}
	slices.SortFunc(ents, func(x, y sortEnt) int {
		if c := cmp.Compare(x.abbr, y.abbr); c != 0 {
			return c
		}
		return bytes.Compare(t.key(int(x.idx))[lcp:], t.key(int(y.idx))[lcp:])
	})
	order := slices.Grow(t.order[:0], n)[:n]
	for i, e := range ents {
		order[i] = e.idx
	}
	t.order = order
	return order
}

type sortEnt struct {
	abbr uint64
	idx  uint32
}

// abbrev returns the first eight bytes of k as a big-endian number, zero-padded: abbrev(a) < abbrev(b) implies
// a < b in byte order.
func abbrev(k []byte) uint64 {
	if len(k) >= 8 {
		return binary.BigEndian.Uint64(k)
	}
	var b [8]byte
	copy(b[:], k)
	return binary.BigEndian.Uint64(b[:])
}

// commonSuffix returns the length of the longest common suffix of a and b.
func commonSuffix(a, b []byte) int {
	n := min(len(a), len(b))
	i := 0
	for ; i+8 <= n; i += 8 {
		if x := binary.LittleEndian.Uint64(a[len(a)-i-8:]) ^ binary.LittleEndian.Uint64(b[len(b)-i-8:]); x != 0 {
			return i + bits.LeadingZeros64(x)/8
		}
	}
	for ; i < n && a[len(a)-1-i] == b[len(b)-1-i]; i++ {
	}
	return i
}

// commonPrefix returns the length of the longest common prefix of a and b.
func commonPrefix(a, b []byte) int {
	n := min(len(a), len(b))
	i := 0
	for ; i+8 <= n; i += 8 {
		if x := binary.LittleEndian.Uint64(a[i:]) ^ binary.LittleEndian.Uint64(b[i:]); x != 0 {
			return i + bits.TrailingZeros64(x)/8
		}
	}
	for ; i < n && a[i] == b[i]; i++ {
	}
	return i
}
