// Package command is the `| regasmdetect` search command: it speaks SCPv2 with splunkd on stdin and stdout,
// applies an embedded ESCU detection to the records it is sent, and answers once, in the reply to the request
// marked finished.
//
// In its default (reduce) phase the getinfo reply asks Splunk to run the command's own map phase on the
// indexers (streaming_preop), so that only partial aggregates travel to the search head. The reduce phase
// accepts partials and raw records alike, so the result does not depend on whether the map phase ran or on how
// the records were split between indexers and chunks.
package command

import (
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"slices"

	"regasmdetect/src/cim"
	"regasmdetect/src/engine"
	"regasmdetect/src/internal/readahead"
	"regasmdetect/src/scpv2"
)

// Exit statuses of Run.
const (
	ExitOK    = 0
	ExitError = 1
)

// Run speaks the protocol on in and out until the final reply or EOF, and returns the process exit status.
// Nothing but protocol bytes is written to out; errors go to splunkd in the reply, never to stderr.
func Run(in io.Reader, out io.Writer) int {
	// A probe process gets only the getinfo exchange: read ahead only once an execute request is on its way.
	// On a pipe of pipeBufSize bytes the kernel reads ahead for us, into the pipe, and large reads go straight
	// from it into the parallel reader's blocks; elsewhere a goroutine reads ahead into blocks of its own (one
	// more copy).
	sw := &switchReader{r: in}
	s := &session{r: scpv2.NewReader(sw), w: scpv2.NewWriter(out)}
	s.readAhead = func() {
		if growPipe(in, pipeBufSize) {
			s.stopReadAhead = func() {}
			return
		}
		ra := readahead.New(in, 1<<20, 4)
		sw.r = ra
		s.stopReadAhead = func() { ra.Close() }
	}
	defer func() {
		if s.stopReadAhead != nil {
			s.stopReadAhead()
		}
		if s.spill != nil {
			s.spill.cleanup()
		}
	}()
	if err := s.run(); err != nil {
		if !errors.Is(err, errReplied) {
			s.fail(err)
		}
		return ExitError
	}
	return ExitOK
}

// pipeBufSize is the pipe buffer asked for on standard input: Linux's default pipe-max-size.
const pipeBufSize = 1 << 20

// switchReader reads from r, which may be replaced between reads.
type switchReader struct{ r io.Reader }

func (s *switchReader) Read(p []byte) (int, error) { return s.r.Read(p) }

// errReplied marks an error that has already been answered (or cannot be answered).
var errReplied = errors.New("already replied")

type session struct {
	r    *scpv2.Reader
	w    *scpv2.Writer
	opts *Options
	det  *engine.Detection
	agg  *engine.Aggregator
	feed *cim.Feeder
	csv  *scpv2.CSVReader
	out  scpv2.CSVWriter

	readAhead     func() // starts reading stdin on another goroutine
	stopReadAhead func()

	pool        *pool  // the parallel reader of large bodies, made on first use
	invalidUTF8 uint64 // counted by the parallel reader's workers

	sid         string // the reduce phase's search id: rows marked with it are its map phase's partials
	limit       int64  // the reduce phase's memory budget in bytes
	spill       *spill // the reduce phase's runs on disk; nil in the map phase
	getinfoDone bool
	inBody      bool // reading an execute body: on a CSV error, drain it before answering
	header      []string
	binding     *cim.Binding
}

func (s *session) run() error {
	meta, err := s.r.Next()
	if err == io.EOF {
		// No request at all: there is nothing to answer.
		fmt.Fprintln(os.Stderr, "regasmdetect: no getinfo request on standard input (splunkd starts this command; see `regasmdetect help`)")
		return errReplied
	}
	if err != nil {
		return err
	}
	if err := s.getinfo(meta); err != nil {
		return err
	}
	for {
		meta, err := s.r.Next()
		if err == io.EOF {
			// A getinfo-only probe, or splunkd closed the pipe early: nothing more to say.
			return nil
		}
		if err != nil {
			return err
		}
		if s.stopReadAhead == nil {
			s.readAhead()
		}
		finished, err := s.execute(meta)
		if err != nil {
			return err
		}
		if finished {
			return nil
		}
	}
}

func (s *session) getinfo(meta []byte) error {
	req, err := scpv2.ParseRequest(meta)
	if err != nil {
		return fmt.Errorf("chunk %d: %w", s.r.Chunk(), err)
	}
	if req.Action != "getinfo" {
		return fmt.Errorf("chunk %d: expected action getinfo first, got %q", s.r.Chunk(), req.Action)
	}
	if n := s.r.BodyLen(); n != 0 {
		return fmt.Errorf("chunk %d: getinfo request carries a %d-byte body; it must be empty", s.r.Chunk(), n)
	}
	if req.SearchInfo == nil {
		return fmt.Errorf("chunk %d: getinfo request has no searchinfo", s.r.Chunk())
	}
	opts, err := ParseOptions(req.SearchInfo.Args)
	if err != nil {
		return err
	}
	det, err := compileDetection(opts)
	if err != nil {
		return err
	}
	s.opts, s.det = opts, det
	s.agg = det.NewAggregator(opts.Engine())
	s.feed = cim.NewFeeder(det, s.agg)

	reply := &scpv2.Reply{Type: "streaming"}
	s.limit = int64(opts.MaxMemMB) * budgetUnit
	if opts.Phase == Reduce && s.limit >= 64<<20 {
		// The budget bounds the groups' estimated size; this asks the garbage collector to keep the whole heap
		// (groups, buffers, garbage) near it too, instead of letting it reach twice the live heap.
		debug.SetMemoryLimit(s.limit + 64<<20)
	}
	if opts.Phase == Reduce {
		s.sid = req.SearchInfo.SID
		if !det.Generic() { // a built-in detection's groups (values, dc, time buckets) are not spilled yet
			s.spill = &spill{dispatchDir: req.SearchInfo.DispatchDir, keepUp: s.limit >= 64<<20}
		}
		reply = &scpv2.Reply{Type: "reporting", RequiredFields: cim.RequiredFields(det)}
		if s.sid != "" && !det.Generic() {
			// Without a sid the partials could not be told from raw records: no map phase then, the raw
			// records come to this process (the same result, more traffic). A built-in detection's partials
			// (values, dc, time buckets) have no CSV form yet: it runs on the search head alone.
			reply.StreamingPreop = opts.Preop(s.sid)
		}
	}
	s.getinfoDone = true
	return s.reply(reply, nil)
}

