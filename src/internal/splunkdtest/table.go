package splunkdtest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	"regasmdetect/src/scpv2"
)

// Table is a set of records in the shape splunkd sends them: named fields, each with zero (null), one or
// several (multivalue) values per record.
type Table struct {
	Fields []string
	Rows   [][][]string // Rows[i][j]: the values of Fields[j] in record i
}

// Single builds a table of single-valued records; an empty string is a null value.
func Single(fields []string, rows [][]string) *Table {
	t := &Table{Fields: fields}
	for _, r := range rows {
		rec := make([][]string, len(fields))
		for j := range fields {
			if j < len(r) && r[j] != "" {
				rec[j] = []string{r[j]}
			}
		}
		t.Rows = append(t.Rows, rec)
	}
	return t
}

// Project returns the table restricted to the named fields that exist in it, in the table's own order, as
// splunkd sends a command only its required_fields.
func (t *Table) Project(fields []string) *Table {
	want := map[string]bool{}
	for _, f := range fields {
		want[f] = true
	}
	var keep []int
	out := &Table{}
	for j, f := range t.Fields {
		if want[f] {
			keep = append(keep, j)
			out.Fields = append(out.Fields, f)
		}
	}
	for _, r := range t.Rows {
		rec := make([][]string, len(keep))
		for k, j := range keep {
			rec[k] = r[j]
		}
		out.Rows = append(out.Rows, rec)
	}
	return out
}

// EncodeCSV renders records as a splunkd execute body: every field, then one __mv_ twin per field in the same
// order; a header or value is quoted when it holds any character outside [A-Za-z0-9]; LF line ends, also after
// the last row. Multivalue fields hold their values joined by newlines, and the twin `$v1$;$v2$`.
func (t *Table) EncodeCSV(rows [][][]string) []byte {
	var b bytes.Buffer
	for j, f := range t.Fields {
		if j > 0 {
			b.WriteByte(',')
		}
		writeSplunkValue(&b, f)
	}
	for _, f := range t.Fields {
		b.WriteByte(',')
		writeSplunkValue(&b, "__mv_"+f)
	}
	b.WriteByte('\n')
	for _, r := range rows {
		for j := range t.Fields {
			if j > 0 {
				b.WriteByte(',')
			}
			writeSplunkValue(&b, strings.Join(r[j], "\n"))
		}
		for j := range t.Fields {
			b.WriteByte(',')
			if len(r[j]) > 1 {
				writeSplunkValue(&b, string(scpv2.AppendMV(nil, r[j])))
			}
		}
		b.WriteByte('\n')
	}
	return b.Bytes()
}

// writeSplunkValue quotes as splunkd does: any byte outside [A-Za-z0-9] makes the value quoted.
func writeSplunkValue(b *bytes.Buffer, v string) {
	plain := true
	for i := 0; i < len(v); i++ {
		c := v[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			plain = false
			break
		}
	}
	if plain {
		b.WriteString(v)
		return
	}
	b.WriteByte('"')
	b.WriteString(strings.ReplaceAll(v, `"`, `""`))
	b.WriteByte('"')
}

// DecodeCSV reads a CSV body (as the command writes it) into a table, folding __mv_ twins into multivalue
// fields. An empty body is an empty table.
func DecodeCSV(body []byte) (*Table, error) {
	r := scpv2.NewCSVReader(bytes.NewReader(body))
	header, err := r.Header()
	if errors.Is(err, io.EOF) {
		return &Table{}, nil
	}
	if err != nil {
		return nil, err
	}
	mvOf := map[string]int{}
	for j, h := range header {
		if strings.HasPrefix(h, "__mv_") {
			mvOf[strings.TrimPrefix(h, "__mv_")] = j
		}
	}
	t := &Table{}
	var cols []int
	for j, h := range header {
		if !strings.HasPrefix(h, "__mv_") {
			t.Fields = append(t.Fields, h)
			cols = append(cols, j)
		}
	}
	for {
		row, err := r.Next()
		if errors.Is(err, io.EOF) {
			return t, nil
		}
		if err != nil {
			return nil, err
		}
		rec := make([][]string, len(cols))
		for k, j := range cols {
			if m, ok := mvOf[header[j]]; ok && len(row[m]) > 0 {
				vals, err := scpv2.DecodeMV(nil, append([]byte(nil), row[m]...))
				if err != nil {
					return nil, fmt.Errorf("row %d: %s: %w", r.Row(), header[m], err)
				}
				for _, v := range vals {
					rec[k] = append(rec[k], string(v))
				}
			} else if len(row[j]) > 0 {
				rec[k] = []string{string(row[j])}
			}
		}
		t.Rows = append(t.Rows, rec)
	}
}

// Strings returns the table's rows with multivalue fields joined by newlines, as Splunk shows them.
func (t *Table) Strings() [][]string {
	out := make([][]string, len(t.Rows))
	for i, r := range t.Rows {
		out[i] = make([]string, len(r))
		for j, v := range r {
			out[i][j] = strings.Join(v, "\n")
		}
	}
	return out
}
