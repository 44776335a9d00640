package command

import (
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"sync"
	"sync/atomic"

	"regasmdetect/src/engine"
	"regasmdetect/src/scpv2"
)

// A result can be large (2 M groups: 436 MB of CSV). It is merged by key range in parts (engine.MergePlan), on
// every core, twice: once to measure each part, whose lengths add up to the reply's body length, which its
// header gives first; once to render the parts into buffers, which are written in order while the next parts
// are rendered. At most one buffer more than there are workers is held at a time, none longer than
// partBufferMax. A small result is one part.

// groupsPerPart and bytesPerPart bound a part of a result: about 16,384 groups (3.5 MB of CSV for the seed
// detection's rows), fewer when their keys are long, so that a part's rows take about 4 MiB or less (a part
// holds at least one row, however long). Tests make them smaller.
var (
	groupsPerPart       = 16384
	bytesPerPart  int64 = 4 << 20
)

// partBufferMax is the longest part rendered into a buffer ahead of its turn. The split keys are only as fine
// as the runs' restart points (every 128 groups), so a part of very long keys can be longer than asked: such a
// part is rendered when its turn comes, 64 KiB at a time.
var partBufferMax int64 = 8 << 20

// testHookParts, when set, is called with the number of parts of a result merged in more than one.
var testHookParts func(parts int)

// planResult plans the merge of the spilled runs, the session's groups and the workers' groups in parts.
func (s *session) planResult(runs []*os.File, idx []*engine.RunIndex) (*engine.MergePlan, error) {
	rs := make([]engine.Run, len(runs))
	for i, f := range runs {
		rs[i] = engine.Run{R: f, Index: idx[i]}
	}
	// A row beside its key: count, two times, commas and the line end, about 48 bytes.
	size := engine.PartSize{Groups: groupsPerPart, Bytes: bytesPerPart, RowBytes: 48}
	return s.agg.PlanMerge(rs, size, s.resultWorkers()...)
}

// resultWorkers returns the parallel reader's workers' aggregators when they kept their groups.
func (s *session) resultWorkers() []*engine.Aggregator {
	var workers []*engine.Aggregator
	if s.pool != nil && s.keepWorkerGroups() {
		for _, w := range s.pool.workers {
			workers = append(workers, w.agg)
		}
	}
	return workers
}

// writeResultParts answers the final request with the rows of plan's parts.
func (s *session) writeResultParts(reply *scpv2.Reply, plan *engine.MergePlan) error {
	if testHookParts != nil && plan.Parts() > 1 {
		testHookParts(plan.Parts())
	}
	workers := min(runtime.GOMAXPROCS(0), plan.Parts())
	lens := make([]int64, plan.Parts())
	err := eachPart(plan.Parts(), workers, func() func(i int) error {
		r := s.newResultRenderer()
		var scratch scpv2.CSVWriter
		return func(i int) error {
			m, err := plan.Merger(i)
			if err != nil {
				return err
			}
			defer m.Close()
			for {
				row, err := r.next(m, true)
				if err == io.EOF {
					return nil
				}
				if err != nil {
					return err
				}
				lens[i] += int64(r.viewLen(&scratch, row))
			}
		}
	})
	if err != nil {
		return fmt.Errorf("memory budget: result: %w", err)
	}
	var n int64
	for _, l := range lens {
		n += l
	}
	if n == 0 {
		return s.reply(reply, nil)
	}
	var header scpv2.CSVWriter
	header.WriteRow(s.newResultRenderer().header)
	body := newPartBody(s, plan, lens, workers, header.Bytes())
	defer body.close()
	if err := s.w.WriteReplyFrom(reply, body, int64(header.Len())+n); err != nil {
		if body.err != nil {
			return fmt.Errorf("memory budget: result: %w", body.err)
		}
		return fmt.Errorf("%w: write reply: %v", errReplied, err)
	}
	return nil
}

