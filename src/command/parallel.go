package command

import (
	"errors"
	"fmt"
	"io"
	"runtime"
	"sync"

	"regasmdetect/src/cim"
	"regasmdetect/src/engine"
	"regasmdetect/src/scpv2"
)

// Large bodies are parsed on every core: the body is read in blocks cut at row boundaries (quote parity), and
// each block is parsed and aggregated by one of several workers with its own aggregator. The workers'
// aggregates are merged into the session's at the end of every request, before the reply, so the result is the
// one a single reader gives (the tests compare both).
var (
	// parallelMin is the body size from which the parallel reader is used; smaller bodies are read in line.
	parallelMin int64 = 1 << 20
	// blockSize is the size of the blocks handed to the workers.
	blockSize = 1 << 20
)

// worker parses blocks of one body into its own aggregator.
type worker struct {
	agg  *engine.Aggregator
	feed *cim.Feeder
	csv  scpv2.CSVReader
}

// block is one row-aligned piece of a body and what its worker made of it.
type block struct {
	data []byte
	rows int   // data rows parsed
	err  error // the first error in the block
	row  int   // the block-local row of err (1 = the block's first row)
}

// pool holds the parallel reader's state across requests.
type pool struct {
	workers []*worker
	free    chan []byte
}

// get takes a free buffer, empty, allocating it on first use.
func (p *pool) get() []byte {
	b := <-p.free
	if b == nil {
		b = make([]byte, 0, blockSize)
	}
	return b[:0]
}

func newPool(det *engine.Detection, opts engine.Options) *pool {
	n := max(runtime.GOMAXPROCS(0), 2)
	// n+2 buffers: one per worker, the block being filled and the next one.
	p := &pool{free: make(chan []byte, n+2)}
	for i := 0; i < n; i++ {
		agg := det.NewAggregator(opts)
		p.workers = append(p.workers, &worker{agg: agg, feed: cim.NewFeeder(det, agg)})
	}
	for i := 0; i < cap(p.free); i++ {
		p.free <- nil // buffers are allocated on first use
	}
	return p
}

// readParallel reads the current body with the workers and merges their aggregates into s.agg.
func (s *session) readParallel(chunk int) error {
	if s.pool == nil {
		s.pool = newPool(s.det, s.opts.Engine())
	}
	p := s.pool
	body := s.r.Body()

	// The header, read by the in-line reader's parser; the bytes it read past the header start the first block.
	header, empty, err := s.startBody(chunk, body)
	if empty || err != nil {
		return err
	}
	binding := s.binding
	limit := s.workerLimit(len(p.workers))

	jobs := make(chan *block)
	var wg sync.WaitGroup
	for _, w := range p.workers {
		wg.Add(1)
		go func(w *worker) {
			defer wg.Done()
			for b := range jobs {
				w.parse(b, header, binding, s.spill, limit)
				p.free <- b.data
				b.data = nil
			}
		}(w)
	}
	var blocks []*block
	send := func(data []byte) {
		b := &block{data: data}
		blocks = append(blocks, b)
		jobs <- b
	}
	// Cut blocks at row ends; the partial row at the end of a block starts the next one.
	cur, readErr := readBlock(body, append(p.get(), s.csv.Buffered()...))
	for {
		if readErr == io.EOF {
			// The rest of the body: whole rows, the last of which may lack a line end.
			if len(cur) > 0 {
				send(cur)
				cur = nil
			}
			readErr = nil
			break
		}
		if readErr != nil {
			break
		}
		end := scpv2.RowsEnd(cur)
		if end > 0 {
			next := p.get()
			next = append(next, cur[end:]...)
			send(cur[:end])
			cur = next
		} else if len(cur) == cap(cur) {
			// A row longer than a block: let the block grow.
			cur = growBlock(cur)
		}
		cur, readErr = readBlock(body, cur)
	}
	if cur != nil {
		p.free <- cur[:0]
	}
	close(jobs)
	wg.Wait()
	if readErr != nil {
		return bodyError(chunk, readErr)
	}
	// The first error in body order, with its row counted over the whole body.
	row := 1
	for _, b := range blocks {
		if b.err != nil {
			var pe *scpv2.ParseError
			if errors.As(b.err, &pe) {
				e := *pe
				e.Row = row + b.row
				return bodyError(chunk, &e)
			}
			return fmt.Errorf("chunk %d: body row %d: %w", chunk, row+b.row, b.err)
		}
		row += b.rows
	}
	return s.mergeWorkers()
}

// parse feeds every row of the block to the worker's aggregator, spilling it to sp (when not nil) as it
// outgrows limit.
func (w *worker) parse(b *block, header []string, binding *cim.Binding, sp *spill, limit int64) {
	w.csv.ResetRows(b.data, header)
	for {
		row, err := w.csv.Next()
		if err == io.EOF {
			return
		}
		if err != nil {
			b.err, b.row = err, w.csv.Row()-1
			return
		}
		b.rows++
		if err := w.feed.Feed(binding, row); err != nil {
			b.err, b.row = err, b.rows
			return
		}
		if sp != nil && w.agg.Mem() > limit {
			if err := sp.write(w.agg); err != nil {
				b.err, b.row = err, b.rows
				return
			}
		}
	}
}

// mergeWorkers moves the workers' counters into the session's aggregator, and their groups too unless they keep
// them (keepWorkerGroups).
func (s *session) mergeWorkers() error {
	for _, w := range s.pool.workers {
		if s.keepWorkerGroups() {
			if err := s.agg.AddStats(w.agg.Stats()); err != nil {
				return err
			}
			w.agg.ResetStats()
		} else {
			if err := s.agg.Merge(w.agg); err != nil {
				return err
			}
			w.agg.Reset()
		}
		s.invalidUTF8 += w.feed.InvalidUTF8
		w.feed.InvalidUTF8 = 0
	}
	return nil
}

// keepWorkerGroups reports whether the parallel reader's workers keep their groups across requests, spilling
// them within their share of the budget, to be merged with the session's only when the result is written: in
// the reduce phase of a detection whose groups spill. Elsewhere (the map phase, which sends the session's
// groups as partials, and built-in detections) they are merged into the session's after every request.
func (s *session) keepWorkerGroups() bool { return s.spill != nil }

// readBlock appends to buf from r until buf holds blockSize bytes (or its capacity, if larger) or r ends;
// io.EOF is returned with the last data.
func readBlock(r io.Reader, buf []byte) ([]byte, error) {
	for len(buf) < cap(buf) {
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err != nil {
			return buf, err
		}
	}
	return buf, nil
}

func growBlock(b []byte) []byte {
	nb := make([]byte, len(b), 2*cap(b))
	copy(nb, b)
	return nb
}

// bodyError places an error found while reading a body. A framing error already names its chunk and byte.
func bodyError(chunk int, err error) error {
	var framing *scpv2.Error
	if errors.As(err, &framing) {
		return err
	}
	return fmt.Errorf("chunk %d: body: %w", chunk, err)
}
