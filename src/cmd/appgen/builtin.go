package main

import (
	"fmt"
	"strings"

	"regasmdetect/src/builtin/bundle"
	"regasmdetect/src/catalog"
	"regasmdetect/src/splunkconf"
)

// builtinSearches returns, for a package built with ESCU=DIR, one disabled correlation search per built-in
// detection (none when dir is empty). Each is the detection's "regasmdetect - <name> - Rule" twin with the keys
// of the embedded detections' twins: the events of the data model's dataset go through
// | regasmdetect detection=<stem>, which outputs what the detection's tstats outputs, and the rest of the
// detection's search follows with its macros expanded (the checkout's macros are not shipped), so the
// search runs with no macro of the checkout installed.
func builtinSearches(dir, list string) ([]*splunkconf.Stanza, error) {
	if dir == "" {
		if list != "" {
			return nil, fmt.Errorf("-detections needs -escu")
		}
		return nil, nil
	}
	cat, err := catalog.Load(dir)
	if err != nil {
		return nil, err
	}
	b, err := bundle.Make(cat, splitList(list))
	if err != nil {
		return nil, err
	}
	var out []*splunkconf.Stanza
	for _, it := range b.Detections {
		e := cat.Entry(it.Stem)
		d := e.Detection
		name := TwinName(d)
		search := "| datamodel Endpoint Processes search | regasmdetect detection=" + it.Stem
		if post := e.Compiled.Search().Post; post != "" {
			search += " " + post
		}
		st := stanza(name, "description", oneLine(d.Description))
		st.Settings = append(st.Settings, correlationKeys(d, name, TwinID(d), search)...)
		st.Set("search", search)
		out = append(out, st)
	}
	return out, nil
}

// splitList splits a comma-separated list, dropping empty items.
func splitList(s string) []string {
	var out []string
	for _, x := range strings.Split(s, ",") {
		if x = strings.TrimSpace(x); x != "" {
			out = append(out, x)
		}
	}
	return out
}