// execute reads one execute request, whole, and answers it.
func (s *session) execute(meta []byte) (finished bool, err error) {
	chunk := s.r.Chunk()
	req, err := scpv2.ParseRequest(meta)
	if err != nil {
		return false, fmt.Errorf("chunk %d: %w", chunk, err)
	}
	if req.Action != "execute" {
		return false, fmt.Errorf("chunk %d: expected action execute, got %q", chunk, req.Action)
	}
	if err := s.readBody(chunk); err != nil {
		return false, err
	}
	if s.opts.Phase == Map {
		// A combiner: partials are kept across requests and sent with the reply to the final one, or earlier
		// when they outgrow half the budget, so that what reaches the search head grows with the groups on
		// this indexer, not with its records or chunks.
		var body []byte
		if req.Finished || s.agg.Mem() > s.sessionLimit() {
			var err error
			if body, err = s.partials(); err != nil {
				return false, err
			}
			s.agg.Reset()
		}
		return req.Finished, s.reply(&scpv2.Reply{Finished: &req.Finished}, body)
	}
	if !req.Finished {
		return false, s.reply(&scpv2.Reply{Finished: &req.Finished}, nil)
	}
	reply := &scpv2.Reply{Finished: &req.Finished}
	if msgs := s.messages(); len(msgs) > 0 {
		reply.Inspector = &scpv2.Inspector{Messages: msgs}
	}
	return true, s.writeResult(reply)
}

// readBody feeds every row of the current chunk's body to the aggregator.
//
// On an error s.inBody stays set, so that fail reads the rest of the body before it answers: splunkd writes the
// whole request before it reads the reply, and must never meet a closed pipe.
func (s *session) readBody(chunk int) (err error) {
	s.inBody = true
	defer func() {
		if err == nil {
			s.inBody = false
		}
	}()
	if s.r.BodyLen() >= parallelMin {
		return s.readParallel(chunk)
	}
	if _, empty, err := s.startBody(chunk, s.r.Body()); empty || err != nil {
		return err
	}
	for {
		row, err := s.csv.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return bodyError(chunk, err)
		}
		if err := s.feed.Feed(s.binding, row); err != nil {
			return fmt.Errorf("chunk %d: body row %d: %w", chunk, s.csv.Row(), err)
		}
		if err := s.checkBudget(s.agg, s.sessionLimit()); err != nil {
			return fmt.Errorf("chunk %d: body row %d: %w", chunk, s.csv.Row(), err)
		}
	}
}

// startBody points the in-line CSV reader at body, reads the header and binds it. empty reports a body with
// no header at all, which is normal (err is then nil).
func (s *session) startBody(chunk int, body io.Reader) (header []string, empty bool, err error) {
	if s.csv == nil {
		s.csv = scpv2.NewCSVReader(body)
	} else {
		s.csv.Reset(body)
	}
	header, err = s.csv.Header()
	if err == io.EOF {
		return nil, true, nil
	}
	if err != nil {
		return nil, false, bodyError(chunk, err)
	}
	return header, false, s.bind(chunk, header)
}

// bind resolves a body's header against the detection, unless it repeats the previous body's header (splunkd
// repeats it in every chunk).
func (s *session) bind(chunk int, header []string) error {
	if s.binding != nil && slices.Equal(header, s.header) {
		return nil
	}
	b, err := cim.BindSearch(s.det, header, s.sid)
	if err != nil {
		return fmt.Errorf("chunk %d: body header: %w", chunk, err)
	}
	s.header, s.binding = header, b
	return nil
}

// reply writes one reply chunk. A failure to write means splunkd is gone: nothing more can be said.
func (s *session) reply(r *scpv2.Reply, body []byte) error {
	if err := s.w.WriteReply(r, body); err != nil {
		return fmt.Errorf("%w: write reply: %v", errReplied, err)
	}
	return nil
}

// fail answers the pending request with a terminal error.
func (s *session) fail(err error) {
	var framing *scpv2.Error
	if s.inBody && !errors.As(err, &framing) {
		// The request is whole on the wire but not yet read: read it, so that the reply follows the request.
		_, _ = io.Copy(io.Discard, s.r.Body())
	}
	msg := err.Error()
	t := true
	r := &scpv2.Reply{Finished: &t, Error: msg, Inspector: &scpv2.Inspector{Messages: [][2]string{{"ERROR", msg}}}}
	if !s.getinfoDone {
		r.Type = "reporting"
	}
	_ = s.w.WriteReply(r, nil)
}
