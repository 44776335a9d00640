// Package bundle makes the built-in detections of a package build (package builtin) from a security_content
// checkout: it chooses and compiles them, writes them as Go values into builtin's generated file, and gives the
// `go build -overlay` file that adds it to a build. The packaging tool, appgen and the tests use it; the search
// command does not.
package bundle

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"regasmdetect/src/builtin"
	"regasmdetect/src/catalog"
	"regasmdetect/src/engine"
	"regasmdetect/src/escu"
	"regasmdetect/src/escu/escuyaml"
	"regasmdetect/src/internal/golit"
	"regasmdetect/src/spl"
)

// GoFile is the name of the generated file inside package builtin's directory.
const GoFile = "zz_bundle_generated.go"

// Make builds the bundle of the chosen detections of a compiled checkout: stems lists file stems, or is
// empty for every detection that runs. A named detection that does not exist or does not run is an error.
// Each detection is read again from its file (its Source becomes "builtin:<path>"), and the bundle holds the
// CSV lookups its SPL asks for.
func Make(cat *catalog.Catalog, stems []string) (*builtin.Bundle, error) {
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
	b := &builtin.Bundle{Checkout: cat.Checkout.Dir}
	lookups := map[string]*escu.LookupTable{}
	for _, e := range entries {
		file := e.Detection.Source
		data, err := os.ReadFile(filepath.Join(cat.Checkout.Dir, filepath.FromSlash(file)))
		if err != nil {
			return nil, fmt.Errorf("builtin: %w", err)
		}
		src, err := escuyaml.Parse(data, "builtin:"+file)
		if err != nil {
			return nil, fmt.Errorf("builtin: %w", err)
		}
		// Compile once more, recording the lookups the SPL asks for.
		rec := &recorder{src: engine.CheckoutLookups(cat.Checkout), used: map[string]bool{}}
		if _, err := engine.CompileSearch(e.Detection, e.Search, engine.Env{Lookups: rec}); err != nil {
			return nil, fmt.Errorf("builtin: %s: %w", e.Stem, err)
		}
		for name := range rec.used {
			l, err := cat.Checkout.CSVLookup(name)
			if err != nil {
				return nil, fmt.Errorf("builtin: %s: %w", e.Stem, err)
			}
			lookups[name] = l
		}
		b.Detections = append(b.Detections, builtin.Item{Stem: e.Stem, Source: src, Search: e.Search})
	}
	slices.SortFunc(b.Detections, func(x, y builtin.Item) int { return strings.Compare(x.Stem, y.Stem) })
	for _, name := range slices.Sorted(maps.Keys(lookups)) {
		b.Lookups = append(b.Lookups, lookups[name])
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

// GoSource returns the Go file that sets package builtin's bundle to b. It compiles the bundle first: what
// the binary will run must compile.
func GoSource(b *builtin.Bundle) ([]byte, error) {
	if _, err := b.Compile(); err != nil {
		return nil, err
	}
	f := golit.NewFile("regasmdetect/src/builtin", "builtin",
		"The built-in detections of a package build, written by bundle.GoSource. As committed, the empty bundle of a\n"+
			"build without ESCU=DIR (go test ./src/builtin/bundle -run TestCommittedEmpty -update rewrites it);\n"+
			"`make package ESCU=DIR` puts the chosen detections in its place with go build -overlay.")
	if err := f.Var("bundle is the built-in content.", "bundle", *b); err != nil {
		return nil, fmt.Errorf("builtin: %w", err)
	}
	return f.Bytes()
}

// Overlay writes the generated file of b into tmp and returns the path of a `go build -overlay` file that puts
// it in place of package builtin's, whose directory is pkgDir (absolute).
func Overlay(b *builtin.Bundle, tmp, pkgDir string) (string, error) {
	src, err := GoSource(b)
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
