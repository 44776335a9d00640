package command

import (
	"fmt"
	"math"
	"os"
	"strconv"

	"regasmdetect/src/cim"
	"regasmdetect/src/engine"
	"regasmdetect/src/scpv2"
)

// writeResult answers the final request with the result rows: the by-fields without the Processes. prefix,
// count, firstTime, lastTime, and with annotate the annotation fields, risk_score and risk_message. No rows: an
// empty body. The rows are merged from the spilled runs and the groups in memory twice: once to learn the
// body's length, which the reply's header gives first, and once to render them into the reply, so that the
// result is never held in memory whole or written to disk. The merge is split by key into parts, on every core
// when there are several (parts.go).
func (s *session) writeResult(reply *scpv2.Reply) error {
	if s.det.Generic() {
		return s.reply(reply, s.tstatsResult())
	}
	var runs []*os.File
	var idx []*engine.RunIndex
	if s.spill != nil && s.spill.spilled() {
		var err error
		if runs, idx, err = s.spill.open(s.agg); err != nil {
			return err
		}
		defer closeAll(runs)
	}
	plan, err := s.planResult(runs, idx)
	if err != nil {
		return fmt.Errorf("memory budget: result: %w", err)
	}
	return s.writeResultParts(reply, plan)
}

func closeAll(files []*os.File) {
	for _, f := range files {
		f.Close()
	}
}

// resultRenderer writes result rows.
type resultRenderer struct {
	s      *session
	header []string
	score  string
	rec    []string
	mvs    []string
	nKey   int      // the number of key values (by-fields)
	fields [][]byte // view's count and times
	num    []byte   // their bytes
}

func (s *session) newResultRenderer() *resultRenderer {
	cols := s.det.Columns(s.opts.Engine())
	header := append([]string{}, cols...)
	if s.opts.Annotate {
		for _, f := range s.det.AnnotateFields() {
			header = append(header, "__mv_"+f)
		}
	}
	return &resultRenderer{s: s, header: header, score: strconv.Itoa(s.det.Source().RiskScore()),
		nKey: len(s.det.ByFields())}
}

// next returns the next merged row: without annotate with its key already written as CSV (NextCSV), or only
// measured (NextCSVLen).
func (r *resultRenderer) next(m *engine.Merger, measure bool) (*engine.RowView, error) {
	switch {
	case r.s.opts.Annotate:
		return m.NextView()
	case measure:
		return m.NextCSVLen()
	}
	return m.NextCSV()
}

// view writes a merged row (from next, not measure): without annotate straight from its bytes, as row writes
// it.
func (r *resultRenderer) view(w *scpv2.CSVWriter, v *engine.RowView) {
	if r.s.opts.Annotate {
		row := v.Row()
		r.row(w, &row)
		return
	}
	w.WriteRowAfter(v.KeyCSV, r.nKey, r.numFields(v))
}

// viewLen returns the length of what view writes for a row from next (measure); w is scratch space.
func (r *resultRenderer) viewLen(w *scpv2.CSVWriter, v *engine.RowView) int {
	if r.s.opts.Annotate {
		w.Reset()
		r.view(w, v)
		return w.Len()
	}
	if r.nKey == 0 {
		return scpv2.RowLenAfter(v.KeyCSVLen, r.nKey, r.numFields(v))
	}
	// What RowLenAfter returns for numFields(v), without formatting them: the key, the three fields after a
	// comma each, CRLF. Counts and times are digits, '-' and '.' (or "NaN", "Inf"), never quoted.
	l := v.KeyCSVLen + 3 + 2 + engine.UintLen(v.Count)
	if v.HasTime {
		l += engine.TimeLen(v.First) + engine.TimeLen(v.Last)
	}
	return l
}

// numFields returns the values of a row after its key without annotate: count, firstTime and lastTime.
func (r *resultRenderer) numFields(v *engine.RowView) [][]byte {
	num := r.num[:0]
	if v.Count < 10 {
		num = append(num, byte('0'+v.Count))
	} else {
		num = strconv.AppendUint(num, v.Count, 10)
	}
	count := len(num)
	if v.HasTime {
		num = engine.AppendTime(num, v.First)
	}
	first := len(num)
	if v.HasTime {
		if v.Last == v.First && math.Signbit(v.Last) == math.Signbit(v.First) { // a group of one record
			num = append(num, num[count:first]...)
		} else {
			num = engine.AppendTime(num, v.Last)
		}
	}
	f := append(r.fields[:0], num[:count], num[count:first], num[first:])
	r.fields, r.num = f, num
	return f
}

