// Package evtx reads Windows XML Event Log (EVTX) files: the file header, the 64 KiB chunks with their
// checksums, the event records of each chunk and the binary XML of each event. It renders only what a Sysmon
// mapping needs: the System fields Provider/@Name, EventID, EventRecordID, TimeCreated/@SystemTime, Computer,
// Channel and Security/@UserID, and the EventData/Data Name→value pairs. Everything else is walked for
// well-formedness and skipped without being rendered.
//
// Format reference, cited in comments as [EVTX §section]: J. Metz, "Windows XML Event Log (EVTX) format", the
// libevtx project's documentation (documentation/Windows XML Event Log (EVTX).asciidoc), itself based on
// A. Schuster's work and Microsoft's [MS-EVEN6].
//
// Bounded by construction: every count, size and offset read from a chunk is checked against the chunk before
// it is used, recursion is bounded in depth, and each record has a token and an output budget. A malformed
// chunk or record is an *Error; nothing here panics on any input.
//
// Chunks are independent 64 KiB units: a Reader reads them one after the other from any io.Reader (a gzip
// stream needs no temporary file), and each Decoder decodes one chunk at a time, so callers can decode chunks
// on several goroutines with one Decoder each.
package evtx

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
)

// Sizes of the format's fixed parts [EVTX §File header, §Chunk, §Chunk header, §Event record].
const (
	FileHeaderSize   = 4096    // the file header block, unless the header says otherwise
	ChunkSize        = 0x10000 // every chunk
	ChunkHeaderSize  = 512     // the chunk header, including the string and template offset tables
	recordHeaderSize = 24      // signature, size, identifier, written time
	minRecordSize    = recordHeaderSize + 4
)

var (
	fileMagic   = []byte("ElfFile\x00")
	chunkMagic  = []byte("ElfChnk\x00")
	recordMagic = []byte("\x2a\x2a\x00\x00")
)

// ErrNotEVTX is returned for input that does not start with the EVTX file signature "ElfFile\0".
var ErrNotEVTX = errors.New("not an EVTX file (no ElfFile signature)")

// ErrNoChunk is returned by CheckChunk for a 64 KiB block without the chunk signature: unused space (zeros, or
// slack left after the last chunk, since the file header's chunk count goes stale in files copied from a live
// system). Callers skip such blocks.
var ErrNoChunk = errors.New("no ElfChnk signature")

// ErrTruncated is wrapped by Reader.Next for a last chunk cut short that is not all zeros.
var ErrTruncated = errors.New("truncated chunk")

// FileHeader holds the fields of the file header [EVTX §File header] that matter to a reader.
type FileHeader struct {
	Major, Minor uint16 // format version: 3.1 (Vista and later) or 3.2 (Windows 10 2004 and later)
	BlockSize    int    // header block size: the offset of the first chunk (4096)
	Chunks       int    // number of chunks as written; stale in files copied from a live system
	Flags        uint32 // 1: dirty, 2: full
	ChecksumOK   bool   // the CRC32 of the first 120 bytes matches the stored one
}

// ParseFileHeader parses the first 128 bytes of b as an EVTX file header. It fails on a missing signature or
// an unsupported major version; a checksum mismatch is only reported in ChecksumOK, since the chunks carry
// their own checksums and stay readable.
func ParseFileHeader(b []byte) (FileHeader, error) {
	if len(b) < 128 {
		if len(b) < len(fileMagic) || !bytes.Equal(b[:len(fileMagic)], fileMagic) {
			return FileHeader{}, ErrNotEVTX
		}
		return FileHeader{}, fmt.Errorf("file header: %d of 128 bytes", len(b))
	}
	if !bytes.Equal(b[:8], fileMagic) {
		return FileHeader{}, ErrNotEVTX
	}
	h := FileHeader{
		Minor:     binary.LittleEndian.Uint16(b[36:]),
		Major:     binary.LittleEndian.Uint16(b[38:]),
		BlockSize: int(binary.LittleEndian.Uint16(b[40:])),
		Chunks:    int(binary.LittleEndian.Uint16(b[42:])),
		Flags:     binary.LittleEndian.Uint32(b[120:]),
	}
	h.ChecksumOK = crc32.ChecksumIEEE(b[:120]) == binary.LittleEndian.Uint32(b[124:])
	if h.Major != 3 || h.Minor > 2 {
		return h, fmt.Errorf("unsupported EVTX version %d.%d", h.Major, h.Minor)
	}
	if h.BlockSize < 128 {
		h.BlockSize = FileHeaderSize
	}
	return h, nil
}

// ChunkHeader holds the fields of a chunk header [EVTX §Chunk header] that a reader uses.
type ChunkHeader struct {
	FirstRecord, LastRecord uint64 // event record numbers
	FirstID, LastID         uint64 // event record identifiers
	FreeOffset              int    // end of the event records; the records checksum covers [512, FreeOffset)
}

