package sysmon

import (
	"errors"
	"fmt"
	"io"
	"math"
	"runtime"
	"sync"

	"regasmdetect/src/cim"
	"regasmdetect/src/evtx"
)

// evtxChunkSize is the size of every EVTX chunk.
const evtxChunkSize = evtx.ChunkSize

// evtxReader reads an EVTX stream chunk by chunk with the evtx package. With one worker it decodes each chunk
// in Next; with more, one goroutine reads chunks in file order, workers decode and map them in parallel, and
// Next hands their results out in file order: the same records, errors and counts as with one worker. Memory
// is bounded by the chunks in flight (two per worker, 64 KiB each, plus their records).
type evtxReader struct {
	source string
	rd     *evtx.Reader
	stats  Stats

	// one worker: decoded in Next
	seq *evtxWorker

	// several workers
	order chan *evtxBatch // batches in file order, each filled when its done channel closes
	free  chan *evtxBatch
	quit  chan struct{}
	once  sync.Once

	cur  *evtxBatch // the batch being handed out
	next int
	eof  bool
}

// evtxBatch is one chunk and what came out of it.
type evtxBatch struct {
	index int
	off   int64
	buf   []byte
	err   error // reading the chunk failed (truncated or I/O); it is the last batch
	items []evtxItem
	procs []cim.Process
	tail  evtxItem // counts after the last item
	done  chan struct{}
}

// evtxItem is one thing Next returns: a process creation (proc ≥ 0) or an error, with the events seen since
// the previous item, counted when it is handed out.
type evtxItem struct {
	proc   int
	err    error
	events int64
	other  int64
}

// evtxWorker decodes chunks; each worker has its own decoder and event.
type evtxWorker struct {
	source string
	dec    *evtx.Decoder
	ev     *event
}

// NewEVTXReader returns a Reader of the EVTX file r of size bytes; source names it in errors and records. r is
// read at increasing offsets only (the header, then each chunk in order), as a stream (see NewEVTXStream);
// size < 0 means unknown: chunks are read until the end of r.
func NewEVTXReader(r io.ReaderAt, size int64, source string) (Reader, error) {
	if size < 0 {
		size = math.MaxInt64
	}
	return NewEVTXStream(io.NewSectionReader(r, 0, size), source)
}

// NewEVTXStream returns a Reader of the EVTX stream r (a file, a decompressing reader, a pipe): chunks are read
// in order, never sought, and decoded on every core. It fails when the stream does not start with an EVTX file
// header. Each chunk's header and records checksums are checked; a chunk that fails, and each event record that
// cannot be decoded, is one *RecordError naming the chunk and its offset, and reading goes on with the next
// record or chunk. 64 KiB blocks without a chunk signature (unused space) are skipped silently, since the file
// header's chunk count goes stale in files copied from a live system. Call Close (the returned Reader is an
// io.Closer) to stop early; reading to io.EOF stops the workers too.
func NewEVTXStream(r io.Reader, source string) (Reader, error) {
	return newEVTXReader(r, source, runtime.GOMAXPROCS(0))
}

func newEVTXReader(r io.Reader, source string, workers int) (*evtxReader, error) {
	rd, err := evtx.NewReader(r)
	if err != nil {
		return nil, fmt.Errorf("sysmon: %s: %w", source, err)
	}
	x := &evtxReader{source: source, rd: rd}
	if workers <= 1 {
		x.seq = getEVTXWorker(source)
		x.cur = getEVTXBatch()
		return x, nil
	}
	inFlight := 2 * workers
	x.order = make(chan *evtxBatch, inFlight)
	x.free = make(chan *evtxBatch, inFlight)
	x.quit = make(chan struct{})
	jobs := make(chan *evtxBatch, inFlight)
	for i := 0; i < inFlight; i++ {
		x.free <- getEVTXBatch()
	}
	go x.produce(jobs)
	for i := 0; i < workers; i++ {
		go func() {
			w := getEVTXWorker(source)
			for b := range jobs {
				w.decode(b)
				close(b.done)
			}
			evtxWorkers.Put(w)
		}()
	}
	return x, nil
}

