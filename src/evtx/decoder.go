package evtx

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
)

// Limits that bound the work and memory of one record whatever the chunk holds. Real events stay far below
// them: a Sysmon event walks about 150 tokens, nests 2 levels and renders a few KiB.
const (
	maxElementDepth = 64      // nested elements
	maxNesting      = 16      // template instances and binary XML values inside each other
	maxTokens       = 1 << 17 // tokens walked per record, template bodies included each time they are used
	maxOutput       = 1 << 20 // bytes rendered per record
	maxData         = 4096    // EventData/Data pairs per record
)

// Field names a System field of a Record.
type Field int

// The System fields a Record keeps [MS-EVEN6 event schema; EVTX §Binary XML].
const (
	Provider      Field = iota // System/Provider/@Name
	EventID                    // System/EventID text
	EventRecordID              // System/EventRecordID text
	TimeCreated                // System/TimeCreated/@SystemTime, rendered as 2006-01-02T15:04:05.123456700Z
	Computer                   // System/Computer text
	Channel                    // System/Channel text
	UserID                     // System/Security/@UserID, a SID such as S-1-5-18
	numFields
)

type span struct{ start, end int32 }

type pair struct{ name, value span }

// Record is one decoded event record. Its byte slices point into a buffer that the Decoder reuses: they are
// valid until the next call to Decoder.Next or Decoder.Reset.
type Record struct {
	ID      uint64 // event record identifier from the record header
	Written uint64 // FILETIME the record was written, from the record header
	Offset  int    // offset of the record in its chunk

	fields [numFields]span
	data   []pair
	buf    []byte
}

// Field returns the text of a System field and whether the event has it.
func (r *Record) Field(f Field) ([]byte, bool) {
	if f < 0 || f >= numFields {
		return nil, false
	}
	s := r.fields[f]
	if s.start < 0 {
		return nil, false
	}
	return r.buf[s.start:s.end], true
}

// NumData returns the number of EventData/Data elements.
func (r *Record) NumData() int { return len(r.data) }

// Data returns the Name attribute and the text of the i-th EventData/Data element, in document order. A Data
// element without a Name attribute has an empty name.
func (r *Record) Data(i int) (name, value []byte) {
	p := r.data[i]
	return r.buf[p.name.start:p.name.end], r.buf[p.value.start:p.value.end]
}

// names the decoder recognises; every other name is nameOther.
type nameID uint8

const (
	nameOther nameID = iota
	nEvent
	nSystem
	nProvider
	nEventID
	nEventRecordID
	nTimeCreated
	nComputer
	nChannel
	nSecurity
	nEventData
	nData
	nName
	nSystemTime
	nUserID
)

func lookupName(s []byte) nameID {
	switch string(s) {
	case "Event":
		return nEvent
	case "System":
		return nSystem
	case "Provider":
		return nProvider
	case "EventID":
		return nEventID
	case "EventRecordID":
		return nEventRecordID
	case "TimeCreated":
		return nTimeCreated
	case "Computer":
		return nComputer
	case "Channel":
		return nChannel
	case "Security":
		return nSecurity
	case "EventData":
		return nEventData
	case "Data":
		return nData
	case "Name":
		return nName
	case "SystemTime":
		return nSystemTime
	case "UserID":
		return nUserID
	}
	return nameOther
}

// capture kinds: where rendered text goes.
const (
	capNone = iota
	capField
	capDataName
	capDataValue
)

// name is a cached name [EVTX §Name]: its identity and the bytes it takes where it is stored.
type name struct {
	id   nameID
	size int
}

// tmpl is a cached template definition [EVTX §Template definition]: its body's bounds in the chunk.
type tmpl struct{ start, end int }

// value is one template instance value [EVTX §Template instance data]: where its data is, its size and type.
type value struct {
	off  int32
	size uint16
	typ  byte
}

type element struct {
	name nameID
	cap  int   // capNone, capField (field f) or capDataValue for its text
	f    Field // the field of a capField element
	data int   // index of its Data pair, -1 when none
}

