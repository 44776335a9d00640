// Package builtin holds the ESCU detections a package build embeds in the search command besides the two
// embedded in src/escu, so that `| regasmdetect detection=<stem>` runs them on indexers and search heads
// without reading any file at run time.
//
// The packaging tool (`make package ESCU=DIR [DETECTIONS=...]`) compiles the chosen detections of a
// security_content checkout and writes them, with the CSV lookups their SPL uses, as Go values (package
// src/builtin/bundle) into the file zz_bundle_generated.go, which it puts in place of the committed one with
// `go build -overlay`: the source tree is not modified, and a build without the overlay has no built-in
// detections (the committed file holds the empty bundle). Nothing is decoded when the command starts, and a
// detection is compiled only when a search names it.
package builtin

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"regasmdetect/src/engine"
	"regasmdetect/src/escu"
)

// Bundle is the embedded content.
type Bundle struct {
	// Checkout names where the detections came from (for `regasmdetect help`); free text.
	Checkout string
	// Detections are sorted by stem, each stem once.
	Detections []Item
	// Lookups are the CSV lookups the detections' SPL uses, sorted by name.
	Lookups []*escu.LookupTable
}

// Item is one embedded detection.
type Item struct {
	Stem   string          // file stem: the detection= value
	Source *escu.Detection // the detection file as it parses, its Source "builtin:<path inside the checkout>"
	Search string          // the search with its macros expanded
}

// Detection is a compiled built-in detection.
type Detection struct {
	Stem     string
	Source   *escu.Detection
	Search   string
	Compiled *engine.Detection
}

// compiled compiles the detections of bundle, the variable zz_bundle_generated.go sets, as they are asked for.
var compiled = sync.OnceValue(func() *set { return newSet(&bundle) })

// ErrUnknown is wrapped by Lookup for a stem that is not built in.
var ErrUnknown = errors.New("not a built-in detection")

// All returns the built-in detections, compiled, sorted by stem; none without a bundle.
func All() ([]*Detection, error) { return compiled().all() }

// Names returns the stems of the built-in detections.
func Names() []string {
	out := make([]string, len(bundle.Detections))
	for i, it := range bundle.Detections {
		out[i] = it.Stem
	}
	return out
}

// Lookup returns the built-in detection with this file stem, compiled on first use.
func Lookup(stem string) (*Detection, error) {
	i, ok := slices.BinarySearchFunc(bundle.Detections, stem, func(it Item, s string) int { return strings.Compare(it.Stem, s) })
	if !ok {
		return nil, fmt.Errorf("builtin: %w: %q", ErrUnknown, stem)
	}
	return compiled().get(i)
}

// Compile checks that the bundle's detections are sorted by stem, each once, and compiles them all. The
// packaging tool compiles every detection it writes with the same code, so a failure in a built binary means
// the bundle is corrupt or from another version.
func (b *Bundle) Compile() ([]*Detection, error) {
	return newSet(b).all()
}

// set compiles the detections of a bundle, each once, when first asked for.
type set struct {
	b    *Bundle
	env  func() engine.Env
	once []sync.Once
	dets []*Detection
	errs []error
}

func newSet(b *Bundle) *set {
	return &set{b: b, once: make([]sync.Once, len(b.Detections)), dets: make([]*Detection, len(b.Detections)),
		errs: make([]error, len(b.Detections)),
		env: sync.OnceValue(func() engine.Env {
			c := &escu.Checkout{Dir: b.Checkout, Lookups: map[string]*escu.LookupTable{}}
			for _, l := range b.Lookups {
				c.Lookups[l.Name] = l
			}
			return engine.Env{Lookups: engine.CheckoutLookups(c)}
		})}
}

func (s *set) get(i int) (*Detection, error) {
	s.once[i].Do(func() {
		it := s.b.Detections[i]
		c, err := engine.CompileSearch(it.Source, it.Search, s.env())
		if err != nil {
			s.errs[i] = fmt.Errorf("builtin: %s: %w", it.Stem, err)
			return
		}
		s.dets[i] = &Detection{Stem: it.Stem, Source: it.Source, Search: it.Search, Compiled: c}
	})
	return s.dets[i], s.errs[i]
}

func (s *set) all() ([]*Detection, error) {
	items := s.b.Detections
	for i := 1; i < len(items); i++ {
		if items[i].Stem <= items[i-1].Stem {
			return nil, fmt.Errorf("builtin: detection %s after %s: want stems sorted, each once", items[i].Stem, items[i-1].Stem)
		}
	}
	var out []*Detection
	for i := range items {
		d, err := s.get(i)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, nil
}