// eachPart calls the function mk makes for each of workers goroutines with part numbers from 0 to n-1, each
// once, until all are done or one fails, and returns the errors.
func eachPart(n, workers int, mk func() func(i int) error) error {
	var next atomic.Int64
	var failed atomic.Bool
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		f := mk()
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !failed.Load() {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				if err := f(i); err != nil {
					errs[w] = fmt.Errorf("part %d of %d: %w", i+1, n, err)
					failed.Store(true)
					return
				}
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// partBody renders a plan's parts on its workers, in order of need, and reads them out as the reply's body:
// the header, then each part's rows.
type partBody struct {
	n       int
	plan    *engine.MergePlan
	lens    []int64
	parts   []chan partOut // part i's rendering
	free    chan *scpv2.CSVWriter
	stop    chan struct{}
	done    sync.WaitGroup
	next    atomic.Int64
	pending []byte
	cur     int              // the next part to read; -1 while the header is read
	curW    *scpv2.CSVWriter // the part being read
	err     error            // the rendering's error, which Read also returned

	// a part longer than partBufferMax, rendered here a piece at a time
	r        *resultRenderer
	stream   *engine.Merger
	streamed int64
	own      scpv2.CSVWriter
}

// partOut is a part's rendering: its rows, or an error, or neither for a part to render when its turn comes.
type partOut struct {
	w   *scpv2.CSVWriter
	err error
}

func newPartBody(s *session, plan *engine.MergePlan, lens []int64, workers int, header []byte) *partBody {
	b := &partBody{n: plan.Parts(), plan: plan, lens: lens, parts: make([]chan partOut, plan.Parts()),
		free: make(chan *scpv2.CSVWriter, workers+1), stop: make(chan struct{}), pending: header, cur: -1,
		r: s.newResultRenderer()}
	for i := range b.parts {
		b.parts[i] = make(chan partOut, 1)
	}
	for range workers + 1 {
		b.free <- &scpv2.CSVWriter{}
	}
	for range workers {
		b.done.Add(1)
		go b.render(s, plan, lens)
	}
	return b
}

// render renders parts, each into a free buffer, until none is left, one fails or the body is closed.
func (b *partBody) render(s *session, plan *engine.MergePlan, lens []int64) {
	defer b.done.Done()
	r := s.newResultRenderer()
	for {
		var w *scpv2.CSVWriter
		select {
		case w = <-b.free:
		case <-b.stop:
			return
		}
		i := int(b.next.Add(1) - 1)
		if i >= b.n {
			return
		}
		if lens[i] > partBufferMax {
			b.free <- w
			b.parts[i] <- partOut{}
			continue
		}
		w.Reset()
		w.Grow(int(lens[i]))
		err := b.renderPart(r, plan, i, w)
		if err == nil && int64(w.Len()) != lens[i] {
			err = fmt.Errorf("part %d of %d: %d bytes rendered, %d measured", i+1, b.n, w.Len(), lens[i])
		}
		b.parts[i] <- partOut{w, err}
		if err != nil {
			return
		}
	}
}

func (b *partBody) renderPart(r *resultRenderer, plan *engine.MergePlan, i int, w *scpv2.CSVWriter) error {
	m, err := plan.Merger(i)
	if err != nil {
		return err
	}
	defer m.Close()
	for {
		row, err := r.next(m, false)
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("part %d of %d: %w", i+1, b.n, err)
		}
		r.view(w, row)
	}
}

// fill makes the next rows pending, waiting for them; false after the last.
func (b *partBody) fill() (bool, error) {
	for len(b.pending) == 0 {
		if b.stream != nil {
			if err := b.streamMore(); err != nil {
				b.err = err
				return false, err
			}
			continue
		}
		if b.curW != nil {
			b.free <- b.curW
			b.curW = nil
		}
		b.cur++
		if b.cur >= b.n {
			return false, nil
		}
		out := <-b.parts[b.cur]
		switch {
		case out.err != nil:
			b.err = out.err
			return false, out.err
		case out.w == nil: // render it here
			m, err := b.plan.Merger(b.cur)
			if err != nil {
				b.err = err
				return false, err
			}
			b.stream, b.streamed = m, 0
		default:
			b.curW, b.pending = out.w, out.w.Bytes()
		}
	}
	return true, nil
}

// streamMore renders the next rows of the part being rendered here, about 64 KiB of them, and ends the part
// after its last row.
func (b *partBody) streamMore() error {
	w := &b.own
	w.Reset()
	for w.Len() < 64<<10 {
		row, err := b.r.next(b.stream, false)
		if err == io.EOF {
			b.stream.Close()
			b.stream = nil
			if total := b.streamed + int64(w.Len()); total != b.lens[b.cur] {
				return fmt.Errorf("part %d of %d: %d bytes rendered, %d measured", b.cur+1, b.n, total, b.lens[b.cur])
			}
			break
		}
		if err != nil {
			return fmt.Errorf("part %d of %d: %w", b.cur+1, b.n, err)
		}
		b.r.view(w, row)
	}
	b.streamed += int64(w.Len())
	b.pending = w.Bytes()
	return nil
}

func (b *partBody) Read(p []byte) (int, error) {
	more, err := b.fill()
	if err != nil {
		return 0, err
	}
	if !more {
		return 0, io.EOF
	}
	n := copy(p, b.pending)
	b.pending = b.pending[n:]
	return n, nil
}

// WriteTo writes the rest of the body to w, each part's rows in one write.
func (b *partBody) WriteTo(w io.Writer) (int64, error) {
	var n int64
	for {
		more, err := b.fill()
		if err != nil || !more {
			return n, err
		}
		k, err := w.Write(b.pending)
		n += int64(k)
		b.pending = b.pending[k:]
		if err != nil {
			return n, err
		}
	}
}

// close stops the rendering and waits for it.
func (b *partBody) close() {
	select {
	case <-b.stop:
	default:
		close(b.stop)
	}
	b.done.Wait()
	if b.stream != nil {
		b.stream.Close()
		b.stream = nil
	}
}
