// Package builtin holds the ESCU detections a package build embeds in the search command besides the two
// embedded in src/escu, so that `| regasmdetect detection=<stem>` runs them on indexers and search heads
// without reading any file at run time.
//
// The packaging tool (`make package ESCU=DIR [DETECTIONS=...]`) compiles the chosen detections of a
// security_content checkout, writes them as a Bundle (each detection's YAML, its search with every macro
// expanded, and the CSV lookups its SPL uses) into a Go file that sets this package's data, and adds that
// file to the build with `go build -overlay`: the source tree is not modified, and a build without the
// overlay has no built-in detections.
package builtin

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"regasmdetect/src/catalog"
	"regasmdetect/src/engine"
	"regasmdetect/src/escu"
	"regasmdetect/src/spl"
)

// GoFile is the name of the generated file inside this package's directory.
const GoFile = "zz_bundle_generated.go"

// data is the JSON Bundle; a generated file sets it in an init function.
var data string

// Bundle is the embedded content.
type Bundle struct {
	// Checkout names where the detections came from (for `regasmdetect help`); Commit is free text.
	Checkout   string                       `json:"checkout"`
	Detections []Item                       `json:"detections"`
	Lookups    map[string]*escu.LookupTable `json:"lookups"`
}

// Item is one embedded detection.
type Item struct {
	Stem   string `json:"stem"`   // file stem: the detection= value
	File   string `json:"file"`   // path inside the checkout, for messages
	YAML   string `json:"yaml"`   // the detection file as it is in the checkout
	Search string `json:"search"` // the search with its macros expanded
}

// Detection is a compiled built-in detection.
type Detection struct {
	Stem     string
	Source   *escu.Detection
	Search   string
	Compiled *engine.Detection
}

var load = sync.OnceValues(func() ([]*Detection, error) { return decode(data) })

// ErrUnknown is wrapped by Lookup for a stem that is not built in.
var ErrUnknown = errors.New("not a built-in detection")

// All returns the built-in detections, sorted by stem; none without a bundle.
func All() ([]*Detection, error) { return load() }

// Names returns the stems of the built-in detections.
func Names() []string {
	ds, _ := load()
	out := make([]string, len(ds))
	for i, d := range ds {
		out[i] = d.Stem
	}
	return out
}

// Lookup returns the built-in detection with this file stem.
func Lookup(stem string) (*Detection, error) {
	ds, err := load()
	if err != nil {
		return nil, err
	}
	i, ok := slices.BinarySearchFunc(ds, stem, func(d *Detection, s string) int { return strings.Compare(d.Stem, s) })
	if !ok {
		return nil, fmt.Errorf("builtin: %w: %q", ErrUnknown, stem)
	}
	return ds[i], nil
}

// decode parses and compiles a bundle. Every detection must compile: the packaging tool compiled it with the
// same code, so a failure means the bundle is corrupt or from another version.
func decode(text string) ([]*Detection, error) {
	if text == "" {
		return nil, nil
	}
	var b Bundle
	if err := json.Unmarshal([]byte(text), &b); err != nil {
		return nil, fmt.Errorf("builtin: bundle: %w", err)
	}
	env := engine.Env{Lookups: catalog.Lookups(&escu.Checkout{Lookups: b.Lookups})}
	var out []*Detection
	for _, it := range b.Detections {
		src, err := escu.Parse([]byte(it.YAML), "builtin:"+it.File)
		if err != nil {
			return nil, fmt.Errorf("builtin: %w", err)
		}
		c, err := engine.CompileSearch(src, it.Search, env)
		if err != nil {
			return nil, fmt.Errorf("builtin: %s: %w", it.Stem, err)
		}
		out = append(out, &Detection{Stem: it.Stem, Source: src, Search: it.Search, Compiled: c})
	}
	slices.SortFunc(out, func(a, b *Detection) int { return strings.Compare(a.Stem, b.Stem) })
	for i := 1; i < len(out); i++ {
		if out[i].Stem == out[i-1].Stem {
			return nil, fmt.Errorf("builtin: detection %s twice", out[i].Stem)
		}
	}
	return out, nil
}

