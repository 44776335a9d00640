package scan

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
)

// table is the rendered output: one header and rows of cells; a cell may hold several values. cols[i], when
// not nil, lists the header indexes row i has (its detection's columns): JSON writes only those keys. times[i]
// is the lastTime of the group behind row i (NaN when unknown), for export.
type table struct {
	header []string
	rows   [][][]string
	cols   [][]int
	times  []float64
}

// detectionColumn reports whether the output names each row's detection in a leading "detection" column: with
// several detections, or with detections from --escu. A scan of one embedded detection keeps the columns it
// always had.
func detectionColumn(cfg *Config, results []result) bool {
	return len(results) > 1 || cfg.ESCU != ""
}

// render turns the results into cells. Each detection has its own columns (its search's output, then with
// --annotate its risk and MITRE fields); the header is their union in order of first appearance. Times are
// rendered as security_content_ctime does, in the chosen time zone.
func render(cfg *Config, results []result) table {
	var t table
	multi := detectionColumn(cfg, results)
	index := map[string]int{} // first-seen column numbering, like engine's newSlots for fields (its own slice)
	addCol := func(c string) int {
		if i, ok := index[c]; ok {
			return i
		}
		index[c] = len(t.header)
		t.header = append(t.header, c)
		return len(t.header) - 1
	}
	if multi {
		addCol("detection")
	}
	for _, r := range results {
		cols, rows, times := renderResult(cfg, r)
		if len(rows) == 0 {
			continue
		}
		at := make([]int, 0, len(cols)+1)
		if multi {
			at = append(at, index["detection"])
		}
		for _, c := range cols {
			at = append(at, addCol(c))
		}
		for k, cells := range rows {
			if multi {
				cells = append([][]string{{r.stem}}, cells...)
			}
			t.rows = append(t.rows, cells)
			t.cols = append(t.cols, at)
			t.times = append(t.times, times[k])
		}
	}
	if len(t.rows) == 0 && len(results) > 0 {
		cols, _, _ := renderResult(cfg, results[0])
		for _, c := range cols {
			addCol(c)
		}
	}
	// Spread each row over the whole header.
	for k, cells := range t.rows {
		full := make([][]string, len(t.header))
		for j, h := range t.cols[k] {
			full[h] = cells[j]
		}
		t.rows[k] = full
	}
	if !multi {
		t.cols = nil // one detection: every row has every column
	}
	return t
}

// renderResult returns one detection's columns, rows and each row's lastTime (NaN when unknown).
func renderResult(cfg *Config, r result) ([]string, [][][]string, []float64) {
	if r.det.Generic() {
		return renderGeneric(cfg, r)
	}
	cols := r.det.Columns(r.opts)
	if cfg.Annotate {
		cols = append(cols, "mitre_attack_id")
	}
	src := r.det.Source()
	var rows [][][]string
	var times []float64
	for i := range r.rows {
		row := &r.rows[i]
		var cells [][]string
		for _, v := range row.Key {
			cells = append(cells, []string{v})
		}
		cells = append(cells, []string{strconv.FormatUint(row.Count, 10)})
		if row.HasTime {
			cells = append(cells, []string{CTime(row.First, cfg.Location)}, []string{CTime(row.Last, cfg.Location)})
			times = append(times, row.Last)
		} else {
			cells = append(cells, nil, nil)
			times = append(times, math.NaN())
		}
		if cfg.Annotate {
			cells = append(cells, row.Annotations...)
			cells = append(cells, []string{strconv.Itoa(src.RiskScore())}, []string{r.det.RiskMessage(row)}, src.MitreIDs())
		}
		rows = append(rows, cells)
	}
	return cols, rows, times
}

func write(w io.Writer, cfg *Config, results []result) error {
	t := render(cfg, results)
	switch cfg.Format {
	case "csv":
		return writeCSV(w, t)
	case "json":
		return writeJSON(w, t, false)
	case "jsonl":
		return writeJSON(w, t, true)
	}
	return writeTable(w, t)
}

// writeTable aligns columns for a person; multivalue cells are joined with "; " and newlines shown as ⏎.
func writeTable(w io.Writer, t table) error {
	if len(t.rows) == 0 {
		_, err := fmt.Fprintln(w, "no detections")
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(t.header, "\t"))
	seps := make([]string, len(t.header))
	for i, h := range t.header {
		seps[i] = strings.Repeat("-", len([]rune(h)))
	}
	fmt.Fprintln(tw, strings.Join(seps, "\t"))
	for _, r := range t.rows {
		cells := make([]string, len(r))
		for i, c := range r {
			v := strings.Join(c, "; ")
			v = strings.NewReplacer("\t", " ", "\r", "", "\n", "⏎").Replace(v)
			cells[i] = v
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t"))
	}
	return tw.Flush()
}

// writeCSV writes what Splunk's CSV export writes: a header, then rows; multivalue cells joined by newlines.
func writeCSV(w io.Writer, t table) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(t.header); err != nil {
		return err
	}
	rec := make([]string, len(t.header))
	for _, r := range t.rows {
		for i, c := range r {
			rec[i] = strings.Join(c, "\n")
		}
		if err := cw.Write(rec); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// writeJSON writes one object per row with the columns in order: a single value as a string, several as an
// array, an empty cell as null. json: an array; jsonl: one object per line.
func writeJSON(w io.Writer, t table, lines bool) error {
	var b strings.Builder
	if !lines {
		b.WriteString("[")
	}
	for i, r := range t.rows {
		if !lines && i > 0 {
			b.WriteString(",")
		}
		if !lines {
			b.WriteString("\n  ")
		}
		b.WriteString("{")
		first := true
		for j, c := range r {
			if t.cols != nil && !slices.Contains(t.cols[i], j) {
				continue
			}
			if !first {
				b.WriteString(",")
			}
			first = false
			b.Write(jsonValue(t.header[j]))
			b.WriteString(":")
			switch len(c) {
			case 0:
				b.WriteString("null")
			case 1:
				b.Write(jsonValue(c[0]))
			default:
				b.Write(jsonValue(c))
			}
		}
		b.WriteString("}")
		if lines {
			b.WriteString("\n")
		}
	}
	if !lines {
		if len(t.rows) > 0 {
			b.WriteString("\n")
		}
		b.WriteString("]\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// jsonValue encodes v without HTML escaping: command lines keep their & < > readable.
func jsonValue(v any) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v) // strings and string slices always encode
	return bytes.TrimSuffix(b.Bytes(), []byte("\n"))
}