// CheckChunk verifies one 64 KiB chunk: the signature (ErrNoChunk when absent), the header checksum (CRC32 of
// bytes 0–120 and 128–512), the free space offset and the event records checksum (CRC32 of bytes 512 up to the
// free space offset) [EVTX §Chunk header]. The CRC-32 is RFC 1952's, as hash/crc32's IEEE table computes it.
func CheckChunk(b []byte) (ChunkHeader, error) {
	if len(b) != ChunkSize {
		return ChunkHeader{}, &Error{Msg: fmt.Sprintf("chunk of %d bytes, want %d", len(b), ChunkSize)}
	}
	if !bytes.Equal(b[:8], chunkMagic) {
		return ChunkHeader{}, ErrNoChunk
	}
	crc := crc32.Update(crc32.ChecksumIEEE(b[:120]), crc32.IEEETable, b[128:ChunkHeaderSize])
	if want := binary.LittleEndian.Uint32(b[124:]); crc != want {
		return ChunkHeader{}, &Error{Offset: 124, Msg: fmt.Sprintf("header checksum %08x, want %08x", crc, want)}
	}
	h := ChunkHeader{
		FirstRecord: binary.LittleEndian.Uint64(b[8:]),
		LastRecord:  binary.LittleEndian.Uint64(b[16:]),
		FirstID:     binary.LittleEndian.Uint64(b[24:]),
		LastID:      binary.LittleEndian.Uint64(b[32:]),
	}
	free := binary.LittleEndian.Uint32(b[48:])
	if free < ChunkHeaderSize || free > ChunkSize {
		return h, &Error{Offset: 48, Msg: fmt.Sprintf("free space offset %d out of range", free)}
	}
	h.FreeOffset = int(free)
	if got, want := crc32.ChecksumIEEE(b[ChunkHeaderSize:free]), binary.LittleEndian.Uint32(b[52:]); got != want {
		return h, &Error{Offset: 52, Msg: fmt.Sprintf("event records checksum %08x, want %08x", got, want)}
	}
	if h.LastRecord < h.FirstRecord || h.LastRecord-h.FirstRecord >= (ChunkSize-ChunkHeaderSize)/minRecordSize {
		return h, &Error{Offset: 8, Msg: fmt.Sprintf("record numbers %d to %d out of range", h.FirstRecord, h.LastRecord)}
	}
	return h, nil
}

// Reader reads an EVTX file chunk by chunk from an io.Reader: the file header first, then one 64 KiB chunk per
// call to Next. It never needs random access, so compressed streams and pipes work as well as files.
type Reader struct {
	r      io.Reader
	header FileHeader
	index  int
	off    int64
	done   bool
}

// NewReader reads and parses the file header block from r.
func NewReader(r io.Reader) (*Reader, error) {
	var hdr [128]byte
	n, err := io.ReadFull(r, hdr[:])
	if err != nil && err != io.ErrUnexpectedEOF && err != io.EOF {
		return nil, fmt.Errorf("reading the file header: %w", err)
	}
	h, err := ParseFileHeader(hdr[:n])
	if err != nil {
		return nil, err
	}
	// Skip the rest of the header block; its content is unused [EVTX §File header].
	skipped, err := io.CopyN(io.Discard, r, int64(h.BlockSize-128))
	if err != nil && err != io.EOF {
		return nil, fmt.Errorf("reading the file header: %w", err)
	}
	return &Reader{r: r, header: h, off: 128 + skipped, done: skipped < int64(h.BlockSize-128)}, nil
}

// Header returns the file header.
func (r *Reader) Header() FileHeader { return r.header }

// Next reads the next chunk into buf, which must be ChunkSize bytes long, and returns its index (0 for the first
// chunk) and its offset in the file. It returns io.EOF at the end of the input, also when the last piece is
// shorter than a chunk and all zeros; a shorter piece holding anything else is an error wrapping ErrTruncated
// (and the next call returns io.EOF). Whether buf holds a valid chunk is for CheckChunk to say.
func (r *Reader) Next(buf []byte) (index int, offset int64, err error) {
	if len(buf) != ChunkSize {
		return 0, 0, fmt.Errorf("evtx: chunk buffer of %d bytes, want %d", len(buf), ChunkSize)
	}
	if r.done {
		return r.index, r.off, io.EOF
	}
	index, offset = r.index, r.off
	n, err := io.ReadFull(r.r, buf)
	r.index++
	r.off += int64(n)
	switch err {
	case nil:
		return index, offset, nil
	case io.EOF:
		r.done = true
		return index, offset, io.EOF
	case io.ErrUnexpectedEOF:
		r.done = true
		if allZero(buf[:n]) {
			return index, offset, io.EOF
		}
		return index, offset, fmt.Errorf("%w: %d of %d bytes", ErrTruncated, n, ChunkSize)
	}
	r.done = true
	return index, offset, fmt.Errorf("reading chunk %d at offset %d: %w", index, offset, err)
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// Error is a malformed chunk or event record. Offset is the byte offset in the chunk where the problem was
// found; Record is the event record identifier, or 0 when the problem is in the chunk outside any record.
type Error struct {
	Record uint64
	Offset int
	Msg    string
}

func (e *Error) Error() string {
	if e.Record != 0 {
		return fmt.Sprintf("record %d at chunk offset %d: %s", e.Record, e.Offset, e.Msg)
	}
	return fmt.Sprintf("chunk offset %d: %s", e.Offset, e.Msg)
}
