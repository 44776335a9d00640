package escu

import (
	"fmt"
	"slices"
	"strings"
)

// The embedded detections are the files detections/*.yml as Go values: detections_generated.go sets embedded,
// sorted by file stem. After a change to a file, regenerate it (a test of package escuyaml fails until then):
//
//go:generate go test -run=^TestEmbeddedGenerated$ ./escuyaml -update

// Embedded returns the detections embedded in the binary, sorted by name (file stem). The detections are
// shared: callers must not modify them.
func Embedded() []*Detection {
	return slices.Clone(embedded)
}

// Names returns the file stems of the embedded detections, sorted.
func Names() []string {
	names := make([]string, len(embedded))
	for i, d := range embedded {
		names[i] = d.Stem()
	}
	return names
}

// Lookup returns the embedded detection whose file stem is name ("detect_regasm_spawning_a_process"); the
// display name ("Detect Regasm Spawning a Process") is accepted too, case-insensitively. An unknown name is
// an error wrapping ErrUnknown that lists the available names.
func Lookup(name string) (*Detection, error) {
	want := stem(strings.TrimSpace(name))
	for _, d := range embedded {
		if d.Stem() == want {
			return d, nil
		}
	}
	return nil, fmt.Errorf("escu: %w %q; available: %s", ErrUnknown, name, strings.Join(Names(), ", "))
}
