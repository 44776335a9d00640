package scan

import (
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
	cims cim.Slots // per set slot: the CIM field (-1 when the Sysmon mapping has none)
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
	o.cims = cim.SlotsFor(set.Fields())
	for i := range sel.dets {
		o.aggs = append(o.aggs, run.Aggregator(i))
	}
	return o, nil
}

// add feeds one process record and returns how many detections matched it. The values go to the set's slots
// as they are, and _time as a number.
func (o *onePass) add(p *cim.Process) int {
	o.rec.Reset()
	o.cims.Fill(o.rec, p)
	if p.HasTime {
		o.rec.SetTimeValue(p.Time)
	}
	return o.run.Add(o.rec)
}

// flush completes the aggregators' counters (records the set skipped as not matching).
func (o *onePass) flush() { o.run.Flush() }
