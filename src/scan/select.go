package scan

import (
	"errors"
	"fmt"
	"strings"

	"regasmdetect/src/catalog"
	"regasmdetect/src/detectset"
	"regasmdetect/src/engine"
	"regasmdetect/src/escu"
)

// selection is the detections a scan runs and each one's engine options.
type selection struct {
	dets  []*engine.Detection
	stems []string
	opts  []engine.Options
}

// selectDetections compiles what --detection, --story and --escu name. Without --escu the detections are
// the embedded ones (engine.Compile, the strict shape). With --escu they come from the checkout: "all" is every
// Endpoint.Processes tstats detection that compiles, a list names file stems (or display names), --story
// selects the runnable detections of an analytic story. A named detection that does not run is an error
// with the reason.
func selectDetections(cfg *Config) (*selection, error) {
	sel := &selection{}
	if cfg.ESCU == "" {
		if cfg.Story != "" {
			return nil, errors.New("--story needs --escu DIR (the embedded detections carry no stories to choose from)")
		}
		names := cfg.Detections
		if cfg.DetectionSpec == "all" {
			names = escu.Names()
		}
		for _, name := range names {
			src, err := escu.Lookup(name)
			if err != nil {
				return nil, fmt.Errorf("--detection: %w", err)
			}
			det, err := engine.Compile(src)
			if err != nil {
				return nil, fmt.Errorf("detection %s: %w", name, err)
			}
			sel.add(det, src.Stem(), cfg)
		}
		return sel, nil
	}
	cat, err := catalog.Load(cfg.ESCU)
	if err != nil {
		return nil, fmt.Errorf("--escu: %w", err)
	}
	switch {
	case cfg.Story != "":
		for _, e := range cat.Runnable() {
			for _, st := range e.Detection.Tags.AnalyticStory {
				if strings.EqualFold(strings.TrimSpace(st), strings.TrimSpace(cfg.Story)) {
					sel.add(e.Compiled, e.Stem, cfg)
					break
				}
			}
		}
		if len(sel.dets) == 0 {
			return nil, fmt.Errorf("--story %q: no runnable Endpoint.Processes detection of %s belongs to this story", cfg.Story, cfg.ESCU)
		}
	case cfg.DetectionSpec == "all":
		for _, e := range cat.Runnable() {
			sel.add(e.Compiled, e.Stem, cfg)
		}
		if len(sel.dets) == 0 {
			return nil, fmt.Errorf("--escu %s: no Endpoint.Processes tstats detection runs (see regasmdetect escu list)", cfg.ESCU)
		}
	default:
		for _, name := range cfg.Detections {
			e := cat.Entry(name)
			if e == nil {
				if d, err := cat.Checkout.Detection(name); err == nil {
					e = cat.Entry(d.FileStem())
				}
			}
			if e == nil {
				return nil, fmt.Errorf("--detection %q: %s has no Endpoint.Processes tstats detection of that name", name, cfg.ESCU)
			}
			if !e.Runs() {
				return nil, fmt.Errorf("--detection %s: does not run: %v", e.Stem, e.Err)
			}
			sel.add(e.Compiled, e.Stem, cfg)
		}
	}
	return sel, nil
}

// add appends a detection with its options: the command line's, and otherwise the fillnull_value the
// expanded search itself sets (current ESCU's security_content_summariesonly macro carries
// fillnull_value=null). tstats replaces a null group-by field by that value instead of dropping the record
// (Splunk Search Reference, tstats: "fillnull_value ... substitutes for null values for any field within its
// group-by field list").
func (sel *selection) add(det *engine.Detection, stem string, cfg *Config) {
	o := engine.Options{FillNull: cfg.FillNull, FillNullValue: cfg.FillValue, Annotate: cfg.Annotate}
	if !cfg.FillNull {
		if v, ok := detectset.SearchFillNull(det); ok {
			o.FillNull, o.FillNullValue = true, v
		}
	}
	sel.dets = append(sel.dets, det)
	sel.stems = append(sel.stems, stem)
	sel.opts = append(sel.opts, o)
}
