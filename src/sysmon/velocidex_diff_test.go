package sysmon

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"os"
	ourevtx "regasmdetect/src/evtx"
	"regasmdetect/src/internal/shared"
	"strconv"
	"strings"
	"testing"

	"regasmdetect/src/cim"

	"www.velocidex.com/golang/evtx"
)

// The scanner's EVTX reader before its replacement, on the velocidex library, kept in a test for the
// differential comparison with the new reader.

// EVTX layout constants (Microsoft's MS-EVEN6 format as documented by libevtx).
const (
	vxChunkSize       = 0x10000
	vxChunkHeaderSize = 0x200
	vxMinRecordSize   = 24
)

var vxChunkMagic = []byte("ElfChnk\x00")

// vxDict is the part of the EVTX library's ordered dictionary that we use.
type vxDict interface {
	Get(key string) (interface{}, bool)
	Keys() []string
}

// vxReader reads an EVTX file chunk by chunk: one 64 KiB chunk in memory at a time. Each chunk's header and
// data checksums are verified before the library parses it; a chunk that fails is one RecordError and the
// following chunks are still read. The library runs under recover, so a malformed chunk cannot crash us.
type vxReader struct {
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

// newVelocidexReader returns a Reader of the EVTX file r of size bytes; source names it in errors and records. It
// fails when the file header is not an EVTX header.
func newVelocidexReader(r io.ReaderAt, size int64, source string) (Reader, error) {
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
	if size > first {
		n = int((size - first + vxChunkSize - 1) / vxChunkSize)
	}
	return &vxReader{r: r, size: size, source: source, ev: newEvent(), first: first, nchunks: n,
		buf: make([]byte, vxChunkSize)}, nil
}

func (x *vxReader) Stats() Stats { return x.stats }

func (x *vxReader) vxChunkErr(i int, off int64, format string, args ...any) error {
	x.stats.Errors++
	return &RecordError{Source: x.source, Err: fmt.Errorf("chunk %d at offset %d: %s", i, off, fmt.Sprintf(format, args...)), evtx: true}
}

// vxLoadChunk reads, checks and parses chunk i into x.records.
func (x *vxReader) vxLoadChunk(i int) error {
	off := x.first + int64(i)*vxChunkSize
	n, err := x.r.ReadAt(x.buf, off)
	if n < vxChunkSize {
		if err == nil || err == io.EOF {
			if vxAllZero(x.buf[:n]) {
				return nil
			}
			return x.vxChunkErr(i, off, "truncated: %d of %d bytes", n, vxChunkSize)
		}
		return fmt.Errorf("sysmon: %s: reading chunk %d at offset %d: %w", x.source, i, off, err)
	}
	b := x.buf
	if !bytes.Equal(b[:8], vxChunkMagic) {
		// Unused space: zeros, or slack left by Windows after the last chunk (the file header's chunk count
		// is not reliable in files copied from a live system), so it is skipped silently as Windows does.
		return nil
	}
	h := crc32.NewIEEE()
	h.Write(b[:120])
	h.Write(b[128:vxChunkHeaderSize])
	if got, want := h.Sum32(), binary.LittleEndian.Uint32(b[124:]); got != want {
		return x.vxChunkErr(i, off, "header checksum %08x, want %08x", got, want)
	}
	free := binary.LittleEndian.Uint32(b[48:])
	if free < vxChunkHeaderSize || free > vxChunkSize {
		return x.vxChunkErr(i, off, "free space offset %d out of range", free)
	}
	if got, want := crc32.ChecksumIEEE(b[vxChunkHeaderSize:free]), binary.LittleEndian.Uint32(b[52:]); got != want {
		return x.vxChunkErr(i, off, "event records checksum %08x, want %08x", got, want)
	}
	var ch evtx.ChunkHeader
	if err := binary.Read(bytes.NewReader(b), binary.LittleEndian, &ch); err != nil {
		return x.vxChunkErr(i, off, "header: %v", err)
	}
	if ch.LastEventRecNumber < ch.FirstEventRecNumber ||
		ch.LastEventRecNumber-ch.FirstEventRecNumber >= vxChunkSize/vxMinRecordSize {
		return x.vxChunkErr(i, off, "record numbers %d to %d out of range", ch.FirstEventRecNumber, ch.LastEventRecNumber)
	}
	c := &evtx.Chunk{Header: ch, Offset: 0, Fd: bytes.NewReader(b)}
	recs, perr := vxParseChunk(c)
	if perr != nil {
		return x.vxChunkErr(i, off, "%v", perr)
	}
	x.records, x.next = recs, 0
	if want := int(ch.LastEventRecNumber - ch.FirstEventRecNumber + 1); len(recs) < want {
		return x.vxChunkErr(i, off, "%d of %d records unreadable", want-len(recs), want)
	}
	return nil
}

// vxParseChunk runs the library's chunk parser, turning a panic into an error.
func vxParseChunk(c *evtx.Chunk) (recs []*evtx.EventRecord, err error) {
	defer func() {
		if r := recover(); r != nil {
			recs, err = nil, fmt.Errorf("malformed binary XML: %v", r)
		}
	}()
	return c.Parse(0)
}

func vxAllZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

func (x *vxReader) Next(p *cim.Process) error {
	for {
		if x.next >= len(x.records) {
			x.records, x.next = nil, 0
			if x.chunk >= x.nchunks {
				return io.EOF
			}
			i := x.chunk
			x.chunk++
			if err := x.vxLoadChunk(i); err != nil {
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
		Map(x.ev, p)
		p.Source, p.Record = x.source, int64(rec.Header.RecordID)
		x.stats.ProcessCreations++
		return nil
	}
}

// convert stores the kept fields of a parsed record into x.ev.
func (x *vxReader) convert(rec *evtx.EventRecord) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("malformed event: %v", r)
		}
	}()
	root, ok := rec.Event.(vxDict)
	if !ok {
		return errors.New("event is not an XML element")
	}
	evAny, _ := root.Get("Event")
	evd, ok := evAny.(vxDict)
	if !ok {
		return errors.New("no <Event> element")
	}
	sysAny, _ := evd.Get("System")
	sys, ok := sysAny.(vxDict)
	if !ok {
		return errors.New("no <System> element")
	}
	e := x.ev
	x.vxPut(sProvider, vxPath(sys, "Provider", "Name"))
	if v, ok := sys.Get("EventID"); ok {
		if d, ok := v.(vxDict); ok {
			v, _ = d.Get("Value")
		}
		x.vxPut(sEventID, v)
	}
	x.vxPut(sRecordID, vxPath(sys, "EventRecordID"))
	x.vxPut(sComputer, vxPath(sys, "Computer"))
	x.vxPut(sChannel, vxPath(sys, "Channel"))
	x.vxPut(sUserID, vxPath(sys, "Security", "UserID"))
	if t, ok := vxPath(sys, "TimeCreated", "SystemTime").(float64); ok && !math.IsNaN(t) && !math.IsInf(t, 0) &&
		t > -1e11 && t < 1e11 {
		ms := vxFiletimeMillis(t)
		e.begin(sTimeCreated)
		e.buf = strconv.AppendInt(e.buf, ms/1000, 10)
		e.buf = append(e.buf, '.', byte('0'+ms/100%10), byte('0'+ms/10%10), byte('0'+ms%10))
		e.end(sTimeCreated)
	}
	dataAny, _ := evd.Get("EventData")
	if data, ok := dataAny.(vxDict); ok {
		if arr, ok := vxPath(data, "Data").([]interface{}); ok {
			// Not normalised by the library yet: [{Name, Value}, ...].
			for _, it := range arr {
				if d, ok := it.(vxDict); ok {
					if name, ok := vxPath(d, "Name").(string); ok {
						x.vxPut(dataSlot([]byte(name)), vxPath(d, "Value"))
					}
				}
			}
		} else {
			for _, k := range data.Keys() {
				if s := dataSlot([]byte(k)); s >= 0 {
					v, _ := data.Get(k)
					x.vxPut(s, v)
				}
			}
		}
	}
	return nil
}

