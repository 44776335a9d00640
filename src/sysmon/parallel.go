package sysmon

import (
	"bytes"
	"errors"
	"io"
	"runtime"
	"slices"

	"regasmdetect/src/cim"
)

// Parallel reading of the line-based formats. The input is cut into blocks at line ends where a reader's state
// is clean: any line end for JSON lines, a line end followed by a line that starts an <Event> for XML. Each block
// is parsed by a worker with a reader of its own (numbering lines from the block's first line), and Next hands
// out the records and record errors in input order, so that what the caller sees is what the sequential reader
// gives, item for item (ParallelTest and FuzzParallel compare the two). Memory is bounded: at most 2×workers
// blocks of about blockSize bytes are in flight. A line longer than MaxLine (no cut point within blockSize +
// MaxLine bytes) switches the rest of the input to the sequential reader, which bounds such lines itself.

// parallelBlock is the size blocks are cut at (each extends to the next cut point).
const parallelBlock = 1 << 20

// parBatch is one block: its bytes, then the items its worker found.
type parBatch struct {
	data  []byte
	line  int64 // lines before the block
	last  bool  // the block ends the input
	procs []cim.Process
	items []parItem
	stats Stats
	done  chan struct{}
	// tail, when not nil, is the rest of the input (from this block's first byte) to be read sequentially.
	tail io.Reader
}

// parItem is a record (err == nil: procs[proc]) or a record error.
type parItem struct {
	proc int
	err  error
}

type parallelReader struct {
	format   Format
	source   string
	order    chan *parBatch
	free     chan *parBatch
	quit     chan struct{}
	cur      *parBatch
	next     int
	stats    Stats
	seq      Reader // after a tail: the sequential reader of the rest
	seqBase  Stats
	finished bool
}

// NewParallelReader returns a Reader of XML or JSON lines from r that parses blocks of the input on workers
// goroutines (GOMAXPROCS when workers <= 0). Its records and record errors are those of NewXMLReader or
// NewJSONReader, in the same order. Call Close to stop it early; reading to io.EOF stops it too.
func NewParallelReader(r io.Reader, format Format, source string, workers int) Reader {
	return newParallelReader(r, format, source, workers, parallelBlock)
}

func newParallelReader(r io.Reader, format Format, source string, workers, block int) *parallelReader {
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	inFlight := 2 * workers
	p := &parallelReader{format: format, source: source, order: make(chan *parBatch, inFlight),
		free: make(chan *parBatch, inFlight), quit: make(chan struct{})}
	for i := 0; i < inFlight; i++ {
		p.free <- &parBatch{}
	}
	jobs := make(chan *parBatch, inFlight)
	go p.produce(r, jobs, block)
	for i := 0; i < workers; i++ {
		go func() {
			for b := range jobs {
				p.parse(b)
				close(b.done)
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
	defer close(jobs)
	defer close(p.order)
	var carry []byte // bytes read past the last cut
	var line int64
	eof := false
	limit := block + MaxLine + 2
	for {
		var b *parBatch
		select {
		case b = <-p.free:
		case <-p.quit:
			return
		}
		data := append(b.data[:0], carry...)
		var rerr error
		read := func() {
			if cap(data)-len(data) < 64<<10 {
				data = slices.Grow(data, 256<<10)
			}
			n, err := r.Read(data[len(data):cap(data)])
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
		if rerr != nil || cut < 0 {
			// A read error, or no cut point within the limit (a line longer than MaxLine): the sequential reader
			// reads the rest, from this block's first byte, and reports either as it would have.
			b.data, b.line = data, line
			var rest io.Reader = r
			if rerr != nil {
				rest = errReader{rerr}
			}
			b.tail = io.MultiReader(bytes.NewReader(data), rest)
			p.send(b, nil)
			return
		}
		carry = append(carry[:0], data[cut:]...)
		b.data, b.line, b.last = data[:cut], line, eof && len(carry) == 0
		line += int64(bytes.Count(b.data, []byte{'\n'}))
		if !p.send(b, jobs) || b.last {
			return
		}
	}
}

// send queues b for Next (and, unless it is a tail, for a worker). It reports false when the reader is closed.
func (p *parallelReader) send(b *parBatch, jobs chan<- *parBatch) bool {
	b.done = make(chan struct{})
	if b.tail != nil {
		close(b.done)
	}
	select {
	case p.order <- b:
	case <-p.quit:
		return false
	}
	if b.tail == nil {
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

// parse reads one block with a sequential reader.
func (p *parallelReader) parse(b *parBatch) {
	rd := p.blockReader(bytes.NewReader(b.data), b.line)
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
	b.stats = rd.Stats()
}

// blockReader returns the sequential reader of a block whose first line is line+1.
func (p *parallelReader) blockReader(r io.Reader, line int64) Reader {
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
				return it.err
			}
			// Swap: the caller takes the record's storage, the batch keeps the caller's for its next use. No copy;
			// the values stay valid until the next call, as with the sequential readers.
			*out, p.cur.procs[it.proc] = p.cur.procs[it.proc], *out
			return nil
		}
		if p.cur != nil {
			p.addStats(p.cur.stats)
			p.free <- p.cur
			p.cur = nil
		}
		if p.finished {
			return io.EOF
		}
		b, ok := <-p.order
		if !ok {
			p.finished = true
			return io.EOF
		}
		<-b.done
		if b.tail != nil {
			p.seqBase = p.stats
			p.seq = p.blockReader(b.tail, b.line)
			continue
		}
		p.cur, p.next = b, 0
	}
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