// Decoder decodes the event records of one chunk at a time. It is not safe for concurrent use; decode chunks
// in parallel with one Decoder per goroutine. Its buffers are reused from record to record and chunk to chunk.
type Decoder struct {
	c     []byte
	hdr   ChunkHeader
	pos   int // offset of the next record
	count int // records decoded (well or not) in this chunk
	stop  bool

	names map[uint32]name
	tmpls map[uint32]tmpl
	vals  []value

	rec    Record
	stack  [maxElementDepth]element
	depth  int
	tokens int

	// current capture
	cap     int
	capF    Field
	capPair int
	inAttr  bool // between an attribute token and the next attribute or the end of the start tag
	absent  bool // an optional substitution in the current attribute was NULL
}

// NewDecoder returns a Decoder.
func NewDecoder() *Decoder {
	return &Decoder{
		names: make(map[uint32]name, 64),
		tmpls: make(map[uint32]tmpl, 16),
		vals:  make([]value, 0, 64),
		rec:   Record{buf: make([]byte, 0, 8192), data: make([]pair, 0, 32)},
	}
}

// Reset checks chunk c with CheckChunk and prepares to decode its records. c must stay unchanged until the
// last call to Next for it. On an error (ErrNoChunk included), Next returns io.EOF.
func (d *Decoder) Reset(c []byte) (ChunkHeader, error) {
	d.c, d.pos, d.count, d.stop = nil, ChunkHeaderSize, 0, true
	clear(d.names)
	clear(d.tmpls)
	h, err := CheckChunk(c)
	if err != nil {
		return h, err
	}
	d.c, d.hdr, d.stop = c, h, false
	return h, nil
}

// Next decodes the next event record of the chunk. It returns io.EOF after the last record. An *Error with a
// Record number is one bad record: the decoder stays usable and Next goes on with the following record. An
// *Error without a Record number means the records after it cannot be located: the next call returns io.EOF.
func (d *Decoder) Next() (*Record, error) {
	if d.stop {
		return nil, io.EOF
	}
	c, pos := d.c, d.pos
	end := d.hdr.FreeOffset
	// Records follow each other from the end of the chunk header up to the free space offset [EVTX §Chunk].
	// Archived files may set the free space offset to the chunk's end with zeros after the last record.
	if pos+minRecordSize > end || allZero(c[pos:pos+4]) {
		d.stop = true
		if want := d.hdr.LastRecord - d.hdr.FirstRecord + 1; uint64(d.count) < want {
			return nil, &Error{Offset: pos, Msg: fmt.Sprintf("%d records, the chunk header says %d", d.count, want)}
		}
		return nil, io.EOF
	}
	if !bytes.Equal(c[pos:pos+4], recordMagic) {
		d.stop = true
		return nil, &Error{Offset: pos, Msg: fmt.Sprintf("no event record signature (% x)", c[pos:pos+4])}
	}
	size := int(binary.LittleEndian.Uint32(c[pos+4:]))
	if size < minRecordSize || size > end-pos {
		d.stop = true
		return nil, &Error{Offset: pos + 4, Msg: fmt.Sprintf("event record size %d out of range (%d bytes left)", size, end-pos)}
	}
	if copySize := int(binary.LittleEndian.Uint32(c[pos+size-4:])); copySize != size {
		d.stop = true
		return nil, &Error{Offset: pos + size - 4, Msg: fmt.Sprintf("event record size %d, its copy %d", size, copySize)}
	}
	d.pos = pos + size
	d.count++
	r := &d.rec
	r.ID = binary.LittleEndian.Uint64(c[pos+8:])
	r.Written = binary.LittleEndian.Uint64(c[pos+16:])
	r.Offset = pos
	r.buf = r.buf[:0]
	r.data = r.data[:0]
	for i := range r.fields {
		r.fields[i] = span{-1, -1}
	}
	d.vals = d.vals[:0]
	d.depth, d.tokens = 0, 0
	d.cap, d.inAttr, d.absent = capNone, false, false
	if _, err := d.walk(pos+recordHeaderSize, pos+size-4, 0, 0, 0, false); err != nil {
		if e, ok := err.(*Error); ok {
			e.Record = r.ID
		}
		return nil, err
	}
	return r, nil
}

func (d *Decoder) errAt(off int, format string, args ...any) error {
	return &Error{Offset: off, Msg: fmt.Sprintf(format, args...)}
}

// need checks that n bytes at off lie within [off, end).
func (d *Decoder) need(off, n, end int) error {
	if n < 0 || off < 0 || off > end || n > end-off {
		return d.errAt(off, "%d bytes needed, %d left", n, end-off)
	}
	return nil
}

