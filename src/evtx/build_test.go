package evtx

import (
	"encoding/binary"
	"hash/crc32"
	"unicode/utf16"

	"regasmdetect/src/internal/evtxcraft"
)

// chunkWriter writes a synthetic chunk token by token, as the format documentation describes it: records,
// fragments, elements, attributes, names stored inline at their first use and referred to by offset after,
// template definitions likewise. It exists so that tests and fuzz seeds need no real EVTX data.
type chunkWriter struct {
	c     []byte
	p     int
	names map[string]uint32
	tmpls map[string]uint32
	first uint64
	nrec  int
}

func newChunkWriter() *chunkWriter {
	w := &chunkWriter{c: make([]byte, ChunkSize), p: ChunkHeaderSize, names: map[string]uint32{}, tmpls: map[string]uint32{}}
	copy(w.c, chunkMagic)
	return w
}

func (w *chunkWriter) u8(v byte) { w.c[w.p] = v; w.p++ }
func (w *chunkWriter) u16(v uint16) {
	binary.LittleEndian.PutUint16(w.c[w.p:], v)
	w.p += 2
}
func (w *chunkWriter) u32(v uint32) {
	binary.LittleEndian.PutUint32(w.c[w.p:], v)
	w.p += 4
}
func (w *chunkWriter) u64(v uint64) {
	binary.LittleEndian.PutUint64(w.c[w.p:], v)
	w.p += 8
}
func (w *chunkWriter) raw(b []byte) { w.p += copy(w.c[w.p:], b) }

func utf16le(s string) []byte {
	var b []byte
	for _, u := range utf16.Encode([]rune(s)) {
		b = binary.LittleEndian.AppendUint16(b, u)
	}
	return b
}

// name writes a name reference: the name inline after its offset the first time, the offset alone after.
func (w *chunkWriter) name(s string) {
	if off, ok := w.names[s]; ok {
		w.u32(off)
		return
	}
	off := uint32(w.p + 4)
	w.names[s] = off
	w.u32(off)
	w.u32(0)      // next name in the hash chain
	w.u16(0x1234) // hash (not checked by readers)
	w.u16(uint16(len(utf16.Encode([]rune(s)))))
	w.raw(utf16le(s))
	w.u16(0)
}

func (w *chunkWriter) open(name string, attrs bool) {
	if attrs {
		w.u8(0x41)
	} else {
		w.u8(0x01)
	}
	w.u16(0xffff) // dependency identifier
	w.u32(0)      // data size (not used by readers)
	w.name(name)
	if attrs {
		w.u32(0) // attribute list size
	}
}

func (w *chunkWriter) attr(name string, more bool) {
	if more {
		w.u8(0x46)
	} else {
		w.u8(0x06)
	}
	w.name(name)
}

func (w *chunkWriter) text(s string) {
	w.u8(0x05)
	w.u8(0x01)
	b := utf16le(s)
	w.u16(uint16(len(b) / 2))
	w.raw(b)
}

func (w *chunkWriter) closeStart() { w.u8(0x02) }
func (w *chunkWriter) closeEmpty() { w.u8(0x03) }
func (w *chunkWriter) end()        { w.u8(0x04) }

func (w *chunkWriter) subst(id int, typ byte, optional bool) {
	if optional {
		w.u8(0x0e)
	} else {
		w.u8(0x0d)
	}
	w.u16(uint16(id))
	w.u8(typ)
}

// tv is a template value: its type and bytes.
type tv struct {
	typ  byte
	data []byte
}

// template writes a template instance of the template called key, whose body is written by body the first
// time (inline) and referred to by offset after.
func (w *chunkWriter) template(key string, body func(), values []tv) {
	w.u8(0x0c)
	w.u8(0x01)
	w.u32(uint32(len(key))) // template identifier
	if off, ok := w.tmpls[key]; ok {
		w.u32(off)
	} else {
		off := uint32(w.p + 4)
		w.tmpls[key] = off
		w.u32(off)
		w.u32(0)                // next template definition
		w.raw(make([]byte, 16)) // GUID
		sizeAt := w.p
		w.u32(0)
		start := w.p
		w.raw([]byte{0x0f, 1, 1, 0})
		body()
		w.u8(0x00)
		binary.LittleEndian.PutUint32(w.c[sizeAt:], uint32(w.p-start))
	}
	w.u32(uint32(len(values)))
	for _, v := range values {
		w.u16(uint16(len(v.data)))
		w.u8(v.typ)
		w.u8(0)
	}
	for _, v := range values {
		w.raw(v.data)
	}
}

// record writes one event record whose binary XML is a fragment written by body.
func (w *chunkWriter) record(id uint64, body func()) {
	if w.nrec == 0 {
		w.first = id
	}
	w.nrec++
	start := w.p
	w.raw(recordMagic)
	w.u32(0)
	w.u64(id)
	w.u64(132_000_000_000_000_000)
	w.raw([]byte{0x0f, 1, 1, 0})
	body()
	w.u8(0x00)
	size := uint32(w.p - start + 4)
	w.u32(size)
	binary.LittleEndian.PutUint32(w.c[start+4:], size)
}

