package sysmon

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"strconv"

	"regasmdetect/src/cim"

	"www.velocidex.com/golang/evtx"
)

// EVTX layout constants (Microsoft's MS-EVEN6 format as documented by libevtx).
const (
	evtxChunkSize       = 0x10000
	evtxChunkHeaderSize = 0x200
	evtxMinRecordSize   = 24
)

var chunkMagic = []byte("ElfChnk\x00")

// dict is the part of the EVTX library's ordered dictionary that we use.
type dict interface {
	Get(key string) (interface{}, bool)
	Keys() []string
}

// evtxReader reads an EVTX file chunk by chunk: one 64 KiB chunk in memory at a time. Each chunk's header and
// data checksums are verified before the library parses it; a chunk that fails is one RecordError and the
// following chunks are still read. The library runs under recover, so a malformed chunk cannot crash us.
type evtxReader struct {
	r       io.ReaderAt
	size    int64
	source  string
	ev      *event
	stats   Stats
	first   int64 // offset of the first chunk
	chunk   int   // index of the next chunk to load
	nchunks int
	buf     []byte
	records []*evtx.EventRecord
	next    int
}

// NewEVTXReader returns a Reader of the EVTX file r of size bytes; source names it in errors and records. It
// fails when the file header is not an EVTX header. r is read at increasing offsets only (the header, then each
// chunk in order), so a stream can serve it; size < 0 means unknown: chunks are read until the end of r.
func NewEVTXReader(r io.ReaderAt, size int64, source string) (Reader, error) {
	var hdr [128]byte
	if _, err := r.ReadAt(hdr[:], 0); err != nil {
		return nil, fmt.Errorf("sysmon: %s: reading the EVTX file header: %w", source, err)
	}
	if !bytes.Equal(hdr[:8], evtxMagic) {
		return nil, fmt.Errorf("sysmon: %s: not an EVTX file (no ElfFile magic)", source)
	}
	major, minor := binary.LittleEndian.Uint16(hdr[38:]), binary.LittleEndian.Uint16(hdr[36:])
	if major != 3 || minor > 2 {
		return nil, fmt.Errorf("sysmon: %s: unsupported EVTX version %d.%d", source, major, minor)
	}
	first := int64(binary.LittleEndian.Uint16(hdr[40:])) // header block size, 4096
	if first < 128 {
		first = 4096
	}
	n := 0
	if size < 0 {
		n = math.MaxInt
	} else if size > first {
		n = int((size - first + evtxChunkSize - 1) / evtxChunkSize)
	}
	return &evtxReader{r: r, size: size, source: source, ev: newEvent(), first: first, nchunks: n,
		buf: make([]byte, evtxChunkSize)}, nil
}

func (x *evtxReader) Stats() Stats { return x.stats }

func (x *evtxReader) chunkErr(i int, off int64, format string, args ...any) error {
	x.stats.Errors++
	return &RecordError{Source: x.source, Err: fmt.Errorf("chunk %d at offset %d: %s", i, off, fmt.Sprintf(format, args...)), evtx: true}
}

