package sysmon

import (
	"bytes"
	"errors"
	"io"
	"runtime"
	"slices"
	"sync/atomic"

	"regasmdetect/src/cim"
)

// Parallel reading of the line-based formats. The input is cut into blocks at line ends where a reader's state
// is clean: any line end for JSON lines, a line end followed by a line that starts an <Event> for XML. Each block
// is parsed in place (its lines are slices of it, nothing is copied) by a worker with a reader of its own, which
// numbers lines from the block's start; Next hands out the records and record errors in input order, adding the
// lines of the blocks before, so that what the caller sees is what the sequential reader gives, item for item
// (TestParallelMatchesSequential and FuzzParallel compare the two). While the block Next needs is still being
// parsed, Next parses a later block itself rather than wait, so that no core idles when a worker is slow to run
// (a busy machine). Memory is bounded: at most blocksPerParser × (workers+1) blocks of about parallelBlock bytes
// are in flight. A
// line longer than MaxLine (no cut point within parallelBlock + MaxLine bytes) switches the rest of the input to
// the sequential reader, which bounds such lines itself.

// parallelBlock is the size blocks are cut at (each extends to the next cut point). Measured on 2 cores over the
// shared logs, 64 KiB to 256 KiB take the same time and 1 MiB more (a block is parsed while it is still in the
// cache it was read into); 128 KiB needs fewer hand-offs than 64 KiB and less memory than 256 KiB.
const parallelBlock = 128 << 10

// blocksPerParser is how many blocks may be in flight per parser (the workers and Next): slack, so that a
// parser the operating system leaves waiting for a while holds up the others less.
const blocksPerParser = 4

// parBatch is one block: its bytes, then the items its parser found.
type parBatch struct {
	data  []byte
	first bool // the block starts the input (its first line may open with a byte-order mark)
	last  bool // the block ends the input
	// claimed is set by whoever parses the block: a worker, or Next.
	claimed atomic.Bool
	lines   int64 // lines in the block
	procs   []cim.Process
	items   []parItem
	stats   Stats
	done    chan struct{}
	// tail, when not nil, is the rest of the input (from this block's first byte) to be read sequentially.
	tail io.Reader
}

// parItem is a record (err == nil: procs[proc]) or a record error.
type parItem struct {
	proc int
	err  error
}

type parallelReader struct {
	format Format
	source string
	order  chan *parBatch // every block, in input order
	free   chan *parBatch
	quit   chan struct{}
	ahead  []*parBatch // blocks taken from order, not handed out yet
	own    blockReader // Next's reader, for the blocks it parses itself
	cur    *parBatch
	next   int
	lines  int64 // lines of the blocks before cur (or before the tail)
	stats  Stats
	seq    Reader // after a tail: the sequential reader of the rest
	// seqBase are the counts before the tail.
	seqBase  Stats
	finished bool // order is closed and empty
}

// NewParallelReader returns a Reader of XML or JSON lines from r that parses blocks of the input on workers
// goroutines besides the caller's (GOMAXPROCS-1, at least one, when workers <= 0). Its records and record errors
// are those of NewXMLReader or NewJSONReader, in the same order. Call Close to stop it early; reading to io.EOF
// stops it too.
func NewParallelReader(r io.Reader, format Format, source string, workers int) Reader {
	if workers <= 0 {
		workers = max(runtime.GOMAXPROCS(0)-1, 1)
	}
	return newParallelReader(r, format, source, workers, parallelBlock)
}

func newParallelReader(r io.Reader, format Format, source string, workers, block int) *parallelReader {
	inFlight := blocksPerParser * (workers + 1)
	p := &parallelReader{format: format, source: source, order: make(chan *parBatch, inFlight),
		free: make(chan *parBatch, inFlight), quit: make(chan struct{})}
	for i := 0; i < inFlight; i++ {
		p.free <- &parBatch{}
	}
	var jobs chan *parBatch // nil without workers: Next parses every block
	if workers > 0 {
		jobs = make(chan *parBatch, inFlight)
	}
	go p.produce(r, jobs, block)
	for i := 0; i < workers; i++ {
		go func() {
			rd := p.newBlockReader()
			for b := range jobs {
				p.claimAndParse(rd, b)
			}
		}()
	}
	return p
}

