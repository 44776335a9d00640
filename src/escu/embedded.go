package escu

import (
	"embed"
	"fmt"
	"path"
	"slices"
	"strings"
	"sync"
)

//go:embed detections/*.yml
var files embed.FS

var loadOnce = sync.OnceValues(loadEmbedded)

func loadEmbedded() ([]*Detection, error) {
	entries, err := files.ReadDir("detections")
	if err != nil {
		return nil, fmt.Errorf("escu: embedded detections: %w", err)
	}
	var out []*Detection
	for _, e := range entries {
		name := path.Join("detections", e.Name())
		data, err := files.ReadFile(name)
		if err != nil {
			return nil, fmt.Errorf("escu: embedded %s: %w", name, err)
		}
		d, err := Parse(data, "embedded:"+name)
		if err != nil {
			return nil, err
		}
		if want := strings.TrimSuffix(e.Name(), ".yml"); d.Stem() != want {
			return nil, fmt.Errorf("escu: embedded %s: name %q has stem %q, want the file stem %q", name, d.Name, d.Stem(), want)
		}
		out = append(out, d)
	}
	slices.SortFunc(out, func(a, b *Detection) int { return strings.Compare(a.Stem(), b.Stem()) })
	return out, nil
}

// Embedded returns the detections embedded in the binary, sorted by name (file stem). The detections are
// shared: callers must not modify them. It returns nil only if an embedded file is broken, which the
// package tests rule out; Lookup reports that error.
func Embedded() []*Detection {
	ds, err := loadOnce()
	if err != nil {
		return nil
	}
	return slices.Clone(ds)
}

// Names returns the file stems of the embedded detections, sorted.
func Names() []string {
	ds, _ := loadOnce()
	names := make([]string, len(ds))
	for i, d := range ds {
		names[i] = d.Stem()
	}
	return names
}

// Lookup returns the embedded detection whose file stem is name ("detect_regasm_spawning_a_process"); the
// display name ("Detect Regasm Spawning a Process") is accepted too, case-insensitively. An unknown name is
// an error wrapping ErrUnknown that lists the available names.
func Lookup(name string) (*Detection, error) {
	ds, err := loadOnce()
	if err != nil {
		return nil, err
	}
	want := stem(strings.TrimSpace(name))
	for _, d := range ds {
		if d.Stem() == want {
			return d, nil
		}
	}
	return nil, fmt.Errorf("escu: %w %q; available: %s", ErrUnknown, name, strings.Join(Names(), ", "))
}
