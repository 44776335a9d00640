package scan

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"regasmdetect/src/engine"
	"regasmdetect/src/spl"
)

// renderGeneric renders a detection compiled from a checkout: its rows run through the SPL after tstats
// (rename, convert ctime, where, lookup, ...), so the columns are those the whole search outputs in Splunk.
// Each aggregated row goes through the pipeline on its own, which keeps its lastTime beside it; a pipeline
// with dedup (which compares rows with each other) runs once over all rows, and its rows carry no time.
// With --annotate each row gains risk_score, risk_message (the detection's message with $field$ tokens filled
// from the row, several values joined by ", ") and mitre_attack_id.
func renderGeneric(cfg *Config, r result) ([]string, [][][]string, []float64) {
	opts := spl.RunOptions{Location: cfg.Location}
	var tables []*spl.Table
	var times []float64
	if p := r.det.Pipeline(); p != nil && hasDedup(p) {
		t, err := r.det.Results(r.rows, opts)
		if err != nil {
			t = errorTable(r.det, err)
		}
		tables = append(tables, t)
		for range t.Rows {
			times = append(times, math.NaN())
		}
	} else {
		for i := range r.rows {
			t, err := r.det.Results(r.rows[i:i+1], opts)
			if err != nil {
				t = errorTable(r.det, err)
			}
			tables = append(tables, t)
			for range t.Rows {
				if r.rows[i].HasTime {
					times = append(times, r.rows[i].Last)
				} else {
					times = append(times, math.NaN())
				}
			}
		}
		if len(r.rows) == 0 {
			t, err := r.det.Results(nil, opts)
			if err != nil {
				t = errorTable(r.det, err)
			}
			tables = append(tables, t)
		}
	}
	var cols []string
	seen := map[string]bool{}
	for _, t := range tables {
		for _, c := range t.Columns {
			if !seen[c] {
				seen[c] = true
				cols = append(cols, c)
			}
		}
	}
	src := r.det.Source()
	var rows [][][]string
	for _, t := range tables {
		for _, row := range t.Rows {
			cells := make([][]string, len(cols), len(cols)+3)
			for j, c := range cols {
				cells[j] = row[c]
			}
			if cfg.Annotate {
				cells = append(cells, []string{strconv.Itoa(src.RiskScore())}, []string{FillMessage(src.RiskMessage(), row)}, src.MitreIDs())
			}
			rows = append(rows, cells)
		}
	}
	if cfg.Annotate {
		cols = append(cols, "risk_score", "risk_message", "mitre_attack_id")
	}
	return cols, rows, times
}

func hasDedup(p *spl.Pipeline) bool {
	for _, c := range p.Commands {
		if c.Name() == "dedup" {
			return true
		}
	}
	return false
}

// errorTable reports a pipeline failure in place of the detection's rows, so that it is seen and not lost.
func errorTable(det *engine.Detection, err error) *spl.Table {
	return &spl.Table{Columns: []string{"error"}, Rows: []spl.Row{{"error": {fmt.Sprintf("%s: %v", det.Source().Name, err)}}}}
}

// FillMessage fills the $field$ tokens of a risk message from a result row, as Splunk renders a notable's
// or risk event's message from the result's fields: several values joined by ", ", a field the row lacks as
// empty. A '$' that does not open a field-name token is kept.
func FillMessage(msg string, row spl.Row) string {
	return engine.FillTokens(msg, func(field string) string { return strings.Join(row[field], ", ") })
}