// cutPoint returns the index just after the last line end in b[from:] at which a block may end, or -1.
func (p *parallelReader) cutPoint(b []byte, from int) int {
	for end := len(b); end > from; {
		i := bytes.LastIndexByte(b[from:end], '\n')
		if i < 0 {
			return -1
		}
		i += from
		if p.format == JSON {
			return i + 1
		}
		// XML: the next line must start an event; it must be in b to be seen.
		rest := b[i+1:]
		if len(rest) >= len(eventStart)+1 {
			if bytes.HasPrefix(rest, eventStart) {
				if c := rest[len(eventStart)]; c == '>' || c == '/' || isSpace(c) {
					return i + 1
				}
			}
		}
		end = i
	}
	return -1
}

// produce cuts the input into blocks and queues each for a worker and for Next, in order.
func (p *parallelReader) produce(r io.Reader, jobs chan<- *parBatch, block int) {
	if jobs != nil {
		defer close(jobs)
	}
	defer close(p.order)
	var carry []byte // bytes read past the last cut
	first, eof := true, false
	limit := block + MaxLine + 2
	for {
		var b *parBatch
		select {
		case b = <-p.free:
		case <-p.quit:
			return
		}
		if cap(b.data) < 2*block {
			// Room for a block and the line it ends in, allocated once per batch.
			b.data = make([]byte, 0, 2*block)
		}
		data := append(b.data[:0], carry...)
		var rerr error
		read := func() {
			if cap(data)-len(data) < max(block/4, 4096) {
				data = slices.Grow(data, max(block, 4096)) // a line longer than the room left
			}
			// Read no further than the block needs, so that little is carried over to the next one.
			end := cap(data)
			if len(data) < block {
				end = max(block, len(data)+4096)
			}
			n, err := r.Read(data[len(data):end])
			data = data[:len(data)+n]
			if err == io.EOF {
				eof = true
			} else if err != nil {
				rerr = err
			}
		}
		for len(data) < block && !eof && rerr == nil {
			read()
		}
		cut := -1
		for rerr == nil {
			if eof {
				cut = len(data)
				break
			}
			if cut = p.cutPoint(data, 0); cut > 0 || len(data) >= limit {
				break
			}
			read()
		}
		b.first, b.tail = first, nil
		first = false
		if rerr != nil || cut < 0 {
			// A read error, or no cut point within the limit (a line longer than MaxLine): the sequential reader
			// reads the rest, from this block's first byte, and reports either as it would have.
			b.data = data
			var rest io.Reader = r
			if rerr != nil {
				rest = errReader{rerr}
			}
			b.tail = io.MultiReader(bytes.NewReader(data), rest)
			p.send(b, nil)
			return
		}
		carry = append(carry[:0], data[cut:]...)
		b.data, b.last = data[:cut], eof && len(carry) == 0
		if !p.send(b, jobs) || b.last {
			return
		}
	}
}