func (r *resultRenderer) row(w *scpv2.CSVWriter, row *engine.Row) {
	rec := append(r.rec[:0], row.Key...)
	rec = append(rec, strconv.FormatUint(row.Count, 10), timeText(row.HasTime, row.First), timeText(row.HasTime, row.Last))
	if r.s.opts.Annotate {
		mvs := r.mvs[:0]
		for _, vals := range row.Annotations {
			one, mv := multivalue(vals)
			rec = append(rec, one)
			mvs = append(mvs, mv)
		}
		rec = append(rec, r.score, r.s.det.RiskMessage(row))
		rec = append(rec, mvs...)
		r.mvs = mvs
	}
	r.rec = rec
	w.WriteRow(rec)
}

// partials renders the map phase's reply: one row per group seen in this chunk, then one row of counters.
func (s *session) partials() ([]byte, error) {
	rows := s.agg.Rows()
	stats := s.agg.Stats()
	if len(rows) == 0 && stats.Records == 0 {
		return nil, nil
	}
	by := s.det.ByFields()
	annFields := s.det.AnnotateFields()
	ann := s.opts.Annotate
	header := append([]string{}, by...)
	header = append(header, cim.PartialCount, cim.PartialFirstTime, cim.PartialLastTime)
	if ann {
		for _, f := range annFields {
			header = append(header, f, "__mv_"+f)
		}
	}
	header = append(header, cim.PartialRecords, cim.PartialMatched, cim.PartialNullDropped,
		cim.PartialTruncated, cim.PartialSearch)
	w := &s.out
	w.Reset()
	w.WriteRow(header)
	rec := make([]string, len(header))
	for i := range rows {
		row := &rows[i]
		rec = rec[:0]
		rec = append(rec, row.Key...)
		rec = append(rec, strconv.FormatUint(row.Count, 10), timeText(row.HasTime, row.First), timeText(row.HasTime, row.Last))
		if ann {
			for _, vals := range row.Annotations {
				one, mv := multivalue(vals)
				rec = append(rec, one, mv)
			}
		}
		rec = append(rec, "", "", "", "", s.opts.Search)
		w.WriteRow(rec)
	}
	rec = rec[:len(header)]
	for i := range rec {
		rec[i] = ""
	}
	n := len(header)
	rec[n-5] = strconv.FormatUint(stats.Records, 10)
	rec[n-4] = strconv.FormatUint(stats.Matched, 10)
	rec[n-3] = strconv.FormatUint(stats.NullDropped, 10)
	rec[n-2] = strconv.FormatUint(stats.Truncated, 10)
	rec[n-1] = s.opts.Search
	w.WriteRow(rec)
	return w.Bytes(), nil
}

// messages are the inspector messages of the final reply: records left out for empty by-fields (the contract's
// INFO message), records whose multivalue cross product was cut at engine.MaxCombinations groups, and values
// that were not valid UTF-8.
func (s *session) messages() [][2]string {
	var msgs [][2]string
	st := s.agg.Stats()
	if st.NullDropped > 0 {
		msgs = append(msgs, [2]string{"INFO", fmt.Sprintf(
			"regasmdetect: %d of %d matching records were left out because a by-field was empty or missing, as tstats does; pass fillnull_value=<string> to keep them",
			st.NullDropped, st.Matched)})
	}
	if st.Truncated > 0 {
		msgs = append(msgs, [2]string{"WARN", fmt.Sprintf(
			"regasmdetect: %d matching records had more than %d combinations of multivalue by-field values; each was counted in its first %d groups only",
			st.Truncated, engine.MaxCombinations, engine.MaxCombinations)})
	}
	if n := s.feed.InvalidUTF8 + s.invalidUTF8; n > 0 {
		msgs = append(msgs, [2]string{"WARN", fmt.Sprintf(
			"regasmdetect: %d records held values that are not valid UTF-8; they were grouped by their bytes as received", n)})
	}
	return msgs
}

func timeText(ok bool, t float64) string {
	if !ok {
		return ""
	}
	return engine.FormatTime(t)
}

// multivalue renders values as Splunk's CSV does: the values joined by newlines in the field, and the __mv_
// twin when there are several.
func multivalue(vals []string) (one, mv string) {
	switch len(vals) {
	case 0:
		return "", ""
	case 1:
		return vals[0], ""
	}
	joined := vals[0]
	for _, v := range vals[1:] {
		joined += "\n" + v
	}
	return joined, string(scpv2.AppendMV(nil, vals))
}
