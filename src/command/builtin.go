package command

import (
	"errors"
	"fmt"
	"io"

	"regasmdetect/src/builtin"
	"regasmdetect/src/detectset"
	"regasmdetect/src/engine"
	"regasmdetect/src/escu"
)

// lookupDetection checks that name is a detection of this build: embedded in src/escu, or built in by the
// package (src/builtin).
func lookupDetection(name string) error {
	_, err := escu.Lookup(name)
	if err == nil {
		return nil
	}
	if _, berr := builtin.Lookup(name); berr == nil {
		return nil
	} else if !errors.Is(berr, builtin.ErrUnknown) {
		return berr
	}
	if n := len(builtin.Names()); n > 0 {
		return fmt.Errorf("%w (and %d detections built into this package: see regasmdetect help)", err, n)
	}
	return err
}

// compileDetection compiles the detection an invocation names. An embedded detection compiles with the strict
// engine.Compile; a built-in one is already compiled from its expanded search. For a built-in detection
// without fillnull_value among the options, the search's own fillnull_value applies (current ESCU's
// security_content_summariesonly sets fillnull_value=null), as tstats applies it in Splunk.
func compileDetection(o *Options) (*engine.Detection, error) {
	if src, err := escu.Lookup(o.Detection); err == nil {
		det, err := engine.Compile(src)
		if err != nil {
			return nil, fmt.Errorf("detection %s: %w", o.Detection, err)
		}
		return det, nil
	}
	b, err := builtin.Lookup(o.Detection)
	if err != nil {
		return nil, err
	}
	if !o.FillNull {
		if v, ok := detectset.SearchFillNull(b.Compiled); ok {
			o.FillNull, o.FillNullValue = true, v
		}
	}
	return b.Compiled, nil
}

// tstatsResult renders a built-in detection's rows as tstats outputs them: the by-fields as written
// ("Processes.dest"), then each aggregate, times as epoch seconds. The rest of the detection's search (rename,
// convert ctime, where, lookup, the filter macro) runs after the command in Splunk, as it runs after tstats.
func (s *session) tstatsResult() []byte {
	rows := s.agg.Rows()
	if len(rows) == 0 {
		return nil
	}
	header := s.det.TstatsColumns()
	mv := make([]string, len(header))
	for i, h := range header {
		mv[i] = "__mv_" + h
	}
	w := &s.out
	w.Reset()
	w.WriteRow(append(append([]string(nil), header...), mv...))
	rec := make([]string, 0, 2*len(header))
	var mvs []string
	for i := range rows {
		rec, mvs = rec[:0], mvs[:0]
		for _, cell := range s.det.Cells(&rows[i]) {
			one, m := multivalue(cell)
			rec = append(rec, one)
			mvs = append(mvs, m)
		}
		w.WriteRow(append(rec, mvs...))
	}
	return w.Bytes()
}

// WriteDetections lists, one per line, the detections this build can run with detection=NAME: the embedded
// ESCU detections (the default marked) and those a package build added from a checkout. Both executables' help
// prints it.
func WriteDetections(w io.Writer) {
	for _, d := range escu.Embedded() {
		def := ""
		if d.Stem() == escu.Default {
			def = " (default)"
		}
		fmt.Fprintf(w, "  %s%s: %s, version %d, %s\n", d.Stem(), def, d.Name, d.Version, d.Date)
	}
	for _, n := range builtin.Names() {
		fmt.Fprintf(w, "  %s (from the package build's ESCU checkout)\n", n)
	}
}
