package scan

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync/atomic"
	"unicode/utf8"

	"regasmdetect/src/cim"
	"regasmdetect/src/engine"
	"regasmdetect/src/scpv2"
	"regasmdetect/src/sysmon"
)

// maxErrorsShown bounds the record errors printed per file; the rest are counted.
const maxErrorsShown = 20

// scanner holds one aggregator per detection across every input.
type scanner struct {
	cfg    *Config
	stderr io.Writer
	dets   []*engine.Detection
	sel    *selection // the detections, their stems and options
	aggs   []*engine.Aggregator
	multi  *onePass      // Sysmon records: every detection in one pass
	format sysmon.Format // --input-format

	inputErrors int64 // files that could not be read and records that could not be read
	files       int64
	events      atomic.Int64 // events read (all kinds)
	creations   atomic.Int64 // process creations (or CSV records) fed to the engine
	matched     atomic.Int64 // records that matched a detection's filter (Sysmon inputs)
	bytes       atomic.Int64 // input bytes read so far (before decompression)
	total       int64        // input bytes in all, for the progress line
	progress    *progress
}

func newScanner(cfg *Config, stderr io.Writer) (*scanner, error) {
	s := &scanner{cfg: cfg, stderr: stderr}
	var err error
	if s.format, err = sysmon.ParseFormat(cfg.InputFormat); err != nil {
		return nil, err
	}
	if s.sel, err = selectDetections(cfg); err != nil {
		return nil, err
	}
	s.dets = s.sel.dets
	if s.multi, err = newOnePass(s.sel); err != nil {
		return nil, err
	}
	s.aggs = s.multi.aggs
	return s, nil
}

// scanAll reads every path; a folder is walked in lexical order.
func (s *scanner) scanAll(ctx context.Context, stdin io.Reader) {
	var files []string
	for _, p := range s.cfg.Paths {
		if p == "-" {
			files = append(files, p)
			continue
		}
		st, err := os.Stat(p)
		if err != nil {
			s.inputError("%v", err)
			continue
		}
		if !st.IsDir() {
			files = append(files, p)
			s.total += st.Size()
			continue
		}
		err = filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				s.inputError("%v", err)
				return nil
			}
			if path, size, ok := s.walkEntry(path, d); ok {
				files = append(files, path)
				s.total += size
			}
			return nil
		})
		if err != nil {
			s.inputError("%s: %v", p, err)
		}
	}
	s.progress = startProgress(s, s.cfg.Progress)
	defer s.progress.stop()
	for _, f := range files {
		if ctx.Err() != nil {
			return
		}
		s.files++
		if f == "-" {
			s.scanStream(stdin, "standard input")
			continue
		}
		s.scanFile(f)
	}
}

// walkEntry decides what to do with an entry met while walking a folder: a regular file is read; a symbolic link
// to a regular file is followed; a link to a folder is reported and not followed (it could loop); a FIFO, a
// device or a socket is reported as an input not read, and never opened (opening a FIFO without a writer blocks
// forever, and a device may never end).
func (s *scanner) walkEntry(path string, d fs.DirEntry) (string, int64, bool) {
	t := d.Type()
	switch {
	case t.IsDir():
		return "", 0, false
	case t.IsRegular():
		info, err := d.Info()
		if err != nil {
			s.inputError("%v", err)
			return "", 0, false
		}
		return path, info.Size(), true
	case t&fs.ModeSymlink != 0:
		st, err := os.Stat(path)
		switch {
		case err != nil:
			s.inputError("%s: symbolic link: %v", path, err)
		case st.IsDir():
			s.warn("%s: symbolic link to a folder, not followed (links to folders could loop)", path)
		case st.Mode().IsRegular():
			return path, st.Size(), true
		default:
			s.inputError("%s: skipped: symbolic link to a %s inside a folder is not read", path, sysmon.KindOf(st.Mode()))
		}
		return "", 0, false
	}
	s.inputError("%s: skipped: a %s inside a folder is not read", path, sysmon.KindOf(t))
	return "", 0, false
}

// warn reports something the user should know that is not an input error.
func (s *scanner) warn(format string, args ...any) {
	s.progress.clear()
	fmt.Fprintf(s.stderr, "regasmdetect scan: warning: "+format+"\n", args...)
}

func (s *scanner) inputError(format string, args ...any) {
	s.inputErrors++
	s.progress.clear()
	fmt.Fprintf(s.stderr, "regasmdetect scan: "+format+"\n", args...)
}

func (s *scanner) scanFile(path string) {
	in, err := sysmon.Open(path, s.openOptions())
	if err != nil {
		s.inputError("%v", err)
		return
	}
	defer in.Close()
	s.scanInput(in)
}

// scanStream reads standard input.
func (s *scanner) scanStream(r io.Reader, name string) {
	in, err := sysmon.NewInput(r, name, s.openOptions())
	if err != nil {
		s.inputError("%v", err)
		return
	}
	defer in.Close()
	s.scanInput(in)
}

func (s *scanner) openOptions() sysmon.Options {
	return sysmon.Options{Format: s.format, MaxDecompressed: s.cfg.MaxDecompressed, Count: &s.bytes}
}

// scanInput reads the events of one opened input.
func (s *scanner) scanInput(in *sysmon.Input) {
	switch in.Format {
	case sysmon.CSV:
		s.readCSV(in.Text, in.Name)
	default:
		s.readEvents(in.Events, in.Name)
	}
}