// Chunk buffers, their results' storage and the workers' decoders are reused from file to file: a scan of many
// files allocates them once per core, not once per file.
var evtxBatches, evtxWorkers sync.Pool

func getEVTXBatch() *evtxBatch {
	if b, ok := evtxBatches.Get().(*evtxBatch); ok {
		b.items, b.procs, b.tail, b.err, b.done = b.items[:0], b.procs[:0], evtxItem{}, nil, nil
		return b
	}
	return &evtxBatch{buf: make([]byte, evtxChunkSize)}
}

func getEVTXWorker(source string) *evtxWorker {
	w, ok := evtxWorkers.Get().(*evtxWorker)
	if !ok {
		w = newEVTXWorker(source)
	}
	w.source = source
	return w
}

// recycle hands the batches and the sequential worker back for the next file. It is called at the end of the
// input, when the producer and every worker are done with them.
func (x *evtxReader) recycle() {
	if x.seq != nil {
		evtxWorkers.Put(x.seq)
		x.seq = nil
	}
	if x.cur != nil {
		evtxBatches.Put(x.cur)
		x.cur = nil
	}
	for x.free != nil {
		select {
		case b := <-x.free:
			evtxBatches.Put(b)
		default:
			return
		}
	}
}

func newEVTXWorker(source string) *evtxWorker {
	return &evtxWorker{source: source, dec: evtx.NewDecoder(), ev: newEvent()}
}

// produce reads chunks in file order and queues each one for a worker and for Next.
func (x *evtxReader) produce(jobs chan<- *evtxBatch) {
	defer close(jobs)
	defer close(x.order)
	for {
		var b *evtxBatch
		select {
		case b = <-x.free:
		case <-x.quit:
			return
		}
		b.index, b.off, b.err = x.rd.Next(b.buf)
		b.done = make(chan struct{})
		select {
		case x.order <- b:
		case <-x.quit:
			return
		}
		if b.err != nil {
			close(b.done) // nothing to decode; Next reports the error or the end
			return
		}
		jobs <- b
	}
}

// Close stops the workers; the Reader returns io.EOF afterwards.
func (x *evtxReader) Close() error {
	if x.quit != nil {
		x.once.Do(func() { close(x.quit) })
	}
	x.eof = true
	return nil
}

func (x *evtxReader) Stats() Stats { return x.stats }

func (x *evtxReader) Next(p *cim.Process) error {
	for {
		if x.eof {
			return io.EOF
		}
		b := x.cur
		if b != nil && x.next < len(b.items) {
			it := &b.items[x.next]
			x.next++
			x.stats.Events += it.events
			x.stats.Other += it.other
			if it.err != nil {
				x.stats.Errors++
				return it.err
			}
			copyProcess(p, &b.procs[it.proc])
			x.stats.ProcessCreations++
			return nil
		}
		if b != nil {
			x.stats.Events += b.tail.events
			x.stats.Other += b.tail.other
			b.tail = evtxItem{}
		}
		if err := x.advance(); err != nil {
			return err
		}
	}
}

// advance moves to the next chunk's batch. It returns io.EOF at the end, a *RecordError for a truncated last
// chunk, or another error when the input cannot be read.
func (x *evtxReader) advance() error {
	var b *evtxBatch
	if x.seq != nil {
		b = x.cur
		b.index, b.off, b.err = x.rd.Next(b.buf)
		if b.err == nil {
			x.seq.decode(b)
		}
	} else {
		if x.cur != nil {
			x.free <- x.cur // room for the producer, whose free list had it
		}
		x.cur = nil
		var ok bool
		if b, ok = <-x.order; !ok {
			x.eof = true
			return io.EOF
		}
		<-b.done
		x.cur = b
	}
	x.next = 0
	if b.err != nil {
		index, off, err := b.index, b.off, b.err
		x.eof = true
		x.Close()
		x.recycle()
		if err == io.EOF {
			return io.EOF
		}
		if errors.Is(err, evtx.ErrTruncated) {
			x.stats.Errors++
			return &RecordError{Source: x.source, Err: fmt.Errorf("chunk %d at offset %d: %w", index, off, err), evtx: true}
		}
		return fmt.Errorf("sysmon: %s: %w", x.source, err)
	}
	return nil
}

