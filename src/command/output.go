package command

import (
	"bufio"
	"fmt"
	"io"
	"strconv"

	"regasmdetect/src/cim"
	"regasmdetect/src/engine"
	"regasmdetect/src/scpv2"
)

// writeResult answers the final request with the result rows: the by-fields without the Processes. prefix,
// count, firstTime, lastTime, and with annotate the annotation fields, risk_score and risk_message. No rows: an
// empty body. When the groups were spilled to disk, the runs are merged into a file in the spill folder and the
// body is sent from there, so that the result never has to fit in memory.
func (s *session) writeResult(reply *scpv2.Reply) error {
	if s.det.Generic() {
		return s.reply(reply, s.tstatsResult())
	}
	if s.spill == nil || !s.spill.spilled() {
		rows := s.agg.Rows()
		if len(rows) == 0 {
			return s.reply(reply, nil)
		}
		w := &s.out
		w.Reset()
		r := s.newResultRenderer()
		w.WriteRow(r.header)
		for i := range rows {
			r.row(w, &rows[i])
		}
		return s.reply(reply, w.Bytes())
	}
	runs, closeRuns, err := s.openRuns()
	if err != nil {
		return err
	}
	defer closeRuns()
	f, err := s.spill.create()
	if err != nil {
		return err
	}
	defer f.Close()
	bw := bufio.NewWriterSize(f, 256<<10)
	r := s.newResultRenderer()
	w := &s.out
	var n int64
	first := true
	err = s.agg.MergeRuns(runs, func(row *engine.Row) error {
		w.Reset()
		if first {
			w.WriteRow(r.header)
			first = false
		}
		r.row(w, row)
		n += int64(w.Len())
		_, err := bw.Write(w.Bytes())
		return err
	})
	if err == nil {
		err = bw.Flush()
	}
	if err == nil {
		_, err = f.Seek(0, io.SeekStart)
	}
	if err != nil {
		return fmt.Errorf("memory budget: result: %w", err)
	}
	if err := s.w.WriteReplyFrom(reply, f, n); err != nil {
		return fmt.Errorf("%w: write reply: %v", errReplied, err)
	}
	return nil
}

// resultRenderer writes result rows.
type resultRenderer struct {
	s      *session
	header []string
	score  string
	rec    []string
	mvs    []string
}

func (s *session) newResultRenderer() *resultRenderer {
	cols := s.det.Columns(s.opts.Engine())
	header := append([]string{}, cols...)
	if s.opts.Annotate {
		for _, f := range s.det.AnnotateFields() {
			header = append(header, "__mv_"+f)
		}
	}
	return &resultRenderer{s: s, header: header, score: strconv.Itoa(s.det.Source().RiskScore())}
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
