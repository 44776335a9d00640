package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"regasmdetect/src/builtin/bundle"
	"regasmdetect/src/catalog"
)

// withBuiltins prepares a package build with ESCU detections built in (o.ESCU set): it writes the bundle of
// the chosen detections as a Go file in tmp and returns the go build flags that add it to src/builtin
// (-overlay: the source tree is not touched), and replaces default/macros.conf and default/savedsearches.conf
// in files by appgen's output for the same detections (the embedded ones' searches plus one disabled
// correlation search per built-in detection). Without o.ESCU it changes nothing.
func withBuiltins(ctx context.Context, o Options, root, tmp string, files []entry) ([]string, error) {
	if o.ESCU == "" {
		if o.Detections != "" {
			return nil, fmt.Errorf("-detections needs -escu")
		}
		return nil, nil
	}
	cat, err := catalog.Load(o.ESCU)
	if err != nil {
		return nil, err
	}
	var stems []string
	for _, s := range strings.Split(o.Detections, ",") {
		if s = strings.TrimSpace(s); s != "" {
			stems = append(stems, s)
		}
	}
	b, err := bundle.Make(cat, stems)
	if err != nil {
		return nil, err
	}
	absRoot, err := filepath.Abs(root)
	if err != nil {
		return nil, err
	}
	overlay, err := bundle.Overlay(b, tmp, filepath.Join(absRoot, "src", "builtin"))
	if err != nil {
		return nil, err
	}
	conf := filepath.Join(tmp, "conf")
	if err := os.MkdirAll(conf, 0o755); err != nil {
		return nil, err
	}
	escuDir, err := filepath.Abs(o.ESCU)
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, "go", "run", "./src/cmd/appgen", "-out", conf, "-escu", escuDir, "-detections", o.Detections)
	cmd.Dir = root
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("appgen: %w\n%s", err, stderr.String())
	}
	for _, name := range []string{"macros.conf", "savedsearches.conf"} {
		data, err := os.ReadFile(filepath.Join(conf, name))
		if err != nil {
			return nil, err
		}
		found := false
		for i := range files {
			if files[i].name == "default/"+name {
				files[i].data, found = data, true
			}
		}
		if !found {
			return nil, fmt.Errorf("default/%s is not among the app's files", name)
		}
	}
	fmt.Fprintf(os.Stderr, "package: %d detections of %s built in\n", len(b.Detections), o.ESCU)
	return []string{"-overlay", overlay}, nil
}
