package evtx

import (
	"errors"
	"io"
	"testing"
	"unicode/utf8"

	"regasmdetect/src/internal/evtxcraft"
)

// seedChunks are synthetic chunks for FuzzChunk, cut at their free space offset (the fuzz function pads them
// back to 64 KiB).
func seedChunks() [][]byte {
	var out [][]byte
	cut := func(c []byte) []byte {
		free := int(c[48]) | int(c[49])<<8 | int(c[50])<<16
		return c[:free]
	}
	out = append(out, cut(syntheticChunk()))
	// Binary XML in a substitution value (type 0x21): element starts without dependency identifiers, names by
	// offset into the chunk.
	w := newChunkWriter()
	body := sysmonBody(w)
	w.record(6, func() { w.template("sysmon", body, sysmonValues("Microsoft-Windows-Sysmon", "a", "b", "c", 6)) })
	le32 := func(v uint32) []byte { return []byte{byte(v), byte(v >> 8), byte(v >> 16), byte(v >> 24)} }
	var inner []byte
	inner = append(inner, 0x0f, 1, 1, 0, 0x41)
	inner = append(inner, 0, 0, 0, 0)
	inner = append(inner, le32(w.names["Data"])...)
	inner = append(inner, 0, 0, 0, 0, 0x06)
	inner = append(inner, le32(w.names["Name"])...)
	inner = append(inner, 0x05, 0x01, 5, 0, 'I', 0, 'm', 0, 'a', 0, 'g', 0, 'e', 0, 0x02, 0x05, 0x01, 1, 0, 'v', 0, 0x04, 0x00)
	w.record(7, func() {
		w.template("bx", func() {
			w.open("Event", false)
			w.closeStart()
			w.open("EventData", false)
			w.closeStart()
			w.subst(0, 0x21, false)
			w.end()
			w.end()
		}, []tv{{0x21, inner}})
	})
	out = append(out, cut(w.bytes()))
	return out
}

// FuzzChunk decodes one chunk, its checksums fixed first so that mutations reach the binary XML (the crafted
// case): no panic, no hang, bounded output, and every rendered field valid UTF-8 within the record's buffer.
func FuzzChunk(f *testing.F) {
	for _, c := range seedChunks() {
		f.Add(c)
	}
	d := NewDecoder()
	buf := make([]byte, ChunkSize)
	f.Fuzz(func(t *testing.T, in []byte) {
		if len(in) > ChunkSize {
			in = in[:ChunkSize]
		}
		n := copy(buf, in)
		clear(buf[n:])
		copy(buf, chunkMagic)
		evtxcraft.FixChecksums(buf)
		if _, err := d.Reset(buf); err != nil {
			return
		}
		for i := 0; ; i++ {
			if i > ChunkSize/minRecordSize+1 {
				t.Fatal("more records than fit in a chunk")
			}
			rec, err := d.Next()
			if err == io.EOF {
				return
			}
			if err != nil {
				var e *Error
				if !errors.As(err, &e) {
					t.Fatalf("error of type %T: %v", err, err)
				}
				continue
			}
			if len(rec.buf) > maxOutput+4*ChunkSize {
				t.Fatalf("%d bytes rendered", len(rec.buf))
			}
			for f := Field(0); f < numFields; f++ {
				if v, ok := rec.Field(f); ok && !utf8.Valid(v) {
					t.Fatalf("field %d not UTF-8: %q", f, v)
				}
			}
			for i := 0; i < rec.NumData(); i++ {
				n, v := rec.Data(i)
				if !utf8.Valid(n) || !utf8.Valid(v) {
					t.Fatalf("data %d not UTF-8: %q %q", i, n, v)
				}
			}
		}
	})
}