// nameAt resolves the name at chunk offset off [EVTX §Name]: 4 bytes (next name in the hash chain), a 2-byte
// hash, a 2-byte character count, then UTF-16LE characters and an end-of-string character.
func (d *Decoder) nameAt(off uint32) (name, error) {
	if n, ok := d.names[off]; ok {
		return n, nil
	}
	o := int(off)
	if o < ChunkHeaderSize || o+8 > len(d.c) {
		return name{}, d.errAt(o, "name offset %d outside the chunk", off)
	}
	chars := int(binary.LittleEndian.Uint16(d.c[o+6:]))
	size := 8 + 2*chars + 2
	if size > len(d.c)-o {
		return name{}, d.errAt(o, "name of %d characters runs past the chunk end", chars)
	}
	n := name{size: size}
	var ascii [24]byte
	if chars <= len(ascii) {
		ok := true
		for i := 0; i < chars; i++ {
			u := binary.LittleEndian.Uint16(d.c[o+8+2*i:])
			if u >= 0x80 {
				ok = false
				break
			}
			ascii[i] = byte(u)
		}
		if ok {
			n.id = lookupName(ascii[:chars])
		}
	}
	d.names[off] = n
	return n, nil
}

// nameRef reads a 4-byte name offset at p and returns the name and the position after the reference: a name
// stored right after its reference is inline and skipped [EVTX §Element start, NOTE].
func (d *Decoder) nameRef(p, end int) (name, int, error) {
	if err := d.need(p, 4, end); err != nil {
		return name{}, 0, err
	}
	off := binary.LittleEndian.Uint32(d.c[p:])
	p += 4
	n, err := d.nameAt(off)
	if err != nil {
		return name{}, 0, err
	}
	if int(off) == p {
		if err := d.need(p, n.size, end); err != nil {
			return name{}, 0, err
		}
		p += n.size
	} else if int(off) > p {
		return name{}, 0, d.errAt(p-4, "name offset %d points forward", off)
	}
	return n, p, nil
}

// Token types [EVTX §Token types]; 0x40 flags "more data follows" on some of them.
const (
	tEOF           = 0x00
	tOpenStart     = 0x01
	tCloseStart    = 0x02
	tCloseEmpty    = 0x03
	tEndElement    = 0x04
	tValue         = 0x05
	tAttribute     = 0x06
	tCDATA         = 0x07
	tCharRef       = 0x08
	tEntityRef     = 0x09
	tPITarget      = 0x0a
	tPIData        = 0x0b
	tTemplate      = 0x0c
	tSubstitution  = 0x0d
	tOptionalSubst = 0x0e
	tFragment      = 0x0f
	flagMore       = 0x40
)

