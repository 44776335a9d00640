// Package evtxcraft builds damaged EVTX files out of real ones for tests: a field patched inside a chunk with
// both of the chunk's checksums recomputed, so that the damage gets past the checksum gate the way a file
// crafted on purpose does. Layout as in the libevtx documentation, "Windows XML Event Log (EVTX) format".
package evtxcraft

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
)

const (
	headerBlock = 4096
	chunkSize   = 0x10000
)

// FixChecksums recomputes the event records checksum (bytes 512 up to the free space offset) and the header
// checksum (bytes 0–120 and 128–512) of the 64 KiB chunk c.
func FixChecksums(c []byte) {
	if len(c) < 512 {
		return
	}
	free := int(binary.LittleEndian.Uint32(c[48:]))
	if free >= 512 && free <= len(c) {
		binary.LittleEndian.PutUint32(c[52:], crc32.ChecksumIEEE(c[512:free]))
	}
	crc := crc32.Update(crc32.ChecksumIEEE(c[:120]), crc32.IEEETable, c[128:512])
	binary.LittleEndian.PutUint32(c[124:], crc)
}

// TemplateCountOffset returns the offset, in the EVTX file image b, of the template argument count of the
// first record of chunk i: the record's binary XML is a fragment header and a template instance whose
// definition may be stored inline before the count.
func TemplateCountOffset(b []byte, i int) (int, error) {
	c0 := headerBlock + i*chunkSize
	if c0+chunkSize > len(b) {
		return 0, fmt.Errorf("no chunk %d in %d bytes", i, len(b))
	}
	c := b[c0 : c0+chunkSize]
	p := 512 + 24 // the first record's binary XML
	if c[p] != 0x0f || c[p+4] != 0x0c {
		return 0, errors.New("the first record is not a fragment holding a template instance")
	}
	q := p + 4 + 10
	if def := int(binary.LittleEndian.Uint32(c[p+4+6:])); def == q {
		q += 24 + int(binary.LittleEndian.Uint32(c[q+20:]))
	}
	if q+4 > len(c) {
		return 0, errors.New("template definition runs past the chunk")
	}
	return c0 + q, nil
}

// TemplateCount returns a copy of b whose chunk i has its first record's template argument count set to count,
// with the chunk's checksums fixed.
func TemplateCount(b []byte, i int, count uint32) ([]byte, error) {
	off, err := TemplateCountOffset(b, i)
	if err != nil {
		return nil, err
	}
	out := append([]byte(nil), b...)
	binary.LittleEndian.PutUint32(out[off:], count)
	c0 := headerBlock + i*chunkSize
	FixChecksums(out[c0 : c0+chunkSize])
	return out, nil
}