// decode decodes chunk b.buf into b.items and b.procs.
func (w *evtxWorker) decode(b *evtxBatch) {
	b.items, b.procs, b.tail = b.items[:0], b.procs[:0], evtxItem{}
	if _, err := w.dec.Reset(b.buf); err != nil {
		if !errors.Is(err, evtx.ErrNoChunk) {
			b.items = append(b.items, evtxItem{proc: -1, err: w.chunkErr(b, err)})
		}
		return
	}
	for {
		rec, err := w.dec.Next()
		if err == io.EOF {
			return
		}
		if err != nil {
			var e *evtx.Error
			if errors.As(err, &e) && e.Record != 0 {
				b.tail.events++ // a bad event is an event
			}
			b.tail.proc, b.tail.err = -1, w.chunkErr(b, err)
			b.items = append(b.items, b.tail)
			b.tail = evtxItem{}
			continue
		}
		b.tail.events++
		if !w.convert(rec) {
			b.tail.other++
			continue
		}
		if len(b.procs) < cap(b.procs) {
			b.procs = b.procs[:len(b.procs)+1] // reuse the storage of a record of an earlier chunk
		} else {
			b.procs = append(b.procs, cim.Process{})
		}
		p := &b.procs[len(b.procs)-1]
		Map(w.ev, p)
		p.Source, p.Record = w.source, int64(rec.ID)
		b.tail.proc = len(b.procs) - 1
		b.items = append(b.items, b.tail)
		b.tail = evtxItem{}
	}
}

// chunkErr turns a decoding error into a RecordError naming the chunk, its offset in the file and the byte in
// the chunk.
func (w *evtxWorker) chunkErr(b *evtxBatch, err error) error {
	var e *evtx.Error
	if errors.As(err, &e) {
		return &RecordError{Source: w.source, Record: int64(e.Record), evtx: true,
			Err: fmt.Errorf("chunk %d at offset %d, byte %d: %s", b.index, b.off, e.Offset, e.Msg)}
	}
	return &RecordError{Source: w.source, evtx: true, Err: fmt.Errorf("chunk %d at offset %d: %w", b.index, b.off, err)}
}

// evtxSlots maps the System fields of a record to event slots.
var evtxSlots = [...]struct {
	f evtx.Field
	s slot
}{
	{evtx.Provider, sProvider}, {evtx.EventID, sEventID}, {evtx.EventRecordID, sRecordID},
	{evtx.Computer, sComputer}, {evtx.Channel, sChannel}, {evtx.UserID, sUserID},
	{evtx.TimeCreated, sTimeCreated},
}

// convert stores the kept fields of rec into w.ev and reports whether it is a process creation, ready for Map.
func (w *evtxWorker) convert(rec *evtx.Record) bool {
	e := w.ev
	e.reset()
	for _, fs := range evtxSlots {
		if v, ok := rec.Field(fs.f); ok {
			e.set(fs.s, v)
		}
	}
	for i := 0; i < rec.NumData(); i++ {
		name, v := rec.Data(i)
		e.set(dataSlot(name), v)
	}
	if !e.isProcessCreation() {
		return false
	}
	bracePrefix(e, sProcessGUID)
	bracePrefix(e, sParentProcessGUID)
	return true
}

// copyProcess copies src into p's own storage (kept from call to call), so that p's values stay valid after
// the batch src belongs to is reused for a later chunk.
func copyProcess(p, src *cim.Process) {
	p.Reset()
	p.Time, p.HasTime, p.Source, p.Record = src.Time, src.HasTime, src.Source, src.Record
	for f, v := range src.Values {
		if len(v) > 0 {
			p.Set(cim.Field(f), v)
		}
	}
}