// loadChunk reads, checks and parses chunk i into x.records.
func (x *evtxReader) loadChunk(i int) error {
	off := x.first + int64(i)*evtxChunkSize
	n, err := x.r.ReadAt(x.buf, off)
	if n < evtxChunkSize {
		if err == nil || err == io.EOF {
			if x.size < 0 && n == 0 {
				x.nchunks = x.chunk // the end of a stream
				return nil
			}
			if allZero(x.buf[:n]) {
				return nil
			}
			return x.chunkErr(i, off, "truncated: %d of %d bytes", n, evtxChunkSize)
		}
		return fmt.Errorf("sysmon: %s: reading chunk %d at offset %d: %w", x.source, i, off, err)
	}
	b := x.buf
	if !bytes.Equal(b[:8], chunkMagic) {
		// Unused space: zeros, or slack left by Windows after the last chunk (the file header's chunk count
		// is not reliable in files copied from a live system), so it is skipped silently as Windows does.
		return nil
	}
	h := crc32.NewIEEE()
	h.Write(b[:120])
	h.Write(b[128:evtxChunkHeaderSize])
	if got, want := h.Sum32(), binary.LittleEndian.Uint32(b[124:]); got != want {
		return x.chunkErr(i, off, "header checksum %08x, want %08x", got, want)
	}
	free := binary.LittleEndian.Uint32(b[48:])
	if free < evtxChunkHeaderSize || free > evtxChunkSize {
		return x.chunkErr(i, off, "free space offset %d out of range", free)
	}
	if got, want := crc32.ChecksumIEEE(b[evtxChunkHeaderSize:free]), binary.LittleEndian.Uint32(b[52:]); got != want {
		return x.chunkErr(i, off, "event records checksum %08x, want %08x", got, want)
	}
	var ch evtx.ChunkHeader
	if err := binary.Read(bytes.NewReader(b), binary.LittleEndian, &ch); err != nil {
		return x.chunkErr(i, off, "header: %v", err)
	}
	if ch.LastEventRecNumber < ch.FirstEventRecNumber ||
		ch.LastEventRecNumber-ch.FirstEventRecNumber >= evtxChunkSize/evtxMinRecordSize {
		return x.chunkErr(i, off, "record numbers %d to %d out of range", ch.FirstEventRecNumber, ch.LastEventRecNumber)
	}
	c := &evtx.Chunk{Header: ch, Offset: 0, Fd: bytes.NewReader(b)}
	recs, perr := parseChunk(c)
	if perr != nil {
		return x.chunkErr(i, off, "%v", perr)
	}
	x.records, x.next = recs, 0
	if want := int(ch.LastEventRecNumber - ch.FirstEventRecNumber + 1); len(recs) < want {
		return x.chunkErr(i, off, "%d of %d records unreadable", want-len(recs), want)
	}
	return nil
}

// parseChunk runs the library's chunk parser, turning a panic into an error.
func parseChunk(c *evtx.Chunk) (recs []*evtx.EventRecord, err error) {
	defer func() {
		if r := recover(); r != nil {
			recs, err = nil, fmt.Errorf("malformed binary XML: %v", r)
		}
	}()
	return c.Parse(0)
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

func (x *evtxReader) Next(p *cim.Process) error {
	for {
		if x.next >= len(x.records) {
			x.records, x.next = nil, 0
			if x.chunk >= x.nchunks {
				return io.EOF
			}
			i := x.chunk
			x.chunk++
			if err := x.loadChunk(i); err != nil {
				return err
			}
			continue
		}
		rec := x.records[x.next]
		x.records[x.next] = nil
		x.next++
		x.stats.Events++
		x.ev.reset()
		if err := x.convert(rec); err != nil {
			x.stats.Errors++
			return &RecordError{Source: x.source, Record: int64(rec.Header.RecordID), Err: err, evtx: true}
		}
		if !x.ev.isProcessCreation() {
			x.stats.Other++
			continue
		}
		bracePrefix(x.ev, sProcessGUID)
		bracePrefix(x.ev, sParentProcessGUID)
		x.ev.finish()
		Map(x.ev.get, p)
		p.Source, p.Record = x.source, int64(rec.Header.RecordID)
		x.stats.ProcessCreations++
		return nil
	}
}

// convert stores the kept fields of a parsed record into x.ev.
func (x *evtxReader) convert(rec *evtx.EventRecord) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("malformed event: %v", r)
		}
	}()
	root, ok := rec.Event.(dict)
	if !ok {
		return errors.New("event is not an XML element")
	}
	evAny, _ := root.Get("Event")
	evd, ok := evAny.(dict)
	if !ok {
		return errors.New("no <Event> element")
	}
	sysAny, _ := evd.Get("System")
	sys, ok := sysAny.(dict)
	if !ok {
		return errors.New("no <System> element")
	}
	e := x.ev
	x.put(sProvider, path(sys, "Provider", "Name"))
	if v, ok := sys.Get("EventID"); ok {
		if d, ok := v.(dict); ok {
			v, _ = d.Get("Value")
		}
		x.put(sEventID, v)
	}
	x.put(sRecordID, path(sys, "EventRecordID"))
	x.put(sComputer, path(sys, "Computer"))
	x.put(sChannel, path(sys, "Channel"))
	x.put(sUserID, path(sys, "Security", "UserID"))
	if t, ok := path(sys, "TimeCreated", "SystemTime").(float64); ok && !math.IsNaN(t) && !math.IsInf(t, 0) &&
		t > -1e11 && t < 1e11 {
		ms := filetimeMillis(t)
		e.begin(sTimeCreated)
		e.buf = strconv.AppendInt(e.buf, ms/1000, 10)
		e.buf = append(e.buf, '.', byte('0'+ms/100%10), byte('0'+ms/10%10), byte('0'+ms%10))
		e.end(sTimeCreated)
	}
	dataAny, _ := evd.Get("EventData")
	if data, ok := dataAny.(dict); ok {
		if arr, ok := path(data, "Data").([]interface{}); ok {
			// Not normalised by the library yet: [{Name, Value}, ...].
			for _, it := range arr {
				if d, ok := it.(dict); ok {
					if name, ok := path(d, "Name").(string); ok {
						x.put(dataSlot([]byte(name)), path(d, "Value"))
					}
				}
			}
		} else {
			for _, k := range data.Keys() {
				if s := dataSlot([]byte(k)); s >= 0 {
					v, _ := data.Get(k)
					x.put(s, v)
				}
			}
		}
	}
	return nil
}