// walk processes the binary XML tokens in c[p:end] up to an end-of-file token or end, and returns the position
// after the last token. vbase and vn are the values of the innermost template instance (vn 0 when none),
// nest the nesting of template instances and binary XML values, noDep whether element starts here lack the
// dependency identifier (binary XML in a substitution value) [EVTX §Element start, NOTE].
func (d *Decoder) walk(p, end, vbase, vn, nest int, noDep bool) (int, error) {
	c := d.c
	for p < end {
		d.tokens++
		if d.tokens > maxTokens {
			return p, d.errAt(p, "more than %d binary XML tokens", maxTokens)
		}
		tok := c[p]
		switch tok &^ flagMore {
		case tEOF:
			return p + 1, nil
		case tFragment:
			// Fragment header: token, major and minor version, flags [EVTX §Fragment header].
			if err := d.need(p, 4, end); err != nil {
				return p, err
			}
			p += 4
		case tOpenStart:
			q := p + 1
			if !noDep {
				q += 2 // dependency identifier
			}
			q += 4 // data size
			if err := d.need(p, q-p, end); err != nil {
				return p, err
			}
			n, q2, err := d.nameRef(q, end)
			if err != nil {
				return p, err
			}
			q = q2
			if tok&flagMore != 0 {
				// Attribute list size; the attributes follow as tokens [EVTX §Attribute list].
				if err := d.need(q, 4, end); err != nil {
					return p, err
				}
				q += 4
			}
			if err := d.open(p, n.id); err != nil {
				return p, err
			}
			p = q
		case tAttribute:
			n, q, err := d.nameRef(p+1, end)
			if err != nil {
				return p, err
			}
			if d.depth == 0 {
				return p, d.errAt(p, "attribute outside an element")
			}
			d.endAttr()
			d.startAttr(n.id)
			p = q
		case tCloseStart:
			if d.depth == 0 {
				return p, d.errAt(p, "close start tag outside an element")
			}
			d.endAttr()
			e := &d.stack[d.depth-1]
			d.cap, d.capF, d.capPair = e.cap, e.f, e.data
			if e.cap != capNone {
				d.beginCapture()
			}
			p++
		case tCloseEmpty, tEndElement:
			if d.depth == 0 {
				return p, d.errAt(p, "end tag outside an element")
			}
			d.endAttr()
			d.close()
			p++
		case tValue:
			// Value text: token, value type (a string), character count, UTF-16LE [EVTX §Value text].
			if err := d.need(p, 4, end); err != nil {
				return p, err
			}
			if t := c[p+1]; t != 0x01 {
				return p, d.errAt(p+1, "value text of type 0x%02x, want a string (0x01)", t)
			}
			n := 2 * int(binary.LittleEndian.Uint16(c[p+2:]))
			if err := d.need(p+4, n, end); err != nil {
				return p, err
			}
			if d.cap != capNone {
				d.rec.buf = appendUTF16(d.rec.buf, c[p+4:p+4+n])
			}
			p += 4 + n
		case tCDATA, tPIData:
			// Character count and UTF-16LE text [EVTX §CDATA section, §PI data].
			if err := d.need(p, 3, end); err != nil {
				return p, err
			}
			n := 2 * int(binary.LittleEndian.Uint16(c[p+1:]))
			if err := d.need(p+3, n, end); err != nil {
				return p, err
			}
			if tok&^flagMore == tCDATA && d.cap != capNone {
				d.rec.buf = appendUTF16(d.rec.buf, c[p+3:p+3+n])
			}
			p += 3 + n
		case tCharRef:
			// A character reference: the rendered text holds the character [EVTX §Character entity reference].
			if err := d.need(p, 3, end); err != nil {
				return p, err
			}
			if d.cap != capNone {
				d.rec.buf = appendRune(d.rec.buf, rune(binary.LittleEndian.Uint16(c[p+1:])))
			}
			p += 3
		case tEntityRef:
			// An entity reference by name: lt, gt, amp, quot, apos [EVTX §Entity reference].
			if err := d.need(p, 5, end); err != nil {
				return p, err
			}
			off := binary.LittleEndian.Uint32(c[p+1:])
			_, q, err := d.nameRef(p+1, end)
			if err != nil {
				return p, err
			}
			if d.cap != capNone {
				d.rec.buf = d.appendEntity(d.rec.buf, int(off))
			}
			p = q
		case tPITarget:
			_, q, err := d.nameRef(p+1, end)
			if err != nil {
				return p, err
			}
			p = q
		case tTemplate:
			q, err := d.template(p, end, nest)
			if err != nil {
				return p, err
			}
			p = q
		case tSubstitution, tOptionalSubst:
			// Substitution: token, 2-byte value index, value type [EVTX §Normal substitution, §Optional
			// substitution].
			if err := d.need(p, 4, end); err != nil {
				return p, err
			}
			id := int(binary.LittleEndian.Uint16(c[p+1:]))
			if id >= vn {
				return p, d.errAt(p+1, "substitution of value %d, the template instance has %d", id, vn)
			}
			if err := d.substitute(p, d.vals[vbase+id], tok&^flagMore == tOptionalSubst, nest); err != nil {
				return p, err
			}
			p += 4
		default:
			return p, d.errAt(p, "unknown binary XML token 0x%02x", tok)
		}
		if len(d.rec.buf) > maxOutput {
			return p, d.errAt(p, "event renders to more than %d bytes", maxOutput)
		}
	}
	return p, nil
}

