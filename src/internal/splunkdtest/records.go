package splunkdtest

import (
	"strconv"

	"regasmdetect/src/cim"
)

// FromProcesses renders Endpoint.Processes records as splunkd would send them to the command after a
// data-model search: every field as Processes.<field>, and _time in epoch seconds.
func FromProcesses(ps []cim.Process) *Table {
	t := &Table{Fields: []string{"_time"}}
	for f := cim.Field(0); f < cim.NumFields; f++ {
		t.Fields = append(t.Fields, cim.DatasetPrefix+f.String())
	}
	for i := range ps {
		p := &ps[i]
		rec := make([][]string, len(t.Fields))
		if p.HasTime {
			rec[0] = []string{strconv.FormatFloat(p.Time, 'f', -1, 64)}
		}
		for f := cim.Field(0); f < cim.NumFields; f++ {
			if v := p.Get(f); v != "" {
				rec[int(f)+1] = []string{v}
			}
		}
		t.Rows = append(t.Rows, rec)
	}
	return t
}
