// Package catalog compiles the Endpoint.Processes tstats detections of a security_content checkout and
// reports which run and why the others do not. It backs "regasmdetect escu list".
package catalog

import (
	"regexp"
	"slices"
	"strings"

	"regasmdetect/src/engine"
	"regasmdetect/src/escu"
	"regasmdetect/src/escu/escuyaml"
)

// Entry is one Endpoint.Processes tstats detection of a checkout and its status.
type Entry struct {
	Detection *escu.Detection
	// Stem is the detection's file stem ("detect_regasm_spawning_a_process").
	Stem string
	// Search is the search with every macro expanded ("" when expansion failed).
	Search string
	// Compiled is the compiled detection, nil when it does not run.
	Compiled *engine.Detection
	// Err says why the detection does not run (nil when it runs).
	Err error
}

// Runs reports whether the detection compiled.
func (e *Entry) Runs() bool { return e.Compiled != nil }

// Production reports whether the detection's status is production.
func (e *Entry) Production() bool { return e.Detection.Status == "production" }

// Cause is a short, stable description of why the detection does not run (the error without positions and
// quoted text), for counting; "" when it runs.
func (e *Entry) Cause() string {
	if e.Err == nil {
		return ""
	}
	return Cause(e.Err)
}

// Catalog is the compiled content of one checkout.
type Catalog struct {
	Checkout *escu.Checkout
	Entries  []Entry // sorted by stem
}

// Load reads the checkout at dir and compiles its Endpoint.Processes tstats detections.
func Load(dir string) (*Catalog, error) {
	c, err := escuyaml.LoadCheckout(dir)
	if err != nil {
		return nil, err
	}
	return FromCheckout(c), nil
}

// FromCheckout compiles the Endpoint.Processes tstats detections of c: each search is expanded with
// Checkout.Expand and compiled with engine.CompileSearch, lookups resolved from the checkout's CSV files.
func FromCheckout(c *escu.Checkout) *Catalog {
	cat := &Catalog{Checkout: c}
	env := engine.Env{Lookups: engine.CheckoutLookups(c)}
	for _, d := range c.EndpointProcesses() {
		e := Entry{Detection: d, Stem: d.FileStem()}
		s, err := c.Expand(d.Search, e.Stem)
		if err != nil {
			e.Err = err
		} else {
			e.Search = s
			e.Compiled, e.Err = engine.CompileSearch(d, s, env)
		}
		cat.Entries = append(cat.Entries, e)
	}
	return cat
}

// Entry returns the entry of a file stem, or nil.
func (c *Catalog) Entry(stem string) *Entry {
	i, ok := slices.BinarySearchFunc(c.Entries, stem, func(e Entry, s string) int { return strings.Compare(e.Stem, s) })
	if !ok {
		return nil
	}
	return &c.Entries[i]
}

// Runnable returns the entries that compiled.
func (c *Catalog) Runnable() []*Entry {
	var out []*Entry
	for i := range c.Entries {
		if c.Entries[i].Runs() {
			out = append(out, &c.Entries[i])
		}
	}
	return out
}

// Summary counts detections: all and production, running and not.
type Summary struct {
	All, AllRuns               int
	Production, ProductionRuns int
	// Causes counts the detections that do not run per Cause, production ones in ProductionCauses.
	Causes, ProductionCauses map[string]int
}

// Summary counts the entries.
func (c *Catalog) Summary() Summary {
	s := Summary{Causes: map[string]int{}, ProductionCauses: map[string]int{}}
	for i := range c.Entries {
		e := &c.Entries[i]
		s.All++
		if e.Production() {
			s.Production++
		}
		if e.Runs() {
			s.AllRuns++
			if e.Production() {
				s.ProductionRuns++
			}
			continue
		}
		s.Causes[e.Cause()]++
		if e.Production() {
			s.ProductionCauses[e.Cause()]++
		}
	}
	return s
}

var (
	reQuoted = regexp.MustCompile(`"(?:[^"\\]|\\.)*"|` + "`[^`]*`")
	reNear   = regexp.MustCompile(` at (column|byte) \d+.*$`)
	reNums   = regexp.MustCompile(`\b\d+\b`)
)

// Cause reduces an error to its innermost message without positions, quoted text and numbers.
func Cause(err error) string {
	msg := err.Error()
	for _, p := range []string{"engine: detection ", "spl: ", "tstats: ", "splunkconf: expand macros: "} {
		if i := strings.LastIndex(msg, p); i >= 0 {
			msg = msg[i+len(p):]
			if p == "engine: detection " {
				if j := strings.Index(msg, "\": "); j >= 0 {
					msg = msg[j+3:]
				}
			}
		}
	}
	msg = reNear.ReplaceAllString(msg, "")
	msg = reQuoted.ReplaceAllString(msg, "…")
	msg = reNums.ReplaceAllString(msg, "N")
	return strings.TrimSpace(msg)
}