// Make builds the bundle of the chosen detections of a compiled checkout: stems lists file stems, or is
// empty for every detection that runs. A named detection that does not exist or does not run is an error.
func Make(cat *catalog.Catalog, stems []string) (*Bundle, error) {
	var entries []*catalog.Entry
	if len(stems) == 0 {
		entries = cat.Runnable()
	} else {
		for _, s := range stems {
			e := cat.Entry(s)
			if e == nil {
				return nil, fmt.Errorf("builtin: %s has no Endpoint.Processes tstats detection %q", cat.Checkout.Dir, s)
			}
			if !e.Runs() {
				return nil, fmt.Errorf("builtin: detection %s does not run: %v", s, e.Err)
			}
			entries = append(entries, e)
		}
	}
	if len(entries) == 0 {
		return nil, fmt.Errorf("builtin: no detection to build in")
	}
	b := &Bundle{Checkout: cat.Checkout.Dir, Lookups: map[string]*escu.LookupTable{}}
	for _, e := range entries {
		yaml, err := readFile(cat.Checkout.Dir, e.Detection.Source)
		if err != nil {
			return nil, err
		}
		// Compile once more, recording the lookups the SPL asks for.
		rec := &recorder{src: catalog.Lookups(cat.Checkout), used: map[string]bool{}}
		if _, err := engine.CompileSearch(e.Detection, e.Search, engine.Env{Lookups: rec}); err != nil {
			return nil, fmt.Errorf("builtin: %s: %w", e.Stem, err)
		}
		for name := range rec.used {
			l, err := cat.Checkout.CSVLookup(name)
			if err != nil {
				return nil, fmt.Errorf("builtin: %s: %w", e.Stem, err)
			}
			b.Lookups[name] = l
		}
		b.Detections = append(b.Detections, Item{Stem: e.Stem, File: e.Detection.Source, YAML: string(yaml), Search: e.Search})
	}
	return b, nil
}

// recorder is a LookupSource that notes which tables are asked for.
type recorder struct {
	src  spl.LookupSource
	used map[string]bool
}

func (r *recorder) LookupTable(name string) (*spl.LookupTable, error) {
	t, err := r.src.LookupTable(name)
	if err == nil {
		r.used[name] = true
	}
	return t, err
}

// GoSource returns the Go file that embeds the bundle in this package.
func (b *Bundle) GoSource() ([]byte, error) {
	j, err := json.Marshal(b)
	if err != nil {
		return nil, fmt.Errorf("builtin: %w", err)
	}
	// Compile it back before writing: what the binary will decode must decode.
	if _, err := decode(string(j)); err != nil {
		return nil, err
	}
	return fmt.Appendf(nil, "// Code generated by the packaging tool from an ESCU checkout; DO NOT EDIT.\n\npackage builtin\n\nfunc init() { data = %q }\n", j), nil
}

func readFile(dir, rel string) ([]byte, error) {
	data, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(rel)))
	if err != nil {
		return nil, fmt.Errorf("builtin: %w", err)
	}
	return data, nil
}

// Overlay writes the generated file into tmp and returns the path of a `go build -overlay` file that adds
// it to this package, whose directory is pkgDir (absolute).
func (b *Bundle) Overlay(tmp, pkgDir string) (string, error) {
	src, err := b.GoSource()
	if err != nil {
		return "", err
	}
	gen := filepath.Join(tmp, GoFile)
	if err := os.WriteFile(gen, src, 0o644); err != nil {
		return "", fmt.Errorf("builtin: %w", err)
	}
	ov, err := json.Marshal(map[string]map[string]string{"Replace": {filepath.Join(pkgDir, GoFile): gen}})
	if err != nil {
		return "", fmt.Errorf("builtin: %w", err)
	}
	p := filepath.Join(tmp, "overlay.json")
	if err := os.WriteFile(p, ov, 0o644); err != nil {
		return "", fmt.Errorf("builtin: %w", err)
	}
	return p, nil
}