// readEvents feeds every process creation of a Sysmon reader to each detection.
func (s *scanner) readEvents(rd sysmon.Reader, name string) {
	var p cim.Process
	var bad invalidUTF8
	shown := 0
	var before int64
	for {
		err := rd.Next(&p)
		st := rd.Stats()
		s.events.Add(st.Events - before)
		before = st.Events
		if err == io.EOF {
			break
		}
		var rerr *sysmon.RecordError
		if errors.As(err, &rerr) {
			s.inputErrors++
			if shown < maxErrorsShown {
				shown++
				s.progress.clear()
				fmt.Fprintf(s.stderr, "regasmdetect scan: %v\n", rerr)
			}
			continue
		}
		if err != nil {
			s.inputError("%v", err)
			break
		}
		s.creations.Add(1)
		if s.feedProcess(&p) && !validUTF8(&p) {
			bad.add(p.Record)
		}
	}
	bad.report(s, name, "line")
	if shown == maxErrorsShown {
		if n := rd.Stats().Errors; n > maxErrorsShown {
			fmt.Fprintf(s.stderr, "regasmdetect scan: %s: %d more bad records not shown\n", name, n-maxErrorsShown)
		}
	}
}

// invalidUTF8 counts the matching records of one input that hold invalid UTF-8, and where the first one is.
type invalidUTF8 struct {
	n     int64
	first int64
}

func (u *invalidUTF8) add(pos int64) {
	if u.n == 0 {
		u.first = pos
	}
	u.n++
}

// report warns once per input: the bytes are kept as read (Splunk groups and prints bytes), but a reader of the
// output should know that they may not display as they were written.
func (u *invalidUTF8) report(s *scanner, name, unit string) {
	switch {
	case u.n == 1:
		s.warn("%s: 1 matching record holds invalid UTF-8 (first at %s %d); its bytes are kept as read", name, unit, u.first)
	case u.n > 1:
		s.warn("%s: %d matching records hold invalid UTF-8 (first at %s %d); their bytes are kept as read", name, u.n, unit, u.first)
	}
}

func validUTF8(p *cim.Process) bool {
	for _, v := range p.Values {
		if !utf8.Valid(v) {
			return false
		}
	}
	return true
}

// feedProcess adds p to every detection and reports whether any matched. The values go to the engine's slots
// as they are, and _time as a number.
func (s *scanner) feedProcess(p *cim.Process) bool {
	matched := false
	if n := s.multi.add(p); n > 0 {
		s.matched.Add(int64(n))
		matched = true
	}
	return matched
}

// readCSV reads a CSV export through the same binding as the search command's execute bodies.
func (s *scanner) readCSV(r io.Reader, name string) {
	cr := scpv2.NewCSVReader(r)
	header, err := cr.Header()
	if err == io.EOF {
		return
	}
	if err != nil {
		s.inputError("%s: %v", name, err)
		return
	}
	bindings := make([]*cim.Binding, len(s.dets))
	feeders := make([]*cim.Feeder, len(s.dets))
	for i, det := range s.dets {
		if bindings[i], err = cim.Bind(det, header); err != nil {
			s.inputError("%s: header: %v", name, err)
			return
		}
		feeders[i] = cim.NewFeeder(det, s.aggs[i])
	}
	shown := 0
	var bad invalidUTF8
	defer func() { bad.report(s, name, "line") }()
	for {
		row, err := cr.Next()
		if err == io.EOF {
			return
		}
		if err != nil {
			// The CSV is misframed from here on: what follows cannot be trusted.
			s.inputError("%s: %v (rest of the file not read)", name, err)
			return
		}
		s.events.Add(1)
		s.creations.Add(1)
		invalid := false
		for i := range feeders {
			before := feeders[i].InvalidUTF8
			err := feeders[i].Feed(bindings[i], row)
			invalid = invalid || feeders[i].InvalidUTF8 != before
			if err != nil {
				s.inputErrors++
				if shown < maxErrorsShown {
					shown++
					s.progress.clear()
					fmt.Fprintf(s.stderr, "regasmdetect scan: %s:%d: %v\n", name, cr.Row(), err)
				}
				break
			}
		}
		if invalid {
			bad.add(int64(cr.Row()))
		}
	}
}

func (s *scanner) results() []result {
	s.multi.flush()
	out := make([]result, len(s.dets))
	for i, det := range s.dets {
		out[i] = result{det: det, stem: s.sel.stems[i], opts: s.sel.opts[i], rows: s.aggs[i].Rows()}
	}
	return out
}

// summary prints what was read on stderr, unless --quiet.
func (s *scanner) summary() {
	if s.cfg.Quiet {
		return
	}
	rows := 0
	var dropped uint64
	for _, a := range s.aggs {
		rows += len(a.Rows())
		dropped += a.Stats().NullDropped
	}
	fmt.Fprintf(s.stderr, "regasmdetect scan: %d files, %d events, %d process creations, %d detection rows, %d errors\n",
		s.files, s.events.Load(), s.creations.Load(), rows, s.inputErrors)
	if dropped > 0 {
		fmt.Fprintf(s.stderr, "regasmdetect scan: %d matching records left out because a by-field was empty, as tstats does (--fillnull-value keeps them)\n", dropped)
	}
}