// open pushes an element and decides what of it to keep, by its path from the root.
func (d *Decoder) open(p int, id nameID) error {
	if d.depth >= maxElementDepth {
		return d.errAt(p, "elements nested more than %d deep", maxElementDepth)
	}
	d.endAttr()
	d.endCapture()
	e := element{name: id, data: -1}
	parent := func(i int) nameID { // the i-th ancestor from the root
		return d.stack[i].name
	}
	switch {
	case d.depth == 2 && parent(0) == nEvent && parent(1) == nSystem:
		e.cap = capField
		switch id {
		case nEventID:
			e.f = EventID
		case nEventRecordID:
			e.f = EventRecordID
		case nComputer:
			e.f = Computer
		case nChannel:
			e.f = Channel
		default:
			e.cap = capNone
		}
	case d.depth == 2 && id == nData && parent(0) == nEvent && parent(1) == nEventData:
		if len(d.rec.data) >= maxData {
			return d.errAt(p, "more than %d Data elements", maxData)
		}
		n := int32(len(d.rec.buf))
		d.rec.data = append(d.rec.data, pair{span{n, n}, span{n, n}})
		e.cap, e.data = capDataValue, len(d.rec.data)-1
	}
	d.stack[d.depth] = e
	d.depth++
	return nil
}

// close pops an element.
func (d *Decoder) close() {
	d.endCapture()
	d.depth--
	d.cap = capNone
	if d.depth > 0 {
		// Text after a child element belongs to the parent again.
		if e := &d.stack[d.depth-1]; e.cap != capNone {
			d.cap, d.capF, d.capPair = e.cap, e.f, e.data
			d.resumeCapture()
		}
	}
}

// startAttr starts an attribute of the current element: the ones kept are captured.
func (d *Decoder) startAttr(id nameID) {
	d.inAttr, d.absent = true, false
	e := &d.stack[d.depth-1]
	atSystem := d.depth == 3 && d.stack[0].name == nEvent && d.stack[1].name == nSystem
	switch {
	case atSystem && e.name == nProvider && id == nName:
		d.cap, d.capF = capField, Provider
	case atSystem && e.name == nTimeCreated && id == nSystemTime:
		d.cap, d.capF = capField, TimeCreated
	case atSystem && e.name == nSecurity && id == nUserID:
		d.cap, d.capF = capField, UserID
	case e.cap == capDataValue && id == nName:
		d.cap, d.capPair = capDataName, e.data
	default:
		d.cap = capNone
		return
	}
	d.beginCapture()
}

// endAttr ends the current attribute, if any. An attribute whose optional substitution was NULL is not
// created [EVTX §Optional substitution].
func (d *Decoder) endAttr() {
	if !d.inAttr {
		return
	}
	if d.cap != capNone && d.absent {
		switch d.cap {
		case capField:
			d.rec.fields[d.capF] = span{-1, -1}
		case capDataName:
			d.rec.data[d.capPair].name.end = d.rec.data[d.capPair].name.start
		}
		d.cap = capNone
	} else {
		d.endCapture()
	}
	d.inAttr, d.absent = false, false
}

// beginCapture starts the text of the current capture at the end of the buffer.
func (d *Decoder) beginCapture() {
	n := int32(len(d.rec.buf))
	switch d.cap {
	case capField:
		d.rec.fields[d.capF] = span{n, n}
	case capDataName:
		d.rec.data[d.capPair].name = span{n, n}
	case capDataValue:
		d.rec.data[d.capPair].value = span{n, n}
	}
}

// resumeCapture continues a capture interrupted by a child element: text is appended only when contiguous.
func (d *Decoder) resumeCapture() {
	var s span
	switch d.cap {
	case capField:
		s = d.rec.fields[d.capF]
	case capDataValue:
		s = d.rec.data[d.capPair].value
	default:
		d.cap = capNone
		return
	}
	if s.start < 0 || int(s.end) != len(d.rec.buf) {
		d.cap = capNone // a child rendered text in between: keep the parent's text as it was
	}
}

// endCapture closes the current capture at the end of the buffer.
func (d *Decoder) endCapture() {
	n := int32(len(d.rec.buf))
	switch d.cap {
	case capField:
		d.rec.fields[d.capF].end = n
	case capDataName:
		d.rec.data[d.capPair].name.end = n
	case capDataValue:
		d.rec.data[d.capPair].value.end = n
	}
	d.cap = capNone
}

