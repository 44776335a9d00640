package scan

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
)

// table is the rendered output: one header and rows of cells; a cell may hold several values.
type table struct {
	header []string
	rows   [][][]string
}

// render turns the results into cells: with several detections a leading "detection" column names each row's.
// Times are rendered as security_content_ctime does, in the chosen time zone.
func render(cfg *Config, results []result) table {
	var t table
	multi := len(results) > 1
	for k, r := range results {
		cols := r.det.Columns(r.opts)
		if cfg.Annotate {
			cols = append(cols, "mitre_attack_id")
		}
		if k == 0 {
			if multi {
				t.header = append(t.header, "detection")
			}
			t.header = append(t.header, cols...)
		}
		src := r.det.Source()
		for i := range r.rows {
			row := &r.rows[i]
			var cells [][]string
			if multi {
				cells = append(cells, []string{src.Stem()})
			}
			for _, v := range row.Key {
				cells = append(cells, []string{v})
			}
			cells = append(cells, []string{strconv.FormatUint(row.Count, 10)})
			if row.HasTime {
				cells = append(cells, []string{CTime(row.First, cfg.Location)}, []string{CTime(row.Last, cfg.Location)})
			} else {
				cells = append(cells, nil, nil)
			}
			if cfg.Annotate {
				for _, a := range row.Annotations {
					cells = append(cells, a)
				}
				cells = append(cells, []string{strconv.Itoa(src.RiskScore())}, []string{r.det.RiskMessage(row)}, src.MitreIDs())
			}
			t.rows = append(t.rows, cells)
		}
	}
	if len(t.header) == 0 && len(results) > 0 {
		t.header = results[0].det.Columns(results[0].opts)
	}
	return t
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
		for j, c := range r {
			if j > 0 {
				b.WriteString(",")
			}
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