// vxFiletimeMillis turns the library's float epoch seconds (a FILETIME divided by 10^7 in float64) into epoch
// milliseconds, truncating. The float is accurate to about a microsecond.
func vxFiletimeMillis(t float64) int64 {
	ticks := int64(math.Round(t * 1e7)) // 100 ns units
	ms := ticks / 10000
	if ticks%10000 < 0 {
		ms--
	}
	return ms
}

// path walks nested dictionaries.
func vxPath(d vxDict, keys ...string) interface{} {
	var v interface{} = d
	for _, k := range keys {
		dd, ok := v.(vxDict)
		if !ok {
			return nil
		}
		v, _ = dd.Get(k)
	}
	return v
}

// put stores a library value as text.
func (x *vxReader) vxPut(s slot, v interface{}) {
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

// TestVelocidexDifferential compares the new reader with the velocidex-based one on every shared EVTX file:
// every event's kept raw fields and every EventData pair (velocidex renders GUIDs without braces and times as
// float seconds: both are normalised), and every process record, error and count through Next, with one worker
// and with four.
func TestVelocidexDifferential(t *testing.T) {
	var events, fields, dataPairs, procs, hexNotation int
	for _, rel := range []string{
		"data/sysmon/evtx-attack-samples/PanacheSysmon_vs_AtomicRedTeam01.evtx",
		"data/sysmon/evtx-attack-samples/panache_sysmon_vs_EDRTestingScript.evtx",
		"data/sysmon/omerbenamram-evtx/sysmon.evtx",
	} {
		b, err := os.ReadFile(shared.Path(t, rel))
		if err != nil {
			t.Fatal(err)
		}
		// Raw fields, event by event.
		old, err := newVelocidexReader(bytes.NewReader(b), int64(len(b)), rel)
		if err != nil {
			t.Fatal(err)
		}
		vx := old.(*vxReader)
		w := newEVTXWorker(rel)
		var oldEvents []map[string]string
		var oldIDs []uint64
		for i := 0; i < vx.nchunks; i++ {
			vx.records = nil
			if err := vx.vxLoadChunk(i); err != nil {
				t.Fatal(err)
			}
			for _, rec := range vx.records {
				vx.ev.reset()
				if err := vx.convert(rec); err != nil {
					t.Fatal(err)
				}
				m := slotsOf(vx.ev)
				if ts, ok := m["TimeCreated"]; ok {
					m["TimeCreated"] = ts // "sec.mmm"
				}
				data, _ := vxPath(rec.Event.(vxDict), "Event", "EventData").(vxDict)
				if data != nil {
					for _, k := range data.Keys() {
						v, _ := data.Get(k)
						vx.ev.reset()
						vx.vxPut(0, v)
						m["Data:"+k] = string(vx.ev.raw(0))
					}
				}
				oldEvents = append(oldEvents, m)
				oldIDs = append(oldIDs, rec.Header.RecordID)
			}
		}
		var newEvents []map[string]string
		rd, err := ourevtx.NewReader(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, evtxChunkSize)
		for {
			_, _, err := rd.Next(buf)
			if err == io.EOF {
				break
			}
			if _, err := w.dec.Reset(buf); err != nil {
				if errors.Is(err, ourevtx.ErrNoChunk) {
					continue
				}
				t.Fatal(err)
			}
			for {
				rec, err := w.dec.Next()
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				if len(newEvents) < len(oldIDs) && rec.ID != oldIDs[len(newEvents)] {
					t.Fatalf("event %d: record %d, velocidex %d", len(newEvents), rec.ID, oldIDs[len(newEvents)])
				}
				w.convert(rec)
				m := slotsOf(w.ev)
				if ts, ok := m["TimeCreated"]; ok {
					ms, ok := parseTime([]byte(ts), false)
					if !ok {
						t.Fatalf("record %d: time %q", rec.ID, ts)
					}
					m["TimeCreated"] = fmt.Sprintf("%d.%03d", ms/1000, ms%1000)
				}
				for i := 0; i < rec.NumData(); i++ {
					n, v := rec.Data(i)
					s := string(v)
					if len(s) == 38 && s[0] == '{' && s[37] == '}' {
						s = s[1:37] // velocidex renders GUIDs without braces
					}
					m["Data:"+string(n)] = s
				}
				newEvents = append(newEvents, m)
			}
		}
		if len(newEvents) != len(oldEvents) {
			t.Fatalf("%s: %d events, velocidex %d", rel, len(newEvents), len(oldEvents))
		}
		for i := range newEvents {
			for k, v := range oldEvents[i] {
				nv, ok := newEvents[i][k]
				if ok && nv != v && strings.HasPrefix(nv, "0x") {
					// Hexadecimal types: velocidex prints them in decimal, Windows and libevtx as 0x%08x/0x%016x.
					if n, err := strconv.ParseUint(nv[2:], 16, 64); err == nil && strconv.FormatUint(n, 10) == v {
						hexNotation++
						nv = v
					}
				}
				if !ok || nv != v {
					t.Errorf("%s record %d: %s = %q (%v), velocidex %q", rel, oldIDs[i], k, nv, ok, v)
				}
				fields++
				if strings.HasPrefix(k, "Data:") {
					dataPairs++
				}
			}
			if len(newEvents[i]) != len(oldEvents[i]) {
				t.Errorf("%s record %d: %d fields, velocidex %d", rel, oldIDs[i], len(newEvents[i]), len(oldEvents[i]))
			}
		}
		events += len(newEvents)
		// Process records, errors and counts through Next.
		old, _ = newVelocidexReader(bytes.NewReader(b), int64(len(b)), rel)
		want, werrs := readAllErrs(t, old)
		for _, workers := range []int{1, 4} {
			r, err := newEVTXReader(bytes.NewReader(b), rel, workers)
			if err != nil {
				t.Fatal(err)
			}
			got, gerrs := readAllErrs(t, r)
			if len(got) != len(want) || len(gerrs) != len(werrs) {
				t.Fatalf("%s, %d workers: %d records %d errors, velocidex %d %d", rel, workers, len(got), len(gerrs), len(want), len(werrs))
			}
			for i := range got {
				if !sameValues(&got[i], &want[i]) || got[i].Time != want[i].Time || got[i].HasTime != want[i].HasTime || got[i].Record != want[i].Record || got[i].Source != want[i].Source {
					t.Errorf("%s, %d workers: record %d differs:\n%s", rel, workers, want[i].Record, diff(want[i], got[i]))
				}
			}
			if r.Stats() != old.Stats() {
				t.Errorf("%s, %d workers: stats %+v, velocidex %+v", rel, workers, r.Stats(), old.Stats())
			}
		}
		procs += len(want)
	}
	t.Logf("velocidex differential: %d events, %d fields (%d EventData pairs; %d hexadecimal values differ only in notation), %d process records", events, fields, dataPairs, hexNotation, procs)
}

// slotsOf returns the raw fields of ev by name.
func slotsOf(ev *event) map[string]string {
	names := []string{"Provider", "EventID", "EventRecordID", "Computer", "UserID", "Channel", "TimeCreated"}
	m := map[string]string{}
	for i, n := range names {
		if v := ev.raw(slot(i)); v != nil {
			m[n] = string(v)
		}
	}
	return m
}