// send queues b for Next (and, unless it is a tail or there are no workers, for a worker). It reports false
// when the reader is closed.
func (p *parallelReader) send(b *parBatch, jobs chan<- *parBatch) bool {
	b.done = make(chan struct{})
	// A worker may still hold b from an earlier turn (Next parsed that block first and b came back): whoever
	// claims b now parses its current block, once. A tail is never to be parsed: it is claimed from the start.
	b.claimed.Store(b.tail != nil)
	if b.tail != nil {
		close(b.done)
	}
	select {
	case p.order <- b:
	case <-p.quit:
		return false
	}
	if b.tail == nil && jobs != nil {
		select {
		case jobs <- b:
		case <-p.quit:
			return false
		}
	}
	return true
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

// blockReader is a sequential reader that reads blocks in place, one after the other.
type blockReader interface {
	Reader
	// resetBytes starts reading the block b from a clean state, numbering its lines from 1; first says whether
	// b starts the input.
	resetBytes(b []byte, first bool)
	// lineCount returns the number of lines read.
	lineCount() int64
}

// newBlockReader returns a reader of blocks.
func (p *parallelReader) newBlockReader() blockReader {
	if p.format == XML {
		return &xmlReader{lr: &lineReader{}, source: p.source, ev: newEvent()}
	}
	j := &jsonReader{lr: &lineReader{}, source: p.source, ev: newEvent()}
	j.p.ev = j.ev
	return j
}

// claimAndParse parses b with rd unless another parser has claimed it, and reports whether it did.
func (p *parallelReader) claimAndParse(rd blockReader, b *parBatch) bool {
	if !b.claimed.CompareAndSwap(false, true) {
		return false
	}
	p.parse(rd, b)
	close(b.done)
	return true
}

// parse reads one block, in place, with the sequential reader rd.
func (p *parallelReader) parse(rd blockReader, b *parBatch) {
	rd.resetBytes(b.data, b.first)
	b.items = b.items[:0]
	n := 0
	for {
		if n == len(b.procs) {
			b.procs = append(b.procs, cim.Process{})
		}
		err := rd.Next(&b.procs[n])
		if err == io.EOF {
			break
		}
		if err != nil {
			var re *RecordError
			if !errors.As(err, &re) {
				b.items = append(b.items, parItem{proc: -1, err: err})
				break
			}
			if !b.last && p.format == XML && errors.Is(err, errTruncatedAtEOF) {
				// The next block starts with an <Event>: the sequential reader says so.
				re.Err = errTruncatedByStart
			}
			b.items = append(b.items, parItem{proc: -1, err: err})
			continue
		}
		b.items = append(b.items, parItem{proc: n})
		n++
	}
	b.lines = rd.lineCount()
	b.stats = rd.Stats()
}

// tailReader returns the sequential reader of the rest of the input, whose first line is line+1.
func (p *parallelReader) tailReader(r io.Reader, line int64) Reader {
	if p.format == XML {
		x := NewXMLReader(r, p.source).(*xmlReader)
		x.lr.line = line
		return x
	}
	j := NewJSONReader(r, p.source).(*jsonReader)
	j.lr.line = line
	return j
}

func (p *parallelReader) Stats() Stats {
	if p.seq != nil {
		s := p.seq.Stats()
		s.Events += p.seqBase.Events
		s.ProcessCreations += p.seqBase.ProcessCreations
		s.Other += p.seqBase.Other
		s.Errors += p.seqBase.Errors
		return s
	}
	return p.stats
}

func (p *parallelReader) Next(out *cim.Process) error {
	for {
		if p.seq != nil {
			return p.seq.Next(out)
		}
		if p.cur != nil && p.next < len(p.cur.items) {
			it := p.cur.items[p.next]
			p.next++
			if it.err != nil {
				var re *RecordError
				if errors.As(it.err, &re) {
					re.Record += p.lines
				}
				return it.err
			}
			// Swap: the caller takes the record's storage, the batch keeps the caller's for its next use. No copy;
			// the values stay valid until the next call, as with the sequential readers.
			*out, p.cur.procs[it.proc] = p.cur.procs[it.proc], *out
			out.Record += p.lines
			return nil
		}
		if p.cur != nil {
			p.addStats(p.cur.stats)
			p.lines += p.cur.lines
			p.free <- p.cur
			p.cur = nil
		}
		b := p.head()
		if b == nil {
			return io.EOF
		}
		if b.tail != nil {
			p.seqBase = p.stats
			p.seq = p.tailReader(b.tail, p.lines)
			continue
		}
		p.cur, p.next = b, 0
	}
}

// head returns the next block in input order once it is parsed, or nil at the end of the input. While a worker
// parses it, head parses a later block no worker has taken yet, if there is one, rather than wait.
func (p *parallelReader) head() *parBatch {
	for {
		if len(p.ahead) == 0 && !p.receive(true) {
			return nil
		}
		h := p.ahead[0]
		p.help(h)
		select {
		case <-h.done:
			p.ahead = p.ahead[:copy(p.ahead, p.ahead[1:])]
			return h
		default:
		}
		helped := false
		for i := 1; i < len(p.ahead) && !helped; i++ {
			helped = p.help(p.ahead[i])
		}
		if !helped && p.receive(false) {
			helped = p.help(p.ahead[len(p.ahead)-1])
		}
		if !helped {
			<-h.done
		}
	}
}

// help parses b in Next when no worker has taken it, and reports whether it did.
func (p *parallelReader) help(b *parBatch) bool {
	if b.tail != nil {
		return false
	}
	if p.own == nil {
		p.own = p.newBlockReader()
	}
	return p.claimAndParse(p.own, b)
}

// receive takes the next block from order into ahead, waiting for it when wait is set. It reports whether it
// took one.
func (p *parallelReader) receive(wait bool) bool {
	if p.finished {
		return false
	}
	var b *parBatch
	var ok bool
	if wait {
		b, ok = <-p.order
	} else {
		select {
		case b, ok = <-p.order:
		default:
			return false
		}
	}
	if !ok {
		p.finished = true
		return false
	}
	p.ahead = append(p.ahead, b)
	return true
}

func (p *parallelReader) addStats(s Stats) {
	p.stats.Events += s.Events
	p.stats.ProcessCreations += s.ProcessCreations
	p.stats.Other += s.Other
	p.stats.Errors += s.Errors
}

// Close stops the producer and the workers.
func (p *parallelReader) Close() error {
	select {
	case <-p.quit:
	default:
		close(p.quit)
	}
	return nil
}