// template walks a template instance at c[p] [EVTX §Template instance, §Template definition, §Template
// instance data] and returns the position after its values.
func (d *Decoder) template(p, end, nest int) (int, error) {
	c := d.c
	if nest >= maxNesting {
		return p, d.errAt(p, "template instances and binary XML nested more than %d deep", maxNesting)
	}
	// Token, 1 unknown byte, 4-byte template identifier, 4-byte definition offset.
	if err := d.need(p, 10, end); err != nil {
		return p, err
	}
	defOff := binary.LittleEndian.Uint32(c[p+6:])
	q := p + 10
	t, ok := d.tmpls[defOff]
	if !ok || int(defOff) == q {
		// The definition: 4-byte next definition offset, 16-byte GUID, 4-byte data size, then the data (a
		// fragment header, an element and an end-of-file token). It is stored right here the first time it is
		// used in a chunk, and referred to by offset afterwards.
		o := int(defOff)
		if o < ChunkHeaderSize || o > q || o+24 > len(c) {
			return p, d.errAt(p+6, "template definition offset %d out of range", defOff)
		}
		size := int(binary.LittleEndian.Uint32(c[o+20:]))
		limit := len(c)
		if o == q {
			limit = end
		}
		if size > limit-(o+24) {
			return p, d.errAt(o+20, "template definition of %d bytes, %d left", size, limit-(o+24))
		}
		t = tmpl{o + 24, o + 24 + size}
		d.tmpls[defOff] = t
	}
	if int(defOff) == q {
		q = t.end
	}
	// Instance data: 4-byte value count, count descriptors (2-byte size, 1-byte type, 1 unknown byte), then
	// the values one after the other. The count is checked against the bytes left before anything is done
	// with it.
	if err := d.need(q, 4, end); err != nil {
		return p, err
	}
	count := binary.LittleEndian.Uint32(c[q:])
	q += 4
	if uint64(count)*4 > uint64(end-q) {
		return p, d.errAt(q-4, "template argument count %d exceeds the %d bytes left", count, end-q)
	}
	n := int(count)
	vbase := len(d.vals)
	data := q + 4*n
	for i := 0; i < n; i++ {
		size := int(binary.LittleEndian.Uint16(c[q+4*i:]))
		if size > end-data {
			d.vals = d.vals[:vbase]
			return p, d.errAt(q+4*i, "template value %d of %d bytes, %d left", i, size, end-data)
		}
		d.vals = append(d.vals, value{off: int32(data), size: uint16(size), typ: c[q+4*i+2]})
		data += size
	}
	if _, err := d.walk(t.start, t.end, vbase, n, nest+1, false); err != nil {
		return p, err
	}
	d.vals = d.vals[:vbase]
	return data, nil
}

// substitute renders template value v where a substitution token stands [EVTX §Substitution].
func (d *Decoder) substitute(p int, v value, optional bool, nest int) error {
	c := d.c
	b := c[int(v.off) : int(v.off)+int(v.size)]
	if v.typ == 0x21 {
		// Binary XML: a fragment, a template instance or an element, walked in place [EVTX §Normal
		// substitution].
		if nest >= maxNesting {
			return d.errAt(p, "template instances and binary XML nested more than %d deep", maxNesting)
		}
		_, err := d.walk(int(v.off), int(v.off)+int(v.size), 0, 0, nest+1, true)
		return err
	}
	if v.typ == 0x00 {
		if optional && d.inAttr {
			d.absent = true
		}
		return nil
	}
	if d.cap == capNone {
		return nil
	}
	var err error
	d.rec.buf, err = appendValue(d.rec.buf, v.typ, b)
	if err != nil {
		return d.errAt(int(v.off), "%v", err)
	}
	return nil
}

// appendEntity appends the character an entity reference names.
func (d *Decoder) appendEntity(dst []byte, off int) []byte {
	n := d.names[uint32(off)]
	chars := (n.size - 10) / 2
	var s [4]byte
	if chars >= 2 && chars <= 4 {
		for i := 0; i < chars; i++ {
			s[i] = byte(binary.LittleEndian.Uint16(d.c[off+8+2*i:]))
		}
		switch string(s[:chars]) {
		case "lt":
			return append(dst, '<')
		case "gt":
			return append(dst, '>')
		case "amp":
			return append(dst, '&')
		case "quot":
			return append(dst, '"')
		case "apos":
			return append(dst, '\'')
		}
	}
	// An unknown entity is kept as written.
	dst = append(dst, '&')
	dst = appendUTF16(dst, d.c[off+8:off+8+2*chars])
	return append(dst, ';')
}