// filetimeMillis turns the library's float epoch seconds (a FILETIME divided by 10^7 in float64) into epoch
// milliseconds, truncating. The float is accurate to about a microsecond.
func filetimeMillis(t float64) int64 {
	ticks := int64(math.Round(t * 1e7)) // 100 ns units
	ms := ticks / 10000
	if ticks%10000 < 0 {
		ms--
	}
	return ms
}

// path walks nested dictionaries.
func path(d dict, keys ...string) interface{} {
	var v interface{} = d
	for _, k := range keys {
		dd, ok := v.(dict)
		if !ok {
			return nil
		}
		v, _ = dd.Get(k)
	}
	return v
}

// put stores a library value as text.
func (x *evtxReader) put(s slot, v interface{}) {
	if s < 0 || v == nil {
		return
	}
	e := x.ev
	e.begin(s)
	switch v := v.(type) {
	case string:
		e.buf = append(e.buf, v...)
	case uint8:
		e.buf = strconv.AppendUint(e.buf, uint64(v), 10)
	case uint16:
		e.buf = strconv.AppendUint(e.buf, uint64(v), 10)
	case uint32:
		e.buf = strconv.AppendUint(e.buf, uint64(v), 10)
	case uint64:
		e.buf = strconv.AppendUint(e.buf, v, 10)
	case int8:
		e.buf = strconv.AppendInt(e.buf, int64(v), 10)
	case int16:
		e.buf = strconv.AppendInt(e.buf, int64(v), 10)
	case int32:
		e.buf = strconv.AppendInt(e.buf, int64(v), 10)
	case int64:
		e.buf = strconv.AppendInt(e.buf, v, 10)
	case int:
		e.buf = strconv.AppendInt(e.buf, int64(v), 10)
	case float64:
		e.buf = strconv.AppendFloat(e.buf, v, 'f', -1, 64)
	case float32:
		e.buf = strconv.AppendFloat(e.buf, float64(v), 'f', -1, 32)
	case bool:
		e.buf = strconv.AppendBool(e.buf, v)
	default:
		e.span[s] = [2]int32{-1, -1} // a structure where text was expected: leave the field null
		return
	}
	e.end(s)
}
