package scan

import (
	"unsafe"

	"regasmdetect/src/cim"
	"regasmdetect/src/detectset"
	"regasmdetect/src/engine"
)

// onePass feeds Sysmon process records to every selected detection at once: each record's values are put in
// the detection set's slots once, and the set tests each record only against the detections that can match
// it (src/detectset). The aggregators are the set runner's; CSV inputs feed them directly.
type onePass struct {
	set  *detectset.Set
	run  *detectset.Runner
	rec  *detectset.Record
	cims []cim.Field // per set slot: the CIM field (-1 when the Sysmon mapping has none)
	aggs []*engine.Aggregator
}

func newOnePass(sel *selection) (*onePass, error) {
	set, err := detectset.New(sel.dets)
	if err != nil {
		return nil, err
	}
	run, err := set.NewRunner(sel.opts)
	if err != nil {
		return nil, err
	}
	o := &onePass{set: set, run: run, rec: set.NewRecord()}
	for _, f := range set.Fields() {
		cf, ok := cim.FieldByName(f)
		if !ok {
			cf = -1
		}
		o.cims = append(o.cims, cf)
	}
	for i := range sel.dets {
		o.aggs = append(o.aggs, run.Aggregator(i))
	}
	return o, nil
}

// add feeds one process record (t is its _time as text, empty when it has none) and returns how many
// detections matched it.
func (o *onePass) add(p *cim.Process, t []byte) int {
	o.rec.Reset()
	for sl, f := range o.cims {
		if f < 0 {
			continue
		}
		if v := p.Values[f]; v != "" {
			o.rec.Add(sl, unsafe.Slice(unsafe.StringData(v), len(v)))
		}
	}
	if len(t) > 0 {
		o.rec.SetTime(t)
	}
	return o.run.Add(o.rec)
}

// flush completes the aggregators' counters (records the set skipped as not matching).
func (o *onePass) flush() { o.run.Flush() }