// bytes finishes the chunk header (record numbers, free space offset, checksums) and returns the chunk.
func (w *chunkWriter) bytes() []byte {
	binary.LittleEndian.PutUint64(w.c[8:], w.first)
	binary.LittleEndian.PutUint64(w.c[16:], w.first+uint64(w.nrec)-1)
	binary.LittleEndian.PutUint64(w.c[24:], w.first)
	binary.LittleEndian.PutUint64(w.c[32:], w.first+uint64(w.nrec)-1)
	binary.LittleEndian.PutUint32(w.c[40:], 128)
	binary.LittleEndian.PutUint32(w.c[48:], uint32(w.p))
	evtxcraft.FixChecksums(w.c)
	return w.c
}

// fileImage returns an EVTX file image: a 4096-byte file header and the chunks.
func fileImage(chunks ...[]byte) []byte {
	b := make([]byte, FileHeaderSize)
	copy(b, fileMagic)
	binary.LittleEndian.PutUint32(b[32:], 128)
	binary.LittleEndian.PutUint16(b[36:], 1)
	binary.LittleEndian.PutUint16(b[38:], 3)
	binary.LittleEndian.PutUint16(b[40:], FileHeaderSize)
	binary.LittleEndian.PutUint16(b[42:], uint16(len(chunks)))
	binary.LittleEndian.PutUint32(b[124:], crc32.ChecksumIEEE(b[:120]))
	for _, c := range chunks {
		b = append(b, c...)
	}
	return b
}

// sysmonValues are the template values of sysmonBody.
func sysmonValues(provider, image, parent, cmd string, pid uint32) []tv {
	sid := []byte{1, 1, 0, 0, 0, 0, 0, 5, 18, 0, 0, 0}
	guid := []byte{0x96, 0x3d, 0x7f, 0x74, 0x34, 0x12, 0x78, 0x56, 0x9a, 0xbc, 0xde, 0xf0, 0x01, 0x02, 0x03, 0x04}
	return []tv{
		{0x01, utf16le(provider)},
		{0x06, binary.LittleEndian.AppendUint16(nil, 1)},
		{0x11, binary.LittleEndian.AppendUint64(nil, 132_080_211_556_992_938)},
		{0x0a, binary.LittleEndian.AppendUint64(nil, 42)},
		{0x01, utf16le("HOST-1")},
		{0x13, sid},
		{0x01, utf16le(image)},
		{0x01, utf16le(parent)},
		{0x01, utf16le(cmd)},
		{0x08, binary.LittleEndian.AppendUint32(nil, pid)},
		{0x0f, guid},
		{0x15, binary.LittleEndian.AppendUint64(nil, 0x3e7)},
		{0x00, nil}, // an optional attribute left out
	}
}

// sysmonBody writes a Sysmon-like event template: System fields and EventData pairs by substitution, a Channel
// given as text with an entity and a character reference.
func sysmonBody(w *chunkWriter) func() {
	return func() {
		w.open("Event", false)
		w.closeStart()
		w.open("System", false)
		w.closeStart()
		w.open("Provider", true)
		w.attr("Name", false)
		w.subst(0, 0x01, false)
		w.closeEmpty()
		w.open("EventID", true)
		w.attr("Qualifiers", false)
		w.subst(12, 0x06, true)
		w.closeStart()
		w.subst(1, 0x06, false)
		w.end()
		w.open("TimeCreated", true)
		w.attr("SystemTime", false)
		w.subst(2, 0x11, false)
		w.closeEmpty()
		w.open("EventRecordID", false)
		w.closeStart()
		w.subst(3, 0x0a, false)
		w.end()
		w.open("Channel", false)
		w.closeStart()
		w.text("Microsoft-Windows-Sysmon")
		w.u8(0x49) // entity reference, more follows
		w.name("amp")
		w.u8(0x48) // character reference, more follows
		w.u16('/')
		w.text("Operational")
		w.end()
		w.open("Computer", false)
		w.closeStart()
		w.subst(4, 0x01, false)
		w.end()
		w.open("Security", true)
		w.attr("UserID", false)
		w.subst(5, 0x13, true)
		w.closeEmpty()
		w.end() // System
		w.open("EventData", false)
		w.closeStart()
		for i, n := range []string{"Image", "ParentImage", "CommandLine", "ProcessId", "ProcessGuid", "LogonId"} {
			w.open("Data", true)
			w.attr("Name", false)
			w.text(n)
			w.closeStart()
			w.subst(6+i, []byte{0x01, 0x01, 0x01, 0x08, 0x0f, 0x15}[i], false)
			w.end()
		}
		w.u8(0x0a) // a processing instruction, skipped
		w.name("pi")
		w.u8(0x0b)
		w.u16(2)
		w.raw(utf16le("ok"))
		w.u8(0x07) // CDATA outside any kept element
		w.u16(1)
		w.raw(utf16le("x"))
		w.end() // EventData
		w.end() // Event
	}
}

// syntheticChunk returns a chunk of three Sysmon-like records sharing one template definition.
func syntheticChunk() []byte {
	w := newChunkWriter()
	body := sysmonBody(w)
	for i, img := range []string{`C:\Windows\Microsoft.NET\Framework\v4.0.30319\RegAsm.exe`, `C:\x\child.exe`, "Ünïcödé 😀"} {
		id := uint64(100 + i)
		w.record(id, func() {
			w.template("sysmon", body, sysmonValues("Microsoft-Windows-Sysmon", img, `C:\p\parent.exe`, img+" /u", uint32(4000+i)))
		})
	}
	return w.bytes()
}
