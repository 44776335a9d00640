package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestWriteTgzReproducible(t *testing.T) {
	files := []entry{
		{name: "linux_x86_64/bin/regasmdetect", data: []byte("\x7fELF"), mode: 0o755},
		{name: "default/app.conf", data: []byte("[ui]\n"), mode: 0o644},
		{name: "README.md", data: []byte("# x\n"), mode: 0o644},
	}
	mtime := time.Unix(1613088000, 0)
	var a, b bytes.Buffer
	if err := writeTgz(&a, files, mtime); err != nil {
		t.Fatal(err)
	}
	// Same files in another order: same bytes.
	if err := writeTgz(&b, []entry{files[2], files[0], files[1]}, mtime); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Fatal("entry order of the input changes the package")
	}
	zr, err := gzip.NewReader(&a)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(zr)
	var got []string
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, h.Name+" "+strings.TrimPrefix(os.FileMode(h.Mode).String(), "-"))
	}
	want := []string{
		"regasmdetect/ rwxr-xr-x",
		"regasmdetect/README.md rw-r--r--",
		"regasmdetect/default/ rwxr-xr-x",
		"regasmdetect/default/app.conf rw-r--r--",
		"regasmdetect/linux_x86_64/ rwxr-xr-x",
		"regasmdetect/linux_x86_64/bin/ rwxr-xr-x",
		"regasmdetect/linux_x86_64/bin/regasmdetect rwxr-xr-x",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("entries:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if err := writeTgz(io.Discard, []entry{files[0], files[0]}, mtime); err == nil {
		t.Error("duplicate entry: no error")
	}
}

func TestModTime(t *testing.T) {
	t.Setenv("SOURCE_DATE_EPOCH", "1613088000")
	got, err := modTime(t.TempDir())
	if err != nil || got.Unix() != 1613088000 {
		t.Errorf("modTime = %v, %v", got, err)
	}
	t.Setenv("SOURCE_DATE_EPOCH", "yesterday")
	if _, err := modTime(t.TempDir()); err == nil || !strings.Contains(err.Error(), "SOURCE_DATE_EPOCH") {
		t.Errorf("bad SOURCE_DATE_EPOCH: err = %v", err)
	}
	t.Setenv("SOURCE_DATE_EPOCH", "")
	// Outside a git repository: the epoch.
	if got, err := modTime(t.TempDir()); err != nil || got.Unix() != 0 {
		t.Errorf("no git: modTime = %v, %v", got, err)
	}
}

func TestVersionChecks(t *testing.T) {
	dir := t.TempDir()
	write := func(rel, s string) {
		p := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("default/app.conf", "[launcher]\nversion = 1.2.3\n[id]\nname = regasmdetect\nversion = 1.2.3\n")
	write("app/app.manifest", `{"info": {"id": {"name": "regasmdetect", "version": "1.2.3"}}}`)
	if v, err := appVersion(dir); err != nil || v != "1.2.3" {
		t.Fatalf("appVersion = %q, %v", v, err)
	}
	if err := checkManifest(dir, "1.2.3"); err != nil {
		t.Fatal(err)
	}
	if _, err := Build(dir, t.TempDir(), "2.0.0"); err == nil || !strings.Contains(err.Error(), "differs") {
		t.Errorf("-version 2.0.0 against app.conf 1.2.3: err = %v", err)
	}
	if err := checkManifest(dir, "1.2.4"); err == nil {
		t.Error("manifest version mismatch: no error")
	}
	write("default/app.conf", "[launcher]\nversion = 1.2.3\n[id]\nversion = 1.2.4\n")
	if _, err := appVersion(dir); err == nil {
		t.Error("[id] version mismatch: no error")
	}
}

func TestBinaryNames(t *testing.T) {
	want := map[string]string{
		"darwin_x86_64":  "darwin_x86_64/bin/regasmdetect",
		"linux_aarch64":  "linux_aarch64/bin/regasmdetect",
		"linux_x86_64":   "linux_x86_64/bin/regasmdetect",
		"windows_x86_64": "windows_x86_64/bin/regasmdetect.exe",
	}
	for _, p := range Platforms {
		if got := p.Binary(); got != want[p.Dir] {
			t.Errorf("%s: %q, want %q", p.Dir, got, want[p.Dir])
		}
		delete(want, p.Dir)
	}
	if len(want) != 0 {
		t.Errorf("platforms missing: %v", want)
	}
}
